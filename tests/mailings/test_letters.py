"""Postal letters: the PDF the legal representative receives, and the staff's printing in batches."""

import datetime
import io
import json
import zoneinfo

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth

from mailings import letters
from mailings.enums import LetterStatus
from mailings.letters import cancel_letter, mark_letters_sent, merged_pdf, queue_letter
from mailings.models import Letter
from organisations.delegation import claim_admin_role
from organisations.enums import AdminClaimStatus
from organisations.models import AdminClaim
from portal.audit.models import AuditEntry
from tests.accounts.factories import UserFactory
from tests.organisations.factories import MembershipFactory

pytestmark = pytest.mark.django_db

PARIS = zoneinfo.ZoneInfo("Europe/Paris")
ADDRESS = [
    "COMMUNE DE SAINT-ÉTIENNE-DU-RŒUVRAY",
    "MAIRIE",
    "1 PL DE L'HOTEL DE VILLE",
    "76800 SAINT-ÉTIENNE-DU-ROUVRAY",
]


@pytest.fixture(autouse=True)
def _operator(settings):
    settings.PORTAL_OPERATOR_NAME = "Agence nationale pour la rénovation urbaine"
    settings.PORTAL_OPERATOR_SHORT_NAME = "l'ANRU"
    settings.PORTAL_SITE_TITLE = "Portail des partenaires"
    settings.PORTAL_CONTACT_EMAIL = "partenaires@anru.example"
    settings.PORTAL_OPERATOR_ADDRESS = "Direction des partenariats|69 bis rue de Vaugirard|75006 PARIS"


def make_letter(*, recipient=None, **context):
    values = {
        "organisation": ADDRESS[0],
        "applicant": "Camille Martin",
        "identifiant": "cmartin",
        "code": "K7P2M-XQ9RT",
        "expires_at": datetime.datetime(2026, 12, 22, 15, 30, tzinfo=PARIS),
        "login_url": "https://partenaires.anru.example/connexion/",
        **context,
    }
    return queue_letter(template="admin_activation", recipient=recipient or ADDRESS, context=values)


def pdf_pages(data) -> list:
    return PdfReader(io.BytesIO(bytes(data))).pages


def page_text(page) -> str:
    return " ".join(page.extract_text().split())


def text_fragments(page) -> list[dict]:
    """The page's pieces of text, in drawing order, with their box in points from the page's
    top-left corner (pypdf's y runs from the bottom)."""
    height = float(page.mediabox.height)
    fragments = []

    def visit(text, cm, tm, font, size):
        if not text.strip():
            return
        x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
        y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
        size = size * abs(tm[3] * cm[3])
        width = stringWidth(text.strip(), font["/BaseFont"].lstrip("/"), size)
        fragments.append(
            {
                "text": text.strip(),
                "left": x,
                "right": x + width,
                "top": height - (y + size),
                "bottom": height - (y - 0.25 * size),
            }
        )

    page.extract_text(visitor_text=visit)
    return fragments


def test_the_letter_is_an_a4_page_for_the_legal_representative_with_the_code_and_its_expiry():
    letter = make_letter()

    assert (letter.status, letter.template) == (LetterStatus.TO_PRINT, "admin_activation")
    assert letter.recipient == "\n".join(ADDRESS)
    assert letter.subject == "Désignation de l'administrateur de votre organisme sur Portail des partenaires"
    [page] = pdf_pages(letter.pdf)
    assert float(page.mediabox.width) == pytest.approx(595, abs=1)
    assert float(page.mediabox.height) == pytest.approx(842, abs=1)
    text = page_text(page)
    for expected in [
        "Agence nationale pour la rénovation urbaine",
        "69 bis rue de Vaugirard",
        "À l'attention du représentant légal",
        *ADDRESS,
        f"Le {letters.long_date(timezone.localdate())}",
        "Objet : désignation de l'administrateur de votre organisme sur Portail des partenaires",
        "Camille Martin (identifiant cmartin)",
        "sur le portail de l'ANRU",
        "valide les inscriptions des autres utilisateurs",
        "https://partenaires.anru.example/connexion/",
        "Ce code est valable jusqu'au 22 décembre 2026",
        "ne lui remettez pas le code et écrivez-nous à partenaires@anru.example",
        "Code d'activation K7P2M-XQ9RT Valable jusqu'au 22 décembre 2026",
    ]:
        assert expected in text


def test_the_code_is_printed_in_groups_of_five_however_it_is_given():
    letter = make_letter(code="k7p2mxq9rt")
    assert "K7P2M-XQ9RT" in page_text(pdf_pages(letter.pdf)[0])


def test_names_are_printed_as_typed_not_read_as_markup():
    letter = make_letter(applicant="Dominique <b>Dupont</b> & Fils", organisation="SARL R&D <SUD>")
    text = page_text(pdf_pages(letter.pdf)[0])
    assert "Dominique <b>Dupont</b> & Fils (identifiant cmartin)" in text
    assert "SARL R&D <SUD>" in text


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (datetime.date(2026, 12, 22), "22 décembre 2026"),
        (datetime.date(2027, 2, 1), "1er février 2027"),
        (datetime.date(2027, 8, 15), "15 août 2027"),
    ],
)
def test_dates_are_written_in_french(day, expected):
    assert letters.long_date(day) == expected


def test_the_date_printed_is_the_expiry_day_in_france():
    # 23:30 in UTC on 21 December is already the 22nd in Paris.
    letter = make_letter(expires_at=datetime.datetime(2026, 12, 21, 23, 30, tzinfo=datetime.UTC))
    assert "Valable jusqu'au 22 décembre 2026" in page_text(pdf_pages(letter.pdf)[0])


LONG_NAME = (
    "SYNDICAT INTERCOMMUNAL D'ALIMENTATION EN EAU POTABLE, D'ASSAINISSEMENT COLLECTIF ET NON "
    "COLLECTIF ET DE GESTION DES MILIEUX AQUATIQUES DES COMMUNES DE LA VALLÉE DE LA HAUTE-MEURTHE "
    "ET DE SES AFFLUENTS, DU PIÉMONT VOSGIEN ET DU PLATEAU LORRAIN"
)


@pytest.mark.parametrize(
    "address",
    [
        ADDRESS,
        ["MAIRIE", "54000 NANCY"],
        [
            LONG_NAME,
            "SERVICE DES EAUX",
            "BATIMENT C",
            "12 BIS RUE DU GENERAL DE GAULLE",
            "BP 12",
            "88100 SAINT-DIE-DES-VOSGES CEDEX",
        ],
    ],
    ids=["usual", "short", "longest"],
)
def test_the_address_block_lies_inside_the_envelope_window(address):
    letter = make_letter(recipient=address)
    page = pdf_pages(letter.pdf)[0]
    fragments = text_fragments(page)
    texts = [fragment["text"] for fragment in fragments]
    first = texts.index("À l'attention du représentant légal")
    last = texts.index(address[-1])
    block = fragments[first : last + 1]
    assert len(block) >= len(address) + 1
    for line in address[1:]:
        assert line in texts[first : last + 1]
    for fragment in block:
        assert fragment["left"] >= letters.WINDOW_LEFT_MM * mm, fragment
        assert fragment["right"] <= letters.WINDOW_RIGHT_MM * mm, fragment
        assert fragment["top"] >= letters.WINDOW_TOP_MM * mm, fragment
        assert fragment["bottom"] <= letters.WINDOW_BOTTOM_MM * mm, fragment
    assert len(page_text(page)) > 1000  # the body is still there, on the same page


def test_queueing_is_audited_without_the_code():
    letter = make_letter()
    entry = AuditEntry.objects.get(action="letter.queued")
    assert entry.target_id == str(letter.pk)
    assert entry.details == {"template": "admin_activation"}
    for entry in AuditEntry.objects.all():
        assert "XQ9RT" not in json.dumps(entry.details) + entry.target_label


@pytest.mark.parametrize(
    ("template", "recipient", "context", "error"),
    [
        ("unknown", ADDRESS, None, "Unknown letter template 'unknown'"),
        ("admin_activation", ADDRESS, {"organisation": "COMMUNE"}, "missing context applicant, code"),
        ("admin_activation", [" ", ""], None, "1 to 6 lines, not 0"),
        ("admin_activation", ["1", "2", "3", "4", "5", "6", "7"], None, "1 to 6 lines, not 7"),
    ],
)
def test_a_letter_that_cannot_be_drawn_is_not_written(template, recipient, context, error):
    good = {
        "organisation": "COMMUNE",
        "applicant": "Camille Martin",
        "identifiant": "cmartin",
        "code": "K7P2M-XQ9RT",
        "expires_at": timezone.now(),
        "login_url": "https://partenaires.anru.example/",
    }
    with pytest.raises(ValueError, match=error):
        queue_letter(template=template, recipient=recipient, context=good if context is None else context)
    assert not Letter.objects.exists()


def test_the_same_letter_is_drawn_the_same_way():
    context = {
        "organisation": "COMMUNE",
        "applicant": "Camille Martin",
        "identifiant": "cmartin",
        "code": "K7P2M-XQ9RT",
        "expires_at": datetime.datetime(2026, 12, 22, tzinfo=PARIS),
        "login_url": "https://partenaires.anru.example/",
    }
    first = letters.render_letter(template="admin_activation", recipient=ADDRESS, context=context)
    assert letters.render_letter(template="admin_activation", recipient=ADDRESS, context=context) == first


def test_the_merged_pdf_has_the_letters_pages_in_order():
    batch = [make_letter(code=code) for code in ["AAAAA-11111", "CCCCC-22222", "DDDDD-33333"]]
    pages = pdf_pages(merged_pdf(batch))
    assert [
        page_text(page).count(code)
        for page, code in zip(pages, ["AAAAA-11111", "CCCCC-22222", "DDDDD-33333"], strict=True)
    ] == [1, 1, 1]
    assert len(pages) == 3


@pytest.fixture
def agent():
    user = UserFactory(identifiant="agent", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="change_letter"))
    return user


def test_marking_sent_erases_the_pdf_and_records_who_and_when(agent):
    first, second = make_letter(), make_letter()
    assert mark_letters_sent(letters=[first, second], by=agent) == 2
    for letter in Letter.objects.filter(pk__in=[first.pk, second.pk]):
        assert (letter.status, letter.sent_by, letter.pdf) == (LetterStatus.SENT, agent, None)
        assert timezone.now() - letter.sent_at < datetime.timedelta(minutes=1)
    entries = AuditEntry.objects.filter(action="letter.sent")
    assert sorted((entry.actor, entry.target_id) for entry in entries) == sorted(
        [(agent, str(first.pk)), (agent, str(second.pk))]
    )
    sent_at = Letter.objects.get(pk=first.pk).sent_at

    assert mark_letters_sent(letters=Letter.objects.all(), by=UserFactory(is_staff=True)) == 0
    assert Letter.objects.get(pk=first.pk).sent_at == sent_at
    assert entries.count() == 2


def test_a_cancelled_letter_is_no_longer_printed(client, agent):
    letter = make_letter()
    assert cancel_letter(letter=letter, by=agent) is True
    letter.refresh_from_db()
    assert (letter.status, letter.pdf) == (LetterStatus.CANCELLED, None)
    assert letter.cancelled_at is not None
    assert AuditEntry.objects.get(action="letter.cancelled").actor == agent
    assert cancel_letter(letter=letter) is False
    assert mark_letters_sent(letters=[letter], by=agent) == 0
    with pytest.raises(ValueError, match="not to print"):
        merged_pdf([letter])

    client.force_login(agent)
    assert client.get(reverse("admin:mailings_letter_pdf", args=[letter.pk])).status_code == 404
    response = client.get(reverse("admin:mailings_letter_print"), follow=True)
    assert "Aucun courrier n&#x27;est à imprimer." in response.content.decode()
    assert not AuditEntry.objects.filter(action="letter.downloaded").exists()


def test_a_sent_letter_cannot_be_cancelled(agent):
    letter = make_letter()
    mark_letters_sent(letters=[letter], by=agent)
    assert cancel_letter(letter=letter) is False
    assert Letter.objects.get(pk=letter.pk).status == LetterStatus.SENT


# The staff's pages ------------------------------------------------------------------------------


def download_urls(letter):
    return [reverse("admin:mailings_letter_print"), reverse("admin:mailings_letter_pdf", args=[letter.pk])]


def test_only_staff_allowed_to_change_letters_download_them(client):
    letter = make_letter()
    for url in download_urls(letter):
        response = client.get(url)
        assert response.status_code == 302
        assert response.url.startswith(reverse("admin:login"))

    client.force_login(UserFactory())
    for url in download_urls(letter):
        assert client.get(url).url.startswith(reverse("admin:login"))

    reader = UserFactory(is_staff=True)
    reader.user_permissions.add(Permission.objects.get(codename="view_letter"))
    client.force_login(reader)
    for url in download_urls(letter):
        assert client.get(url).status_code == 403
    assert not AuditEntry.objects.filter(action="letter.downloaded").exists()


def test_staff_download_all_letters_to_print_oldest_first(client, agent):
    older, newer = make_letter(code="AAAAA-11111"), make_letter(code="CCCCC-22222")
    mark_letters_sent(letters=[make_letter(code="DDDDD-33333")], by=agent)
    client.force_login(agent)

    response = client.get(reverse("admin:mailings_letter_print"))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    today = timezone.localdate().isoformat()
    assert response["Content-Disposition"] == f'attachment; filename="courriers-{today}.pdf"'
    assert "no-store" in response["Cache-Control"]
    pages = pdf_pages(response.content)
    assert ["AAAAA-11111" in page_text(page) for page in pages] == [True, False]
    assert ["CCCCC-22222" in page_text(page) for page in pages] == [False, True]
    entry = AuditEntry.objects.get(action="letter.downloaded")
    assert (entry.actor, entry.details) == (agent, {"count": 2, "letters": [older.pk, newer.pk]})


def test_staff_download_one_letter_from_its_page(client, agent):
    letter = make_letter()
    client.force_login(agent)
    page = client.get(reverse("admin:mailings_letter_change", args=[letter.pk])).content.decode()
    pdf_url = reverse("admin:mailings_letter_pdf", args=[letter.pk])
    assert f'href="{pdf_url}"' in page
    assert "Télécharger le PDF" in page
    assert 'name="_save"' not in page

    response = client.get(pdf_url)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == f'attachment; filename="courrier-{letter.pk}.pdf"'
    assert "K7P2M-XQ9RT" in page_text(pdf_pages(response.content)[0])
    entry = AuditEntry.objects.get(action="letter.downloaded")
    assert (entry.target_id, entry.details["count"]) == (str(letter.pk), 1)

    mark_letters_sent(letters=[letter], by=agent)
    page = client.get(reverse("admin:mailings_letter_change", args=[letter.pk])).content.decode()
    assert "Télécharger le PDF" not in page
    assert client.get(pdf_url).status_code == 404


def test_letters_are_read_only(client, agent):
    letter = make_letter()
    client.force_login(agent)
    url = reverse("admin:mailings_letter_change", args=[letter.pk])
    assert client.post(url, {"subject": "Autre objet"}).status_code == 403
    assert client.get(reverse("admin:mailings_letter_add")).status_code == 403
    assert client.get(reverse("admin:mailings_letter_delete", args=[letter.pk])).status_code == 403
    assert Letter.objects.get(pk=letter.pk).subject == letter.subject


def test_the_list_offers_to_print_the_letters_waiting(client, agent, django_assert_max_num_queries):
    for _ in range(3):
        make_letter()
    mark_letters_sent(letters=[make_letter()], by=agent)
    client.force_login(agent)
    url = reverse("admin:mailings_letter_changelist")

    page = client.get(url).content.decode()

    assert (
        f'<a href="{reverse("admin:mailings_letter_print")}">Imprimer les 3 courriers à envoyer</a>' in page
    )
    assert page.count('class="action-select"') == 4
    assert "Télécharger les courriers sélectionnés (un seul PDF)" in page
    assert "COMMUNE DE SAINT-ÉTIENNE-DU-RŒUVRAY" in page
    page = client.get(url, {"status__exact": "to_print", "q": "rouvray"}).content.decode()
    assert page.count('class="action-select"') == 3

    for _ in range(10):
        make_letter()
    with django_assert_max_num_queries(10), CaptureQueriesContext(connection) as queries:
        client.get(url)
    # The PDFs stay in the database: a list of hundreds of letters loads none of them.
    assert not any('"mailings_letter"."pdf"' in query["sql"] for query in queries)


def test_the_print_link_is_not_offered_to_staff_who_may_not_print(client):
    make_letter()
    reader = UserFactory(is_staff=True)
    reader.user_permissions.add(Permission.objects.get(codename="view_letter"))
    client.force_login(reader)
    page = client.get(reverse("admin:mailings_letter_changelist")).content.decode()
    assert "courrier à envoyer" not in page
    assert "Imprimer" not in page


def test_the_download_action_merges_the_selected_letters_to_print(client, agent):
    first, second, third = (make_letter(code=code) for code in ["AAAAA-11111", "CCCCC-22222", "DDDDD-33333"])
    mark_letters_sent(letters=[second], by=agent)
    client.force_login(agent)
    url = reverse("admin:mailings_letter_changelist")

    response = client.post(
        url, {"action": "download_selected", "_selected_action": [third.pk, second.pk, first.pk]}
    )

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith('attachment; filename="courriers-')
    pages = pdf_pages(response.content)
    assert len(pages) == 2
    assert "AAAAA-11111" in page_text(pages[0])
    assert "DDDDD-33333" in page_text(pages[1])
    assert AuditEntry.objects.get(action="letter.downloaded").details["count"] == 2

    response = client.post(url, {"action": "download_selected", "_selected_action": [second.pk]}, follow=True)
    assert "Aucun des courriers sélectionnés n&#x27;est à imprimer." in response.content.decode()
    assert AuditEntry.objects.filter(action="letter.downloaded").count() == 1


def test_the_mark_sent_action_asks_for_confirmation_then_marks(client, agent):
    first, second, third = make_letter(), make_letter(), make_letter()
    mark_letters_sent(letters=[third], by=agent)
    client.force_login(agent)
    url = reverse("admin:mailings_letter_changelist")
    selection = {"action": "mark_sent", "_selected_action": [first.pk, second.pk, third.pk]}

    page = client.post(url, selection).content.decode()

    assert "leur PDF sera effacé" in page
    assert "1 courrier sélectionné n’est plus à imprimer" in page
    assert Letter.objects.filter(status=LetterStatus.TO_PRINT).count() == 2

    response = client.post(url, {**selection, "confirm": "yes"}, follow=True)

    page = response.content.decode()
    assert "2 courriers marqués comme envoyés." in page
    assert "1 courrier ignoré : il n&#x27;était plus à imprimer." in page
    for letter in (first, second):
        letter.refresh_from_db()
        assert (letter.status, letter.sent_by, letter.pdf) == (LetterStatus.SENT, agent, None)
    assert AuditEntry.objects.filter(action="letter.sent").count() == 3


# Admin claims ------------------------------------------------------------------------------------


@pytest.fixture
def superuser():
    return UserFactory(identifiant="chef", is_staff=True, is_superuser=True)


def make_claim(**membership):
    return claim_admin_role(membership=MembershipFactory(pending_admin=True, **membership))


def test_staff_find_admin_claims_without_their_code(client, superuser):
    claim = make_claim()
    other = make_claim()
    client.force_login(superuser)
    url = reverse("admin:organisations_adminclaim_changelist")

    page = client.get(url, {"q": claim.legal_unit.siren}).content.decode()
    assert page.count('class="action-select"') == 1
    assert claim.legal_unit.denomination in page
    page = client.get(url, {"q": other.membership.user.email}).content.decode()
    assert page.count('class="action-select"') == 1
    assert other.legal_unit.denomination in page
    assert "Envoyer un nouveau courrier (le code précédent ne sera plus valable)" in page

    page = client.get(reverse("admin:organisations_adminclaim_change", args=[claim.pk])).content.decode()
    assert claim.legal_unit.denomination in page
    assert claim.code_hash not in page
    assert "empreinte" not in page
    assert 'name="_save"' not in page
    assert client.get(reverse("admin:organisations_adminclaim_add")).status_code == 403


def test_staff_send_a_new_letter_and_closed_claims_are_refused(client, superuser):
    claim = make_claim()
    closed = make_claim()
    AdminClaim.objects.filter(pk=closed.pk).update(status=AdminClaimStatus.LAPSED)
    old_letter = claim.letter
    client.force_login(superuser)

    response = client.post(
        reverse("admin:organisations_adminclaim_changelist"),
        {"action": "send_new_letters", "_selected_action": [closed.pk, claim.pk]},
        follow=True,
    )

    page = response.content.decode()
    assert "1 nouveau courrier est à imprimer" in page
    assert f"La demande de {closed.membership.user} est close" in page
    claim.refresh_from_db()
    assert claim.letters_sent == 2
    assert claim.letter != old_letter
    assert claim.letter.status == LetterStatus.TO_PRINT
    old_letter.refresh_from_db()
    assert (old_letter.status, old_letter.pdf) == (LetterStatus.CANCELLED, None)
    closed.refresh_from_db()
    assert closed.letters_sent == 1
