"""Celery tasks of the ground floor: thin wrappers over kodoku_portal/outbox.py and
kodoku_portal/jobs.py; ids as keyword arguments."""

import logging

from celery import shared_task
from celery.signals import worker_ready

from . import jobs, outbox


@shared_task(ignore_result=True)
def deliver_message(*, message_id: int) -> str:
    """Deliver one outbox message (claim, build, send, mark); safe to run any number of times.

    No Celery retries: a failure is recorded on the row and ``sweep_outbox`` dispatches it again
    when its backoff has passed."""
    return outbox.deliver(message_id)


@shared_task(ignore_result=True)
def sweep_outbox() -> int:
    """Run by Celery beat every OUTBOX_SWEEP_SECONDS: dispatch again whatever is due."""
    return outbox.sweep()


@shared_task(ignore_result=True)
def run_job(*, job_id: int) -> str:
    """Run one background job (kodoku_portal/jobs.py: claim, run its handler, record the outcome);
    safe to run any number of times. No Celery retries: ``sweep_jobs`` dispatches a failed job
    again when its back-off has passed."""
    return jobs.run(job_id)


@shared_task(ignore_result=True)
def sweep_jobs() -> int:
    """Run by Celery beat every JOB_SWEEP_SECONDS (and once when a worker starts)."""
    return jobs.sweep()


@worker_ready.connect
def _sweep_jobs_on_startup(sender=None, **_kwargs) -> None:
    """A worker that starts dispatches what is due at once (jobs lost with a killed worker or a
    broker outage) rather than waiting for beat."""
    try:
        sweep_jobs.delay()
    except Exception:
        logging.getLogger(__name__).exception("startup job sweep could not be dispatched")
