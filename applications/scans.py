"""The virus scan of uploaded files: a durable job per uploaded file (kodoku_portal/jobs.py) runs
ATTACHMENT_SCAN_COMMAND (kodoku_portal/scanning.py) and moves the file's ``scan_status``
through the workflow: pending → clean / quarantined / error (an error is retried by the job and
its next verdict replaces it; after JOB_MAX_ATTEMPTS it stays failed, shown to staff on the
outbox page with a button to check again).

Order: the upload's type checks (applications/filetypes.py) refuse what is not an allowed,
well-formed document in the request; only a file that passed them is stored and scanned.
With no scan command set, files are stored 未検査 (not scanned) and served as before.

One job kind and one handler serve every model that holds a scanned file (a subclass of
``models.ScannedFile``: an application's ``Attachment``, and grants' ``Evidence`` and
``AwardDocument``): the job's subject names the model, and the handler finds it through the app
registry, so this module never imports the floors above it.
"""

from __future__ import annotations

import logging

from django.apps import apps
from django.db import transaction
from django.utils import timezone

from kodoku_portal import jobs, scanning
from kodoku_portal.models import Job
from kodoku_portal.workflow import change_state

from .models import ScannedFile, ScanStatus

SCAN_JOB = "scan_attachment"

logger = logging.getLogger(__name__)


class ScanFailed(Exception):
    """The scanner could not give a verdict; the job is tried again."""


def initial_status() -> str:
    """The state a new attachment is created in: pending when scanning is on."""
    return ScanStatus.PENDING if scanning.enabled() else ScanStatus.NOT_SCANNED


def schedule(stored: ScannedFile) -> Job | None:
    """Inside the upload's transaction: record the scan job of a pending file (any ScannedFile)."""
    if stored.scan_status != ScanStatus.PENDING:
        return None
    return jobs.enqueue(SCAN_JOB, stored)


def _model_of(job: Job) -> type[ScannedFile]:
    try:
        model = apps.get_model(job.subject_type)
    except (LookupError, ValueError) as exc:
        raise ScanFailed(f"no model {job.subject_type!r}") from exc
    if not issubclass(model, ScannedFile):
        raise ScanFailed(f"{job.subject_type} holds no scanned file")
    return model


def run_scan(job: Job) -> None:
    """The job handler: scan the file, record the verdict; raise ScanFailed to be retried."""
    model = _model_of(job)
    attachment = model.objects.filter(pk=job.subject_id).first()
    if attachment is None or attachment.scan_status not in (ScanStatus.PENDING, ScanStatus.ERROR):
        return  # removed meanwhile, or already judged (a repeated job)
    try:
        path = attachment.file.path
    except (NotImplementedError, ValueError) as exc:
        result = scanning.ScanResult(scanning.Verdict.ERROR, f"the file has no local path: {exc}")
    else:
        result = scanning.scan(path)
    _record(model, attachment.pk, result)
    if result.verdict == scanning.Verdict.ERROR:
        raise ScanFailed(result.detail)


@transaction.atomic
def _record(model: type[ScannedFile], pk: int, result: scanning.ScanResult) -> None:
    attachment = model.objects.select_for_update(of=("self",)).filter(pk=pk).first()
    if attachment is None or attachment.scan_status not in (ScanStatus.PENDING, ScanStatus.ERROR):
        return
    attachment.scan_detail = result.detail
    attachment.scanned_at = timezone.now()
    target = {
        scanning.Verdict.CLEAN: ScanStatus.CLEAN,
        scanning.Verdict.INFECTED: ScanStatus.QUARANTINED,
        scanning.Verdict.ERROR: ScanStatus.ERROR,
    }[result.verdict]
    if target == attachment.scan_status:  # another failed attempt: keep the latest error
        attachment.save(update_fields=["scan_detail", "scanned_at"])
        return
    change_state(
        attachment,
        target,
        field="scan_status",
        by=None,
        action=f"attachment_scan_{target}",
        update_fields=["scan_detail", "scanned_at"],
        after={"file": attachment.original_name},
        call_id=attachment.scan_call_id(),
    )
    if target == ScanStatus.QUARANTINED:
        logger.warning(
            "%s %s (%s) quarantined: %s",
            model._meta.label,
            attachment.pk,
            attachment.original_name,
            result.detail[:300],
        )
