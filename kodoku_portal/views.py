"""Portal-wide views that belong to no app: the health check and the server-error page."""

import sys

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from django.views.defaults import server_error as django_server_error
from kombu import Connection

from kodoku_portal.middleware import database_unavailable_response, is_database_unavailable


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


def server_error(request, template_name="500.html"):
    """handler500: a database connection lost outside a view (in a middleware, say) is the same
    503 "try again" page as inside one (DatabaseUnavailableMiddleware); anything else is Django's 500."""
    if is_database_unavailable(sys.exc_info()[1]):
        return database_unavailable_response(request)
    return django_server_error(request, template_name=template_name)
