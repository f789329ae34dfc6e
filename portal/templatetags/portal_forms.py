"""Template helpers of the portal's form widgets."""

from django import template
from django.utils.safestring import mark_safe

from portal import form_rendering

register = template.Library()


@register.filter
def select_options(optgroups) -> str:
    """A select's <option> and <optgroup> elements, written in Python (portal/form_rendering.py):
    through two templates each, the 100 départements of the contact step took milliseconds."""
    return mark_safe(form_rendering.select_options(optgroups))  # noqa: S308 (escaped there)
