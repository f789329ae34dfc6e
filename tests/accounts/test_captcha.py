import pytest
from captcha.models import CaptchaStore
from django.urls import reverse

from accounts.captcha import ALPHABET, _spoken, mixed_case_challenge

pytestmark = pytest.mark.django_db


def test_challenges_mix_cases_without_look_alike_letters():
    seen = "".join(mixed_case_challenge()[0] for _ in range(200))
    assert any(char.isupper() for char in seen)
    assert any(char.islower() for char in seen)
    assert set(seen) <= set(ALPHABET)
    assert not set("cCkKoOpPsSuUvVwWxXzZ01iIl") & set(ALPHABET)


def test_the_spoken_version_says_the_case():
    assert _spoken("Ab3") == "A majuscule, b minuscule, 3"


def test_the_audio_version_is_a_wav_file(client):
    store = CaptchaStore.objects.create(challenge="AbDe7q", response="AbDe7q")
    response = client.get(reverse("captcha_audio", args=[store.hashkey]))
    assert response.status_code == 200
    assert response["Content-Type"] == "audio/wav"
    assert response.content[:4] == b"RIFF"
    assert client.get(reverse("captcha_audio", args=["inconnu"])).status_code == 404
