"""The header's links: {% nav_link href label %} marks the page the user is on (aria-current)."""

from django import template
from django.utils.html import format_html

register = template.Library()


def is_current(path: str, href: str) -> bool:
    """The link names the page shown, or a section the page lies in ("/" only itself)."""
    if href == "/":
        return path == "/"
    return path == href or path.startswith(href.rstrip("/") + "/")


@register.simple_tag(takes_context=True)
def nav_link(context, href: str, label, css: str = "nav-link"):
    request = context.get("request")
    current = bool(request) and is_current(request.path, href)
    if current:
        return format_html('<a class="{} active" href="{}" aria-current="page">{}</a>', css, href, label)
    return format_html('<a class="{}" href="{}">{}</a>', css, href, label)
