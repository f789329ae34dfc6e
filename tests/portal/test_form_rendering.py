"""The form renderer draws in Python exactly what the templates draw (portal/form_rendering.py):
field by field on the portal's forms and on a form made to be awkward, then page by page."""

import re

import pytest
from django import forms
from django.forms.renderers import TemplatesSetting
from django.urls import reverse

from accounts import forms as account_forms
from accounts import signup_forms
from accounts.captcha import CaseSensitiveCaptchaField
from organisations import forms as organisation_forms
from organisations import structure_forms
from portal.form_rendering import DRAWN_IN_PYTHON, PortalFormRenderer
from portal.forms import HintedCheckboxSelectMultiple, PortalForm
from tests.accounts.test_signup import contact_data, function_data, post_step
from tests.habilitations.factories import ServiceFactory
from tests.hostile.test_signup import organisation_data
from tests.organisations.factories import EstablishmentFactory, MembershipFactory

pytestmark = pytest.mark.django_db

TEMPLATES = TemplatesSetting()


class AwkwardForm(PortalForm):
    """Every case the Python drawing handles: hints with markup, optional and disabled fields,
    values and labels to escape, boolean attributes, groups of options, a hidden field."""

    name = forms.CharField(
        label="Nom <b>& « prénom »",
        max_length=20,
        help_text="Un <strong>indice</strong> & un autre",
        widget=forms.TextInput(attrs={"autocomplete": "name", "spellcheck": False, "autofocus": True}),
    )
    email = forms.EmailField(label="Adresse", required=False)
    secret = forms.CharField(label="Secret", widget=forms.PasswordInput(render_value=True))
    number = forms.IntegerField(label="Nombre", min_value=1)
    phone = forms.CharField(label="Téléphone", widget=forms.TextInput(attrs={"type": "tel"}))
    frozen = forms.CharField(label="Figé", disabled=True, initial='d\'origine "citée"')
    choice = forms.ChoiceField(
        label="Choix",
        choices=[("", "Choisissez"), ("Groupe <i>", [("1", "Un & <script>"), ("3", "Trois")]), ("2", "Deux")],
        help_text="Une aide",
    )
    optional_choice = forms.ChoiceField(label="Facultatif", required=False, choices=[("a", "A"), ("b", "B")])
    hidden = forms.CharField(widget=forms.HiddenInput, required=False)
    civilite = forms.ChoiceField(
        label="Civilité", choices=[("mme", "Madame <i>"), ("m", "Monsieur")], widget=forms.RadioSelect
    )
    optional_radio = forms.ChoiceField(
        label="Radio facultatif",
        required=False,
        choices=[("a", "A")],
        widget=forms.RadioSelect,
        help_text="Aide",
    )
    boxes = forms.MultipleChoiceField(
        label="Cases",
        choices=[("1", "Une & <b>"), ("2", "Deux")],
        widget=HintedCheckboxSelectMultiple(hints={"1": "Indice <i> & plus"}),
        template_name=HintedCheckboxSelectMultiple.field_template_name,
    )
    plain_boxes = forms.MultipleChoiceField(
        label="Cases simples", required=False, choices=[("x", "X")], widget=forms.CheckboxSelectMultiple
    )
    accept = forms.BooleanField(label="J'accepte <les> conditions", help_text="Lisez-les")
    optional_accept = forms.BooleanField(label="Facultative", required=False)
    captcha = CaseSensitiveCaptchaField(label="Antispam")


AWKWARD_DATA = {
    "name": 'x"><script>alert(1)</script>' * 2,
    "email": "pas une adresse",
    "secret": "<&>",
    "number": "0",
    "phone": "' onfocus='x",
    "choice": "1",
    "optional_choice": "z",
    "hidden": '"><b>',
    "civilite": "x",
    "boxes": ["1", "9"],
    "optional_accept": "on",
    "captcha_0": "<clé>",
    "captcha_1": "faux",
}


def forms_of_the_portal():
    """(name, form factory taking data and renderer) for the portal's forms, as their pages build
    them."""
    establishment = EstablishmentFactory()
    membership = MembershipFactory(establishment=establishment)
    return [
        ("awkward", AwkwardForm),
        ("fonction", signup_forms.FunctionIdentityForm),
        ("organisme", signup_forms.OrganisationForm),
        (
            "coordonnees",
            lambda **kw: signup_forms.ContactForm(establishment=establishment, waits_for_admin=True, **kw),
        ),
        ("confirmation", lambda **kw: signup_forms.ConfirmationForm(offers_admin_role=True, **kw)),
        ("code", signup_forms.CodeForm),
        ("login", account_forms.LoginForm),
        ("login code", account_forms.LoginCodeRequestForm),
        ("reset", account_forms.PasswordResetForm),
        ("password", lambda **kw: account_forms.PasswordChangeForm(membership.user, **kw)),
        ("phone", structure_forms.PhoneForm),
        ("structure e-mail", structure_forms.EmailForm),
        ("function", structure_forms.FunctionForm),
        ("activation", organisation_forms.ActivationCodeForm),
    ]


CAPTCHA_KEY = re.compile(r"[0-9a-f]{40}")


def drawn(form) -> list[str]:
    """Each field of a form as its page draws it: its DSFR group, and its widget alone (a new
    CAPTCHA at each drawing: its key left out)."""
    html = [str(form[name].as_field_group()) for name in form.fields] + [
        str(form[name]) for name in form.fields
    ]
    return [CAPTCHA_KEY.sub("KEY", part) for part in html]


@pytest.mark.parametrize("bound", [False, True], ids=["empty", "with errors"])
def test_each_field_is_drawn_as_its_template_draws_it(bound):
    ServiceFactory()
    for name, factory in forms_of_the_portal():
        kwargs = {"data": {**AWKWARD_DATA, "email": "x", "title": "<>" * 100}} if bound else {}
        fast, templated = factory(**kwargs), factory(**kwargs, renderer=TEMPLATES)
        assert isinstance(fast.renderer, PortalFormRenderer), name
        if bound:
            assert not fast.is_valid(), name
            templated.is_valid()
        assert drawn(fast) == drawn(templated), name


def test_the_awkward_form_meets_every_python_drawing():
    """The comparison above means something only if it goes through each drawing function."""
    used = set()
    renderer = PortalFormRenderer()
    original = renderer.render

    def spy(template_name, context, request=None):
        if template_name in DRAWN_IN_PYTHON:
            used.add(DRAWN_IN_PYTHON[template_name].__name__)
        return original(template_name, context, request)

    renderer.render = spy
    drawn(AwkwardForm(data=AWKWARD_DATA, renderer=renderer))
    assert used == {name.__name__ for name in DRAWN_IN_PYTHON.values()}


def test_what_the_user_typed_comes_back_escaped():
    html = drawn(AwkwardForm(data=AWKWARD_DATA))
    page = "".join(html)
    assert "<script>" not in page
    assert 'value="x&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;' in page
    assert 'value="&#x27; onfocus=&#x27;x"' in page
    assert "Un <strong>indice</strong> & un autre" in page  # a hint is the portal's own markup


def comparable(response) -> str:
    """A page without what differs at every render: CSRF tokens, nonces, CAPTCHA keys."""
    content = response.content.decode()
    content = re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", content)
    content = re.sub(r'nonce="[^"]*"', "", content)
    return CAPTCHA_KEY.sub("KEY", content)


def test_the_wizard_pages_are_the_same_drawn_either_way(client, settings):
    settings.CAPTCHA_TEST_MODE = True
    establishment = EstablishmentFactory(siret="21750001600019", legal_unit__siren="217500016")

    def both(request):
        settings.FORM_RENDERER = "portal.form_rendering.PortalFormRenderer"
        fast = request()
        settings.FORM_RENDERER = "django.forms.renderers.TemplatesSetting"
        templated = request()
        assert fast.status_code == templated.status_code == 200
        assert comparable(fast) == comparable(templated)
        return fast

    client.get(reverse("signup") + "?recommencer")
    for step, data in [
        ("fonction", function_data()),
        ("organisme", organisation_data(establishment)),
        ("coordonnees", contact_data()),
    ]:
        both(lambda step=step: client.get(reverse("signup_step", kwargs={"step": step})))
        both(lambda step=step, data=data: post_step(client, step, dict.fromkeys(data, "<b>")))
        assert post_step(client, step, data).status_code == 302
    both(lambda: client.get(reverse("signup_step", kwargs={"step": "confirmation"})))
    both(lambda: client.get(reverse("login")))
    both(lambda: client.post(reverse("login"), {"username": "", "password": ""}))
