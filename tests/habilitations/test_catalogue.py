"""The catalogue of services and requests for them (bdt-espace "Gestion des services",
"Demande d'habilitation" CAS 1 and CAS 2): what the member sees in each of their structures, and
who is told of a request — the organisation's admin, the admin-to-be of a pending letter, the
requester offered the admin role, or the staff."""

import html
import re

import pytest
from django.urls import reverse

from habilitations.enums import HabilitationStatus
from habilitations.models import Habilitation, Service
from mailings.models import Email
from organisations import delegation
from organisations.enums import MembershipStatus, OnboardingRule
from portal.audit.models import AuditEntry
from tests.accounts.factories import UserFactory
from tests.habilitations.factories import HabilitationFactory
from tests.organisations.factories import MembershipFactory

pytestmark = pytest.mark.django_db

STAFF_EMAIL = "instruction@operateur.localhost"
LOANS = "Création de demandes de prêts"  # needs a function
FILES = "Consultation des dossiers"
OUTSTANDING = "Consultation des encours"
DOCUMENTS = "Documents"
DATAVIZ = "Dataviz Cœur de ville"


@pytest.fixture(autouse=True)
def _staff_email(settings):
    settings.PORTAL_STAFF_EMAIL = STAFF_EMAIL


def service(name: str) -> Service:
    return Service.objects.get(name=name)


def text(response) -> str:
    return html.unescape(response.content.decode())


def plain(fragment: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def catalogue_rows(response) -> dict[str, dict[str, str]]:
    """{service: {structure: "state — action"}} as the catalogue's tables read."""
    content = response.content.decode()
    rows = {}
    for section in re.findall(r"<section[^>]*>(.*?)</section>", content, re.DOTALL):
        name = plain(re.search(r"<h2[^>]*>(.*?)</h2>", section, re.DOTALL).group(1))
        rows[name] = {
            plain(structure): plain(state) + " — " + plain(action)
            for structure, state, action in re.findall(
                r'<tr>\s*<th scope="row">(.*?)</th>\s*<td>(.*?)</td>\s*<td>(.*?)</td>', section, re.DOTALL
            )
        }
    return rows


def function_url(membership) -> str:
    return reverse("structures:function", kwargs={"pk": membership.pk})


def request_url(name: str, membership) -> str:
    return reverse("services:request", kwargs={"pk": service(name).pk}) + f"?structure={membership.pk}"


def emails(template: str) -> list[Email]:
    return list(Email.objects.filter(template=template))


def member(*, organisation=None, **kwargs):
    if organisation is not None:
        kwargs["establishment"] = organisation.establishment
    return MembershipFactory(
        user=kwargs.pop("user", None) or UserFactory(first_name="Valérie", last_name="Dupont"), **kwargs
    )


@pytest.fixture
def admin():
    return MembershipFactory(
        admin=True,
        user=UserFactory(first_name="Pierre", last_name="Durand"),
        establishment__legal_unit__denomination="SOC COOP HABITATION LOYER MODERE",
    )


# The catalogue -----------------------------------------------------------------------------------


def test_the_catalogue_shows_each_service_and_where_the_member_stands_in_each_structure(
    client, admin, django_assert_max_num_queries
):
    requester = member(organisation=admin)
    other = member(
        user=requester.user, establishment__legal_unit__denomination="COMMUNE DE NANCY", function=None
    )
    member(
        user=requester.user,
        establishment__legal_unit__denomination="STRUCTURE QUITTEE",
        status=MembershipStatus.DETACHED,
    )
    for name, status, reason in [
        (FILES, HabilitationStatus.REQUESTED, ""),
        (OUTSTANDING, HabilitationStatus.VALIDATED, ""),
        (DOCUMENTS, HabilitationStatus.REFUSED, "Réservé aux services financiers."),
        (DATAVIZ, HabilitationStatus.DEACTIVATED, ""),
    ]:
        HabilitationFactory(membership=requester, service=service(name), status=status, reason=reason)
    Service.objects.create(name="Ancien service", is_active=False)
    client.force_login(requester.user)

    with django_assert_max_num_queries(5):
        response = client.get(reverse("services:catalogue"))

    assert response.status_code == 200
    rows = catalogue_rows(response)
    assert "Ancien service" not in rows
    assert list(rows) == [
        LOANS,
        "Validation de demandes de prêts",
        FILES,
        OUTSTANDING,
        DOCUMENTS,
        DATAVIZ,
    ]
    mine, nancy = "SOC COOP HABITATION LOYER MODERE", "COMMUNE DE NANCY"
    assert list(rows[FILES]) == [nancy, mine]  # the detached structure is not listed
    assert rows[FILES][mine].startswith("en cours de validation —")
    assert rows[OUTSTANDING][mine].startswith("validée — Accéder au service")
    assert rows[DOCUMENTS][mine].startswith(
        "refusée Motif : Réservé aux services financiers. — Demander l'accès"
    )
    assert rows[DATAVIZ][mine].startswith("désactivée — Demander l'accès")
    assert rows[FILES][nancy].startswith("non demandée — Demander l'accès")
    # The loan services need a function: given in one structure, not in the other.
    assert rows[LOANS][mine].startswith("non demandée — Demander l'accès")
    assert rows[LOANS][nancy].startswith(
        "non demandée — Ce service demande votre fonction dans la structure."
    )
    content = text(response)
    assert content.count("fonction requise") == 2
    assert f'href="{function_url(other)}"' in content
    assert f'href="{request_url(FILES, other).replace("&", "&amp;")}"' in response.content.decode()
    assert f'href="{reverse("services:open", kwargs={"pk": service(OUTSTANDING).pk})}"' in content


def test_without_a_structure_the_catalogue_says_how_to_add_one(client):
    client.force_login(UserFactory())
    response = client.get(reverse("services:catalogue"))
    assert "Vous n'êtes rattaché à aucune structure" in text(response)
    assert catalogue_rows(response)[FILES] == {}


def test_the_catalogue_is_for_logged_in_users(client):
    response = client.get(reverse("services:catalogue"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


# Requests: who decides ---------------------------------------------------------------------------


def test_in_an_organisation_with_an_admin_the_admin_is_emailed_a_link_to_the_member(client, admin):
    requester = member(organisation=admin)
    client.force_login(requester.user)

    page = client.get(request_url(FILES, requester))
    assert "Demande d'habilitation" in text(page)
    assert "votre demande doit être validée par l'administrateur de votre structure" in text(page)
    assert not Habilitation.objects.exists()  # the page itself changes nothing

    response = client.post(request_url(FILES, requester), follow=True)

    assert response.redirect_chain == [(reverse("services:catalogue"), 302)]
    assert "est envoyée à l'administrateur de votre structure" in text(response)
    habilitation = Habilitation.objects.get()
    assert (habilitation.membership, habilitation.service.name, habilitation.status) == (
        requester,
        FILES,
        HabilitationStatus.REQUESTED,
    )
    assert [(event.to_status, event.by) for event in habilitation.events.all()] == [
        (HabilitationStatus.REQUESTED, requester.user)
    ]
    (to_admin,) = emails("habilitation_to_admin")
    member_url = reverse("gestion:member", kwargs={"siren": admin.legal_unit_id, "pk": requester.pk})
    assert to_admin.to_email == admin.email
    assert f"http://testserver{member_url}" in to_admin.body_text
    assert "Valérie Dupont" in to_admin.body_text
    (to_user,) = emails("habilitation_requested")
    assert to_user.to_email == requester.email
    assert "en cours de validation" in to_user.subject
    assert not emails("habilitation_to_staff")
    assert AuditEntry.objects.filter(action="habilitation.requested", actor=requester.user).count() == 1


def test_while_a_letter_is_pending_the_request_waits_for_the_admin_to_be(client, settings):
    claimant = MembershipFactory(pending_admin=True)
    delegation.claim_admin_role(membership=claimant)
    requester = member(organisation=claimant, pending_admin=True)
    client.force_login(requester.user)

    assert "votre demande lui sera présentée dès qu'il l'aura activé" in text(
        client.get(request_url(FILES, requester))
    )
    response = client.post(request_url(FILES, requester), follow=True)

    assert response.redirect_chain == [(reverse("services:catalogue"), 302)]
    assert "dès qu'il aura activé son rôle" in text(response)
    assert Habilitation.objects.get(membership=requester).status == HabilitationStatus.REQUESTED
    assert [email.template for email in Email.objects.filter(to_email=requester.email)] == [
        "habilitation_requested"
    ]
    assert not emails("habilitation_to_admin")
    assert not emails("habilitation_to_staff")


def test_the_claimant_of_a_pending_letter_will_grant_it_to_themselves(client):
    claimant = MembershipFactory(pending_admin=True)
    delegation.claim_admin_role(membership=claimant)
    client.force_login(claimant.user)

    response = client.post(request_url(FILES, claimant), follow=True)

    assert "dès que vous aurez activé votre rôle d'administrateur" in text(response)
    assert Habilitation.objects.get(membership=claimant).status == HabilitationStatus.REQUESTED


def test_without_admin_nor_letter_the_requester_is_offered_the_admin_role(client):
    requester = member(rule=OnboardingRule.R2_TRUSTED_DOMAIN)
    client.force_login(requester.user)

    page = text(client.get(request_url(FILES, requester)))
    assert "vous allez devenir administrateur des utilisateurs et de leurs habilitations" in page
    assert "Vérifiez auprès de votre représentant légal" in page

    response = client.post(request_url(FILES, requester))

    assert response.status_code == 302
    assert response.url == reverse("admin_role_offer", kwargs={"siren": requester.legal_unit_id})
    assert Habilitation.objects.get(membership=requester).status == HabilitationStatus.REQUESTED
    offer = client.get(response.url)
    assert "vous allez en devenir l'administrateur" in text(offer)
    assert "Demander le rôle d'administrateur" in text(offer)
    assert [email.template for email in Email.objects.all()] == ["habilitation_requested"]


def test_without_delegated_administration_the_staff_are_emailed(client, settings):
    settings.PORTAL_ONBOARDING_RULES = ["R2", "R4"]
    requester = member(rule=OnboardingRule.R4_STAFF_VALIDATION)
    client.force_login(requester.user)

    assert "doit être validée par l'opérateur" in text(client.get(request_url(FILES, requester)))
    response = client.post(request_url(FILES, requester), follow=True)

    assert response.redirect_chain == [(reverse("services:catalogue"), 302)]
    assert "est transmise à l'opérateur" in text(response)
    habilitation = Habilitation.objects.get(membership=requester)
    (to_staff,) = emails("habilitation_to_staff")
    assert to_staff.to_email == STAFF_EMAIL
    admin_url = reverse("admin:habilitations_habilitation_change", args=[habilitation.pk])
    assert f"http://testserver{admin_url}" in to_staff.body_text
    assert requester.legal_unit_id in to_staff.body_text
    assert [email.to_email for email in emails("habilitation_requested")] == [requester.email]


def test_the_admin_asking_for_a_service_is_sent_to_grant_it(client, admin):
    client.force_login(admin.user)

    response = client.post(request_url(FILES, admin))

    assert response.url == reverse("gestion:member", kwargs={"siren": admin.legal_unit_id, "pk": admin.pk})
    assert Habilitation.objects.get(membership=admin).status == HabilitationStatus.REQUESTED
    assert not emails("habilitation_to_admin")


# Requests: what is refused or changes nothing -----------------------------------------------------


def test_a_service_needing_a_function_is_refused_with_a_link_to_give_it(client, admin):
    requester = member(organisation=admin, function=None)
    client.force_login(requester.user)

    for response in (client.get(request_url(LOANS, requester)), client.post(request_url(LOANS, requester))):
        assert response.status_code == 200
        content = text(response)
        assert "demande que vous indiquiez votre fonction dans la structure" in content
        assert f'href="{function_url(requester)}"' in content
        assert ">Accepter<" not in content

    assert not Habilitation.objects.exists()
    assert not Email.objects.exists()
    # A service without that need is requested as usual.
    assert client.post(request_url(FILES, requester)).status_code == 302
    assert Habilitation.objects.filter(membership=requester).count() == 1


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (HabilitationStatus.REQUESTED, "est déjà en cours de validation"),
        (HabilitationStatus.VALIDATED, "Vous avez déjà accès au service"),
    ],
)
def test_a_request_already_pending_or_granted_says_so_and_changes_nothing(client, admin, status, message):
    requester = member(organisation=admin)
    habilitation = HabilitationFactory(membership=requester, service=service(FILES), status=status)
    client.force_login(requester.user)

    assert message in text(client.get(request_url(FILES, requester)))
    response = client.post(request_url(FILES, requester), follow=True)

    assert message in text(response)
    habilitation.refresh_from_db()
    assert habilitation.status == status
    assert not habilitation.events.exists()
    assert not Email.objects.exists()


@pytest.mark.parametrize("status", [HabilitationStatus.REFUSED, HabilitationStatus.DEACTIVATED])
def test_a_refused_or_deactivated_service_may_be_asked_for_again(client, admin, status):
    requester = member(organisation=admin)
    habilitation = HabilitationFactory(
        membership=requester, service=service(FILES), status=status, reason="Motif précédent"
    )
    client.force_login(requester.user)

    client.post(request_url(FILES, requester))

    habilitation.refresh_from_db()
    assert (habilitation.status, habilitation.reason) == (HabilitationStatus.REQUESTED, "")
    assert [event.to_status for event in habilitation.events.all()] == [HabilitationStatus.REQUESTED]
    assert len(emails("habilitation_to_admin")) == 1
    assert len(emails("habilitation_requested")) == 1


@pytest.mark.parametrize(
    "status", [MembershipStatus.REFUSED, MembershipStatus.DEACTIVATED, MembershipStatus.LAPSED]
)
def test_a_structure_whose_registration_is_over_allows_no_request(client, admin, status):
    requester = member(
        organisation=admin,
        status=status,
        refusal_reason="Inconnu" if status == MembershipStatus.REFUSED else "",
    )
    client.force_login(requester.user)

    for response in (client.get(request_url(FILES, requester)), client.post(request_url(FILES, requester))):
        assert response.status_code == 200
        assert "vous ne pouvez pas y demander de service" in text(response)
        assert ">Accepter<" not in text(response)
    assert not Habilitation.objects.exists()
    assert not Email.objects.exists()


def test_another_users_structure_or_an_unknown_service_is_a_404(client, admin):
    requester = member(organisation=admin)
    stranger = member(organisation=admin)
    client.force_login(stranger.user)
    unknown = reverse("services:request", kwargs={"pk": 999999}) + f"?structure={stranger.pk}"
    Service.objects.filter(name=DATAVIZ).update(is_active=False)
    for url in [
        request_url(FILES, requester),  # not the user's structure
        unknown,
        request_url(DATAVIZ, stranger),  # no longer offered
        reverse("services:request", kwargs={"pk": service(FILES).pk}),  # no structure
        reverse("services:request", kwargs={"pk": service(FILES).pk}) + "?structure=abc",
    ]:
        assert client.get(url).status_code == 404, url
        assert client.post(url).status_code == 404, url
    assert not Habilitation.objects.exists()
    assert not Email.objects.exists()


def test_a_request_needs_a_login(client, admin):
    requester = member(organisation=admin)
    response = client.post(request_url(FILES, requester))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))
    assert not Habilitation.objects.exists()
