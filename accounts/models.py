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
