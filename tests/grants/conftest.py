"""Fixtures of the grants tests."""

import pytest

from kodoku_portal.celery import app as celery_app


@pytest.fixture(autouse=True, scope="session")
def _tasks_registered():
    """Register the autodiscovered Celery tasks, as a worker does at start: the outbox dispatches
    ``kodoku_portal.tasks.deliver_message`` by name from the registry, so a test that imports no
    tasks module itself would otherwise find it unregistered (and its mails left to the sweeper)."""
    celery_app.loader.import_default_modules()
