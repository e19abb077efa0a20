"""Request context for the audit trail, and the 503 page when the database is lost.

The audit trail: the client's IP address, kept in a context variable.

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
import logging
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import BadRequest
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.template.loader import render_to_string
from django.utils.cache import add_never_cache_headers
from django.utils.translation import get_language, gettext

logger = logging.getLogger(__name__)

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


# --- The database lost: a 503 "try again" page, never a bare 500 ------------------------------

# What "the database cannot be reached" is: Django's wrappers of the driver's errors for a lost or
# refused connection (a restarted PostgreSQL, a terminated backend, "connection already closed").
# OperationalError also covers the other transient failures a retry cures (a deadlock, a
# serialization failure), which deserve the same answer.
DATABASE_UNAVAILABLE_ERRORS = (OperationalError, InterfaceError)


def is_database_unavailable(error: BaseException | None) -> bool:
    return isinstance(error, DATABASE_UNAVAILABLE_ERRORS)


def database_unavailable_response(request: HttpRequest) -> HttpResponse:
    """The 503 answer, made without touching the database: the template is rendered without the
    request (so no context processor runs, no session or user is read) and stands alone."""
    retry_after = str(settings.DATABASE_UNAVAILABLE_RETRY_AFTER)
    message = gettext(
        "The portal cannot reach its database just now. Please try again in a little while. "
        "What you entered last may not have been saved."
    )
    if request.headers.get("X-Autosave") or "application/json" in request.headers.get("Accept", ""):
        response: HttpResponse = JsonResponse({"saved": False, "unavailable": True, "message": message}, status=503)
    else:
        html = render_to_string(
            "503.html",
            {"message": message, "LANGUAGE_CODE": get_language(), "PORTAL_NAME": settings.PORTAL_NAME},
        )
        response = HttpResponse(html, status=503)
    response["Retry-After"] = retry_after
    add_never_cache_headers(response)
    return response


class DatabaseUnavailableMiddleware:
    """A view that fails because the database connection is lost answers 503 with Retry-After.

    Nothing is half saved: every service writes inside ``transaction.atomic``, and a transaction
    whose connection died is never committed (PostgreSQL rolls it back; Django drops the
    connection). Django closes the broken connection when the request ends, and with
    ``CONN_HEALTH_CHECKS`` a kept connection is checked before the next request uses it, so the
    next request connects afresh. An error raised outside the view (in a middleware) reaches
    ``handler500`` (``kodoku_portal.views.server_error``), which gives the same page."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not is_database_unavailable(exception):
            return None
        logger.warning("database unavailable during %s %s: %s", request.method, request.path, exception)
        return database_unavailable_response(request)


# --- request bodies too large for their page: refused before they are read ---------------------


class RequestBodyLimitMiddleware:
    """A POST to a path of REQUEST_BODY_LIMITS (prefix → bytes) announcing a body larger than its
    limit is answered 413 before anything reads the body (Django would otherwise write a whole
    upload to disk as soon as a middleware touches ``request.POST``). It stands in front of the
    NUL and CSRF checks, which read the body; an anonymous page that takes a file (``/verify/``)
    is what it is for. A proxy's own body limit belongs in front of it in production."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method == "POST":
            for prefix, limit in getattr(settings, "REQUEST_BODY_LIMITS", ()):
                if request.path.startswith(prefix):
                    try:
                        length = int(request.META.get("CONTENT_LENGTH") or 0)
                    except ValueError:
                        length = limit + 1
                    if length > limit:
                        return HttpResponse(
                            render_to_string("413.html", {"limit_mb": max(1, limit // (1024 * 1024))}),
                            status=413,
                        )
                    break
        return self.get_response(request)


# --- NUL characters: refused at the door -------------------------------------------------------


class RefuseNulCharactersMiddleware:
    """A request whose query string or form fields hold a NUL character (U+0000) is a 400.

    No person types one; PostgreSQL cannot store or even compare one (a filter on it is a server
    error, in the portal's views as in the admin's search), and the forms refuse it field by field
    already. Refusing it here covers every view that reads a parameter itself."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if _holds_nul(request.GET) or (request.method == "POST" and _holds_nul(request.POST)):
            raise BadRequest("NUL character in the request parameters")
        return self.get_response(request)


def _holds_nul(data: QueryDict) -> bool:
    return any("\x00" in key or any("\x00" in value for value in values) for key, values in data.lists())
