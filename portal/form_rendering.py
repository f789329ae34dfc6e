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
from django.utils.safestring import mark_safe
from dsfr.templatetags.dsfr_tags import dsfr_mark_optionnal_fields
from dsfr.utils import dsfr_input_class_attr


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
    hint = (
        f'\n      <span class="fr-hint-text" id="{label_for}_helptext">{field.help_text}</span>\n    '
        if field.help_text
        else ""
    )
    mark = _text(dsfr_mark_optionnal_fields(field))
    widget = _text(dsfr_input_class_attr(field))
    errors = (
        f'\n    <div id="{_text(field.auto_id)}-desc-error">\n      {_text(field.errors)}\n    </div>\n  '
        if field.errors
        else ""
    )
    return (
        f'<div class="{_text(classes)}">\n'
        f'  <label for="{label_for}" class="fr-label">\n'
        f"    \n"
        f"    {_text(field.label)}{mark}\n"
        f"    {hint}\n"
        f"    \n"
        f"  </label>\n"
        f"  {widget}\n"
        f"  {errors}\n"
        f"</div>"
    )


DRAWN_IN_PYTHON = {
    "dsfr/form_field_snippets/input_snippet.html": draw_input_group,
    "django/forms/widgets/select.html": draw_select,
    **{
        f"django/forms/widgets/{name}.html": draw_input
        for name in ["text", "email", "password", "number", "tel", "url", "hidden"]
    },
}


class PortalFormRenderer(TemplatesSetting):
    """The FORM_RENDERER: templates found the usual way (TEMPLATES), the commonest drawn in Python."""

    def render(self, template_name, context, request=None):
        draw = DRAWN_IN_PYTHON.get(template_name)
        if draw is None:
            return super().render(template_name, context, request=request)
        return mark_safe(draw(context))  # noqa: S308 (every text in it is escaped above)
