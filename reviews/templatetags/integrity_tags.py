"""The integrity flags of one application, for a staff page that shows it:
``{% load integrity_tags %}{% integrity_flags_for application as flags %}`` (one query)."""

from django import template

from applications.models import Application
from reviews import selectors

register = template.Library()


@register.simple_tag
def integrity_flags_for(application: Application) -> list[selectors.FlagView]:
    return selectors.integrity_flags_for(application)


@register.filter
def get_item(mapping: dict, key: object) -> object:
    """``mapping[key]`` or None: the flag count of an application in a list (``flag_counts|get_item:pk``)."""
    return mapping.get(key) if isinstance(mapping, dict) else None
