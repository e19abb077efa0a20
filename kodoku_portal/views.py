"""Portal-wide views that belong to no app: the health check, the CSP violation reports and the
server-error page."""

import json
import logging
import sys

from django.conf import settings
from django.contrib.staticfiles.storage import staticfiles_storage
from django.core.cache import cache
from django.db import connection
from django.http import HttpResponse, HttpResponseRedirect, JsonResponse
from django.template import loader
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST
from django.views.defaults import server_error as django_server_error
from kombu import Connection

from kodoku_portal.middleware import database_unavailable_response, is_database_unavailable

from .middleware import client_ip

csp_logger = logging.getLogger("kodoku_portal.csp")


def database_answers() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except Exception:  # noqa: BLE001 - any failure means "does not answer"
        return False


def broker_state() -> str:
    """'ok', 'down', or 'in-process' when tasks run eagerly (no broker configured)."""
    url = settings.CELERY_BROKER_URL
    if settings.CELERY_TASK_ALWAYS_EAGER and url.startswith("memory://"):
        return "in-process"
    try:
        with Connection(url, connect_timeout=2) as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
            return "ok"
    except Exception:  # noqa: BLE001 - any failure means "does not answer"
        return "down"


@never_cache
@require_GET
def healthz(request):
    database = "ok" if database_answers() else "down"
    broker = broker_state()
    healthy = database == "ok" and broker != "down"
    return JsonResponse(
        {"status": "ok" if healthy else "unavailable", "database": database, "broker": broker},
        status=200 if healthy else 503,
    )


@never_cache
@require_GET
def bench_bare(request):
    """The benchmark's yardstick (bench/http_rush.py): a view that does nothing of its own but
    pass through the same middleware and read the signed-in user, as every page does. Routed only
    when ``BENCH_VIEWS`` is on (DJANGO_BENCH_VIEWS=1), never in a deployment."""
    return JsonResponse({"ok": True, "user": request.user.pk})


def _client_address(request) -> str:
    """The reporting browser's address, as the audit trail reads it (behind the proxy too)."""
    return client_ip(request) or "unknown"


@csrf_exempt  # browsers post reports without a CSRF token
@require_POST
def csp_report(request):
    """Log a Content-Security-Policy violation report (the policy's report-uri).

    Browsers post JSON (``application/csp-report`` or ``application/reports+json``) with no CSRF
    token. A report longer than CSP_REPORT_MAX_BYTES is refused unread (413); an address sending
    more than CSP_REPORT_RATE reports a minute is answered 429 and not logged, so a hostile or
    looping page cannot fill the log. Nothing is stored: the log line is the record.
    """
    limit = settings.CSP_REPORT_MAX_BYTES
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = limit + 1
    if length > limit:
        return HttpResponse(status=413)
    key = f"csp-report:{_client_address(request)}"
    cache.add(key, 0, timeout=60)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        count = 1
    if count > settings.CSP_REPORT_RATE:
        return HttpResponse(status=429)
    body = request.read(limit + 1)
    if len(body) > limit:
        return HttpResponse(status=413)
    try:
        report = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return HttpResponse(status=400)
    reports = report if isinstance(report, list) else [report]
    for item in reports:
        if not isinstance(item, dict):
            continue
        data = item.get("csp-report") or item.get("body") or item
        if not isinstance(data, dict):
            continue
        csp_logger.warning(
            "CSP violation: %s blocked %s on %s (%s:%s)",
            str(data.get("violated-directive") or data.get("effectiveDirective") or "?")[:100],
            str(data.get("blocked-uri") or data.get("blockedURL") or "?")[:300],
            str(data.get("document-uri") or data.get("documentURL") or "?")[:300],
            str(data.get("source-file") or data.get("sourceFile") or "")[:300],
            str(data.get("line-number") or data.get("lineNumber") or ""),
        )
    return HttpResponse(status=204)


def server_error(request, template_name="500.html"):
    """handler500: a database connection lost outside a view (in a middleware, say) is the same
    503 "try again" page as inside one (DatabaseUnavailableMiddleware); anything else is Django's 500."""
    if is_database_unavailable(sys.exc_info()[1]):
        return database_unavailable_response(request)
    return django_server_error(request, template_name=template_name)


def csrf_failure(request, reason=""):
    """CSRF_FAILURE_VIEW: the portal's page in the user's language (Django's is bare English)."""
    return HttpResponse(loader.render_to_string("403_csrf.html", {"reason": reason}, request), status=403)


@require_GET
def favicon(request):
    """/favicon.ico for pages that do not name their icon (the admin, a PDF viewer)."""
    return HttpResponseRedirect(staticfiles_storage.url("favicon.ico"))
