"""Hostile text in the addresses themselves: path segments and query strings."""

from urllib.parse import quote, urlsplit

import pytest
from django.urls import reverse
from hypothesis import example, given
from hypothesis import strategies as st

from tests.accounts.helpers import PASSWORD
from tests.hostile.helpers import answered, forget_counters, rows, visitor
from tests.hostile.strategies import hostile, hostile_text
from tests.organisations.factories import MembershipFactory

pytestmark = pytest.mark.django_db

# The segments of the addresses that are typed text (str converters), "{}" standing for it, and
# what the page answers to text naming nothing: the siren pages are a 404, as for an organisation
# that is not the visitor's; the others answer their own way (a "link no longer valid" page, the
# wizard's first step), but never with a server error.
PATHS = {
    "/structures/{}/gestion/": {404},
    "/structures/{}/gestion/membres/1/": {404},
    "/structures/{}/gestion/demandes/1/refuser/": {404},
    "/structures/{}/activation/": {404},
    "/structures/{}/devenir-administrateur/": {404},
    "/inscription/antispam/{}/audio/": {404},
    "/inscription/code/{}/": {404},
    "/inscription/resultat/{}/": {404},
    "/inscription/{}/": {302, 400},
    "/acces/{}/": {200},
    "/mot-de-passe-oublie/{}/{}/": {200},
    "/espace/structures/{}/": {404},
}


@pytest.fixture
def member():
    return MembershipFactory(admin=True)


@given(
    path=st.sampled_from(sorted(PATHS)),
    segment=hostile_text().filter(bool),
    method=st.sampled_from(["get", "post"]),
)
@example(path="/structures/{}/gestion/", segment="\x00", method="get")
@example(path="/structures/{}/activation/", segment="\x00", method="post")
@example(path="/structures/{}/devenir-administrateur/", segment="\x00", method="get")
@example(path="/inscription/antispam/{}/audio/", segment="\x00", method="get")
@example(path="/inscription/{}/", segment="/", method="get")
@hostile(max_examples=40)
def test_hostile_path_segments(member, path, segment, method):
    client = visitor(member.user)
    before = rows()

    url = path.replace("{}", quote(segment, safe=""))
    response = answered(getattr(client, method)(url))

    expected = PATHS[path]
    if path == "/inscription/{}/" and method == "get":
        expected = {302}
    if path == "/inscription/{}/" and method == "post":
        expected = {302, 400}  # no wizard management form: a bad request
    if "%2F" in url.upper() or segment in (".", ".."):
        expected = expected | {404}  # a slash or a dot segment: another address
    assert response.status_code in expected, (url[:200], response.status_code)
    assert rows() == before


# Query strings --------------------------------------------------------------------------------------

PAGES_WITH_PARAMETERS = {
    "login": "next",
    "login_code_request": "next",
    "password_change": "next",
    "signup": "recommencer",
    "dashboard": "page",
    "services:catalogue": "structure",
    "home": "q",
}


@given(
    name=st.sampled_from(sorted(PAGES_WITH_PARAMETERS)),
    parameter=st.one_of(st.sampled_from(["next", "page", "structure", "return_to"]), hostile_text()),
    value=hostile_text(),
)
@hostile(max_examples=30)
def test_hostile_query_strings(member, name, parameter, value):
    client = visitor(member.user)

    response = answered(client.get(reverse(name), {parameter: value}))

    assert response.status_code in {200, 302}


@given(structure=hostile_text())
@example(structure="9" * 30)  # beyond the integer column
@hostile(max_examples=20)
def test_a_service_request_for_a_hostile_structure(member, structure):
    client = visitor(member.user)
    before = rows()
    url = reverse("services:request", kwargs={"pk": 1})

    for method in (client.get, client.post):
        response = answered(method(f"{url}?structure={quote(structure, safe='')}"))
        assert response.status_code == 404
    assert rows() == before


WHATWG_STRIPPED = "".join(chr(code) for code in range(0x21))


@given(next_url=hostile_text() | st.sampled_from(["//evil.example", "/\\evil.example", "https:evil.example"]))
@example(next_url="\x00")
@hostile(max_examples=20)
def test_a_login_goes_nowhere_but_the_portal(member, next_url):
    forget_counters()
    data = {"username": member.user.identifiant, "password": PASSWORD, "next": next_url}

    response = answered(visitor().post(reverse("login"), data))

    assert response.status_code == 302
    # As a browser reads the Location (WHATWG URL): leading controls and spaces, tabs and line
    # breaks dropped, backslashes as slashes. It stays on the portal: a path, absolute or relative.
    location = "".join(char for char in response.url if char not in "\t\n\r").lstrip(WHATWG_STRIPPED)
    location = location.replace("\\", "/")
    target = urlsplit(location)
    assert not target.scheme, response.url
    assert not target.netloc, response.url
    assert not location.startswith("//"), response.url
