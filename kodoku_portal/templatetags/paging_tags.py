"""Filters for the shared pager's templates (templates/includes/_sort_th.html)."""

from django import template

register = template.Library()


@register.filter
def get_sort_url(sort_urls: dict, key: str) -> str:
    return sort_urls.get(key, "")
