"""Template helpers of the portal's form widgets."""

from django import template
from django.utils.html import format_html, format_html_join

register = template.Library()


def _option(option: dict) -> str:
    return format_html(
        '<option value="{}"{}{}>{}</option>',
        option["value"],
        " selected" if option["selected"] else "",
        " disabled" if option["attrs"].get("disabled") else "",
        option["label"],
    )


@register.filter
def select_options(optgroups) -> str:
    """A select's <option> and <optgroup> elements, written in Python: through two templates each,
    the 100 départements of the contact step took milliseconds to render. Our options carry a
    value, selected and disabled, nothing else."""
    parts = []
    for group_name, options, _index in optgroups:
        rendered = format_html_join("", "{}", ((_option(option),) for option in options))
        if group_name:
            rendered = format_html('<optgroup label="{}">{}</optgroup>', group_name, rendered)
        parts.append((rendered,))
    return format_html_join("", "{}", parts)
