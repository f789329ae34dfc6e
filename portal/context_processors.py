from django.conf import settings


def portal(request):
    return {
        "PORTAL": {
            "operator_name": settings.PORTAL_OPERATOR_NAME,
            "logo_lines": settings.PORTAL_LOGO_TEXT.split("|"),
            "site_title": settings.PORTAL_SITE_TITLE,
            "site_tagline": settings.PORTAL_SITE_TAGLINE,
            "contact_email": settings.PORTAL_CONTACT_EMAIL,
        },
        "DEBUG": settings.DEBUG,
    }
