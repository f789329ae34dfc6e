"""Validation of what applicants type: French phone numbers, professional e-mail addresses."""

import re
import unicodedata

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

# National prefixes of the overseas départements and collectivities, to their country codes.
_OVERSEAS_PREFIXES = {
    "0590": "590", "0690": "590", "0691": "590",  # Guadeloupe, Saint-Martin, Saint-Barthélemy
    "0594": "594", "0694": "594",  # Guyane
    "0596": "596", "0696": "596", "0697": "596",  # Martinique
    "0262": "262", "0263": "262", "0692": "262", "0693": "262",  # La Réunion
    "0269": "262", "0639": "262",  # Mayotte
    "0508": "508",  # Saint-Pierre-et-Miquelon
}  # fmt: skip
_OVERSEAS_CODES = {"262", "508", "590", "594", "596"}
# Collectivities with their own numbering plan: country code → digits after it.
_PACIFIC_CODES = {"687": 6, "689": 8, "681": 6}

PHONE_MESSAGE = _(
    "Saisissez un numéro de téléphone français à 10 chiffres (01 23 45 67 89), "
    "ou au format international (+33 1 23 45 67 89, +590 590 12 34 56)."
)


def normalize_phone(value: str) -> str:
    """A French phone number (mainland or overseas) in E.164 form, or ValidationError. Digits are
    the ASCII ones: \\d alone would take ٢ or ३ and store them in the number."""
    compact = re.sub(r"[\s.\-()/]", "", value or "")
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    if re.fullmatch(r"0[1-9]\d{8}", compact, re.ASCII):
        country = _OVERSEAS_PREFIXES.get(compact[:4], "33")
        return f"+{country}{compact[1:]}"
    match = re.fullmatch(r"\+(\d+)", compact, re.ASCII)
    if match:
        digits = match.group(1)
        if re.fullmatch(r"33[1-9]\d{8}", digits, re.ASCII):
            return f"+{digits}"
        if digits[:3] in _OVERSEAS_CODES and re.fullmatch(r"\d{3}[1-9]\d{8}", digits, re.ASCII):
            return f"+{digits}"
        length = _PACIFIC_CODES.get(digits[:3])
        if length and re.fullmatch(rf"\d{{3}}\d{{{length}}}", digits, re.ASCII):
            return f"+{digits}"
    raise ValidationError(PHONE_MESSAGE, code="invalid_phone")


def validate_postal_code(value: str) -> None:
    if not (len(value) == 5 and value.isascii() and value.isdigit()):
        raise ValidationError(_("Un code postal compte 5 chiffres."), code="invalid_postal_code")


def display_phone(e164: str) -> str:
    """+33123456789 → 01 23 45 67 89; +590590123456 → 05 90 12 34 56; others unchanged."""
    if not e164:
        return ""
    for country in ("33", *_OVERSEAS_CODES):
        if e164.startswith(f"+{country}") and len(e164) == len(country) + 10:
            national = "0" + e164[len(country) + 1 :]
            return " ".join(national[index : index + 2] for index in range(0, 10, 2))
    return e164


# Personal mailboxes: an applicant must give the address of their organisation.
FREE_MAIL_DOMAINS = frozenset(
    [
        "aol.com",
        "aol.fr",
        "bbox.fr",
        "club-internet.fr",
        "free.fr",
        "gmail.com",
        "gmx.com",
        "gmx.fr",
        "googlemail.com",
        "hotmail.com",
        "hotmail.fr",
        "icloud.com",
        "laposte.net",
        "live.com",
        "live.fr",
        "mac.com",
        "me.com",
        "msn.com",
        "neuf.fr",
        "numericable.fr",
        "orange.fr",
        "outlook.com",
        "outlook.fr",
        "proton.me",
        "protonmail.com",
        "sfr.fr",
        "tutanota.com",
        "wanadoo.fr",
        "yahoo.com",
        "yahoo.fr",
        "ymail.com",
    ]
)


def validate_professional_email(value: str) -> None:
    if not settings.PORTAL_REFUSE_FREE_MAIL:
        return
    domain = value.rsplit("@", 1)[-1].lower()
    if domain in FREE_MAIL_DOMAINS:
        raise ValidationError(
            _(
                "Les adresses de messageries personnelles (%(domain)s) ne sont pas acceptées : "
                "indiquez votre adresse électronique professionnelle."
            ),
            code="free_mail",
            params={"domain": domain},
        )


def _letters_and_digits(value: str) -> str:
    text = unicodedata.normalize("NFKD", value or "").encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]", "", text)


def validate_chosen_identifiant(value: str, *, establishment=None, email: str = "") -> None:
    """An identifiant chosen in the wizard: free (without regard to case), and neither the
    organisation's name, nor its client number, nor its SIREN (reference: "n'utilisez pas comme
    identifiant le nom de votre établissement ou votre n° client"). An identifiant is taken unless
    it is the account of ``email`` itself."""
    from accounts.models import User, identifiant_validator
    from organisations.models import ClientNumber

    identifiant_validator(value)
    if len(value) < 3:
        raise ValidationError(_("Votre identifiant doit compter au moins 3 caractères."), code="too_short")
    compact = _letters_and_digits(value)
    if establishment is not None:
        unit = establishment.legal_unit
        names = {_letters_and_digits(name) for name in (unit.denomination, unit.sigle, establishment.name)}
        numbers = {unit.siren, establishment.siret}
        numbers |= {
            number.lstrip("0")
            for number in ClientNumber.objects.filter(siren=unit.siren).values_list("number", flat=True)
        }
        if compact in names - {""}:
            raise ValidationError(
                _(
                    "N'utilisez pas le nom de votre organisme comme identifiant : il doit vous désigner, vous."
                ),
                code="organisation_name",
            )
        if compact.lstrip("0") in numbers or unit.siren in compact:
            raise ValidationError(
                _(
                    "N'utilisez pas le SIREN, le SIRET ou le numéro client de votre organisme comme identifiant."
                ),
                code="organisation_number",
            )
    owners = User.objects.filter(identifiant__iexact=value)
    # The same person signing up again (same address) keeps their account, and its identifiant.
    if owners.exists() and not (email and owners.filter(email__iexact=email).exists()):
        raise ValidationError(_("Cet identifiant est déjà pris : choisissez-en un autre."), code="taken")
