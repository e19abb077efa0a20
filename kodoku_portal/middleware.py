"""Request context for the audit trail: the client's IP address, kept in a context variable.

``AuditContextMiddleware`` (in MIDDLEWARE after the authentication middleware) stores the address
for the duration of the request; ``kodoku_portal.audit.audit`` reads it with :func:`current_ip`.
Outside a request (Celery tasks, management commands) there is none and the entry's ``ip`` is NULL.

Which address: ``REMOTE_ADDR``, the peer of the application server. Behind the production reverse
proxy (recognised by ``settings.SECURE_PROXY_SSL_HEADER`` being set, i.e. ``DJANGO_HTTPS=1``) the
peer is the proxy, so the address is taken from ``X-Forwarded-For`` instead — its *last* entry,
the one the proxy itself appended. Entries further left are written by the client and could be
anything. This assumes exactly one proxy in front (docker-compose.yml); a value that is not an IP
address is ignored.
"""

from __future__ import annotations

import contextvars
import ipaddress
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

_current_ip: contextvars.ContextVar[str | None] = contextvars.ContextVar("kodoku_audit_ip", default=None)


def current_ip() -> str | None:
    """The IP address of the request being handled in this context, or None outside a request."""
    return _current_ip.get()


def _valid(value: str | None) -> str | None:
    value = (value or "").strip()
    if not value:
        return None
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


def client_ip(request: HttpRequest) -> str | None:
    """The client's address as described in the module docstring."""
    if getattr(settings, "SECURE_PROXY_SSL_HEADER", None):
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            return _valid(forwarded.split(",")[-1])
    return _valid(request.META.get("REMOTE_ADDR"))


class AuditContextMiddleware:
    """Make the request's IP address available to ``audit()`` while the request is handled."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = _current_ip.set(client_ip(request))
        try:
            return self.get_response(request)
        finally:
            _current_ip.reset(token)
