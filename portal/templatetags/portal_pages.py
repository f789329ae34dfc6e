"""Template helpers of the page layout (templates/base.html)."""

from django import template
from django.conf import settings
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe
from django.utils.translation import get_language

register = template.Library()

_rendered: dict = {}


@register.simple_tag(takes_context=True)
def rendered_once(context, template_name: str, **values) -> str:
    """A part of pages that depends only on the language, the operator's settings and the few
    ``values`` given (the DSFR's styles and icons, the skip links, the footer, the display
    settings dialog, the wizard's stepper for each step): rendered once per process for each,
    instead of at every page (a millisecond of CPU together). Rendered afresh each time with
    DEBUG, where templates change as they are edited."""
    portal = context.get("PORTAL") or {}
    key = (template_name, get_language(), repr(sorted(portal.items())), repr(sorted(values.items())))
    html = None if settings.DEBUG else _rendered.get(key)
    if html is None:
        html = _rendered[key] = mark_safe(render_to_string(template_name, {"PORTAL": portal, **values}))  # noqa: S308
    return html
