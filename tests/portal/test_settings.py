import secrets

from django.conf import settings

from tests.conftest import BASE_DIR, run_python

SETUP = "import django; django.setup(); print('started')"


def production_env(**overrides):
    values = {
        "DJANGO_SETTINGS_MODULE": "portal.settings.production",
        "SECRET_KEY": secrets.token_urlsafe(64),
        "ALLOWED_HOSTS": "portail.example.gouv.fr",
        "DATABASE_URL": "postgres://portal:secret@db.internal:5432/portal",
        "REDIS_URL": "redis://cache.internal:6379/0",
        "EMAIL_URL": "smtp://smtp.internal:25",
    }
    values.update(overrides)
    return values


def test_production_starts_with_a_realistic_environment():
    result = run_python(SETUP, **production_env())
    assert result.returncode == 0, result.stderr
    assert "started" in result.stdout


def test_production_refuses_to_start_without_each_required_key():
    for name in ("SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL"):
        result = run_python(SETUP, **production_env(**{name: None}))
        assert result.returncode != 0
        assert f"{name} est obligatoire en production" in result.stderr


def test_production_refuses_a_weak_secret_key_and_malformed_values():
    weak = run_python(SETUP, **production_env(SECRET_KEY="short"))
    assert "SECRET_KEY doit compter au moins 50" in weak.stderr
    bad_bool = run_python(SETUP, **production_env(SECURE_SSL_REDIRECT="sometimes"))
    assert "SECURE_SSL_REDIRECT doit valoir true ou false" in bad_bool.stderr


def test_production_never_starts_embedded_servers():
    result = run_python(SETUP, **production_env(DATABASE_URL=None, PORTAL_VAR_DIR="/nonexistent/var"))
    assert result.returncode != 0
    assert "DATABASE_URL est obligatoire" in result.stderr


def test_check_deploy_reports_nothing_in_production():
    code = (
        "import sys; from django.core.management import execute_from_command_line; "
        "execute_from_command_line(['manage.py', 'check', '--deploy', '--fail-level', 'WARNING'])"
    )
    result = run_python(code, **production_env())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_passwords_are_hashed_with_argon2_first():
    result = run_python(
        "import django; django.setup(); from django.conf import settings; print(settings.PASSWORD_HASHERS[0])",
        **production_env(),
    )
    assert result.stdout.strip() == "django.contrib.auth.hashers.Argon2PasswordHasher"
    assert settings.PASSWORD_HASHERS[0].endswith("Argon2PasswordHasher")
    assert (BASE_DIR / "requirements" / "base.lock").read_text().count("argon2-cffi==") == 1


def test_production_refuses_the_captcha_test_mode():
    result = run_python(SETUP, **production_env(CAPTCHA_TEST_MODE="true"))
    assert result.returncode != 0
    assert "CAPTCHA_TEST_MODE est réservé aux tests automatisés" in result.stderr


def test_captcha_test_mode_comes_from_the_environment():
    code = (
        "import django; django.setup(); from django.conf import settings; print(settings.CAPTCHA_TEST_MODE)"
    )
    assert (
        run_python(
            code, DJANGO_SETTINGS_MODULE="portal.settings.test", CAPTCHA_TEST_MODE="true"
        ).stdout.strip()
        == "True"
    )
    assert run_python(code, DJANGO_SETTINGS_MODULE="portal.settings.test").stdout.strip() == "False"
