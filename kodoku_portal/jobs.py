"""Durable background jobs: work that is not a mail (a virus scan, …), recorded in the transaction
of the change that causes it and run by a worker after commit — the outbox's protocol
(kodoku_portal/outbox.py) without the mail.

Using it
--------
An app registers a *handler* per kind of job in its ``AppConfig.ready``::

    jobs.register("scan_attachment", scans.run_scan, label=_("Virus scan of an attachment"))

and, inside the transaction of a change, enqueues one::

    jobs.enqueue("scan_attachment", attachment)

The handler ``handler(job)`` runs in the worker with no transaction open; it does its own
short transactions (a state change through ``change_state``). Returning ends the job (done);
raising counts as a failed attempt: the error is recorded and the job is run again after a
back-off (30 s, 60 s, … at most 1 h) until JOB_MAX_ATTEMPTS, then it stays failed until staff
:func:`retry` it. Handlers must be idempotent: a job may run more than once (below).

Protocol
--------
The unique key (kind, subject_type, subject_id, slot) makes :func:`enqueue` idempotent. A worker
claims a job with a conditional UPDATE (queued; failed and due; running with an expired lease) that
sets ``running``, ``lease_until = now + JOB_LEASE_SECONDS`` and ``attempts + 1`` (the fencing
token); it settles the outcome with an UPDATE conditional on the same ``attempts``, so an attempt
whose lease was taken over cannot overwrite the newer one. Dispatch is ``on_commit(run_job.delay)``
and never fails the request: when the broker is down the job waits for :func:`sweep` (Celery beat,
every JOB_SWEEP_SECONDS), which dispatches again queued jobs not
claimed within JOB_DISPATCH_GRACE_SECONDS, failed jobs whose back-off has passed and running jobs
whose lease has expired (their worker was killed). A handler killed mid-run is therefore run
again: at least once, exactly once in the normal case. Keep JOB_LEASE_SECONDS above the longest
handler (the scan's timeout).
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext

from . import leases
from .models import Job, JobStatus
from .refusals import Refused

RUN_TASK = "kodoku_portal.tasks.run_job"
ERROR_MAX = 2000
BACKOFF_BASE_SECONDS = 30
BACKOFF_MAX_SECONDS = 3600

__all__ = ["Job", "JobStatus", "enqueue", "register", "retry", "run", "sweep"]

logger = logging.getLogger(__name__)

Handler = Callable[[Job], None]
_HANDLERS: dict[str, Handler] = {}
_LABELS: dict[str, str | Promise] = {}


def lease_seconds() -> int:
    return int(getattr(settings, "JOB_LEASE_SECONDS", 600))


def max_attempts() -> int:
    return int(getattr(settings, "JOB_MAX_ATTEMPTS", 5))


def dispatch_grace_seconds() -> int:
    return int(getattr(settings, "JOB_DISPATCH_GRACE_SECONDS", 120))


def backoff(attempts: int) -> dt.timedelta:
    """The wait after the ``attempts``-th failed attempt: 30 s, 60 s, 120 s, … at most 1 hour."""
    return dt.timedelta(seconds=min(BACKOFF_MAX_SECONDS, BACKOFF_BASE_SECONDS * 2 ** max(0, attempts - 1)))


def register(kind: str, handler: Handler, *, label: str | Promise = "") -> None:
    """Run ``handler(job)`` for jobs of ``kind`` (call it in ``AppConfig.ready``)."""
    _HANDLERS[kind] = handler
    if label:
        _LABELS[kind] = label


def kind_label(kind: str) -> str:
    return str(_LABELS.get(kind, kind))


def enqueue(kind: str, subject: models.Model, *, slot: str = "", context: dict[str, Any] | None = None) -> Job:
    """Record a job about ``subject`` (a saved instance) in the caller's transaction and dispatch
    it once that commits. Idempotent: the same (kind, subject, slot) returns the existing job.
    ``RuntimeError`` outside a transaction."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("jobs.enqueue() must run inside the transaction of the change that causes the job")
    if subject.pk is None:
        raise ValueError("a job's subject must be saved before the job is enqueued")
    job, created = Job.objects.get_or_create(
        kind=kind,
        subject_type=subject._meta.label,
        subject_id=subject.pk,
        slot=slot,
        defaults={
            "context": dict(context or {}),
            "next_attempt_at": timezone.now() + dt.timedelta(seconds=dispatch_grace_seconds()),
        },
    )
    if created:
        transaction.on_commit(functools.partial(dispatch, job.pk))
    return job


def dispatch(job_id: int) -> None:
    """Hand the job to a worker; never raises (the sweeper dispatches it later if this fails)."""
    try:
        leases.task_named(RUN_TASK).delay(job_id=job_id)
    except Exception:
        logger.exception("job %s could not be dispatched; the sweeper will dispatch it", job_id)


STATES = leases.LeaseStates(queued=JobStatus.QUEUED, failed=JobStatus.FAILED, running=JobStatus.RUNNING)


def _claim(job_id: int, now: dt.datetime) -> Job | None:
    claimed = leases.claim(Job, job_id, now, states=STATES, lease_seconds=lease_seconds(), max_attempts=max_attempts())
    return Job.objects.get(pk=job_id) if claimed else None


def _settle(job: Job, **values: Any) -> bool:
    settled = leases.settle(job, states=STATES, **values)
    if not settled:
        logger.warning("job %s: attempt %s finished after its lease was taken over", job.pk, job.attempts)
    return settled


def _status(job_id: int) -> str:
    return leases.status_of(Job, job_id)


def run(job_id: int, *, now: dt.datetime | None = None) -> str:
    """Claim and run one job, then record the outcome; returns its status afterwards. Call it with
    no transaction open (a task). A job that is done, not yet due or held by a live lease is left
    alone."""
    clock = now or timezone.now()
    job = _claim(job_id, clock)
    if job is None:
        return _status(job_id)
    handler = _HANDLERS.get(job.kind)
    try:
        if handler is None:
            raise LookupError(f"no handler registered for job kind {job.kind!r}")
        handler(job)
    except Exception as exc:  # noqa: BLE001 - any failure of a handler is an attempt that failed
        exhausted = job.attempts >= max_attempts()
        _settle(
            job,
            status=JobStatus.FAILED,
            last_error=repr(exc)[:ERROR_MAX],
            next_attempt_at=None if exhausted else clock + backoff(job.attempts),
        )
        logger.warning(
            "job %s (%s) failed, attempt %s%s: %r",
            job.pk,
            job.kind,
            job.attempts,
            " (no more automatic attempts)" if exhausted else "",
            exc,
        )
        return _status(job_id)
    _settle(job, status=JobStatus.DONE, last_error="", next_attempt_at=None, finished_at=timezone.now())
    return _status(job_id)


def retry(job_id: int) -> None:
    """Staff: run a failed job again (one more attempt each time); ``Refused`` unless failed."""
    now = timezone.now()
    with transaction.atomic():
        updated = Job.objects.filter(pk=job_id, status=JobStatus.FAILED).update(
            status=JobStatus.QUEUED,
            lease_until=None,
            next_attempt_at=now + dt.timedelta(seconds=dispatch_grace_seconds()),
        )
        if not updated:
            raise Refused(gettext("Only a failed job can be run again."), code="transition")
        transaction.on_commit(functools.partial(dispatch, job_id))


def sweep(now: dt.datetime | None = None) -> int:
    """Dispatch again every job that is due; returns how many were dispatched (see the module
    docstring). A running job whose lease expired on its last attempt is marked failed."""
    now = now or timezone.now()
    grace = now + dt.timedelta(seconds=dispatch_grace_seconds())
    due = (
        Job.objects.filter(next_attempt_at__lte=now, status__in=(JobStatus.QUEUED, JobStatus.FAILED, JobStatus.RUNNING))
        .order_by("next_attempt_at", "pk")
        .values_list("pk", "status", "attempts", "lease_until", "next_attempt_at")
    )
    dispatched = 0
    for pk, status, attempts, lease_until, next_attempt_at in due:
        same = Job.objects.filter(pk=pk, status=status, attempts=attempts, next_attempt_at=next_attempt_at)
        if status == JobStatus.RUNNING:
            if lease_until is not None and lease_until >= now:
                continue
            if attempts >= max_attempts():
                same.update(
                    status=JobStatus.FAILED,
                    lease_until=None,
                    next_attempt_at=None,
                    last_error=f"the worker was lost during attempt {attempts} (its lease expired)",
                )
                continue
            moved = same.update(next_attempt_at=grace)
        elif status == JobStatus.FAILED:
            moved = same.update(status=JobStatus.QUEUED, next_attempt_at=grace)
        else:
            moved = same.update(next_attempt_at=grace)
        if moved:
            transaction.on_commit(functools.partial(dispatch, pk))
            dispatched += 1
    if dispatched:
        logger.info("job sweep: %s job(s) dispatched again", dispatched)
    return dispatched
