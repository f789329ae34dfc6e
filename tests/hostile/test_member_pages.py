"""Hostile input on a member's pages: their structure's phone, e-mail and its code, function;
"Ajouter une structure"; the admin role's offer and activation code; the conditions of a service."""

import datetime
import re

import pytest
from django.contrib.auth.hashers import make_password
from django.test import TestCase
from django.urls import reverse
from django.utils import timezone
from hypothesis import example, given
from hypothesis import strategies as st

from habilitations.enums import HabilitationStatus
from habilitations.models import ConditionsAcceptance
from organisations.models import AdminClaim, EmailChange, Function
from tests.accounts.factories import UserFactory
from tests.habilitations.factories import HabilitationFactory, ServiceConditionsFactory, ServiceFactory
from tests.hostile.helpers import (
    answered,
    assert_refused_next_to,
    error_summary,
    forget_counters,
    post,
    rows,
    state,
    visitor,
)
from tests.hostile.strategies import hostile, hostile_text
from tests.organisations.factories import EstablishmentFactory, MembershipFactory

pytestmark = pytest.mark.django_db

VALID = {
    "phone_landline": "01 23 45 67 89",
    "phone_mobile": "06 12 34 56 78",
    "email": "cendrine.martin@eus.fr",
    "code": "123456",
}


@pytest.fixture
def member():
    return MembershipFactory(
        user=UserFactory(first_name="Cendrine", last_name="Martin"),
        establishment__legal_unit__denomination="COMMUNE D'EUS",
        phone_landline="+33708091011",
    )


@pytest.fixture
def member_client(member):
    return visitor(member.user)


def structure_url(name: str, membership) -> str:
    return reverse(f"structures:{name}", kwargs={"pk": membership.pk})


@given(
    field=st.sampled_from(["phone_landline", "phone_mobile"]), value=hostile_text(), urlencoded=st.booleans()
)
@hostile(max_examples=25)
def test_the_phone(member_client, member, field, value, urlencoded):
    forget_counters()
    member.refresh_from_db()
    before = rows(), state(member)

    with TestCase.captureOnCommitCallbacks(execute=True):
        response = answered(
            post(
                member_client, structure_url("phone", member), {**VALID, field: value}, urlencoded=urlencoded
            )
        )

    if response.status_code == 302:
        member.refresh_from_db()
        assert getattr(member, field).startswith("+") or (field == "phone_mobile" and not value.strip())
    else:
        assert_refused_next_to(response, f"id_{field}")
        assert (rows(), state(member)) == before


@given(email=hostile_text(), urlencoded=st.booleans())
@hostile(max_examples=25)
def test_the_new_email_address(member_client, member, email, urlencoded):
    forget_counters()
    before = rows(), state(member)

    response = answered(
        post(member_client, structure_url("email", member), {"email": email}, urlencoded=urlencoded)
    )

    if response.status_code == 302:  # a code goes to the new address; the address is not changed yet
        assert response.url == structure_url("email_confirm", member)
        assert EmailChange.objects.filter(membership=member, email=email.strip().lower()).exists()
        assert state(member) == before[1]
    else:
        assert_refused_next_to(response, "id_email")
        assert (rows(), state(member)) == before


@pytest.fixture
def email_change(member_client, member):
    response = member_client.post(structure_url("email", member), {"email": VALID["email"]})
    assert response.status_code == 302
    return EmailChange.objects.get(membership=member)


@given(code=hostile_text())
@hostile(max_examples=25)
def test_the_new_email_addresss_code(member_client, member, email_change, code):
    forget_counters()
    email_change.refresh_from_db()
    before = rows(), state(member), email_change.tries

    response = member_client.post(structure_url("email_confirm", member), {"code": code})

    assert_refused_next_to(response, "id_code")
    assert rows() == before[0]
    assert state(member) == before[1]
    well_formed = re.fullmatch(r"[0-9]{6}", "".join(code.split()))
    if not well_formed:  # not even a code: no try is spent
        email_change.refresh_from_db()
        assert email_change.tries == before[2]


@given(function=hostile_text())
@hostile(max_examples=20)
def test_the_function(member_client, member, function):
    forget_counters()
    before = rows(), state(member)

    response = answered(member_client.post(structure_url("function", member), {"function": function}))

    if response.status_code == 302:  # the id of an offered function
        assert Function.objects.filter(pk=state(member)[0]["function_id"], is_active=True).exists()
    else:
        assert_refused_next_to(response, "id_function")
        assert (rows(), state(member)) == before


# Ajouter une structure ---------------------------------------------------------------------------


@pytest.fixture
def another_establishment():
    return EstablishmentFactory(legal_unit__denomination="SYNDICAT DES EAUX DU HAUT PAYS")


@given(
    field=st.sampled_from(["query", "postal_code", "client_number", "siret", "page"]),
    value=hostile_text(),
    searching=st.booleans(),
)
@example(field="client_number", value="\x00", searching=True)
@hostile(max_examples=30)
def test_adding_a_structure(settings, member_client, member, another_establishment, field, value, searching):
    settings.PORTAL_CLIENT_NUMBERS = True
    forget_counters()
    before = rows()
    siret = another_establishment.siret
    data = {"query": siret, "postal_code": "", "client_number": "", "siret": siret}
    if field == "page":
        data |= {"query": "syndicat", "page": value}
    else:
        data[field] = value
        if searching:
            data["action"] = "search"
    data = {
        (key if key == "page" or key == "action" else f"organisme-{key}"): item for key, item in data.items()
    }

    response = answered(member_client.post(reverse("add_structure"), data))

    if "action" in data or "page" in data:  # a search: the page again, nothing added
        assert response.status_code == 200
        assert rows() == before
    elif response.status_code == 302:  # added (the first time), or refused with a message
        assert rows()["memberships"] - before["memberships"] in (0, 1)
    elif field == "siret":
        content = response.content.decode()
        assert re.search(r'<p class="fr-error-text" id="organisme-siret-error"[^>]*>[^<]+</p>', content)
        assert error_summary(content)
        assert rows() == before
    else:
        assert_refused_next_to(response, f"id_organisme-{field}")
        assert rows() == before


# The admin role ----------------------------------------------------------------------------------


@given(field=st.sampled_from(["accept_admin_role", "accept_cgu"]), value=hostile_text())
@hostile(max_examples=20)
def test_the_admin_role_offer(settings, member, field, value):
    settings.PORTAL_ONBOARDING_RULES = ["R1", "R3"]
    # Each example in an organisation of its own, without admin: an accepted offer is final.
    waiting = MembershipFactory(user=member.user, pending_admin=True)
    client = visitor(member.user)
    forget_counters()
    before = rows(), state(waiting)
    url = reverse("admin_role_offer", kwargs={"siren": waiting.legal_unit_id})

    response = answered(client.post(url, {"accept_admin_role": "on", "accept_cgu": "on", field: value}))

    if response.status_code == 302:  # a box checked: the claim and its letter
        assert AdminClaim.objects.filter(membership=waiting).exists()
    else:
        assert_refused_next_to(response, f"id_{field}")
        assert (rows(), state(waiting)) == before


@pytest.fixture
def claim(settings, member):
    settings.PORTAL_ONBOARDING_RULES = ["R1", "R3"]
    settings.PORTAL_STAFF_EMAIL = "instruction@operateur.localhost"
    return AdminClaim.objects.create(
        membership=member,
        legal_unit=member.legal_unit,
        code_hash=make_password("K7P2MXQ9RT"),
        expires_at=timezone.now() + datetime.timedelta(days=30),
    )


@given(code=hostile_text())
@hostile(max_examples=20)
def test_the_activation_code(member_client, member, claim, code):
    forget_counters()
    before = rows(), state(member)

    response = answered(
        member_client.post(
            reverse("admin_activation", kwargs={"siren": member.legal_unit_id}), {"code": code}
        )
    )

    # Wrong codes are counted (the fifth one blocks the claim, and the staff are told): the
    # membership is untouched, nobody becomes admin.
    assert_refused_next_to(response, "id_code")
    assert state(member) == before[1]
    after = rows()
    assert {key: after[key] for key in ("users", "memberships", "audited changes")} == {
        key: before[0][key] for key in ("users", "memberships", "audited changes")
    }


# A service's conditions particulières ------------------------------------------------------------


@pytest.fixture
def granted_service(member):
    service = ServiceFactory(name="Service aux conditions particulières")
    HabilitationFactory(membership=member, service=service, status=HabilitationStatus.VALIDATED)
    return service


@given(field=st.sampled_from(["accepted", "version"]), value=hostile_text())
@hostile(max_examples=20)
def test_the_conditions_of_a_service(member_client, member, granted_service, field, value):
    service = granted_service
    conditions = ServiceConditionsFactory(service=service)  # a new version to accept each time
    forget_counters()
    before = rows(), ConditionsAcceptance.objects.count()
    url = reverse("services:open", kwargs={"pk": service.pk})

    response = answered(
        member_client.post(url, {"accepted": "on", "version": conditions.version, field: value})
    )

    if response.status_code == 302:  # accepted: off to the service
        assert ConditionsAcceptance.objects.filter(user=member.user, conditions=conditions).exists()
    elif field == "version":  # not the version shown: the page again, to read, nothing recorded
        assert response.status_code == 200
        assert 'name="accepted"' in response.content.decode()
        assert (rows(), ConditionsAcceptance.objects.count()) == before
    else:
        assert_refused_next_to(response, "id_accepted")
        assert (rows(), ConditionsAcceptance.objects.count()) == before
