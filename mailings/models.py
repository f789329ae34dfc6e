import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from mailings.enums import EmailStatus, LetterStatus


class Email(models.Model):
    """An e-mail in the outbox: written in the caller's transaction, delivered after commit."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    created_at = models.DateTimeField(_("créé le"), auto_now_add=True)
    template = models.CharField(_("modèle"), max_length=100)
    from_email = models.CharField(_("expéditeur"), max_length=254)
    to_email = models.EmailField(_("destinataire"), max_length=254)
    subject = models.CharField(_("objet"), max_length=255)
    body_text = models.TextField(_("texte"))
    body_html = models.TextField(_("HTML"), blank=True)
    status = models.CharField(
        _("état"), max_length=10, choices=EmailStatus.choices, default=EmailStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("tentatives"), default=0)
    next_attempt_at = models.DateTimeField(_("prochaine tentative"))
    sent_at = models.DateTimeField(_("envoyé le"), null=True, blank=True)
    last_error = models.TextField(_("dernière erreur"), blank=True)

    class Meta:
        verbose_name = _("courriel")
        verbose_name_plural = _("courriels")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(status=EmailStatus.PENDING),
                name="mailings_email_pending_idx",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(status=EmailStatus.SENT) | models.Q(sent_at__isnull=False),
                name="mailings_email_sent_has_date",
            ),
        ]

    def __str__(self):
        return f"{self.subject} → {self.to_email}"

    @property
    def message_id(self) -> str:
        domain = self.from_email.rsplit("@", 1)[-1].rstrip(">") or "portail.localhost"
        return f"<{self.uuid}@{domain}>"


class Letter(models.Model):
    """A postal letter: its PDF is made when the row is written, in the caller's transaction.

    Staff print the letters in batches and mark them sent (mailings/letters.py). A letter may carry
    a secret (an activation code): its PDF is erased once sent or cancelled, and only its
    recipient and dates remain.
    """

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    created_at = models.DateTimeField(_("créé le"), auto_now_add=True)
    template = models.CharField(_("modèle"), max_length=100)
    subject = models.CharField(_("objet"), max_length=255)
    recipient = models.TextField(_("destinataire"), help_text=_("Le bloc adresse, une ligne par ligne."))
    pdf = models.BinaryField(_("PDF"), null=True, editable=False)
    status = models.CharField(
        _("état"), max_length=10, choices=LetterStatus.choices, default=LetterStatus.TO_PRINT
    )
    sent_at = models.DateTimeField(_("envoyé le"), null=True, blank=True)
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("envoyé par"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    cancelled_at = models.DateTimeField(_("annulé le"), null=True, blank=True)

    class Meta:
        verbose_name = _("courrier postal")
        verbose_name_plural = _("courriers postaux")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["created_at"],
                condition=models.Q(status=LetterStatus.TO_PRINT),
                name="mailings_letter_to_print_idx",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(status=LetterStatus.SENT) | models.Q(sent_at__isnull=False),
                name="mailings_letter_sent_has_date",
            ),
            # What is no longer to print no longer holds its PDF (and the code in it).
            models.CheckConstraint(
                condition=models.Q(status=LetterStatus.TO_PRINT) | models.Q(pdf__isnull=True),
                name="mailings_letter_pdf_only_to_print",
            ),
        ]

    def __str__(self):
        return f"{self.subject} → {self.recipient.splitlines()[0] if self.recipient else ''}"
