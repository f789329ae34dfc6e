"""The password policy: validators built from settings.PORTAL_PASSWORD_POLICY, history, expiry.

The settings import this module to build AUTH_PASSWORD_VALIDATORS (password_validators()), before
the apps are loaded: nothing here may import a model, the outbox or the audit log at module level.

A policy is a dict (see portal/settings/presets.py):
    min_length        minimum number of characters
    required_classes  classes that must each appear: "digit", "lower", "upper", "symbol"
    min_classes       how many of the four classes must appear (0: no such rule)
    max_age_days      days after which a password must be changed (None: never)
    history           how many of the last passwords may not be used again (0: none)
    refuse_common     refuse the passwords everybody uses, and all-digit ones
"""

import datetime
import unicodedata
from dataclasses import dataclass

from django.contrib.auth import password_validation
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

CHARACTER_CLASSES = ("digit", "lower", "upper", "symbol")
CLASS_LABELS = {
    "digit": gettext_lazy("un chiffre"),
    "lower": gettext_lazy("une lettre minuscule"),
    "upper": gettext_lazy("une lettre majuscule"),
    "symbol": gettext_lazy("un caractère spécial (ponctuation, symbole ou espace)"),
}
SIMILARITY_ATTRIBUTES = ("identifiant", "first_name", "last_name", "email")


def character_class(char: str) -> str:
    """The class of one character, as static/accounts/password-hints.js computes it too."""
    category = unicodedata.category(char)
    if category == "Nd":
        return "digit"
    if category == "Ll":
        return "lower"
    if category == "Lu":
        return "upper"
    if category[0] in "LN":
        return "other"  # a letter without case, a digit that is not decimal: counts for nothing
    return "symbol"


def character_classes(password: str) -> set[str]:
    return {character_class(char) for char in password} & set(CHARACTER_CLASSES)


@dataclass(frozen=True)
class PasswordHint:
    """One rule, as shown next to a new-password field.

    ``rule`` and ``value`` tell password-hints.js how to check it as the user types ("length" and
    a number, "class" and a class name, "classes" and a number); rules it cannot check (history,
    common passwords) leave them empty and are checked when the form is sent.
    """

    text: str
    rule: str = ""
    value: str = ""


# Validators ------------------------------------------------------------------------------------
# Each says what it wants in French (get_help_text), explains a refusal in French, and lists its
# rules for the page (hints()).


class MinimumLengthValidator(password_validation.MinimumLengthValidator):
    def get_error_message(self):
        return ngettext(
            "Ce mot de passe est trop court : il doit contenir au moins %(min_length)d caractère.",
            "Ce mot de passe est trop court : il doit contenir au moins %(min_length)d caractères.",
            self.min_length,
        ) % {"min_length": self.min_length}

    def get_help_text(self):
        return ngettext(
            "Au moins %(min_length)d caractère.",
            "Au moins %(min_length)d caractères.",
            self.min_length,
        ) % {"min_length": self.min_length}

    def hints(self):
        return [PasswordHint(self.get_help_text(), "length", str(self.min_length))]


class CharacterClassesValidator:
    """Required character classes, and a minimum number of classes among the four."""

    def __init__(self, required_classes=(), min_classes=0):
        unknown = set(required_classes) - set(CHARACTER_CLASSES)
        if unknown:
            raise ImproperlyConfigured(f"Classes de caractères inconnues : {', '.join(sorted(unknown))}")
        if not 0 <= min_classes <= len(CHARACTER_CLASSES):
            raise ImproperlyConfigured("min_classes doit être compris entre 0 et 4.")
        self.required_classes = [name for name in CHARACTER_CLASSES if name in required_classes]
        self.min_classes = min_classes

    def validate(self, password, user=None):
        present = character_classes(password)
        errors = [
            ValidationError(
                _("Ce mot de passe doit contenir au moins %(class)s.") % {"class": CLASS_LABELS[name]},
                code="password_missing_class",
            )
            for name in self.required_classes
            if name not in present
        ]
        if len(present) < self.min_classes:
            errors.append(
                ValidationError(
                    _(
                        "Ce mot de passe doit mélanger au moins %(min_classes)d types de caractères "
                        "parmi les quatre (chiffres, minuscules, majuscules, caractères spéciaux) : "
                        "il en contient %(count)d."
                    )
                    % {"min_classes": self.min_classes, "count": len(present)},
                    code="password_too_few_classes",
                )
            )
        if errors:
            raise ValidationError(errors)

    def hints(self):
        hints = [
            PasswordHint(_("Au moins %(class)s.") % {"class": CLASS_LABELS[name]}, "class", name)
            for name in self.required_classes
        ]
        if self.min_classes:
            hints.append(
                PasswordHint(
                    _(
                        "Au moins %(min_classes)d types de caractères parmi les quatre : chiffres, "
                        "minuscules, majuscules, caractères spéciaux."
                    )
                    % {"min_classes": self.min_classes},
                    "classes",
                    str(self.min_classes),
                )
            )
        return hints

    def get_help_text(self):
        return " ".join(hint.text for hint in self.hints())


class UserAttributeSimilarityValidator(password_validation.UserAttributeSimilarityValidator):
    def __init__(self, user_attributes=SIMILARITY_ATTRIBUTES, max_similarity=0.7):
        super().__init__(user_attributes=user_attributes, max_similarity=max_similarity)

    def get_error_message(self):
        return _("Ce mot de passe ressemble trop à votre %(verbose_name)s.")

    def get_help_text(self):
        return _("Sans ressemblance avec votre identifiant, votre nom ou votre adresse électronique.")

    def hints(self):
        return [PasswordHint(self.get_help_text())]


class CommonPasswordValidator(password_validation.CommonPasswordValidator):
    def get_error_message(self):
        return _("Ce mot de passe fait partie des plus utilisés : choisissez-en un autre.")

    def get_help_text(self):
        return _("Pas un mot de passe courant (« azerty123 », « motdepasse »…).")

    def hints(self):
        return [PasswordHint(self.get_help_text())]


class NumericPasswordValidator(password_validation.NumericPasswordValidator):
    def get_error_message(self):
        return _("Ce mot de passe ne contient que des chiffres.")

    def get_help_text(self):
        return _("Pas uniquement des chiffres.")

    def hints(self):
        return [PasswordHint(self.get_help_text())]


class PasswordHistoryValidator:
    """Refuses the current password and the last ``count`` ones kept in PasswordHistory."""

    def __init__(self, count=5):
        self.count = count

    def validate(self, password, user=None):
        if not self.count or user is None or user.pk is None:
            return
        from django.contrib.auth.hashers import check_password

        from accounts.models import PasswordHistory

        encoded = list(
            PasswordHistory.objects.filter(user_id=user.pk).values_list("password", flat=True)[: self.count]
        )
        if user.has_usable_password():
            encoded.insert(0, user.password)
        if any(check_password(password, hashed) for hashed in encoded):
            raise ValidationError(self.get_error_message(), code="password_reused")

    def get_error_message(self):
        return ngettext(
            "Vous avez déjà utilisé ce mot de passe : choisissez-en un différent du précédent.",
            "Vous avez déjà utilisé ce mot de passe : choisissez-en un différent de vos "
            "%(count)d derniers mots de passe.",
            self.count,
        ) % {"count": self.count}

    def get_help_text(self):
        return ngettext(
            "Différent de votre mot de passe précédent.",
            "Différent de vos %(count)d derniers mots de passe.",
            self.count,
        ) % {"count": self.count}

    def hints(self):
        return [PasswordHint(self.get_help_text())]


def password_validators(policy: dict) -> list[dict]:
    """AUTH_PASSWORD_VALIDATORS for a policy (settings.PORTAL_PASSWORD_POLICY)."""
    path = __name__
    validators = [
        {"NAME": f"{path}.MinimumLengthValidator", "OPTIONS": {"min_length": int(policy["min_length"])}},
    ]
    required = list(policy.get("required_classes") or [])
    min_classes = int(policy.get("min_classes") or 0)
    if required or min_classes:
        validators.append(
            {
                "NAME": f"{path}.CharacterClassesValidator",
                "OPTIONS": {"required_classes": required, "min_classes": min_classes},
            }
        )
    validators.append({"NAME": f"{path}.UserAttributeSimilarityValidator"})
    if policy.get("refuse_common"):
        validators.append({"NAME": f"{path}.CommonPasswordValidator"})
        validators.append({"NAME": f"{path}.NumericPasswordValidator"})
    if policy.get("history"):
        validators.append(
            {"NAME": f"{path}.PasswordHistoryValidator", "OPTIONS": {"count": int(policy["history"])}}
        )
    return validators


def password_hints() -> list[PasswordHint]:
    """The rules of the configured validators, in order, for the new-password fields."""
    hints = []
    for validator in password_validation.get_default_password_validators():
        if hasattr(validator, "hints"):
            hints.extend(validator.hints())
        else:
            hints.append(PasswordHint(str(validator.get_help_text())))
    return hints


# Expiry ------------------------------------------------------------------------------------------


def password_expires_at(user) -> datetime.datetime | None:
    """When the user's password expires under the policy's maximum age; None if it never does."""
    from django.conf import settings

    max_age_days = settings.PORTAL_PASSWORD_POLICY.get("max_age_days")
    if not max_age_days or user.password_changed_at is None or not user.has_usable_password():
        return None
    return user.password_changed_at + datetime.timedelta(days=max_age_days)


def password_is_expired(user, *, now: datetime.datetime | None = None) -> bool:
    from django.utils import timezone

    expires_at = password_expires_at(user)
    return expires_at is not None and expires_at <= (now or timezone.now())


# Services ----------------------------------------------------------------------------------------


def set_password_with_history(user, raw_password: str) -> None:
    """Set and save the user's password, dated, and remember its hash as the policy requires.

    The history keeps the last ``history`` hashes (the current one included) and nothing when the
    policy keeps none: hashes of old passwords are personal data kept only for this rule.
    """
    from django.conf import settings
    from django.db import transaction

    from accounts.models import PasswordHistory

    keep = int(settings.PORTAL_PASSWORD_POLICY.get("history") or 0)
    with transaction.atomic():
        user.set_password(raw_password)
        user.save(update_fields=["password", "password_changed_at"])
        if keep:
            PasswordHistory.objects.create(user=user, password=user.password)
            stale = list(PasswordHistory.objects.filter(user=user).values_list("pk", flat=True)[keep:])
            PasswordHistory.objects.filter(pk__in=stale).delete()
        else:
            PasswordHistory.objects.filter(user=user).delete()


def change_password(*, user, raw_password: str, action: str, request=None, details=None) -> None:
    """Set a new password (history included), audit it, and tell the user by e-mail.

    Every way of setting a password goes through here: the access link ("access.password_set"),
    the reset link ("password.reset"), the change page ("password.changed"). A new password also
    lifts the login lock of the user's identifiant and address (accounts/throttle.py).
    """
    from django.conf import settings
    from django.db import transaction
    from django.urls import reverse
    from django.utils import timezone

    from accounts import throttle
    from accounts.access import absolute_url
    from mailings.services import queue_email
    from portal import audit

    with transaction.atomic():
        set_password_with_history(user, raw_password)
        audit.record(action, actor=user, target=user, request=request, details=details)
        queue_email(
            to=user.email,
            template="password_changed",
            context={
                "user": user,
                "changed_at": timezone.localtime(user.password_changed_at),
                "reset_url": absolute_url(reverse("password_reset"), request),
                "contact_email": settings.PORTAL_CONTACT_EMAIL,
                "operator_name": settings.PORTAL_OPERATOR_NAME,
            },
        )
    throttle.clear_user(user)
