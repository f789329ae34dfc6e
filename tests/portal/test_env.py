import pytest
from django.core.exceptions import ImproperlyConfigured

from portal import env


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("true", True), ("FALSE", False), ("1", True), ("off", False), ("Yes", True)],
)
def test_booleans_accept_the_usual_spellings(monkeypatch, raw, expected):
    monkeypatch.setenv("SOME_FLAG", raw)
    assert env.get_bool("SOME_FLAG") is expected


@pytest.mark.parametrize("raw", ["maybe", "tru", "2", "vrai"])
def test_malformed_booleans_are_refused_with_the_name(monkeypatch, raw):
    monkeypatch.setenv("SOME_FLAG", raw)
    with pytest.raises(ImproperlyConfigured, match="SOME_FLAG"):
        env.get_bool("SOME_FLAG", False)


def test_required_variables_are_required(monkeypatch):
    monkeypatch.delenv("NOT_THERE", raising=False)
    with pytest.raises(ImproperlyConfigured, match="NOT_THERE est obligatoire"):
        env.get_str("NOT_THERE")
    assert env.get_str("NOT_THERE", "fallback") == "fallback"


def test_integers_are_parsed_and_bounded(monkeypatch):
    monkeypatch.setenv("COUNT", "12")
    assert env.get_int("COUNT", minimum=1) == 12
    monkeypatch.setenv("COUNT", "douze")
    with pytest.raises(ImproperlyConfigured, match="nombre entier"):
        env.get_int("COUNT")
    monkeypatch.setenv("COUNT", "0")
    with pytest.raises(ImproperlyConfigured, match="au moins 1"):
        env.get_int("COUNT", minimum=1)


def test_lists_refuse_empty_items(monkeypatch):
    monkeypatch.setenv("HOSTS", "a.example, b.example")
    assert env.get_list("HOSTS") == ["a.example", "b.example"]
    monkeypatch.setenv("HOSTS", "a.example,,b.example")
    with pytest.raises(ImproperlyConfigured, match="HOSTS"):
        env.get_list("HOSTS")


def test_urls_must_have_an_allowed_scheme(monkeypatch):
    monkeypatch.setenv("REDIS_URL", "http://localhost:6379")
    with pytest.raises(ImproperlyConfigured, match="REDIS_URL"):
        env.get_url("REDIS_URL", {"redis", "unix"})


def test_database_urls_must_name_a_postgres_database():
    config = env.database_config("postgres://portal:secret@db.internal:5433/portal")
    assert (config["HOST"], config["PORT"], config["NAME"], config["USER"]) == (
        "db.internal",
        5433,
        "portal",
        "portal",
    )
    socket_config = env.database_config("postgres://postgres@%2Fvar%2Frun%2Fpg/portal")
    assert socket_config["HOST"] == "/var/run/pg"
    with pytest.raises(ImproperlyConfigured, match="postgres://"):
        env.database_config("mysql://root@localhost/portal")
    with pytest.raises(ImproperlyConfigured, match="nommer la base"):
        env.database_config("postgres://localhost")


def test_email_urls_choose_the_transport(tmp_path):
    smtp = env.email_config("smtp://user:p%40ss@mail.example:2525?starttls=true", base_dir=tmp_path)
    assert smtp["EMAIL_BACKEND"] == "django.core.mail.backends.smtp.EmailBackend"
    assert (smtp["EMAIL_HOST"], smtp["EMAIL_PORT"], smtp["EMAIL_HOST_PASSWORD"]) == (
        "mail.example",
        2525,
        "p@ss",
    )
    assert smtp["EMAIL_USE_TLS"] is True
    assert smtp["EMAIL_USE_SSL"] is False
    assert env.email_config("smtps://mail.example", base_dir=tmp_path)["EMAIL_PORT"] == 465
    assert env.email_config("console://", base_dir=tmp_path)["EMAIL_BACKEND"].endswith("console.EmailBackend")
    assert env.email_config("file://var/mail", base_dir=tmp_path)["EMAIL_FILE_PATH"] == str(
        tmp_path / "var/mail"
    )
    assert env.email_config("file:///srv/mail", base_dir=tmp_path)["EMAIL_FILE_PATH"] == "/srv/mail"
    for bad in [
        "smtp://",
        "smtp://host:notaport",
        "smtp://host?starttls=perhaps",
        "imap://host",
        "file://",
    ]:
        with pytest.raises(ImproperlyConfigured, match="EMAIL_URL"):
            env.email_config(bad, base_dir=tmp_path)
