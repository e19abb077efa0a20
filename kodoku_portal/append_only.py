"""The audit table is append-only, and the database itself enforces it.

PostgreSQL: a row trigger (``BEFORE UPDATE OR DELETE … FOR EACH ROW``) calls a plpgsql function
that raises ``restrict_violation`` (SQLSTATE 23001, an ``IntegrityError`` in Django). There is no
bypass from the application. ``TRUNCATE`` is a statement, not a row change, so row triggers do not
see it: Django's ``flush`` (test teardown of transactional and live-server tests) still works.
Only the table's owner may truncate or drop the trigger; a deployment that wants the application
unable to do even that runs it as a role that does not own the table (outside this module's scope).

SQLite: two triggers, ``BEFORE UPDATE`` and ``BEFORE DELETE``, each
``WHEN kodoku_audit_maintenance() = 0`` → ``RAISE(ABORT, …)`` (an ``IntegrityError``).
``kodoku_audit_maintenance()`` is an SQL function the portal registers on every SQLite connection
it opens (:func:`register_sqlite_function`, connected to ``connection_created`` in
``PortalConfig.ready``). It returns 1 only inside :func:`maintenance` — which exists because
Django's ``flush`` on SQLite runs ``DELETE FROM`` on every table (tests/conftest.py wraps ``flush``
in it). A connection that did not register the function (a raw ``sqlite3`` shell) cannot update
or delete at all: "no such function" — the trigger fails closed.

Caveat for future migrations (SQLite only): Django *remakes* a SQLite table for most ``AlterField``
and for ``AddField`` with a default, which drops its triggers. A migration that alters
``kodoku_portal_auditentry`` must end with ``migrations.RunPython(append_only.install,
append_only.uninstall)`` again (installing is idempotent). tests/kodoku_portal/test_audit.py fails
if the triggers are missing after all migrations.

The one sanctioned UPDATE — retention (``manage.py retention``, 公文書管理法): inside
:func:`retention` the triggers let an UPDATE through when it changes only the personal columns
(``ip``, ``before``, ``after``, ``object_repr``; every other column, ``actor_id`` included, must be
as it was). PostgreSQL: :func:`retention` runs ``SET LOCAL kodoku.retention = 'on'`` in the
caller's transaction (it ends with the transaction) and the trigger function reads
``current_setting('kodoku.retention', true)``. SQLite: the triggers call a second registered
function, ``kodoku_audit_retention()``, that returns 1 only inside :func:`retention`. DELETE is
refused as before. Installed by ``kodoku_portal/migrations/0004_audit_retention_path.py``.

This module imports no models, so migrations and tests/conftest.py can import it at any time.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator

AUDIT_TABLE = "kodoku_portal_auditentry"
SQLITE_FUNCTION = "kodoku_audit_maintenance"
SQLITE_RETENTION_FUNCTION = "kodoku_audit_retention"
POSTGRESQL_RETENTION_SETTING = "kodoku.retention"
MESSAGE = "audit entries are append-only"
# The columns retention may rewrite (personal data); the others must stay as they are.
PERSONAL_COLUMNS = ("ip", "before", "after", "object_repr")
KEPT_COLUMNS = ("id", "actor_id", "action", "object_type", "object_id", "call_id", "created_at")

_maintenance: contextvars.ContextVar[bool] = contextvars.ContextVar("kodoku_audit_maintenance", default=False)
_retention: contextvars.ContextVar[bool] = contextvars.ContextVar("kodoku_audit_retention", default=False)


@contextlib.contextmanager
def maintenance() -> Iterator[None]:
    """Allow ``UPDATE``/``DELETE`` on the audit table, on SQLite only, in this thread/context.

    For wiping a whole database (Django's ``flush`` in test teardown), never for editing history.
    PostgreSQL is not affected: there the audit table can only be emptied by ``TRUNCATE``.
    """
    token = _maintenance.set(True)
    try:
        yield
    finally:
        _maintenance.reset(token)


def in_maintenance() -> bool:
    """True inside :func:`maintenance` (what ``kodoku_audit_maintenance()`` returns, as 1/0)."""
    return _maintenance.get()


@contextlib.contextmanager
def retention(connection) -> Iterator[None]:
    """Allow UPDATEs of the audit's personal columns (only those) in this transaction / context.

    For ``manage.py retention`` only. Must run inside ``transaction.atomic`` (PostgreSQL's
    ``SET LOCAL`` lasts until the transaction ends, and is reset on leaving here)."""
    if not connection.in_atomic_block:
        raise RuntimeError("append_only.retention() must run inside a transaction")
    token = _retention.set(True)
    try:
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(f"SET LOCAL {POSTGRESQL_RETENTION_SETTING} = 'on'")
        yield
        # On an error the transaction is rolled back, and SET LOCAL with it.
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(f"SET LOCAL {POSTGRESQL_RETENTION_SETTING} = 'off'")
    finally:
        _retention.reset(token)


def _sqlite_flag() -> int:
    return 1 if _maintenance.get() else 0


def _sqlite_retention_flag() -> int:
    return 1 if _retention.get() else 0


def register_sqlite_function(sender=None, connection=None, **kwargs) -> None:
    """``connection_created`` receiver: give a new SQLite connection ``kodoku_audit_maintenance()``
    and ``kodoku_audit_retention()``."""
    if connection is not None and connection.vendor == "sqlite":
        connection.connection.create_function(SQLITE_FUNCTION, 0, _sqlite_flag)
        connection.connection.create_function(SQLITE_RETENTION_FUNCTION, 0, _sqlite_retention_flag)


_POSTGRESQL_INSTALL = [
    f"""
    CREATE OR REPLACE FUNCTION kodoku_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION '{MESSAGE} (% refused)', TG_OP USING ERRCODE = 'restrict_violation';
    END;
    $$
    """,
    f"DROP TRIGGER IF EXISTS kodoku_audit_append_only ON {AUDIT_TABLE}",
    f"""
    CREATE TRIGGER kodoku_audit_append_only BEFORE UPDATE OR DELETE ON {AUDIT_TABLE}
    FOR EACH ROW EXECUTE FUNCTION kodoku_audit_append_only()
    """,
]
_POSTGRESQL_UNINSTALL = [
    f"DROP TRIGGER IF EXISTS kodoku_audit_append_only ON {AUDIT_TABLE}",
    "DROP FUNCTION IF EXISTS kodoku_audit_append_only()",
]
_SQLITE_INSTALL = [
    "DROP TRIGGER IF EXISTS kodoku_audit_no_update",
    "DROP TRIGGER IF EXISTS kodoku_audit_no_delete",
    f"""
    CREATE TRIGGER kodoku_audit_no_update BEFORE UPDATE ON {AUDIT_TABLE} FOR EACH ROW
    WHEN {SQLITE_FUNCTION}() = 0 BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END
    """,
    f"""
    CREATE TRIGGER kodoku_audit_no_delete BEFORE DELETE ON {AUDIT_TABLE} FOR EACH ROW
    WHEN {SQLITE_FUNCTION}() = 0 BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END
    """,
]
_SQLITE_UNINSTALL = _SQLITE_INSTALL[:2]

# With the retention path (migration 0004 on): an UPDATE passes only inside retention() and only
# when the kept columns are unchanged.
_PG_KEPT = " AND ".join(f"NEW.{column} IS NOT DISTINCT FROM OLD.{column}" for column in KEPT_COLUMNS)
_POSTGRESQL_INSTALL_WITH_RETENTION = [
    f"""
    CREATE OR REPLACE FUNCTION kodoku_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'UPDATE'
           AND coalesce(current_setting('{POSTGRESQL_RETENTION_SETTING}', true), '') = 'on'
           AND {_PG_KEPT} THEN
            RETURN NEW;
        END IF;
        RAISE EXCEPTION '{MESSAGE} (% refused)', TG_OP USING ERRCODE = 'restrict_violation';
    END;
    $$
    """,
    *_POSTGRESQL_INSTALL[1:],
]
_SQLITE_KEPT = " AND ".join(f"NEW.{column} IS OLD.{column}" for column in KEPT_COLUMNS)
_SQLITE_INSTALL_WITH_RETENTION = [
    *_SQLITE_INSTALL[:2],
    f"""
    CREATE TRIGGER kodoku_audit_no_update BEFORE UPDATE ON {AUDIT_TABLE} FOR EACH ROW
    WHEN {SQLITE_FUNCTION}() = 0 AND NOT ({SQLITE_RETENTION_FUNCTION}() = 1 AND {_SQLITE_KEPT})
    BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END
    """,
    _SQLITE_INSTALL[3],
]


def _run(schema_editor, statements: list[str]) -> None:
    for statement in statements:
        schema_editor.execute(statement, params=None)


def install(apps, schema_editor) -> None:
    """Migration step (``RunPython``): create the triggers for this database's vendor; idempotent.

    The current triggers (with the retention path of migration 0004): what a migration that
    remakes the SQLite table runs again."""
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        _run(schema_editor, _POSTGRESQL_INSTALL_WITH_RETENTION)
    elif vendor == "sqlite":
        _run(schema_editor, _SQLITE_INSTALL_WITH_RETENTION)
    else:  # pragma: no cover - the portal runs on PostgreSQL and SQLite only
        raise NotImplementedError(f"append-only audit table: no triggers for {vendor}")


def install_without_retention(apps, schema_editor) -> None:
    """The triggers as migration 0003 made them (no UPDATE at all): 0004's reverse."""
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        _run(schema_editor, _POSTGRESQL_INSTALL)
    elif vendor == "sqlite":
        _run(schema_editor, _SQLITE_INSTALL)


def uninstall(apps, schema_editor) -> None:
    """Reverse of :func:`install`."""
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        _run(schema_editor, _POSTGRESQL_UNINSTALL)
    elif vendor == "sqlite":
        _run(schema_editor, _SQLITE_UNINSTALL)
