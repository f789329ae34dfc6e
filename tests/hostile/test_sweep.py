"""Every address of the project that names an object, tried by a user of another organisation:
404 each time, on GET and POST, and nothing changes. An address added to the project without an
entry in OBJECT_URLS (or EXEMPT, with the reason) fails the sweep."""

import datetime
from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.urls import URLResolver, get_resolver, resolve, reverse
from django.utils import timezone

from accounts.models import PendingSignup
from habilitations.models import Habilitation
from mailings.models import Email, Letter
from organisations.enums import MembershipStatus
from organisations.models import AdminClaim, EmailChange, Function, Membership
from portal.audit.models import AuditEntry
from tests.hostile.helpers import answered, visitor
from tests.organisations.factories import MembershipFactory
from tests.organisations.test_gestion import (
    DATAVIZ,
    DOCUMENTS,
    FILES,
    LOANS,
    OUTSTANDING,
    holding,
    member_of,
    service,
)

pytestmark = pytest.mark.django_db

# Not the project's pages about its objects: the staff's administration (its own permissions),
# the anti-spam images of django-simple-captcha, the language switch, static files, and the
# development mailbox (routed only with DEBUG).
EXCLUDED_PREFIXES = ("admin/", "captcha/", "i18n/", "static", "dev/")

# Addresses with a parameter that names no object of an organisation or a user.
EXEMPT = {
    "signup_step": "the name of a step of the wizard",
    "captcha_audio": "the key of an anonymous anti-spam image, shown in the page that asks for it",
    "access_link": "a signed token e-mailed to its user: whoever holds it chooses that user's "
    "password, as designed; any other token gets the “lien plus valable” page",
    "password_reset_confirm": "Django's reset token, e-mailed to its user: the same as access_link",
}


def object_patterns() -> dict[str, str]:
    """{view name: route} of every page whose address takes a parameter."""
    found = {}

    def walk(patterns, prefix: str, namespace: str, parameters: set):
        for entry in patterns:
            route = prefix + str(entry.pattern)
            if route.startswith(EXCLUDED_PREFIXES):
                continue
            taken = parameters | set(entry.pattern.regex.groupindex)
            if isinstance(entry, URLResolver):
                walk(entry.url_patterns, route, ":".join(filter(None, [namespace, entry.namespace])), taken)
            elif taken:
                found[":".join(filter(None, [namespace, entry.name]))] = route

    walk(get_resolver().url_patterns, "", "", set())
    return found


def an_organisation(granted: str):
    """An organisation with an admin, members in each state, requests, a claim, an e-mail change,
    signups; its approved member holds the service ``granted``."""
    admin = MembershipFactory(admin=True)
    approved = holding(member_of(admin, first_name="Jeanne"), validated=[granted], requested=[LOANS])
    objects = {
        "admin": admin,
        "approved": approved,
        "pending": holding(member_of(admin, pending_admin=True, password=False), requested=[DOCUMENTS]),
        "deactivated": holding(
            member_of(admin, status=MembershipStatus.DEACTIVATED), deactivated=[OUTSTANDING]
        ),
        "request": approved.habilitations.get(service__name=LOANS),
        "granted": service(granted),
    }
    objects["claim"] = AdminClaim.objects.create(
        membership=objects["pending"],
        legal_unit=admin.legal_unit,
        code_hash="x",
        expires_at=timezone.now() + datetime.timedelta(days=30),
    )
    EmailChange.objects.create(
        membership=approved,
        email="nouvelle.adresse@ailleurs.fr",
        code_hash="x",
        salt="y",
        expires_at=timezone.now() + datetime.timedelta(minutes=10),
    )
    signup = {
        "email": approved.email,
        "code_hash": "x",
        "code_expires_at": timezone.now() + datetime.timedelta(hours=1),
    }
    objects["signup"] = PendingSignup.objects.create(data={}, **signup)
    objects["completed_signup"] = PendingSignup.objects.create(
        data={"membership_id": approved.pk}, completed_at=timezone.now(), **signup
    )
    return objects


def browser_of(user, **session) -> Client:
    client = visitor(user)
    if session:
        store = client.session
        store.update(session)
        store.save()
    return client


def gestion(target: str | None):
    """A page of the admin's: the organisation's siren, and the object named by the pk if any. The
    visitor also tries their own organisation's siren with the other one's pk."""

    def urls(name, theirs, ours):
        if target is None:
            return [(reverse(name, kwargs={"siren": theirs["admin"].legal_unit_id}), theirs["admin"].user)]
        pk = theirs[target].pk
        return [
            (reverse(name, kwargs={"siren": theirs["admin"].legal_unit_id, "pk": pk}), theirs["admin"].user),
            (reverse(name, kwargs={"siren": ours["admin"].legal_unit_id, "pk": pk}), None),
        ]

    return urls


def structure(name, theirs, ours):
    return [(reverse(name, kwargs={"pk": theirs["approved"].pk}), theirs["approved"].user)]


def signup_page(target: str):
    def urls(name, theirs, ours):
        token = str(theirs[target].token)
        return [(reverse(name, kwargs={"token": token}), {"signup_token": token})]

    return urls


# Each page naming an object: [(address of the other organisation's object, who may see it)].
# Who may see it is checked too (GET only), so that a 404 means "not yours", not "no such page".
OBJECT_URLS = {
    "signup_code": signup_page("signup"),
    "signup_result": signup_page("completed_signup"),
    "admin_activation": lambda name, theirs, ours: [
        (reverse(name, kwargs={"siren": theirs["admin"].legal_unit_id}), theirs["pending"].user)
    ],
    "admin_role_offer": lambda name, theirs, ours: [
        (reverse(name, kwargs={"siren": theirs["admin"].legal_unit_id}), theirs["pending"].user)
    ],
    "gestion:home": gestion(None),
    "gestion:member": gestion("approved"),
    "gestion:approve_member": gestion("pending"),
    "gestion:refuse_member": gestion("pending"),
    "gestion:member_services": gestion("approved"),
    "gestion:deactivate_member": gestion("approved"),
    "gestion:reactivate_member": gestion("deactivated"),
    "gestion:hand_over_admin_role": gestion("approved"),
    "gestion:validate_request": gestion("request"),
    "gestion:refuse_request": gestion("request"),
    "structures:detail": structure,
    "structures:phone": structure,
    "structures:email": structure,
    "structures:email_confirm": structure,
    "structures:function": structure,
    "structures:detach": structure,
    # The catalogue's services are everyone's: the object is the structure asked for.
    "services:request": lambda name, theirs, ours: [
        (
            reverse(name, kwargs={"pk": theirs["granted"].pk}) + f"?structure={theirs['approved'].pk}",
            theirs["approved"].user,
        )
    ],
    # A service opens for those it is granted to (here, to none of the visitor's organisation).
    "services:open": lambda name, theirs, ours: [
        (reverse(name, kwargs={"pk": theirs["granted"].pk}), theirs["approved"].user)
    ],
}


def everything_posted() -> dict:
    return {
        "services": list(Habilitation.objects.values_list("service_id", flat=True).distinct()),
        "reason": "Motif",
        "deactivation_reason": "Motif",
        "phone_landline": "01 23 45 67 89",
        "phone_mobile": "06 12 34 56 78",
        "email": "intrus@ailleurs.fr",
        "function": Function.objects.filter(is_active=True).values_list("pk", flat=True).first(),
        "code": "123456",
        "accept_admin_role": "on",
        "accept_cgu": "on",
        "accepted": "on",
        "version": "1",
    }


def snapshot(legal_unit_id: str) -> tuple:
    memberships = Membership.objects.filter(legal_unit_id=legal_unit_id)
    return (
        list(memberships.order_by("pk").values()),
        list(Habilitation.objects.filter(membership__in=memberships).order_by("pk").values()),
        list(EmailChange.objects.filter(membership__in=memberships).order_by("pk").values()),
        list(AdminClaim.objects.filter(legal_unit_id=legal_unit_id).order_by("pk").values()),
        list(PendingSignup.objects.order_by("pk").values()),
        Email.objects.count(),
        Letter.objects.count(),
        AuditEntry.objects.count(),
    )


def test_every_object_url_is_mapped():
    assert not set(OBJECT_URLS) & set(EXEMPT)
    assert set(object_patterns()) == set(OBJECT_URLS) | set(EXEMPT), (
        "a page whose address names an object needs its entry in OBJECT_URLS (or EXEMPT, with the reason)"
    )


@pytest.mark.parametrize("visitor_role", ["admin", "approved"])
def test_a_user_of_another_organisation_gets_a_404_everywhere(settings, visitor_role):
    settings.PORTAL_ONBOARDING_RULES = ["R1", "R2", "R3", "R4"]
    ours, theirs = an_organisation(granted=FILES), an_organisation(granted=DATAVIZ)
    patterns = object_patterns()
    assert set(patterns) == set(OBJECT_URLS) | set(EXEMPT)
    client = visitor(ours[visitor_role].user)
    before = snapshot(theirs["admin"].legal_unit_id)
    exercised = set()

    for name, urls in OBJECT_URLS.items():
        for url, owner in urls(name, theirs, ours):
            assert resolve(urlsplit(url).path).view_name == name, url
            for method in (client.get, client.post):
                response = answered(method(url, everything_posted()))
                assert response.status_code == 404, (name, url, method.__name__, response.status_code)
            if owner is not None:  # the same address is a page for whom it belongs to
                owners = browser_of(None, **owner) if isinstance(owner, dict) else browser_of(owner)
                assert answered(owners.get(url)).status_code != 404, (name, url)
            exercised.add(name)

    assert exercised == set(OBJECT_URLS)
    assert snapshot(theirs["admin"].legal_unit_id) == before
