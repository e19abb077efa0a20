"""The virus check with the real services: uploads committed with their scan jobs, a Celery worker
(prefork) fed through Redis runs the scanner on each — the EICAR file ends 隔離, the clean ones
問題なし; a job whose dispatch was lost (the broker was not told) is found by the sweeper; a
worker killed in the middle of a scan leaves the job running, and once its lease has expired the
sweeper hands it to a new worker, which finishes it — every file judged exactly once.

The scanner is tests/support/stub_scanner.py (clamdscan's exit codes; see
tests/applications/test_attachment_scan.py for why not ClamAV itself). PostgreSQL and Redis are
needed (the worker is another process):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/kodoku_core REDIS_URL=redis://127.0.0.1:6379/3 \\
        .venv/bin/python -m pytest tests/applications/test_attachment_scan_worker.py -s
"""

import os
import signal
import sys
import time
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from applications.models import Attachment, ScanStatus
from applications.scans import schedule
from kodoku_portal import jobs
from kodoku_portal.models import AuditEntry, Job, JobStatus
from tests.support import worker
from tests.support.stub_scanner import EICAR

pytestmark = [
    pytest.mark.services,
    pytest.mark.skipif(bool(worker.missing_services()), reason=worker.missing_services() or "-"),
    pytest.mark.django_db(transaction=True),
]

STUB = Path(__file__).resolve().parents[1] / "support" / "stub_scanner.py"
APP = "kodoku_portal.celery"


def pdf(comment: bytes) -> bytes:
    return b"%PDF-1.4\n1 0 obj<<>>endobj\n%" + comment + b"\ntrailer<<>>\n%%EOF\n"


def _wait(condition, *, within: float, what: str, process=None) -> None:
    give_up = time.monotonic() + within
    while not condition():
        if process is not None:
            assert process.poll() is None, f"the worker exited with {process.returncode}"
        assert time.monotonic() < give_up, f"{what} within {within} s"
        time.sleep(0.1)


class _Worker:
    def __init__(self, tmp_path: Path, private_root: Path, queue: str, name: str, **env: str):
        self.queue = queue
        self.pidfile, self.log = tmp_path / f"{name}.pid", tmp_path / f"{name}.log"
        self.command = worker.worker_command(app=APP, queue=queue, pidfile=self.pidfile)
        self.env = worker.child_env(tmp_path / "mail", DJANGO_PRIVATE_ROOT=str(private_root), **env)
        self.process = None

    def __enter__(self):
        self.process = worker.start(self.command, self.env, self.log)
        return self

    def __exit__(self, exc_type, exc, tb):
        if self.process is not None and self.process.poll() is None:
            worker.stop(self.process, self.pidfile)
        if exc_type is not None and self.log.exists():
            print(f"\n===== {self.log.name} =====\n{self.log.read_text(errors='replace')}")
        for pid in worker.processes_mentioning(f"{self.queue}@"):  # only this test's processes
            if pid != os.getpid():
                os.kill(pid, signal.SIGKILL)


def _attach(draft, member, content: bytes, name: str) -> Attachment:
    """What attachment_add does once the upload passed its type checks: the row (pending) and its
    scan job, in one transaction."""
    with transaction.atomic():
        attachment = Attachment(
            application=draft,
            kind="other",
            original_name=name,
            file_type="pdf",
            size=len(content),
            uploaded_by=member,
            scan_status=ScanStatus.PENDING,
        )
        attachment.file.save("upload", ContentFile(content), save=False)
        attachment.save()
        schedule(attachment)
    return attachment


def test_a_worker_judges_each_file_once_even_when_killed_mid_scan(draft, member, settings, tmp_path):
    private_root = Path(settings.MEDIA_ROOT)
    slow_mark = tmp_path / "slow"
    command = f"{sys.executable} {STUB} {{path}}"
    settings.ATTACHMENT_SCAN_COMMAND = command
    queue = worker.new_queue("scan-test")
    env = {"ATTACHMENT_SCAN_COMMAND": command, "JOB_LEASE_SECONDS": "8"}
    started = time.monotonic()
    try:
        with _Worker(tmp_path, private_root, queue, "first", **env) as first, worker.tasks_go_to(queue):
            files = [_attach(draft, member, pdf(f"clean {n}".encode()), f"clean{n}.pdf") for n in range(4)]
            infected = _attach(draft, member, pdf(EICAR), "eicar.pdf")
            _wait(
                lambda: not Attachment.objects.filter(scan_status=ScanStatus.PENDING).exists(),
                within=30,
                what="every file judged",
                process=first.process,
            )
            states = dict(Attachment.objects.values_list("original_name", "scan_status"))
            assert states == {**{f"clean{n}.pdf": "clean" for n in range(4)}, "eicar.pdf": "quarantined"}
            assert set(Job.objects.values_list("status", "attempts")) == {(JobStatus.DONE, 1)}

            # A dispatch lost (recorded, the broker never told): the sweeper finds it.
            with transaction.atomic():
                lost = Attachment.objects.create(
                    application=draft,
                    kind="other",
                    original_name="lost.pdf",
                    file_type="pdf",
                    size=1,
                    uploaded_by=member,
                    scan_status=ScanStatus.PENDING,
                    file=files[0].file.name,
                )
                Job.objects.create(
                    kind="scan_attachment",
                    subject_type="applications.Attachment",
                    subject_id=lost.pk,
                    next_attempt_at=timezone.now(),
                )
            with transaction.atomic():
                assert jobs.sweep() == 1
            _wait(
                lambda: Attachment.objects.get(pk=lost.pk).scan_status == ScanStatus.CLEAN,
                within=20,
                what="the lost job done by the sweeper",
                process=first.process,
            )

        # A second worker, whose scanner hangs while the mark exists, is killed in mid-scan.
        slow_mark.touch()
        env_slow = {**env, "STUB_SCANNER_SLOW_FILE": str(slow_mark)}
        with _Worker(tmp_path, private_root, queue, "second", **env_slow) as second, worker.tasks_go_to(queue):
            doomed = _attach(draft, member, pdf(b"slow"), "doomed.pdf")
            job = Job.objects.get(subject_id=doomed.pk)
            _wait(
                lambda: Job.objects.get(pk=job.pk).status == JobStatus.RUNNING,
                within=20,
                what="the scan started",
                process=second.process,
            )
            for pid in worker.processes_mentioning(f"{queue}@"):
                os.kill(pid, signal.SIGKILL)
            second.process.wait(timeout=10)
        assert Job.objects.get(pk=job.pk).status == JobStatus.RUNNING  # the lease still holds it
        assert Attachment.objects.get(pk=doomed.pk).scan_status == ScanStatus.PENDING
        slow_mark.unlink()

        with transaction.atomic():  # while the lease lives, the sweeper leaves the job alone
            assert jobs.sweep() == 0
        lease_until = Job.objects.get(pk=job.pk).lease_until
        _wait(lambda: timezone.now() > lease_until, within=15, what="the lease expired")
        with _Worker(tmp_path, private_root, queue, "third", **env) as third, worker.tasks_go_to(queue):
            with transaction.atomic():
                assert jobs.sweep() == 1
            _wait(
                lambda: Attachment.objects.get(pk=doomed.pk).scan_status == ScanStatus.CLEAN,
                within=20,
                what="the killed scan finished by the next worker",
                process=third.process,
            )
        job.refresh_from_db()
        assert (job.status, job.attempts) == (JobStatus.DONE, 2)
        # Each file changed state exactly once.
        changes = AuditEntry.objects.filter(action__startswith="attachment_scan_")
        assert changes.count() == Attachment.objects.count() == 7
        assert str(infected.pk) in set(
            changes.filter(action="attachment_scan_quarantined").values_list("object_id", flat=True)
        )
        print(f"\nscan worker: 7 files, one killed mid-scan, each judged once; {time.monotonic() - started:.1f}s")
    finally:
        worker.delete_queue(queue)
