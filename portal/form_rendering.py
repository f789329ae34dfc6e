"""The form renderer: the commonest form templates drawn by Python functions.

Through Django's template language, a DSFR text field costs about 0.2 ms to draw and the
100-option département list 1.6 ms: most of a wizard page's CPU (docs/adr/0004-form-rendering.md).
PortalFormRenderer draws the input group of django-dsfr, Django's <input> and our <select> with the
functions below, which write exactly what those templates write:
tests/portal/test_form_rendering.py compares both on every field of the portal's forms, valid and
not. Every other template (radios, checkboxes, error lists, the admin's widgets) is rendered as
usual, and so is any of ours if its template is overridden (DRAWN_IN_PYTHON says which).
"""

from html import escape

from django.forms.renderers import TemplatesSetting
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.utils.translation import gettext
from dsfr.templatetags.dsfr_tags import dsfr_mark_optionnal_fields
from dsfr.utils import dsfr_input_class_attr
from widget_tweaks.templatetags.widget_tweaks import set_attr


def _text(value) -> str:
    """``{{ value }}`` with autoescaping: safe strings as they are, the rest escaped."""
    if hasattr(value, "__html__"):
        return value.__html__()
    return escape(str(value))


def _attrs(attrs: dict) -> str:
    """django/forms/widgets/attrs.html: ``True`` alone, ``False`` left out, values as text."""
    return "".join(
        f" {_text(name)}" if value is True else f' {_text(name)}="{escape(str(value))}"'
        for name, value in attrs.items()
        if value is not False
    )


def draw_input(context) -> str:
    """django/forms/widgets/input.html (text, email, password, number, tel, url, hidden)."""
    widget = context["widget"]
    value = "" if widget["value"] is None else f' value="{escape(str(widget["value"]))}"'
    return f'<input type="{_text(widget["type"])}" name="{_text(widget["name"])}"{value}{_attrs(widget["attrs"])}>'


def select_options(optgroups) -> str:
    """A select's <option> and <optgroup> elements. Our options carry a value, selected and
    disabled, nothing else."""
    parts = []
    for group_name, options, _index in optgroups:
        rendered = "".join(
            f'<option value="{_text(option["value"])}"{" selected" if option["selected"] else ""}'
            f"{' disabled' if option['attrs'].get('disabled') else ''}>{_text(option['label'])}</option>"
            for option in options
        )
        parts.append(
            f'<optgroup label="{_text(group_name)}">{rendered}</optgroup>' if group_name else rendered
        )
    return "".join(parts)


def draw_select(context) -> str:
    """templates/django/forms/widgets/select.html."""
    widget = context["widget"]
    return (
        f'<select name="{_text(widget["name"])}"{_attrs(widget["attrs"])}>'
        f"{select_options(widget['optgroups'])}</select>"
    )


def draw_input_group(context) -> str:
    """django-dsfr's dsfr/form_field_snippets/input_snippet.html: label, hint, widget, errors."""
    field = context["field"]
    group = getattr(field.field.widget, "group_class", "") or "fr-input-group"
    classes = group
    if field.errors:
        classes += f" {group}--error"
    if field.field.disabled:
        classes += " fr-input-group--disabled"
    label_for = _text(field.id_for_label)
    label = _label_and_hint(field, label_for)
    widget = _text(dsfr_input_class_attr(field))
    errors = (
        f'\n    <div id="{_text(field.auto_id)}-desc-error">\n      {_text(field.errors)}\n    </div>\n  '
        if field.errors
        else ""
    )
    return (
        f'<div class="{_text(classes)}">\n'
        f'  <label for="{label_for}" class="fr-label">\n'
        f"{label}"
        f"  </label>\n"
        f"  {widget}\n"
        f"  {errors}\n"
        f"</div>"
    )


def _label_and_hint(field, hint_id: str) -> str:
    """The label of a DSFR field (its text, the optional mark, its hint), as the snippets lay it."""
    hint = (
        f'\n      <span class="fr-hint-text" id="{hint_id}_helptext">{field.help_text}</span>\n    '
        if field.help_text
        else ""
    )
    return f"    \n    {_text(field.label)}{_text(dsfr_mark_optionnal_fields(field))}\n    {hint}\n    \n"


def _choices_group(context, *, kind: str) -> str:
    """django-dsfr's radioselect_snippet.html (kind "radio") and checkboxselectmultiple_snippet.html
    (kind "checkboxes"): a fieldset, its legend, one element per choice, the errors."""
    field = context["field"]
    auto_id = _text(field.auto_id)
    errors = field.errors
    if kind == "radio":
        classes = "fr-fieldset fr-fieldset--error" if errors else "fr-fieldset"
        described = f" {auto_id}-desc-error" if errors else ""
        errors_class = ' class="fr-messages-group"'
    else:
        classes = "fr-fieldset fr-fieldset--error fr-fieldsets" if errors else "fr-fieldset fr-fieldsets"
        described = f" {auto_id}-messages" if errors else ""
        errors_class = ""
    legend = _label_and_hint(field, auto_id)
    field = dsfr_input_class_attr(field)
    element = (
        "fr-fieldset__element fr-fieldset__element--inline"
        if getattr(field.field.widget, "inline", False)
        else ("fr-fieldset__element")
    )
    choices = "".join(
        f'\n      <div class="{element}">\n        {_text(subwidget)}\n      </div>\n    '
        for subwidget in field.subwidgets
    )
    errors_block = (
        f'\n    <div{errors_class} id="{auto_id}-desc-error">\n      {_text(errors)}\n    </div>\n  '
        if errors
        else ""
    )
    return (
        f'<fieldset class="{classes}"\n'
        f'          id="{"radio" if kind == "radio" else "checkboxes"}-{auto_id}"\n'
        f'          aria-labelledby="{auto_id}-legend{described}">\n'
        f'  <legend class="fr-fieldset__legend fr-fieldset__legend--regular"\n'
        f'          id="{auto_id}-legend">\n'
        f"{legend}"
        f"  </legend>\n"
        f"  \n    {choices}\n  \n"
        f"  {errors_block}\n"
        f"</fieldset>"
    )


def draw_radio_group(context) -> str:
    return _choices_group(context, kind="radio")


def draw_checkboxes_group(context) -> str:
    return _choices_group(context, kind="checkboxes")


def draw_checkbox_group(context) -> str:
    """django-dsfr's checkbox_snippet.html: one box, its label and hint, the errors."""
    field = context["field"]
    classes = "fr-checkbox-group"
    if field.errors:
        classes += " fr-checkbox-group--error"
    if field.field.disabled:
        classes += " fr-input-group--disabled"
    widget = _text(set_attr(dsfr_input_class_attr(field), "type:checkbox"))
    errors = (
        f'\n    <div id="{_text(field.auto_id)}-desc-error">\n      {_text(field.errors)}\n    </div>\n  '
        if field.errors
        else ""
    )
    return (
        f'<div class="{classes} fr-mb-2w">\n'
        f"  {widget}\n"
        f'  <label for="{_text(field.id_for_label)}" class="fr-label">\n'
        f"{_label_and_hint(field, _text(field.auto_id))}"
        f"  </label>\n"
        f"  {errors}\n"
        f"</div>"
    )


def _option_label(widget) -> str:
    """The <label> of a radio or a box (django-dsfr's option templates); a label given as
    {"label", "help_text"} (portal.forms.HintedCheckboxSelectMultiple) has its hint under it."""
    if not widget["wrap_label"]:
        return ""
    option_id = widget["attrs"].get("id")
    label = widget["label"]
    if isinstance(label, dict) and label.get("label"):
        text = (
            f"\n        {_text(label['label'])}\n"
            f'        <span class="fr-hint-text" id="{_text(option_id or "")}_helptext">'
            f"{_text(label.get('help_text', ''))}</span>\n      "
        )
    else:
        text = f"\n        {_text(label)}\n      "
    target = f'for="{_text(option_id)}"' if option_id else ""
    return f'\n    <label class="fr-label"\n           {target}>\n      {text}\n    </label>\n  '


def draw_radio_option(context) -> str:
    """django-dsfr's django/forms/widgets/radio_option.html."""
    widget = context["widget"]
    # input.html's own line end comes with it, as {% include %} brings it.
    return f'<div class="fr-radio-group">\n  {draw_input(context)}\n\n  {_option_label(widget)}\n</div>'


def draw_checkbox_option(context) -> str:
    """django-dsfr's django/forms/widgets/checkbox_option.html."""
    widget = context["widget"]
    framed = widget["attrs"].get("dsfr") == "dsfr"
    html = (
        ('\n  <div class="fr-checkbox-group">\n  ' if framed else "")
        + f"\n  {draw_input(context)}\n\n  {_option_label(widget)}\n  "
        + ("\n  </div>\n" if framed else "")
    )
    return html.strip()


_INPUT_TEMPLATES = {f"django/forms/widgets/{name}.html" for name in ["text", "hidden"]}


def draw_captcha(context) -> str | None:
    """templates/accounts/widgets/captcha.html: the image, its hidden key and the text input, the
    link to the audio version (None, so the template is used, for subwidgets it does not know)."""
    widget = context["widget"]
    if any(subwidget["template_name"] not in _INPUT_TEMPLATES for subwidget in widget["subwidgets"]):
        return None
    # Each subwidget's template includes input.html: both their line ends come along.
    inputs = "".join(draw_input({"widget": subwidget}) + "\n\n" for subwidget in widget["subwidgets"])
    audio = (
        f'<p class="fr-mt-1w"><a class="fr-link fr-icon-volume-up-line fr-link--icon-left" '
        f'href="{_text(context["audio_url"])}" data-captcha-audio>{_text(gettext("Écouter les caractères (fichier audio)"))}</a></p>'
        if context.get("audio_url")
        else ""
    )
    return (
        f'<p class="fr-mb-1w">\n'
        f'  <img src="{_text(context["image"])}" alt="{_text(gettext("Caractères à recopier"))}" class="captcha" '
        f'data-captcha-image data-refresh-url="{_text(reverse("captcha-refresh"))}">\n'
        f"</p>\n"
        f"{inputs}\n{audio}"
    ).strip()


DRAWN_IN_PYTHON = {
    "accounts/widgets/captcha.html": draw_captcha,
    "dsfr/form_field_snippets/input_snippet.html": draw_input_group,
    "dsfr/form_field_snippets/radioselect_snippet.html": draw_radio_group,
    "dsfr/form_field_snippets/checkboxselectmultiple_snippet.html": draw_checkboxes_group,
    "dsfr/form_field_snippets/checkbox_snippet.html": draw_checkbox_group,
    "django/forms/widgets/radio_option.html": draw_radio_option,
    "django/forms/widgets/checkbox_option.html": draw_checkbox_option,
    "django/forms/widgets/select.html": draw_select,
    **{
        f"django/forms/widgets/{name}.html": draw_input
        for name in ["text", "email", "password", "number", "tel", "url", "hidden", "checkbox"]
    },
}


class PortalFormRenderer(TemplatesSetting):
    """The FORM_RENDERER: templates found the usual way (TEMPLATES), the commonest drawn in Python."""

    def render(self, template_name, context, request=None):
        draw = DRAWN_IN_PYTHON.get(template_name)
        html = draw(context) if draw is not None else None
        if html is None:
            return super().render(template_name, context, request=request)
        return mark_safe(html)  # noqa: S308 (every text in it is escaped above)
