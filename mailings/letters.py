"""Postal letters: queue_letter() draws the PDF and writes the row; staff print them in batches.

A letter is drawn once, when it is queued, in the caller's transaction. The secret it may carry
(an activation code) exists in plain text only in that PDF, which is erased as soon as the letter
is sent or cancelled.

The page is A4, folded in three for a French DL window envelope (window on the right): the
recipient block is drawn inside the window's rectangle, with a margin for the letter's play in
the envelope.
"""

import datetime
import io
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from xml.sax.saxutils import escape

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import formats, timezone, translation
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from pypdf import PdfReader, PdfWriter
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.lib.utils import simpleSplit
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, Frame, KeepInFrame, Paragraph, Spacer, Table, TableStyle

from mailings.enums import LetterStatus
from mailings.models import Letter
from portal import audit

PAGE_WIDTH, PAGE_HEIGHT = A4

# The window of a DL envelope (110 × 220 mm, window on the right), as it lies on the unfolded
# A4 page: millimetres from the page's left and top edges.
WINDOW_LEFT_MM = 100
WINDOW_RIGHT_MM = 190
WINDOW_TOP_MM = 45
WINDOW_BOTTOM_MM = 85
# The letter moves a few millimetres in the envelope: the address keeps clear of the window's edges.
WINDOW_MARGIN_MM = 4
# Folded in three: the first fold lies below the window.
FOLD_MARKS_MM = (99, 198)

# A French postal address has at most six lines (NF Z 10-011): the caller gives them all.
MAX_RECIPIENT_LINES = 6

MARGIN_LEFT_MM = 20
MARGIN_RIGHT_MM = 20
MARGIN_TOP_MM = 18
MARGIN_BOTTOM_MM = 15
SENDER_WIDTH_MM = WINDOW_LEFT_MM - MARGIN_LEFT_MM - 5
BODY_TOP_MM = WINDOW_BOTTOM_MM + 8

FONT = "Helvetica"
FONT_BOLD = "Helvetica-Bold"
CODE_FONT = "Courier-Bold"
ADDRESS_FONT_SIZES = (10, 9.5, 9, 8.5, 8, 7.5, 7)
LEADING_RATIO = 1.2
DESCENT_RATIO = 0.25  # below the baseline, for Helvetica's descenders, with room to spare


# Layout ----------------------------------------------------------------------------------------


def _y(from_top_mm: float) -> float:
    """A distance from the page's top edge, in ReportLab's coordinates (points from the bottom)."""
    return PAGE_HEIGHT - from_top_mm * mm


@dataclass(frozen=True)
class AddressLayout:
    lines: list[str]
    font_size: float

    @property
    def leading(self) -> float:
        return self.font_size * LEADING_RATIO

    @property
    def height(self) -> float:
        return self.font_size + (len(self.lines) - 1) * self.leading + DESCENT_RATIO * self.font_size


def layout_address(lines: list[str]) -> AddressLayout:
    """Wrap the address block to the window's width, in the largest size whose height fits.

    Line 0 is "À l'attention…", line 1 the organisation's name: if even the smallest size is too
    tall, the name's last wrapped lines give way, never the street or the town.
    """
    width = (WINDOW_RIGHT_MM - WINDOW_LEFT_MM - 2 * WINDOW_MARGIN_MM) * mm
    height = (WINDOW_BOTTOM_MM - WINDOW_TOP_MM - 2 * WINDOW_MARGIN_MM) * mm

    def wrap(size: float) -> list[list[str]]:
        return [simpleSplit(line, FONT, size, width) or [""] for line in lines]

    for size in ADDRESS_FONT_SIZES:
        layout = AddressLayout([part for parts in wrap(size) for part in parts], size)
        if layout.height <= height:
            return layout
    size = ADDRESS_FONT_SIZES[-1]
    head, name, *rest = wrap(size)
    tail = [part for parts in rest for part in parts]
    fits = int((height - (1 + DESCENT_RATIO) * size) // (size * LEADING_RATIO)) + 1
    room = max(fits - len(head) - len(tail), 1)
    if len(name) > room:
        name = name[:room]
        words = name[-1].rsplit(" ", 1)
        name[-1] = (words[0] if len(words) > 1 else name[-1][:-1]).rstrip(" ,;-") + "…"
    return AddressLayout((head + name + tail)[:fits], size)


def _draw_address(canvas: Canvas, lines: list[str]) -> None:
    layout = layout_address(lines)
    x = (WINDOW_LEFT_MM + WINDOW_MARGIN_MM) * mm
    y = _y(WINDOW_TOP_MM + WINDOW_MARGIN_MM) - layout.font_size
    canvas.setFont(FONT, layout.font_size)
    for line in layout.lines:
        canvas.drawString(x, y, line)
        y -= layout.leading


def _draw_sender(canvas: Canvas) -> None:
    width = SENDER_WIDTH_MM * mm
    address = [line.strip() for line in getattr(settings, "PORTAL_OPERATOR_ADDRESS", "").split("|")]
    blocks = [
        (FONT_BOLD, 10, [settings.PORTAL_OPERATOR_NAME]),
        (FONT, 9, [line for line in address if line]),
        (FONT, 9, [settings.PORTAL_SITE_TITLE, settings.PORTAL_CONTACT_EMAIL]),
    ]
    y = _y(MARGIN_TOP_MM)
    for font, size, lines in blocks:
        if not lines:
            continue
        canvas.setFont(font, size)
        for line in lines:
            for part in simpleSplit(line, font, size, width):
                y -= size * LEADING_RATIO
                canvas.drawString(MARGIN_LEFT_MM * mm, y, part)
        y -= size * 0.6


def _draw_fold_marks(canvas: Canvas) -> None:
    canvas.setLineWidth(0.3)
    canvas.setStrokeColor(colors.grey)
    for from_top in FOLD_MARKS_MM:
        canvas.line(4 * mm, _y(from_top), 8 * mm, _y(from_top))


# Text ------------------------------------------------------------------------------------------

STYLES = {
    "body": ParagraphStyle("body", fontName=FONT, fontSize=10.5, leading=14.5, spaceAfter=7),
    "date": ParagraphStyle("date", fontName=FONT, fontSize=10.5, leading=14.5, alignment=TA_RIGHT),
    "subject": ParagraphStyle("subject", fontName=FONT_BOLD, fontSize=10.5, leading=14.5),
    "code_label": ParagraphStyle(
        "code_label", fontName=FONT_BOLD, fontSize=11, leading=14, alignment=TA_CENTER
    ),
    "code": ParagraphStyle("code", fontName=CODE_FONT, fontSize=26, leading=32, alignment=TA_CENTER),
    "code_expiry": ParagraphStyle(
        "code_expiry", fontName=FONT, fontSize=10.5, leading=14, alignment=TA_CENTER
    ),
}

# French puts a (non-breaking) space before two-part punctuation and inside guillemets: written
# with an ordinary space in the messages, it must not become a line break on paper.
_SPACE_BEFORE = re.compile(r" ([:;!?»])")
_SPACE_AFTER = re.compile(r"« ")


def _french_spacing(markup: str) -> str:
    return _SPACE_AFTER.sub("«\u00a0", _SPACE_BEFORE.sub("\u00a0\\1", markup))


def _paragraph(markup: str, style: str = "body") -> Paragraph:
    return Paragraph(_french_spacing(markup), STYLES[style])


def _bold(value: str) -> str:
    return f"<b>{escape(value)}</b>"


def long_date(value: datetime.date) -> str:
    """The date in words, in the active language: "22 décembre 2026", "1er décembre 2026"."""
    text = formats.date_format(value, "j F Y")
    if value.day == 1 and (translation.get_language() or "").startswith("fr"):
        text = "1er" + text[1:]
    return text


def format_activation_code(code: str) -> str:
    """The code in groups of five, as printed and as the applicant reads it: "K7P2M-XQ9RT"."""
    characters = re.sub(r"[^0-9A-Za-z]", "", code).upper()
    return "-".join(characters[i : i + 5] for i in range(0, len(characters), 5))


# Templates -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LetterTemplate:
    context_keys: frozenset[str]
    subject: Callable[[dict], str]
    body: Callable[[dict], list[Flowable]]


def _admin_activation_subject(context: dict) -> str:
    return _("désignation de l'administrateur de votre organisme sur %(site)s") % {
        "site": settings.PORTAL_SITE_TITLE
    }


def _admin_activation_body(context: dict) -> list[Flowable]:
    expiry = long_date(timezone.localtime(context["expires_at"]).date())
    values = {
        "applicant": _bold(context["applicant"]),
        "identifiant": _bold(context["identifiant"]),
        "organisation": escape(context["organisation"]),
        "operator": escape(settings.PORTAL_OPERATOR_SHORT_NAME),
        "site": escape(settings.PORTAL_SITE_TITLE),
        "login_url": _bold(context["login_url"]),
        "date": _bold(expiry),
        "email": _bold(settings.PORTAL_CONTACT_EMAIL),
    }
    code_box = Table(
        [
            [_paragraph(escape(_("Code d'activation")), "code_label")],
            [_paragraph(escape(format_activation_code(context["code"])), "code")],
            [_paragraph(escape(_("Valable jusqu'au %(date)s") % {"date": expiry}), "code_expiry")],
        ],
        colWidths=[110 * mm],
        hAlign="CENTER",
        style=TableStyle(
            [
                ("BOX", (0, 0), (-1, -1), 1.2, colors.black),
                ("BACKGROUND", (0, 0), (-1, -1), colors.Color(0.94, 0.94, 0.94)),
                ("TOPPADDING", (0, 0), (-1, -1), 4),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
                ("TOPPADDING", (0, 0), (-1, 0), 9),
                ("BOTTOMPADDING", (0, -1), (-1, -1), 9),
            ]
        ),
    )
    texts = [
        _(
            "%(applicant)s (identifiant %(identifiant)s), de votre organisme %(organisation)s, a "
            "demandé à en devenir l'administrateur sur le portail de %(operator)s, « %(site)s »."
        ),
        _(
            "L'administrateur valide les inscriptions des autres utilisateurs de votre organisme et "
            "leurs accès aux services en ligne. Il engage votre organisme."
        ),
        _(
            "Si vous êtes d'accord, remettez-lui le code d'activation ci-dessous : il le saisira "
            "après s'être connecté sur %(login_url)s. Ce code est valable jusqu'au %(date)s ; passé "
            "cette date, la demande sera caduque."
        ),
        _(
            "Si vous n'êtes pas d'accord ou si vous ne connaissez pas cette personne, ne lui remettez "
            "pas le code et écrivez-nous à %(email)s."
        ),
    ]
    return [
        # The message is markup: escaped before the (already escaped) values go in.
        *(_paragraph(escape(text) % values) for text in texts),
        Spacer(0, 3 * mm),
        code_box,
        Spacer(0, 7 * mm),
    ]


TEMPLATES = {
    "admin_activation": LetterTemplate(
        context_keys=frozenset(
            {"organisation", "applicant", "identifiant", "code", "expires_at", "login_url"}
        ),
        subject=_admin_activation_subject,
        body=_admin_activation_body,
    ),
}


def _letter_template(name: str, context: dict) -> LetterTemplate:
    try:
        letter_template = TEMPLATES[name]
    except KeyError:
        raise ValueError(f"Unknown letter template {name!r}.") from None
    missing = letter_template.context_keys - context.keys()
    if missing:
        raise ValueError(f"Letter {name!r}: missing context {', '.join(sorted(missing))}.")
    return letter_template


def render_letter(*, template: str, recipient: list[str], context: dict) -> tuple[str, bytes]:
    """The subject and the one-page PDF of a letter, in the active language."""
    letter_template = _letter_template(template, context)
    subject = capfirst(letter_template.subject(context))
    buffer = io.BytesIO()
    # invariant: no creation date or random identifier, the same input gives the same bytes.
    canvas = Canvas(buffer, pagesize=A4, invariant=True, pageCompression=1)
    canvas.setTitle(subject)
    canvas.setAuthor(settings.PORTAL_OPERATOR_NAME)
    canvas.setCreator(settings.PORTAL_SITE_TITLE)

    _draw_fold_marks(canvas)
    _draw_sender(canvas)
    _draw_address(canvas, [_("À l'attention du représentant légal"), *recipient])

    flowables = [
        _paragraph(escape(_("Le %(date)s") % {"date": long_date(timezone.localdate())}), "date"),
        Spacer(0, 6 * mm),
        _paragraph(
            escape(_("Objet : %(subject)s") % {"subject": letter_template.subject(context)}), "subject"
        ),
        Spacer(0, 6 * mm),
        _paragraph(escape(_("Madame, Monsieur,"))),
        *letter_template.body(context),
        _paragraph(
            escape(_("Veuillez agréer, Madame, Monsieur, l'expression de nos salutations distinguées."))
        ),
        Spacer(0, 4 * mm),
        _paragraph(_bold(settings.PORTAL_OPERATOR_NAME), "date"),
    ]
    width = (PAGE_WIDTH / mm - MARGIN_LEFT_MM - MARGIN_RIGHT_MM) * mm
    height = _y(BODY_TOP_MM) - MARGIN_BOTTOM_MM * mm
    frame = Frame(MARGIN_LEFT_MM * mm, MARGIN_BOTTOM_MM * mm, width, height, 0, 0, 0, 0)
    # One page per letter, always: a longer text is drawn smaller rather than spilling over.
    frame.addFromList([KeepInFrame(width, height, flowables, mode="shrink")], canvas)
    canvas.showPage()
    canvas.save()
    return subject, buffer.getvalue()


# Services --------------------------------------------------------------------------------------


@transaction.atomic
def queue_letter(*, template: str, recipient: list[str], context: dict, language: str = "fr") -> Letter:
    """Draw the letter and write it, to print, in the caller's transaction.

    ``recipient`` is the postal address, the organisation's name first; the letter adds the line
    "À l'attention du représentant légal" above it. The context may hold a secret: it goes into
    the PDF only, never into the row's other fields or the audit log.
    """
    lines = [line.strip() for line in recipient if line and line.strip()]
    if not lines or len(lines) > MAX_RECIPIENT_LINES:
        raise ValueError(f"A postal address has 1 to {MAX_RECIPIENT_LINES} lines, not {len(lines)}.")
    with translation.override(language):
        subject, pdf = render_letter(template=template, recipient=lines, context=context)
    letter = Letter.objects.create(
        template=template, subject=subject[:255], recipient="\n".join(lines), pdf=pdf
    )
    audit.record("letter.queued", target=letter, details={"template": template})
    return letter


def merged_pdf(letters: Iterable[Letter]) -> bytes:
    """One PDF of the given letters, in their order, to print in one go. All must be to print."""
    writer = PdfWriter()
    for letter in letters:
        if letter.status != LetterStatus.TO_PRINT or letter.pdf is None:
            raise ValueError(f"Letter {letter.pk} is not to print.")
        writer.append(PdfReader(io.BytesIO(bytes(letter.pdf))))
    writer.add_metadata({"/Title": _("Courriers à imprimer")})
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def _pks(letters):
    # A queryset stays a subquery: its rows (and their PDF) need not be loaded here.
    if isinstance(letters, QuerySet):
        return letters.values("pk")
    return [letter.pk for letter in letters]


@transaction.atomic
def mark_letters_sent(*, letters: Iterable[Letter], by, request=None) -> int:
    """Mark as sent those of the letters still to print, and erase their PDF (and the code in it).

    The rows are locked first: two agents marking the same batch record each letter once.
    Returns how many letters were marked.
    """
    locked = list(
        Letter.objects.select_for_update()
        .filter(pk__in=_pks(letters), status=LetterStatus.TO_PRINT)
        .defer("pdf")
        .order_by("pk")
    )
    now = timezone.now()
    for letter in locked:
        letter.status = LetterStatus.SENT
        letter.sent_at = now
        letter.sent_by = by
        letter.pdf = None
        letter.save(update_fields=["status", "sent_at", "sent_by", "pdf"])
        audit.record(
            "letter.sent", actor=by, target=letter, request=request, details={"template": letter.template}
        )
    return len(locked)


@transaction.atomic
def cancel_letter(*, letter: Letter, request=None, by=None) -> bool:
    """Cancel a letter still to print (a new letter replaces it) and erase its PDF.

    Returns False, and changes nothing, if the letter is already sent or cancelled.
    """
    locked = Letter.objects.select_for_update().defer("pdf").get(pk=letter.pk)
    if locked.status != LetterStatus.TO_PRINT:
        return False
    locked.status = LetterStatus.CANCELLED
    locked.cancelled_at = timezone.now()
    locked.pdf = None
    locked.save(update_fields=["status", "cancelled_at", "pdf"])
    letter.status, letter.cancelled_at, letter.pdf = locked.status, locked.cancelled_at, None
    audit.record(
        "letter.cancelled", actor=by, target=locked, request=request, details={"template": locked.template}
    )
    return True


def record_download(*, letters: list[Letter], request) -> None:
    """Audit who downloaded which letters (their PDF holds the activation codes)."""
    audit.record(
        "letter.downloaded",
        target=letters[0] if len(letters) == 1 else None,
        request=request,
        details={"count": len(letters), "letters": [letter.pk for letter in letters]},
    )
