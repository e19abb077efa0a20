"""Celery tasks of the ground floor: thin wrappers over kodoku_portal/outbox.py and
kodoku_portal/jobs.py; ids as keyword arguments."""

from celery import shared_task

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
    """Run by Celery beat every JOB_SWEEP_SECONDS: dispatch again whatever is due."""
    return jobs.sweep()
