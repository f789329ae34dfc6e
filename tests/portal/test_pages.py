import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_home_page_says_what_the_portal_is_and_offers_both_doors(client, settings):
    settings.PORTAL_OPERATOR_NAME = "Banque des Territoires"
    settings.PORTAL_LOGO_TEXT = "République|Française"
    response = client.get("/")
    assert response.status_code == 200
    page = response.content.decode()
    assert '<html lang="fr"' in page
    assert "Banque des Territoires" in page
    assert "République<br>Française" in page
    assert f'href="{reverse("signup")}"' in page
    assert f'href="{reverse("login")}"' in page
    assert "Créer un compte" in page
    assert "Se connecter" in page
    # Skip links to the content, the menu and the footer, each target present.
    for target in ("#content", "#header-tools", "#footer"):
        assert f'href="{target}"' in page
        assert f'id="{target[1:]}"' in page
    assert '<footer class="fr-footer"' in page
    assert "/static/dsfr/dist/dsfr/dsfr.min.css" in page


def test_the_page_is_in_english_when_the_visitor_chooses_it(client):
    response = client.post(reverse("set_language"), {"language": "en", "next": "/"})
    assert response.status_code == 302
    page = client.get("/").content.decode()
    assert '<html lang="en"' in page
    assert "Create an account" in page
    assert "Log in" in page
    assert "Créer un compte" not in page


def test_the_parts_rendered_once_follow_the_language_and_the_operator(client, settings):
    """Skip links and footer are rendered once per process (portal_pages.rendered_once): once for
    each language and each operator's settings, never one for another."""
    settings.PORTAL_OPERATOR_NAME = "Agence nationale pour la rénovation urbaine"
    french = client.get("/").content.decode()
    english = client.get("/", headers={"accept-language": "en"}).content.decode()
    settings.PORTAL_OPERATOR_NAME = "Banque des Territoires"
    settings.PORTAL_CONTACT_EMAIL = "contact@banquedesterritoires.localhost"
    other_operator = client.get("/").content.decode()

    assert 'aria-label="Accès rapide"' in french
    assert "Pied de page" in french
    assert "Agence nationale pour la rénovation urbaine : portail" in french
    assert 'aria-label="Quick access"' in english
    assert "Pied de page" not in english
    assert "Banque des Territoires : portail" in other_operator
    assert "mailto:contact@banquedesterritoires.localhost" in other_operator
    assert "Agence nationale pour la rénovation urbaine : portail" not in other_operator


def test_english_follows_the_browser_language(client):
    page = client.get("/", headers={"accept-language": "en-GB,en;q=0.9"}).content.decode()
    assert "Create an account" in page


def test_login_page_is_dsfr_and_labelled(client):
    page = client.get(reverse("login")).content.decode()
    assert 'for="id_username"' in page
    assert "Identifiant ou adresse électronique" in page
    assert 'class="fr-input' in page
