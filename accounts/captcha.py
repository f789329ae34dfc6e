"""The anti-spam image: case-sensitive, as the operators' portals have it, with an audio version.

django-simple-captcha compares answers in lower case; the challenge we generate mixes cases and
CaseSensitiveCaptchaField compares the answer with the challenge itself. Letters whose two cases
look alike (c, k, o, p, s, u, v, w, x, z) and digits confusable with letters are left out.
"""

import secrets
import shutil
import subprocess

from captcha.fields import CaptchaField, CaptchaTextInput
from captcha.models import CaptchaStore
from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache

ALPHABET = "ABDEFGHJLMNQRTYabdefghjmnqrty2345678"


def mixed_case_challenge() -> tuple[str, str]:
    text = "".join(secrets.choice(ALPHABET) for _ in range(settings.CAPTCHA_LENGTH))
    return text, text


class CaptchaWidget(CaptchaTextInput):
    """The image, its hidden key and the text input, plus the link to the audio version."""

    template_name = "accounts/widgets/captcha.html"

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        context["audio_url"] = (
            reverse("captcha_audio", kwargs={"key": self._key})
            if shutil.which(settings.CAPTCHA_SPEECH_COMMAND)
            else ""
        )
        return context


class CaseSensitiveCaptchaField(CaptchaField):
    default_error_messages = {
        "invalid": _(
            "Les caractères saisis ne correspondent pas à l'image : recopiez-les en respectant les majuscules et minuscules."
        ),
        "required": _("Recopiez les caractères de l'image."),
        "incomplete": _("Recopiez les caractères de l'image."),
    }

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", CaptchaWidget())
        super().__init__(*args, **kwargs)
        self.error_messages.update(self.default_error_messages)

    def clean(self, value):
        key, response = (value or ["", ""])[0], ((value or ["", ""])[1] or "").strip()
        if not response:
            raise ValidationError(self.error_messages["required"], code="required")
        if "\x00" in key:  # no image has such a key, and PostgreSQL refuses to look it up
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        store = CaptchaStore.objects.filter(hashkey=key, expiration__gt=timezone.now()).first()
        # One attempt per image, right or wrong: a solved image cannot be replayed.
        CaptchaStore.objects.filter(hashkey=key).delete()
        if settings.CAPTCHA_TEST_MODE and response.lower() == "passed":
            return value
        if store is None or not secrets.compare_digest(store.challenge, response):
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        return value


def _spoken(challenge: str) -> str:
    words = []
    for char in challenge:
        if char.isdigit():
            words.append(char)
        elif char.isupper():
            words.append(f"{char} majuscule")
        else:
            words.append(f"{char} minuscule")
    return ", ".join(words)


@never_cache
def captcha_audio(request, key):
    """The challenge read aloud in French (espeak-ng), for those who cannot see the image."""
    if "\x00" in key:  # no image has such a key, and PostgreSQL refuses to look it up
        raise Http404
    store = CaptchaStore.objects.filter(hashkey=key, expiration__gt=timezone.now()).first()
    engine = shutil.which(settings.CAPTCHA_SPEECH_COMMAND)
    if store is None or engine is None:
        raise Http404
    wav = subprocess.run(  # noqa: S603 (fixed program, text from our own store)
        [engine, "-v", "fr", "-s", "110", "--stdout", _spoken(store.challenge)],
        check=True,
        capture_output=True,
        timeout=10,
    ).stdout
    return HttpResponse(wav, content_type="audio/wav")
