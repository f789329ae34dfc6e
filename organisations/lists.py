"""The lists the forms offer to choose from: categories, functions by category, boxes to tick,
services.

They change a few times a year, in the admin, while the wizard's first step (the most visited page)
read them at four queries and a hundred objects per visit. Each process keeps them for
LISTS_SECONDS: a change clears the copy of the process that made it at once, the others' within
that time. What a person chooses is still checked against the database by the form's fields.
"""

import time
from dataclasses import dataclass

from django.db.models.signals import m2m_changed, post_delete, post_save

from habilitations.models import Service
from organisations.models import Category, CategoryFlag, Function

LISTS_SECONDS = 60


@dataclass(frozen=True)
class Lists:
    categories: list[tuple[int, str]]
    # (category name, [(function id, function name)]) in the categories' order.
    functions_by_category: list[tuple[str, list[tuple[int, str]]]]
    # (id, label, help text, [ids of every category it concerns]) of the active categories' boxes.
    flags: list[tuple[int, str, str, list[int]]]
    # (id, name) of the active services, in their order.
    services: list[tuple[int, str]]


_kept: dict = {"lists": None, "read_at": 0.0}


def active_lists() -> Lists:
    """The active categories, their active functions and their boxes, at most LISTS_SECONDS old."""
    if _kept["lists"] is None or time.monotonic() - _kept["read_at"] > LISTS_SECONDS:
        _kept["lists"], _kept["read_at"] = _read(), time.monotonic()
    return _kept["lists"]


def forget(**_kwargs) -> None:
    _kept["lists"] = None


def _read() -> Lists:
    categories = list(Category.objects.filter(is_active=True).values_list("pk", "name"))
    groups = {}
    functions = Function.objects.filter(is_active=True, category__is_active=True).order_by(
        "category__position", "category__name", "position", "name"
    )
    for pk, name, category in functions.values_list("pk", "name", "category__name"):
        groups.setdefault(category, []).append((pk, name))
    # The boxes of the active categories, with every category each concerns (for signup.js).
    links = Category.flags.through.objects.order_by("category__position", "category__name")
    offered = set(links.filter(category__is_active=True).values_list("categoryflag_id", flat=True))
    concerned = {}
    for flag, category in links.filter(categoryflag__in=offered).values_list(
        "categoryflag_id", "category_id"
    ):
        concerned.setdefault(flag, []).append(category)
    flags = [
        (pk, label, help_text, concerned[pk])
        for pk, label, help_text in CategoryFlag.objects.filter(pk__in=offered).values_list(
            "pk", "label", "help_text"
        )
    ]
    services = [(service.pk, str(service)) for service in Service.objects.filter(is_active=True)]
    return Lists(
        categories=categories, functions_by_category=list(groups.items()), flags=flags, services=services
    )


def connect_signals() -> None:
    """Called by the app's ready(): every change of a list, from any page, clears the copy."""
    for model in (Category, Function, CategoryFlag, Service):
        post_save.connect(forget, sender=model, dispatch_uid=f"lists-saved-{model.__name__}")
        post_delete.connect(forget, sender=model, dispatch_uid=f"lists-deleted-{model.__name__}")
    m2m_changed.connect(forget, sender=Category.flags.through, dispatch_uid="lists-flags-changed")
