"""Hostile input in the organisation admin's decisions: approving or refusing a registration,
a member's services, deactivating a member, refusing a service request."""

import pytest
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from habilitations.enums import HabilitationStatus
from organisations.enums import MembershipStatus
from tests.hostile.helpers import (
    answered,
    assert_refused_next_to,
    forget_counters,
    post,
    rows,
    state,
    visitor,
)
from tests.hostile.strategies import hostile, hostile_choices, hostile_text
from tests.organisations.factories import MembershipFactory
from tests.organisations.test_gestion import FILES, LOANS, holding, member_of, service

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin():
    return MembershipFactory(admin=True, establishment__legal_unit__denomination="SOC COOP HABITATION")


@pytest.fixture
def admin_client(admin):
    return visitor(admin.user)


def gestion_url(name: str, admin, pk: int) -> str:
    return reverse(f"gestion:{name}", kwargs={"siren": admin.legal_unit_id, "pk": pk})


# Each decision: the member it is about (made anew for each example, a decision taken being
# final), the page that decides, what a valid form posts, and the fields to make hostile.
DECISIONS = {
    "approve_member": (lambda admin: holding(member_of(admin, pending_admin=True), requested=[LOANS, FILES])),
    "refuse_member": (lambda admin: holding(member_of(admin, pending_admin=True), requested=[LOANS])),
    "member_services": (lambda admin: holding(member_of(admin), validated=[FILES], requested=[LOANS])),
    "deactivate_member": (lambda admin: holding(member_of(admin), validated=[FILES])),
    "refuse_request": (lambda admin: holding(member_of(admin), requested=[LOANS])),
}
FIELDS = {
    "approve_member": ["services", "reason"],
    "refuse_member": ["reason"],
    "member_services": ["services", "reason"],
    "deactivate_member": ["deactivation_reason"],
    "refuse_request": ["reason", "return_to"],
}


def valid_data(name: str) -> dict:
    services = [service(LOANS).pk, service(FILES).pk]
    return {
        "approve_member": {"services": services, "reason": ""},
        "refuse_member": {"reason": "Vous ne faites pas partie du service concerné."},
        "member_services": {"services": services, "reason": ""},
        "deactivate_member": {"deactivation_reason": "Départ de la structure."},
        "refuse_request": {
            "reason": "Ce service est réservé à la direction financière.",
            "return_to": "home",
        },
    }[name]


def decision_state(member) -> tuple:
    return state(member), sorted(member.habilitations.values_list("service_id", "status", "reason"))


@given(
    decision_field=st.sampled_from([(name, field) for name, fields in FIELDS.items() for field in fields]),
    value=hostile_text(),
    values=hostile_choices(),
    urlencoded=st.booleans(),
)
@hostile(max_examples=40)
def test_the_admins_decisions(admin_client, admin, decision_field, value, values, urlencoded):
    name, field = decision_field
    member = DECISIONS[name](admin)
    pk = member.habilitations.get(service=service(LOANS)).pk if name == "refuse_request" else member.pk
    forget_counters()
    before = rows(), decision_state(member)
    data = {**valid_data(name), field: values if field == "services" else value}

    response = answered(post(admin_client, gestion_url(name, admin, pk), data, urlencoded=urlencoded))

    if response.status_code == 302:  # decided, as posted
        member.refresh_from_db()
        if name == "refuse_member":
            assert member.status == MembershipStatus.REFUSED
            assert member.refusal_reason == value.strip()
        elif name == "deactivate_member":
            assert member.status == MembershipStatus.DEACTIVATED
        elif name == "refuse_request":
            habilitation = member.habilitations.get(service=service(LOANS))
            assert habilitation.status == HabilitationStatus.REFUSED
            assert habilitation.reason == (value.strip() if field == "reason" else data["reason"])
        else:
            assert field == "reason"  # no hostile service is one of the catalogue's
    else:
        assert_refused_next_to(response, f"id_{field}")
        assert (rows(), decision_state(member)) == before
