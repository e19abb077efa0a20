"""The audit trail: append-only in the database (SQLite and PostgreSQL), the request's IP address,
and entries told in words in the active language."""

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.http import HttpResponse
from django.test import RequestFactory, override_settings
from django.utils import translation

from accounts.models import Role
from applications.models import Application, ApplicationStatus
from kodoku_portal import append_only, audit
from kodoku_portal.middleware import AuditContextMiddleware, client_ip, current_ip
from kodoku_portal.models import AuditEntry
from tests.factories import ApplicationFactory, UserFactory

TABLE = AuditEntry._meta.db_table


@pytest.fixture
def staff(db):
    return UserFactory(role=Role.STAFF, email="staff@example.jp")


@pytest.fixture
def entry(staff):
    application = ApplicationFactory(title="PRACTICE-0004")
    with transaction.atomic():
        return audit.audit(
            actor=staff,
            action="decision",
            obj=application,
            before={"status": "submitted", "award_amount": None},
            after={"status": "adopted", "award_amount": 1_200_000},
        )


# --- append-only, enforced by the database ------------------------------------------------------


def test_inserting_works_and_records_the_object_and_its_call(entry):
    entry.refresh_from_db()
    application = ApplicationFactory._meta.model.objects.get(pk=entry.object_id)
    assert entry.object_type == "applications.Application"
    assert entry.object_repr == "PRACTICE-0004"
    assert entry.call_id == application.call_id
    assert entry.ip is None  # not in a request
    assert AuditEntry.objects.count() == 1


def test_raw_sql_update_is_refused_by_the_database(entry):
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"UPDATE {TABLE} SET action = %s WHERE id = %s", ["forged", entry.pk])
    entry.refresh_from_db()
    assert entry.action == "decision"


def test_raw_sql_delete_is_refused_by_the_database(entry):
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {TABLE} WHERE id = %s", [entry.pk])
    assert AuditEntry.objects.filter(pk=entry.pk).exists()


def test_queryset_update_and_delete_are_refused_by_the_database(entry):
    # Neither goes through the model's save()/delete() guards: only the database stops them.
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEntry.objects.filter(pk=entry.pk).update(action="forged")
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEntry.objects.filter(pk=entry.pk).delete()
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEntry.objects.all().delete()
    entry.refresh_from_db()
    assert entry.action == "decision"


def test_the_model_refuses_too(entry):
    with pytest.raises(ValueError):
        entry.save()
    with pytest.raises(ValueError):
        entry.delete()


def test_the_triggers_exist_after_all_migrations(db):
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = %s", [TABLE])
            assert {row[0] for row in cursor.fetchall()} >= {"kodoku_audit_no_update", "kodoku_audit_no_delete"}
        else:
            cursor.execute("SELECT tgname FROM pg_trigger WHERE tgrelid = %s::regclass AND NOT tgisinternal", [TABLE])
            assert [row[0] for row in cursor.fetchall()] == ["kodoku_audit_append_only"]


@pytest.mark.skipif(connection.vendor != "sqlite", reason="the maintenance switch exists on SQLite only")
def test_sqlite_maintenance_allows_deleting_and_a_connection_without_the_function_cannot(entry):
    import sqlite3

    # A connection that did not register kodoku_audit_maintenance() (a raw sqlite3 shell) cannot
    # change the table at all: the trigger fails closed.
    raw = sqlite3.connect(":memory:")
    try:
        raw.execute("CREATE TABLE t (x)")
        raw.execute("INSERT INTO t VALUES (1)")
        raw.execute(
            f"CREATE TRIGGER t_no_delete BEFORE DELETE ON t FOR EACH ROW "
            f"WHEN {append_only.SQLITE_FUNCTION}() = 0 BEGIN SELECT RAISE(ABORT, 'no'); END"
        )
        with pytest.raises(sqlite3.OperationalError, match="no such function"):
            raw.execute("DELETE FROM t")
    finally:
        raw.close()
    # Inside maintenance() (Django's flush in test teardown) the portal's own connection may.
    assert not append_only.in_maintenance()
    with append_only.maintenance(), transaction.atomic():
        assert append_only.in_maintenance()
        AuditEntry.objects.filter(pk=entry.pk).delete()
    assert not append_only.in_maintenance()
    assert not AuditEntry.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_flush_empties_the_audit_table_in_test_teardown_on_either_vendor(staff):
    """Transactional tests end with Django's flush: DELETE on SQLite (in maintenance, see
    tests/conftest.py), TRUNCATE on PostgreSQL. Without that this test's teardown would fail."""
    application = ApplicationFactory()
    with transaction.atomic():
        audit.audit(actor=staff, action="x", obj=application, before=None, after={"status": "draft"})
    with pytest.raises(DatabaseError):
        AuditEntry.objects.all().delete()  # outside maintenance, refused as ever
    call_command("flush", interactive=False, verbosity=0)
    assert not AuditEntry.objects.exists()


# --- the request's IP address ---------------------------------------------------------------------


def _view(request):
    return HttpResponse(current_ip() or "-")


def test_the_middleware_makes_the_ip_available_during_the_request_only():
    middleware = AuditContextMiddleware(_view)
    response = middleware(RequestFactory().get("/", REMOTE_ADDR="192.0.2.7"))
    assert response.content == b"192.0.2.7"
    assert current_ip() is None


@override_settings(SECURE_PROXY_SSL_HEADER=None)
def test_x_forwarded_for_is_ignored_without_a_proxy():
    request = RequestFactory().get("/", REMOTE_ADDR="192.0.2.7", HTTP_X_FORWARDED_FOR="203.0.113.9")
    assert client_ip(request) == "192.0.2.7"


@override_settings(SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https"))
def test_behind_the_proxy_the_address_it_appended_is_used():
    request = RequestFactory().get(
        "/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="198.51.100.66, 203.0.113.9"
    )  # the client wrote the first entry; the proxy appended the last
    assert client_ip(request) == "203.0.113.9"
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="not-an-ip")
    assert client_ip(request) is None


def test_an_entry_written_in_a_request_records_its_ip(staff):
    application = ApplicationFactory()

    def view(request):
        with transaction.atomic():
            audit.audit(actor=staff, action="x", obj=application, before=None, after={"status": "draft"})
        return HttpResponse("ok")

    AuditContextMiddleware(view)(RequestFactory().post("/", REMOTE_ADDR="2001:db8::1"))
    assert AuditEntry.objects.get().ip == "2001:db8::1"


def test_the_middleware_is_installed_after_authentication():
    from django.conf import settings

    middleware = settings.MIDDLEWARE
    assert middleware.index("kodoku_portal.middleware.AuditContextMiddleware") > middleware.index(
        "django.contrib.auth.middleware.AuthenticationMiddleware"
    )


# --- describing an entry ----------------------------------------------------------------------


def test_a_state_change_with_an_amount_in_japanese_and_english(entry):
    """The object is named by its kind and its label (no query); the decision's own sentence."""
    with translation.override("ja"):
        assert audit.describe(entry) == (
            "staff@example.jp が 申請 PRACTICE-0004 の採否を提出済から採択に変更しました（1,200,000円）"
        )
    with translation.override("en"):
        assert audit.describe(entry) == (
            "staff@example.jp changed the decision on application PRACTICE-0004 from Submitted to Adopted (¥1,200,000)"
        )


def test_an_application_is_named_with_its_organisation_when_names_are_looked_up(entry):
    organisation = Application.objects.get(pk=entry.object_id).organisation.name
    with translation.override("ja"):
        assert f"申請 PRACTICE-0004（{organisation}）" in audit.describe(entry, audit.object_names([entry]))
    with translation.override("en"):
        assert f"application PRACTICE-0004 ({organisation})" in audit.describe(entry, audit.object_names([entry]))


def test_a_registered_sentence_is_used_for_its_action(entry, monkeypatch):
    from django.utils.translation import gettext_lazy as _

    monkeypatch.setitem(audit._ACTIONS, "decision", _("%(actor)s changed %(object)s to %(after)s (%(amount)s)"))
    with translation.override("ja"):
        assert audit.describe(entry) == "staff@example.jp が 申請 PRACTICE-0004 を採択（1,200,000円）に変更しました"
    with translation.override("en"):
        assert audit.describe(entry) == "staff@example.jp changed application PRACTICE-0004 to Adopted (¥1,200,000)"


def test_register_action_replaces_the_sentence(monkeypatch):
    monkeypatch.setattr(audit, "_ACTIONS", {})
    audit.register_action("confirmed", "A")
    audit.register_action("confirmed", "B")
    assert audit.registered_actions() == {"confirmed": "B"}


def test_the_system_and_other_changes_are_told_as_field_value_pairs(db):
    application = ApplicationFactory(title="事業A")
    with transaction.atomic():
        entry = audit.audit(
            actor=None,
            action="amount_edited",
            obj=application,
            before={"requested_amount": 1_000_000, "title": "事業A"},
            after={"requested_amount": 1_500_000, "title": "事業A"},
        )
    with translation.override("en"):
        text = audit.describe(entry)
    assert text.startswith("the system changed application 事業A from ")
    assert "1,000,000" in text and "1,500,000" in text and "title" not in text.lower()
    with translation.override("ja"):
        assert audit.describe(entry).startswith("システム が 申請 事業A を")


def test_an_entry_about_a_model_that_no_longer_exists_is_still_told(db):
    application = ApplicationFactory()
    with transaction.atomic():
        entry = audit.audit(
            actor=None, action="x", obj=application, before={"status": "draft"}, after={"status": "submitted"}
        )
    # Old rows (before object_repr existed) and removed models are named as a record by its id.
    forged = AuditEntry(action="x", object_type="gone.Model", object_id="7", before=entry.before, after=entry.after)
    with translation.override("en"):
        assert audit.describe(forged) == "the system changed record #7 from draft to submitted"


def test_labels_come_from_the_models_choices(entry):
    with translation.override("en"):
        assert str(ApplicationStatus.ADOPTED.label) in audit.describe(entry)
