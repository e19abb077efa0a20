"""The lease protocol the outbox (mails, ``outbox.py``) and the durable jobs (``jobs.py``) share.

A worker *claims* a row with one conditional UPDATE: the row must be queued, failed and due, or
running/sending with an expired lease and attempts left; the UPDATE makes it running, sets
``lease_until`` and adds one to ``attempts`` (the fencing token). The worker *settles* the outcome
with an UPDATE conditional on the same status and ``attempts``, so an attempt whose lease was taken
over by another worker cannot overwrite the newer attempt's outcome. On PostgreSQL the claim first
takes the row with ``SELECT … FOR UPDATE SKIP LOCKED``, so two workers never wait on each other.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from celery import Task
from django.db import connection, models, transaction
from django.db.models import F, Q

from .celery import app as celery_app


@dataclass(frozen=True)
class LeaseStates:
    """The status values of a leased model: waiting, failed (retried after a back-off), held."""

    queued: str
    failed: str
    running: str


def claimable(states: LeaseStates, now: dt.datetime, max_attempts: int) -> Q:
    return (
        Q(status=states.queued)
        | Q(status=states.failed, next_attempt_at__lte=now)
        | Q(status=states.running, lease_until__lt=now, attempts__lt=max_attempts)
    )


def claim(
    model: type[models.Model],
    pk: int,
    now: dt.datetime,
    *,
    states: LeaseStates,
    lease_seconds: int,
    max_attempts: int,
) -> bool:
    """Make this attempt the owner of row ``pk`` until ``now + lease_seconds``; False if it cannot
    be (another worker holds it, it is done, not yet due, or out of attempts)."""
    lease_until = now + dt.timedelta(seconds=lease_seconds)
    with transaction.atomic():
        rows = model.objects.filter(pk=pk)
        if (
            connection.features.has_select_for_update_skip_locked
            and rows.select_for_update(skip_locked=True).values_list("pk", flat=True).first() is None
        ):
            return False  # another worker holds the row right now (or it does not exist)
        return bool(
            rows.filter(claimable(states, now, max_attempts)).update(
                status=states.running,
                lease_until=lease_until,
                next_attempt_at=lease_until,
                attempts=F("attempts") + 1,
            )
        )


def settle(obj: models.Model, *, states: LeaseStates, **values: Any) -> bool:
    """Record the outcome of the attempt ``obj`` holds (its ``attempts``), unless its lease was
    taken over meanwhile; returns whether it was recorded."""
    return bool(
        type(obj)
        .objects.filter(pk=obj.pk, status=states.running, attempts=obj.attempts)
        .update(lease_until=None, **values)
    )


def status_of(model: type[models.Model], pk: int) -> str:
    return model.objects.filter(pk=pk).values_list("status", flat=True).first() or ""


def task_named(name: str) -> Task:
    """A Celery task looked up by name in the app's registry, so that a module and the tasks module
    that wraps it do not import each other. A worker fills the registry by autodiscovery when it
    starts; a web or command process does the same here on first use."""
    if name not in celery_app.tasks:
        celery_app.loader.import_default_modules()
    return celery_app.tasks[name]
