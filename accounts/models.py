import uuid

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.validators import RegexValidator
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.enums import Civilite

identifiant_validator = RegexValidator(
    r"^[A-Za-z0-9][A-Za-z0-9._@-]*\Z",
    _(
        "L'identifiant commence par une lettre ou un chiffre et ne contient que des lettres "
        "sans accent, des chiffres et les caractères . _ @ -"
    ),
)


class UserManager(BaseUserManager):
    use_in_migrations = True

    def get_by_natural_key(self, identifiant):
        # Identifiants are unique without regard to case (see the constraint below).
        return self.get(identifiant__iexact=identifiant)

    def _create_user(self, identifiant, email, password, **extra_fields):
        if not identifiant:
            raise ValueError("Un identifiant est obligatoire.")
        user = self.model(identifiant=identifiant, email=self.normalize_email(email), **extra_fields)
        user.set_password(password)
        user.full_clean(exclude=["password"])
        user.save(using=self._db)
        return user

    def create_user(self, identifiant, email, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(identifiant, email, password, **extra_fields)

    def create_superuser(self, identifiant, email, password=None, **extra_fields):
        extra_fields["is_staff"] = True
        extra_fields["is_superuser"] = True
        return self._create_user(identifiant, email, password, **extra_fields)


class User(AbstractBaseUser, PermissionsMixin):
    identifiant = models.CharField(
        _("identifiant"),
        max_length=150,
        validators=[identifiant_validator],
        help_text=_("Votre identifiant de connexion."),
        error_messages={"unique": _("Cet identifiant est déjà pris.")},
    )
    email = models.EmailField(_("adresse électronique"), max_length=254)
    civilite = models.CharField(_("civilité"), max_length=3, choices=Civilite.choices, blank=True)
    first_name = models.CharField(_("prénom"), max_length=150, blank=True)
    last_name = models.CharField(_("nom"), max_length=150, blank=True)
    phone_landline = models.CharField(_("téléphone fixe"), max_length=20, blank=True)
    phone_mobile = models.CharField(_("téléphone portable"), max_length=20, blank=True)

    is_staff = models.BooleanField(
        _("agent de l'opérateur"),
        default=False,
        help_text=_("Peut se connecter à l'administration de l'opérateur."),
    )
    is_active = models.BooleanField(_("actif"), default=True)
    date_joined = models.DateTimeField(_("date d'inscription"), default=timezone.now)
    password_changed_at = models.DateTimeField(
        _("mot de passe changé le"),
        null=True,
        blank=True,
        editable=False,
        help_text=_("Vide tant que l'utilisateur n'a pas choisi de mot de passe."),
    )

    objects = UserManager()

    USERNAME_FIELD = "identifiant"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["email"]

    class Meta:
        verbose_name = _("utilisateur")
        verbose_name_plural = _("utilisateurs")
        constraints = [
            models.UniqueConstraint(
                Lower("identifiant"),
                name="accounts_user_identifiant_ci_unique",
                violation_error_message=_("Cet identifiant est déjà pris."),
            ),
        ]
        indexes = [models.Index(Lower("email"), name="accounts_user_email_ci_idx")]

    def __str__(self):
        return self.get_full_name() or self.identifiant

    def get_full_name(self):
        return f"{self.first_name} {self.last_name}".strip()

    def get_short_name(self):
        return self.first_name or self.identifiant

    def clean(self):
        super().clean()
        self.email = type(self).objects.normalize_email(self.email)

    def set_password(self, raw_password):
        super().set_password(raw_password)
        # The date the password policy's maximum age counts from (accounts/passwords.py).
        self.password_changed_at = timezone.now() if raw_password is not None else None

    def check_password(self, raw_password):
        # A successful check may rehash the password with newer hasher parameters through
        # set_password(): that is not a change of password, so its date is kept.
        changed_at = self.password_changed_at
        try:
            return super().check_password(raw_password)
        finally:
            self.password_changed_at = changed_at


class PendingSignup(models.Model):
    """A confirmed wizard waiting for its e-mail code. Not a registration yet: nothing else exists.

    Holds the wizard's answers (never a password) and the hash of the code sent to the address.
    """

    token = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    created_at = models.DateTimeField(_("créée le"), auto_now_add=True)
    email = models.EmailField(_("adresse électronique"), max_length=254)
    data = models.JSONField(_("réponses"))
    code_hash = models.CharField(max_length=128)
    code_expires_at = models.DateTimeField()
    tries = models.PositiveSmallIntegerField(default=0)
    sends = models.PositiveSmallIntegerField(default=1)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("inscription non confirmée")
        verbose_name_plural = _("inscriptions non confirmées")
        indexes = [models.Index(fields=["created_at"], name="accounts_pending_created_idx")]

    def __str__(self):
        return self.email


class PasswordHistory(models.Model):
    """The hash of a password a user has set: the history policy refuses reusing the last ones.

    Written by accounts.passwords.set_password_with_history(), which keeps only as many rows per
    user as the policy needs.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="password_history")
    password = models.CharField(_("empreinte du mot de passe"), max_length=128)
    created_at = models.DateTimeField(_("défini le"), default=timezone.now)

    class Meta:
        verbose_name = _("ancien mot de passe")
        verbose_name_plural = _("anciens mots de passe")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "-created_at"], name="accounts_pwhistory_user_idx")]

    def __str__(self):
        return f"{self.user} — {self.created_at:%Y-%m-%d %H:%M}"


class LoginCode(models.Model):
    """A one-time code e-mailed to log in without a password ("m'envoyer un code").

    Only an HMAC of the code is stored, salted per row. The code is good for one login, until
    ``expires_at``, and for a limited number of tries (settings.PORTAL_EMAIL_CODE).
    """

    # What the visitor's session refers to: never the code itself.
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="login_codes")
    code_hash = models.CharField(max_length=64)
    salt = models.CharField(max_length=32)
    created_at = models.DateTimeField(_("créé le"), default=timezone.now)
    expires_at = models.DateTimeField(_("expire le"))
    tries = models.PositiveSmallIntegerField(_("essais"), default=0)
    used_at = models.DateTimeField(_("utilisé le"), null=True, blank=True)

    class Meta:
        verbose_name = _("code de connexion")
        verbose_name_plural = _("codes de connexion")
        indexes = [models.Index(fields=["user", "-created_at"], name="accounts_logincode_user_idx")]

    def __str__(self):
        return f"{self.user} — {self.created_at:%Y-%m-%d %H:%M}"
