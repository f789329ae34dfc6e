import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _

from mailings.enums import EmailStatus


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
