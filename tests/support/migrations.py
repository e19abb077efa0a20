"""Migration tests take the test database back to an old state and forwards again.

Taking one app back also takes back what depends on it, but not the other apps' later migrations:
the database is then in a mixed state. ``database_state`` gives the historical models of exactly
the migrations applied, so a test writes rows the database's columns can take; ``migrated_back``
always brings the database forwards again, so that a failing migration test does not leave the
tables of an old state to the tests that follow it (their flush would fail)."""

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.state import StateApps


def database_state() -> StateApps:
    """The historical models of the migrations applied to the database now."""
    loader = MigrationLoader(connection)
    return loader.project_state(sorted(loader.applied_migrations), at_end=True).apps


def migrate_to_latest() -> None:
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


@contextmanager
def migrated_back(targets: list[tuple[str, str]]) -> Iterator[StateApps]:
    """The database at ``targets`` (and what the other apps leave applied) inside the block, the
    latest state after it, whatever happened inside."""
    try:
        MigrationExecutor(connection).migrate(targets)
        yield database_state()
    finally:
        migrate_to_latest()
