"""Organisations: the SIRENE mirror (legal units, establishments) and the partners' memberships."""

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from organisations.enums import (
    OPEN_CLAIM_STATUSES,
    AdminClaimStatus,
    MembershipStatus,
    OnboardingRule,
    TrustKind,
)


class LegalUnit(models.Model):
    """Unité légale (StockUniteLegale)."""

    # Collation "C": digits compare byte by byte, and the import sorts millions of them twice as fast.
    siren = models.CharField(_("SIREN"), max_length=9, primary_key=True, db_collation="C")
    denomination = models.CharField(_("dénomination"), max_length=255, blank=True)
    sigle = models.CharField(_("sigle"), max_length=50, blank=True)
    legal_category = models.CharField(_("catégorie juridique"), max_length=4, blank=True)
    nic_siege = models.CharField(_("NIC du siège"), max_length=5, blank=True)
    is_active = models.BooleanField(_("active"), default=True)  # etatAdministratifUniteLegale A/C
    last_processed_at = models.DateTimeField(_("dernier traitement SIRENE"), null=True, blank=True)

    class Meta:
        verbose_name = _("unité légale")
        verbose_name_plural = _("unités légales")

    def __str__(self):
        return f"{self.denomination or self.siren} ({self.siren})"


class Establishment(models.Model):
    """Établissement (StockEtablissement). Rows with statutDiffusion P are never shown."""

    siret = models.CharField(_("SIRET"), max_length=14, primary_key=True, db_collation="C")
    # No database constraint: the stock files are loaded independently and in bulk.
    legal_unit = models.ForeignKey(
        LegalUnit,
        verbose_name=_("unité légale"),
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_column="siren",
        db_index=False,  # org_establishment_siren_idx below, without its LIKE twin
        related_name="establishments",
    )
    is_siege = models.BooleanField(_("établissement siège"), default=False)
    is_active = models.BooleanField(_("ouvert"), default=True)  # etatAdministratifEtablissement A/F
    is_diffusible = models.BooleanField(_("diffusible"), default=True)  # statutDiffusion O/P
    name = models.CharField(_("nom"), max_length=255, blank=True)  # enseigne or usual name
    street_number = models.CharField(_("numéro de voie"), max_length=10, blank=True)
    street_number_suffix = models.CharField(_("indice de répétition"), max_length=10, blank=True)
    street_type = models.CharField(_("type de voie"), max_length=10, blank=True)
    street_name = models.CharField(_("libellé de voie"), max_length=255, blank=True)
    address_complement = models.CharField(_("complément d'adresse"), max_length=255, blank=True)
    postal_code = models.CharField(_("code postal"), max_length=5, blank=True)
    city = models.CharField(_("commune"), max_length=100, blank=True)
    commune_code = models.CharField(_("code commune"), max_length=5, blank=True)
    departement = models.CharField(_("département"), max_length=3, blank=True)
    cedex_code = models.CharField(_("code CEDEX"), max_length=5, blank=True)
    cedex_label = models.CharField(_("libellé CEDEX"), max_length=100, blank=True)
    activity = models.CharField(_("activité principale"), max_length=6, blank=True)
    last_processed_at = models.DateTimeField(_("dernier traitement SIRENE"), null=True, blank=True)
    # The normalised words of the names, acronym and town, and the postal and CEDEX codes as
    # "cp=75001" (organisations.search.search_words), as lexemes without positions: what the
    # search needs, with no PostgreSQL extension. One GIN index answers name and postal code.
    search_vector = SearchVectorField(null=True, editable=False)

    class Meta:
        verbose_name = _("établissement")
        verbose_name_plural = _("établissements")
        indexes = [
            GinIndex(fields=["search_vector"], name="org_establishment_search_idx"),
            models.Index(fields=["legal_unit"], name="org_establishment_siren_idx"),
            # The order of the results (organisations.search.RESULT_ORDER): the first page of a
            # query matching half the register is read from here, not sorted.
            models.Index(
                F("is_active").desc(),
                F("is_siege").desc(),
                "siret",
                condition=Q(is_diffusible=True),
                name="org_establishment_order_idx",
            ),
        ]

    def __str__(self):
        return f"{self.display_name} ({self.siret})"

    @property
    def siren(self) -> str:
        return self.legal_unit_id

    @property
    def display_name(self) -> str:
        # The organisation's name: an establishment's own name is often just "MAIRIE".
        unit_name = self.legal_unit.denomination if self.legal_unit_id else ""
        return unit_name or self.name or self.siret

    @property
    def street_address(self) -> str:
        parts = [self.street_number, self.street_number_suffix, self.street_type, self.street_name]
        return " ".join(part for part in parts if part)


class SearchWord(models.Model):
    """A word of the establishments' search vectors: what a typed prefix may stand for
    ("comm" → COMMUNE, COMMERCE…). Rebuilt by the import, completed by the sync."""

    word = models.CharField(max_length=255, primary_key=True, db_collation="C")

    class Meta:
        verbose_name = _("mot de recherche")
        verbose_name_plural = _("mots de recherche")

    def __str__(self):
        return self.word


class Category(models.Model):
    """Catégorie d'inscrit ("Délégations territoriales de l'ANRU", "Maîtres d'ouvrages"…)."""

    name = models.CharField(_("nom"), max_length=150, unique=True)
    help_text = models.TextField(_("aide"), blank=True)
    position = models.PositiveSmallIntegerField(_("ordre"), default=0)
    is_active = models.BooleanField(_("proposée"), default=True)
    flags = models.ManyToManyField(
        "CategoryFlag",
        verbose_name=_("cases à cocher proposées"),
        blank=True,
        related_name="categories",
    )

    class Meta:
        verbose_name = _("catégorie")
        verbose_name_plural = _("catégories")
        ordering = ["position", "name"]

    def __str__(self):
        return self.name


class Function(models.Model):
    """Fonction-type, proposed within one category."""

    category = models.ForeignKey(
        Category, verbose_name=_("catégorie"), on_delete=models.CASCADE, related_name="functions"
    )
    name = models.CharField(_("nom"), max_length=150)
    position = models.PositiveSmallIntegerField(_("ordre"), default=0)
    is_active = models.BooleanField(_("proposée"), default=True)

    class Meta:
        verbose_name = _("fonction")
        verbose_name_plural = _("fonctions")
        ordering = ["category", "position", "name"]
        constraints = [
            models.UniqueConstraint(fields=["category", "name"], name="org_function_unique_per_category")
        ]

    def __str__(self):
        return self.name


class CategoryFlag(models.Model):
    """A box offered to the applicants of some categories ("Quartiers Fertiles")."""

    label = models.CharField(_("libellé"), max_length=150, unique=True)
    help_text = models.CharField(_("aide"), max_length=255, blank=True)

    class Meta:
        verbose_name = _("case à cocher")
        verbose_name_plural = _("cases à cocher")
        ordering = ["label"]

    def __str__(self):
        return self.label


class TrustedDomainEntry(models.Model):
    """One entry of the operator's trusted domain (rule R2)."""

    kind = models.CharField(_("type"), max_length=20, choices=TrustKind.choices)
    value = models.CharField(
        _("valeur"),
        max_length=255,
        help_text=_("Un SIREN, un code de catégorie juridique ou un domaine de messagerie."),
    )
    siren = models.CharField(
        _("SIREN de l'organisation"),
        max_length=9,
        blank=True,
        help_text=_("Pour un domaine de messagerie : l'organisation à laquelle il appartient."),
    )
    note = models.CharField(_("note"), max_length=255, blank=True)
    created_at = models.DateTimeField(_("ajouté le"), auto_now_add=True)

    class Meta:
        verbose_name = _("entrée du domaine de confiance")
        verbose_name_plural = _("domaine de confiance")
        ordering = ["kind", "value"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "value", "siren"], name="org_trusted_unique"),
            models.CheckConstraint(
                condition=~Q(kind=TrustKind.EMAIL_DOMAIN) | ~Q(siren=""), name="org_trusted_domain_has_siren"
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} : {self.value}"


class Membership(models.Model):
    """A person's attachment to an organisation: what the signup wizard creates once confirmed."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("utilisateur"),
        on_delete=models.CASCADE,
        related_name="memberships",
    )
    establishment = models.ForeignKey(
        Establishment, verbose_name=_("établissement"), on_delete=models.PROTECT, related_name="memberships"
    )
    legal_unit = models.ForeignKey(
        LegalUnit, verbose_name=_("organisation"), on_delete=models.PROTECT, related_name="memberships"
    )
    status = models.CharField(_("état"), max_length=20, choices=MembershipStatus.choices)
    rule = models.CharField(_("règle appliquée"), max_length=2, choices=OnboardingRule.choices)
    # Empty when the structure was added from the member's space: the function is then asked for
    # before a service that needs one (reference bdt-espace-personnel-habilitations.txt).
    category = models.ForeignKey(
        Category, verbose_name=_("catégorie"), on_delete=models.PROTECT, null=True, blank=True
    )
    function = models.ForeignKey(
        Function, verbose_name=_("fonction"), on_delete=models.PROTECT, null=True, blank=True
    )
    title = models.CharField(_("titre"), max_length=150)
    flags = models.ManyToManyField(CategoryFlag, verbose_name=_("cases cochées"), blank=True)
    departement = models.CharField(_("département d'intervention"), max_length=3)
    address = models.CharField(_("adresse"), max_length=255)
    address_complement = models.CharField(_("complément d'adresse"), max_length=255, blank=True)
    postal_code = models.CharField(_("code postal"), max_length=5)
    city = models.CharField(_("ville"), max_length=100)
    email = models.EmailField(_("adresse électronique professionnelle"), max_length=254)
    phone_landline = models.CharField(_("téléphone fixe"), max_length=20)
    phone_mobile = models.CharField(_("téléphone portable"), max_length=20, blank=True)
    cgu_version = models.CharField(_("version des CGU acceptée"), max_length=20)
    created_at = models.DateTimeField(_("inscrit le"), auto_now_add=True)
    decided_at = models.DateTimeField(_("décidé le"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("décidé par"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    refusal_reason = models.TextField(_("motif du refus"), blank=True)
    deactivation_reason = models.TextField(_("motif de la désactivation"), blank=True)
    # Rule R3: the organisation's administrator, confirmed by the letter to the legal representative.
    is_admin = models.BooleanField(_("administrateur de la structure"), default=False)

    class Meta:
        verbose_name = _("inscription")
        verbose_name_plural = _("inscriptions")
        ordering = ["-created_at"]
        constraints = [
            # A second registration of the same person in the same organisation is not a new one.
            models.UniqueConstraint(
                fields=["user", "legal_unit"], name="org_membership_one_per_organisation"
            ),
            models.CheckConstraint(
                condition=~Q(status=MembershipStatus.REFUSED) | ~Q(refusal_reason=""),
                name="org_membership_refusal_has_reason",
            ),
            # Exactly one administrator per organisation, whatever runs at the same instant.
            models.UniqueConstraint(
                fields=["legal_unit"], condition=Q(is_admin=True), name="org_membership_one_admin"
            ),
            models.CheckConstraint(
                condition=Q(is_admin=False) | Q(status=MembershipStatus.APPROVED),
                name="org_membership_admin_is_approved",
            ),
        ]
        indexes = [models.Index(fields=["status", "created_at"], name="org_membership_queue_idx")]

    def __str__(self):
        return f"{self.user} — {self.legal_unit}"


class AdminClaim(models.Model):
    """A request for the admin role of an organisation (rule R3).

    A letter with an activation code goes to the legal representative at the head office; the
    applicant becomes admin when they type the code before ``expires_at``. Only a hash of the code
    is kept (Argon2, as passwords). A new letter replaces the code; too many wrong tries block it.
    """

    membership = models.ForeignKey(
        Membership, verbose_name=_("inscription"), on_delete=models.CASCADE, related_name="admin_claims"
    )
    legal_unit = models.ForeignKey(
        LegalUnit, verbose_name=_("organisation"), on_delete=models.PROTECT, related_name="admin_claims"
    )
    status = models.CharField(
        _("état"), max_length=20, choices=AdminClaimStatus.choices, default=AdminClaimStatus.PENDING
    )
    code_hash = models.CharField(_("empreinte du code"), max_length=128, editable=False)
    expires_at = models.DateTimeField(_("code valable jusqu'au"))
    tries = models.PositiveSmallIntegerField(_("essais manqués"), default=0)
    letter = models.ForeignKey(
        "mailings.Letter",
        verbose_name=_("courrier en cours"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    letters_sent = models.PositiveSmallIntegerField(_("courriers émis"), default=0)
    created_at = models.DateTimeField(_("demandé le"), auto_now_add=True)
    reminder_sent_at = models.DateTimeField(_("rappel envoyé le"), null=True, blank=True)
    closed_at = models.DateTimeField(_("clos le"), null=True, blank=True)

    class Meta:
        verbose_name = _("demande de rôle d'administrateur")
        verbose_name_plural = _("demandes de rôle d'administrateur")
        ordering = ["-created_at"]
        constraints = [
            # One letter at a time per organisation: later applicants wait for its code (R1).
            models.UniqueConstraint(
                fields=["legal_unit"],
                condition=Q(status__in=OPEN_CLAIM_STATUSES),
                name="org_adminclaim_one_open_per_organisation",
            ),
        ]
        indexes = [
            models.Index(
                fields=["expires_at"],
                condition=Q(status__in=OPEN_CLAIM_STATUSES),
                name="org_adminclaim_open_idx",
            )
        ]

    def __str__(self):
        return f"{self.membership.user} — {self.legal_unit}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_CLAIM_STATUSES


class EmailChange(models.Model):
    """A new e-mail address for a membership, which counts only once the code sent to it is typed.

    Only an HMAC of the code is kept (accounts.access.hash_code), with the per-row salt.
    """

    membership = models.ForeignKey(
        Membership, verbose_name=_("inscription"), on_delete=models.CASCADE, related_name="email_changes"
    )
    email = models.EmailField(_("nouvelle adresse"), max_length=254)
    code_hash = models.CharField(max_length=64, editable=False)
    salt = models.CharField(max_length=32, editable=False)
    created_at = models.DateTimeField(_("demandé le"), auto_now_add=True)
    expires_at = models.DateTimeField(_("code valable jusqu'au"))
    tries = models.PositiveSmallIntegerField(_("essais"), default=0)
    confirmed_at = models.DateTimeField(_("confirmée le"), null=True, blank=True)

    class Meta:
        verbose_name = _("changement d'adresse électronique")
        verbose_name_plural = _("changements d'adresse électronique")
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.membership} → {self.email}"


class ClientNumber(models.Model):
    """The operator's own client number of an organisation (numéro client), imported by staff.

    Stored without leading zeros: "000123" and "123" are the same number.
    """

    number = models.CharField(_("numéro client"), max_length=30, unique=True)
    siren = models.CharField(_("SIREN"), max_length=9, db_index=True)
    siret = models.CharField(_("SIRET"), max_length=14, blank=True)
    name = models.CharField(_("nom"), max_length=255, blank=True)
    imported_at = models.DateTimeField(_("importé le"), auto_now=True)

    class Meta:
        verbose_name = _("numéro client")
        verbose_name_plural = _("numéros clients")
        ordering = ["number"]

    def __str__(self):
        return f"{self.number} — {self.name or self.siren}"
