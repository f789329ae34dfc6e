from django import forms
from django.conf import settings
from django.contrib.auth import forms as auth_forms
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from accounts import access, throttle
from accounts.passwords import password_hints
from mailings.services import queue_email
from portal import audit, ratelimit
from portal.forms import PortalForm

MASKED_FIELD_TEMPLATE = "accounts/_password_field.html"


def client_ip(request) -> str | None:
    if request is None:
        return None
    return getattr(request, "client_ip", None) or request.META.get("REMOTE_ADDR") or None


def _password_field(label, *, autocomplete="new-password", help_text="", autofocus=False):
    attrs = {"autocomplete": autocomplete}
    if autofocus:
        attrs["autofocus"] = True
    return forms.CharField(
        label=label,
        strip=False,
        help_text=help_text,
        widget=forms.PasswordInput(attrs=attrs),
        template_name=MASKED_FIELD_TEMPLATE,
    )


class LoginForm(PortalForm, auth_forms.AuthenticationForm):
    """Identifiant or e-mail, and password; throttled per typed login and per address."""

    username = forms.CharField(
        label=_("Identifiant ou adresse électronique"),
        max_length=254,
        widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "username"}),
    )
    password = forms.CharField(
        label=_("Mot de passe"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    error_messages = {
        "invalid_login": _("Identifiant, adresse électronique ou mot de passe incorrect."),
        "inactive": _("Identifiant, adresse électronique ou mot de passe incorrect."),
    }

    def clean(self):
        login = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if not (login and password):
            return super().clean()
        try:
            attempt = throttle.begin_attempt(login=login, ip=client_ip(self.request))
        except throttle.Refused as refusal:
            raise ValidationError(refusal.message, code=refusal.code) from None
        try:
            cleaned_data = super().clean()
        except ValidationError:
            throttle.record_failure(attempt, request=self.request)
            raise
        except BaseException:
            throttle.release(attempt)
            raise
        throttle.record_success(attempt)
        return cleaned_data


# Choosing a password ----------------------------------------------------------------------------


class NewPasswordFieldsMixin:
    """Two new-password fields, the first listing the policy's rules (accounts/passwords.py)."""

    error_messages = {
        "password_mismatch": _("Les deux mots de passe saisis sont différents."),
    }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["new_password1"].password_hints = password_hints()

    def clean(self):
        # As Django's SetPasswordForm, but the policy's refusals go under the first field, next
        # to the rules they refer to, rather than under the confirmation.
        self.validate_passwords("new_password1", "new_password2")
        self.validate_password_for_user(self.user, "new_password1")
        return self.cleaned_data


class SetPasswordForm(NewPasswordFieldsMixin, PortalForm, auth_forms.SetPasswordForm):
    """Choose a password without the old one: access link and reset link."""

    new_password1 = _password_field(_("Nouveau mot de passe"), autofocus=True)
    new_password2 = _password_field(
        _("Confirmation du nouveau mot de passe"),
        help_text=_("Saisissez le même mot de passe une seconde fois."),
    )


class PasswordChangeForm(NewPasswordFieldsMixin, PortalForm, auth_forms.PasswordChangeForm):
    error_messages = {
        **NewPasswordFieldsMixin.error_messages,
        "password_incorrect": _("Votre mot de passe actuel est incorrect. Saisissez-le à nouveau."),
    }
    old_password = _password_field(_("Mot de passe actuel"), autocomplete="current-password", autofocus=True)
    new_password1 = _password_field(_("Nouveau mot de passe"))
    new_password2 = _password_field(
        _("Confirmation du nouveau mot de passe"),
        help_text=_("Saisissez le même mot de passe une seconde fois."),
    )
    field_order = ["old_password", "new_password1", "new_password2"]


# Forgotten password and identifiant -------------------------------------------------------------

RECOVERY_SENDS_PER_IP_HOUR = 20
RECOVERY_SENDS_PER_ADDRESS_HOUR = 5


def _check_recovery_ip_limit(request, scope: str) -> None:
    """Visible limit of recovery e-mails asked from one address (it says nothing about accounts)."""
    ip = client_ip(request)
    if ip and not ratelimit.allow(scope, ip, limit=RECOVERY_SENDS_PER_IP_HOUR, window=3600):
        raise ValidationError(
            _("Trop de demandes ont été faites depuis votre adresse réseau. Réessayez dans une heure."),
            code="rate_limited",
        )


class RecoveryEmailForm(PortalForm):
    """An e-mail address typed to recover access; requests are limited per client IP."""

    ip_scope = ""

    email = forms.EmailField(
        label=_("Adresse électronique"),
        help_text=_("Celle de votre compte. Format attendu : nom@domaine.fr"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}),
    )

    def __init__(self, *args, request=None, **kwargs):
        self.request = request
        super().__init__(*args, **kwargs)

    def clean(self):
        cleaned_data = super().clean()
        if not self.errors:
            _check_recovery_ip_limit(self.request, self.ip_scope)
        return cleaned_data


class PasswordResetForm(RecoveryEmailForm, auth_forms.PasswordResetForm):
    """Sends the reset link through the outbox, to every active account of the address.

    Accounts that never chose a password are included: their reset link is how they get a new
    access link. Whatever happens, the page answers the same.
    """

    ip_scope = "password-reset-ip"

    def get_users(self, email):
        users = get_user_model()._default_manager.filter(email__iexact=email, is_active=True)
        if not ratelimit.allow(
            "password-reset-address", email, limit=RECOVERY_SENDS_PER_ADDRESS_HOUR, window=3600
        ):
            return []
        return list(users)

    def send_mail(
        self,
        subject_template_name,
        email_template_name,
        context,
        from_email,
        to_email,
        html_email_template_name=None,
    ):
        user = context["user"]
        context = {
            **context,
            "hours": settings.PORTAL_ACCESS_LINK_HOURS,
            "operator_name": settings.PORTAL_OPERATOR_NAME,
        }
        with transaction.atomic():
            queue_email(to=to_email, template="password_reset", context=context)
            audit.record("password.reset_requested", target=user, request=self.request)


class IdentifiantReminderForm(RecoveryEmailForm):
    ip_scope = "identifiant-reminder-ip"


# Login by e-mailed code -------------------------------------------------------------------------


class LoginCodeRequestForm(PortalForm):
    """Ask for a code. The limits it applies depend on what was typed, never on accounts."""

    login = forms.CharField(
        label=_("Identifiant ou adresse électronique"),
        max_length=254,
        widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "username"}),
    )

    def __init__(self, *args, request=None, **kwargs):
        self.request = request
        super().__init__(*args, **kwargs)

    def clean_login(self):
        return self.cleaned_data["login"].strip()

    def clean(self):
        cleaned_data = super().clean()
        login = cleaned_data.get("login")
        if not login:
            return cleaned_data
        ip = client_ip(self.request)
        try:
            throttle.check(login=login, ip=ip)
        except throttle.Refused as refusal:
            raise ValidationError(refusal.message, code=refusal.code) from None
        too_many = ValidationError(
            _(
                "Trop de codes ont été demandés. Réessayez dans une heure, ou connectez-vous avec votre mot de passe."
            ),
            code="rate_limited",
        )
        if ip and not ratelimit.allow("login-code-ip", ip, limit=access.IP_CODE_SENDS_PER_HOUR, window=3600):
            raise too_many
        sends = settings.PORTAL_EMAIL_CODE["max_sends_per_hour"]
        if not ratelimit.allow("login-code-login", throttle.normalise(login), limit=sends, window=3600):
            raise too_many
        return cleaned_data


class EmailedCodeForm(PortalForm):
    """A code e-mailed to the user: the preset's number of ASCII digits, spaces ignored. Any other
    text is refused next to the field and spends none of the code's tries."""

    code = forms.CharField(
        label=_("Code reçu par courriel"),
        max_length=20,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "spellcheck": "false"}
        ),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.length = settings.PORTAL_EMAIL_CODE["length"]
        help_text = self.code_help_text(self.length)
        # The DSFR base form has already bound the fields: tell the bound field too.
        self.fields["code"].help_text = self["code"].help_text = help_text

    def code_help_text(self, length: int) -> str:
        return ngettext("Le code à %(length)d chiffre.", "Le code à %(length)d chiffres.", length) % {
            "length": length
        }

    def clean_code(self):
        code = "".join(self.cleaned_data["code"].split())
        if len(code) != self.length or not code.isascii() or not code.isdigit():
            raise ValidationError(
                ngettext(
                    "Le code se compose de %(length)d chiffre.",
                    "Le code se compose de %(length)d chiffres.",
                    self.length,
                )
                % {"length": self.length},
                code="invalid",
            )
        return code


class LoginCodeForm(EmailedCodeForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["code"].widget.attrs["autofocus"] = True

    def code_help_text(self, length: int) -> str:
        return ngettext(
            "Le code à %(length)d chiffre que nous venons de vous envoyer.",
            "Le code à %(length)d chiffres que nous venons de vous envoyer.",
            length,
        ) % {"length": length}
