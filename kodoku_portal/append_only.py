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

This module imports no models, so migrations and tests/conftest.py can import it at any time.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator

AUDIT_TABLE = "kodoku_portal_auditentry"
SQLITE_FUNCTION = "kodoku_audit_maintenance"
MESSAGE = "audit entries are append-only"

_maintenance: contextvars.ContextVar[bool] = contextvars.ContextVar("kodoku_audit_maintenance", default=False)


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


def _sqlite_flag() -> int:
    return 1 if _maintenance.get() else 0


def register_sqlite_function(sender=None, connection=None, **kwargs) -> None:
    """``connection_created`` receiver: give a new SQLite connection ``kodoku_audit_maintenance()``."""
    if connection is not None and connection.vendor == "sqlite":
        connection.connection.create_function(SQLITE_FUNCTION, 0, _sqlite_flag)


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


def _run(schema_editor, statements: list[str]) -> None:
    for statement in statements:
        schema_editor.execute(statement, params=None)


def install(apps, schema_editor) -> None:
    """Migration step (``RunPython``): create the triggers for this database's vendor; idempotent."""
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        _run(schema_editor, _POSTGRESQL_INSTALL)
    elif vendor == "sqlite":
        _run(schema_editor, _SQLITE_INSTALL)
    else:  # pragma: no cover - the portal runs on PostgreSQL and SQLite only
        raise NotImplementedError(f"append-only audit table: no triggers for {vendor}")


def uninstall(apps, schema_editor) -> None:
    """Reverse of :func:`install`."""
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        _run(schema_editor, _POSTGRESQL_UNINSTALL)
    elif vendor == "sqlite":
        _run(schema_editor, _SQLITE_UNINSTALL)
