"""The virus check of grants' files with the real services: evidence uploaded through the service
(its scan job committed with it) is judged by a Celery worker fed through Redis, with the same job
kind and handler as an application's attachment — the EICAR receipt ends 隔離, the clean one 問題なし.
Needs PostgreSQL and Redis (see tests/applications/test_attachment_scan_worker.py, whose worker
helpers it uses); the scanner is tests/support/stub_scanner.py."""

import sys
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from applications.models import ScanStatus
from grants import report_steps
from grants.models import AwardStatus, Evidence
from kodoku_portal.models import Job, JobStatus
from tests.applications.test_attachment_scan_worker import STUB, _wait, _Worker, pdf
from tests.grants.lifecycle import award_at
from tests.grants.test_report_steps import file_report
from tests.support import worker
from tests.support.stub_scanner import EICAR

pytestmark = [
    pytest.mark.services,
    pytest.mark.skipif(bool(worker.missing_services()), reason=worker.missing_services() or "-"),
    pytest.mark.django_db(transaction=True),
]


def test_a_worker_judges_evidence_files(settings, tmp_path):
    command = f"{sys.executable} {STUB} {{path}}"
    settings.ATTACHMENT_SCAN_COMMAND = command
    queue = worker.new_queue("grants-scan-test")
    case = award_at(AwardStatus.GRANTED)
    line = file_report(case).costs.first()
    with (
        _Worker(tmp_path, Path(settings.MEDIA_ROOT), queue, "grants", ATTACHMENT_SCAN_COMMAND=command) as running,
        worker.tasks_go_to(queue),
    ):
        for name, content in (("clean.pdf", pdf(b"clean")), ("eicar.pdf", pdf(EICAR))):
            report_steps.evidence_add(
                cost=line, kind="receipt", upload=SimpleUploadedFile(name, content), by=case.member
            )
        _wait(
            lambda: not Evidence.objects.filter(scan_status=ScanStatus.PENDING).exists(),
            within=30,
            what="every evidence file judged",
            process=running.process,
        )
    states = dict(Evidence.objects.values_list("original_name", "scan_status"))
    assert states == {"clean.pdf": ScanStatus.CLEAN, "eicar.pdf": ScanStatus.QUARANTINED}
    assert set(Job.objects.filter(subject_type="grants.Evidence").values_list("status", "attempts")) == {
        (JobStatus.DONE, 1)
    }
