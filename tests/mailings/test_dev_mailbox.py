import pytest
from django.core.mail import EmailMessage

from mailings.backends import EmlFileBackend

pytestmark = pytest.mark.django_db


def _write_message(directory):
    backend = EmlFileBackend(file_path=directory)
    message = EmailMessage(
        "Votre code : 482913",
        "Votre code de vérification est 482913.",
        "portail@example.fr",
        ["camille@mairie-exemple.fr"],
    )
    assert backend.send_messages([message]) == 1
    return next(directory.glob("*.eml"))


def test_the_file_transport_writes_one_eml_file_per_message(tmp_path):
    path = _write_message(tmp_path)
    assert b"Subject: Votre code : 482913" in path.read_bytes()


# One way of changing settings per test: override_settings around the settings fixture restored
# DEBUG = True for the rest of the session (the fixture's own override, undone last, had copied it).
@pytest.mark.urls("tests.urls_debug")
def test_in_debug_the_mailbox_lists_messages_and_shows_their_text(client, settings, tmp_path):
    settings.DEBUG = True
    settings.EMAIL_FILE_PATH = str(tmp_path)
    path = _write_message(tmp_path)
    listing = client.get("/dev/mailbox/").content.decode()
    assert "Votre code : 482913" in listing
    assert "camille@mairie-exemple.fr" in listing
    detail = client.get(f"/dev/mailbox/{path.name}/")
    assert "Votre code de vérification est 482913." in detail.content.decode()
    assert client.get("/dev/mailbox/..%2F..%2Fsettings.py/").status_code == 404
    assert client.get("/dev/mailbox/absent.eml/").status_code == 404


@pytest.mark.urls("tests.urls_debug")
def test_without_debug_the_mailbox_does_not_exist(client, settings, tmp_path):
    settings.DEBUG = False
    settings.EMAIL_FILE_PATH = str(tmp_path)
    _write_message(tmp_path)
    assert client.get("/dev/mailbox/").status_code == 404


def test_the_mailbox_is_not_routed_outside_debug(client):
    assert client.get("/dev/mailbox/").status_code == 404
