"""The portal's own rendering of form widgets (templates/django/forms/widgets/)."""

from django import forms

from portal.forms import PortalForm


class ChoiceForm(PortalForm):
    choice = forms.ChoiceField(
        label="Choix",
        choices=[("", "Choisissez"), ("Groupe <b>", [("1", "Un & <script>"), ("3", "Trois")]), ("2", "Deux")],
    )


def test_a_select_keeps_its_groups_its_choice_and_escapes_every_text():
    html = str(ChoiceForm(data={"choice": "1"})["choice"])

    assert html.count('<select name="choice"') == 1
    assert '<option value="">Choisissez</option>' in html
    assert '<optgroup label="Groupe &lt;b&gt;">' in html
    assert (
        '<option value="1" selected>Un &amp; &lt;script&gt;</option><option value="3">Trois</option></optgroup>'
        in html
    )
    assert '<option value="2">Deux</option>' in html
    assert "<script>" not in html
