"""The tableau de bord: structures, their services with state, buttons of the validated services."""

import pytest
from django.urls import reverse

from habilitations.enums import HabilitationStatus
from organisations.enums import MembershipStatus
from tests.accounts.factories import UserFactory
from tests.accounts.helpers import text
from tests.habilitations.factories import HabilitationFactory, ServiceFactory
from tests.organisations.factories import MembershipFactory

pytestmark = pytest.mark.django_db


def test_the_dashboard_shows_structures_states_and_the_buttons_of_validated_services(
    client, django_assert_max_num_queries
):
    user = UserFactory(first_name="Cendrine", last_name="Martin", civilite="mme")
    approved = MembershipFactory(user=user)
    pending = MembershipFactory(user=user, pending_admin=True)
    detached = MembershipFactory(user=user, status=MembershipStatus.DETACHED)
    loans = ServiceFactory(name="Demande de prêts")
    files = ServiceFactory(name="Suivi des dossiers")
    dataviz = ServiceFactory(name="Dataviz Cœur de ville")
    HabilitationFactory(membership=approved, service=loans, status=HabilitationStatus.VALIDATED)
    HabilitationFactory(membership=approved, service=files, status=HabilitationStatus.REQUESTED)
    # Validated, but in a structure still waiting: no button yet.
    HabilitationFactory(membership=pending, service=dataviz, status=HabilitationStatus.VALIDATED)
    HabilitationFactory(membership=detached, service=files, status=HabilitationStatus.DEACTIVATED)
    # Validated, but a service the operator withdrew: no button.
    withdrawn = ServiceFactory(name="Ancien extranet", is_active=False)
    HabilitationFactory(membership=approved, service=withdrawn, status=HabilitationStatus.VALIDATED)
    empty = MembershipFactory(user=user)  # no service asked for in this one
    client.force_login(user)

    with django_assert_max_num_queries(12):
        page = text(client.get(reverse("dashboard")))

    assert "Bienvenue Madame Cendrine Martin" in page
    assert f'href="{reverse("services:open", args=[loans.pk])}"' in page
    assert f'href="{reverse("services:open", args=[files.pk])}"' not in page
    assert f'href="{reverse("services:open", args=[dataviz.pk])}"' not in page
    assert "Voir tous les services" in page
    assert reverse("services:catalogue") in page
    assert approved.legal_unit.denomination in page
    assert pending.legal_unit.denomination in page
    assert detached.legal_unit.denomination not in page
    assert "en cours de validation" in page
    assert f'href="{reverse("services:open", args=[withdrawn.pk])}"' not in page
    assert page.count("Aucun service demandé dans cette structure.") == 1
    assert empty.legal_unit.denomination in page
    assert "Inscription : validée" in page
    assert reverse("add_structure") in page
    assert reverse("structures:detail", args=[approved.pk]) in page
    assert reverse("identity") in page


def test_an_admin_finds_the_management_of_their_structure(client):
    admin = MembershipFactory(admin=True)
    client.force_login(admin.user)
    page = text(client.get(reverse("dashboard")))
    assert reverse("gestion:home", kwargs={"siren": admin.legal_unit_id}) in page


def test_the_dashboard_needs_a_login(client):
    response = client.get(reverse("dashboard"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
