"""The database lost mid-request (PostgreSQL restarted): the request in flight answers 503 with
Retry-After in the user's language, nothing of it is half saved, and the next request succeeds.

The real fault, on PostgreSQL: a second connection ends the request's backend with
``pg_terminate_backend`` just before the submission's last write, so every earlier write of that
transaction (the receipt counter, the application's state, the audit entry, the receipt mails)
must be gone. The same answer is checked on every database by a connection error raised in place
of that write.
"""

import time

import psycopg2
import pytest
from django.core import mail
from django.db import OperationalError, connection
from django.test import Client
from django.utils import translation

from applications.models import Application, ApplicationStatus, ReceiptCounter
from kodoku_portal.models import AuditEntry, OutboxMessage, OutboxStatus

ON_POSTGRESQL = connection.vendor == "postgresql"

# The submission's last write (applications.services.application_submit): its receipt row.
LAST_WRITE_OF_SUBMIT = 'INSERT INTO "applications_receipt"'
# The draft save's write of the application itself.
DRAFT_WRITE = 'UPDATE "applications_application"'


class _Terminator:
    """An execute wrapper that, the first time a statement starting with ``prefix`` is about to
    run, ends this connection's PostgreSQL backend from a second connection (as a restart would)."""

    def __init__(self, prefix: str):
        self.prefix = prefix
        self.fired = False

    def __call__(self, execute, sql, params, many, context):
        if not self.fired and sql.lstrip().startswith(self.prefix):
            self.fired = True
            pid = context["connection"].connection.get_backend_pid()
            other = psycopg2.connect(**connection.get_connection_params())
            try:
                other.autocommit = True
                with other.cursor() as cursor:
                    cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
                    for _ in range(100):  # until the backend is gone
                        cursor.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [pid])
                        if cursor.fetchone() is None:
                            break
                        time.sleep(0.05)
            finally:
                other.close()
        return execute(sql, params, many, context)


class _Failer:
    """An execute wrapper raising the error a lost connection raises, once, before ``prefix``."""

    def __init__(self, prefix: str):
        self.prefix = prefix
        self.fired = False

    def __call__(self, execute, sql, params, many, context):
        if not self.fired and sql.lstrip().startswith(self.prefix):
            self.fired = True
            raise OperationalError("server closed the connection unexpectedly")
        return execute(sql, params, many, context)


def _state(application: Application) -> dict:
    application.refresh_from_db()
    return {
        "status": application.status,
        "receipt_number": application.receipt_number,
        "counter": list(ReceiptCounter.objects.filter(call=application.call).values_list("last", flat=True)),
        "audit": AuditEntry.objects.filter(action="application_submitted").count(),
        "mails": OutboxMessage.objects.filter(kind="receipt").count(),
    }


def _submit_through_a_lost_connection(wrapper, complete_draft, member, capture):
    client = Client(raise_request_exception=False)
    client.force_login(member)
    before = _state(complete_draft)
    with connection.execute_wrapper(wrapper), capture(execute=True):
        response = client.post(f"/applications/{complete_draft.pk}/submit/", HTTP_ACCEPT_LANGUAGE="ja")
    assert wrapper.fired
    # The page: 503, "try again", in Japanese, with Retry-After; not a bare 500.
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    page = response.content.decode()
    assert "しばらくしてから" in page
    assert 'lang="ja"' in page
    # Nothing half saved: still a draft, no number taken, no audit entry, no mail queued or sent.
    assert _state(complete_draft) == before
    assert before["status"] == ApplicationStatus.DRAFT and before["mails"] == 0
    assert mail.outbox == []

    # The next request succeeds, on a fresh connection; every receipt mail is sent exactly once.
    with capture(execute=True):
        again = client.post(f"/applications/{complete_draft.pk}/submit/")
    assert again.status_code == 302
    after = _state(complete_draft)
    assert after["status"] == ApplicationStatus.SUBMITTED
    assert after["receipt_number"] == f"{complete_draft.call.receipt_prefix}-0001"
    assert after["audit"] == 1
    messages = list(OutboxMessage.objects.filter(kind="receipt"))
    assert messages and {message.status for message in messages} == {OutboxStatus.SENT}
    assert sorted(address for sent in mail.outbox for address in sent.to) == sorted(m.to_email for m in messages)


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(not ON_POSTGRESQL, reason="pg_terminate_backend needs PostgreSQL (DATABASE_URL=postgres://…)")
def test_a_backend_terminated_mid_submission_is_a_503_with_nothing_saved_and_the_next_request_succeeds(
    complete_draft, member, django_capture_on_commit_callbacks
):
    _submit_through_a_lost_connection(
        _Terminator(LAST_WRITE_OF_SUBMIT), complete_draft, member, django_capture_on_commit_callbacks
    )


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(not ON_POSTGRESQL, reason="pg_terminate_backend needs PostgreSQL (DATABASE_URL=postgres://…)")
def test_a_backend_terminated_mid_autosave_answers_503_json_and_the_next_save_succeeds(draft, member):
    client = Client(raise_request_exception=False)
    client.force_login(member)
    data = {
        "version": str(draft.version),
        "title": "縁側カフェ",
        "budget-TOTAL_FORMS": "0",
        "budget-INITIAL_FORMS": "0",
        "budget-MIN_NUM_FORMS": "0",
        "budget-MAX_NUM_FORMS": "1000",
    }
    terminator = _Terminator(DRAFT_WRITE)
    with connection.execute_wrapper(terminator), translation.override("en"):
        response = client.post(f"/applications/{draft.pk}/save/", data, HTTP_X_AUTOSAVE="1", HTTP_ACCEPT_LANGUAGE="en")
    assert terminator.fired
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    body = response.json()
    assert body["saved"] is False and body["unavailable"] is True
    assert "try again" in body["message"]
    draft.refresh_from_db()
    assert draft.title == "" and draft.version == int(data["version"])

    again = client.post(f"/applications/{draft.pk}/save/", data, HTTP_X_AUTOSAVE="1")
    assert again.status_code == 200 and again.json()["saved"] is True
    draft.refresh_from_db()
    assert draft.title == "縁側カフェ"


@pytest.mark.django_db(transaction=True)
def test_a_connection_error_mid_submission_is_a_503_page_on_every_database(
    complete_draft, member, django_capture_on_commit_callbacks
):
    _submit_through_a_lost_connection(
        _Failer(LAST_WRITE_OF_SUBMIT), complete_draft, member, django_capture_on_commit_callbacks
    )


@pytest.mark.django_db
def test_the_503_page_speaks_the_users_language_and_reads_nothing_from_the_database(member, django_assert_num_queries):
    from django.test import RequestFactory

    from kodoku_portal.middleware import database_unavailable_response

    request = RequestFactory().get("/")
    with translation.override("en"), django_assert_num_queries(0):
        english = database_unavailable_response(request)
    with translation.override("ja"), django_assert_num_queries(0):
        japanese = database_unavailable_response(request)
    assert english.status_code == japanese.status_code == 503
    assert "Please try again in a little while" in english.content.decode()
    assert "しばらくしてから" in japanese.content.decode()
    assert "no-cache" in english["Cache-Control"] or "max-age=0" in english["Cache-Control"]


def test_a_lost_connection_outside_a_view_is_the_same_503_page(rf):
    from kodoku_portal.views import server_error

    try:
        raise OperationalError("terminating connection due to administrator command")
    except OperationalError:
        response = server_error(rf.get("/"))
    assert response.status_code == 503
    assert response["Retry-After"]


def test_connection_health_checks_are_on(settings):
    assert settings.DATABASES["default"]["CONN_HEALTH_CHECKS"] is True
