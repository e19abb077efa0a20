"""Absolute links for e-mails and documents (they are read outside the browser)."""

from django.conf import settings
from django.urls import reverse


def absolute_url(viewname: str, *args) -> str:
    """PORTAL_BASE_URL + the path of a named view."""
    return settings.PORTAL_BASE_URL.rstrip("/") + reverse(viewname, args=args)
