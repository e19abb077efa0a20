"""Notices against the real services: a Celery worker with two processes (prefork), fed through
Redis, renders and e-mails each notice exactly once however often its task is delivered.

The worker is another process that talks to the test database, so the data is committed
(``transaction=True``). It needs PostgreSQL (the row lock that keeps two worker processes from
sending the same notice) and Redis (the broker); `.ci/run` sets DATABASE_URL and REDIS_URL, so
CI runs it. Locally:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/kodoku_notices REDIS_URL=redis://127.0.0.1:6379/1 \\
        .venv/bin/python -m pytest tests/grants/test_notices_services.py -s
"""

import collections
import contextlib
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.core import mail
from django.db import connection
from kombu import Connection
from kombu import pools as kombu_pools

from accounts.models import Role
from applications.models import ApplicationStatus
from grants import services, tasks
from grants.models import Award, Notice, NoticeBatch, NoticeKind
from kodoku_portal.celery import app as celery_app
from tests.factories import ApplicationFactory, CallFactory, OrganisationFactory, UserFactory
from tests.grants.test_reminders_services import (
    _child_env,
    _flush,
    _missing_services,
    _processes_mentioning,
    _read_mails,
    _stop,
)

pytestmark = [
    pytest.mark.services,
    pytest.mark.skipif(bool(_missing_services()), reason=_missing_services() or "-"),
    pytest.mark.django_db(transaction=True),
]

BASE_DIR = Path(settings.BASE_DIR)
TASK = "grants.tasks.issue_notice"
# Three adopted, three not adopted (each gets a notice) and one on the reserve list (none).
OUTCOMES = [ApplicationStatus.ADOPTED, ApplicationStatus.NOT_ADOPTED] * 3 + [ApplicationStatus.RESERVE]


def _broker_url() -> str:
    """The parent's Redis, on a database of its own (12), flushed before and after."""
    parts = urllib.parse.urlsplit(settings.REDIS_URL)
    return urllib.parse.urlunsplit(parts._replace(path="/12"))


def _reset_celery_client() -> None:
    """Forget the app's broker connection pool, producer pool and result backend, so the next
    `.delay` builds them from the current configuration (Celery caches all three)."""
    if celery_app._pool is not None:
        celery_app._pool.force_close_all()
    celery_app._pool = None
    producers = celery_app.amqp._producer_pool
    if producers is not None:
        producers.force_close_all()
    celery_app.amqp._producer_pool = None
    celery_app._backend_cache = None  # a thread-safe backend is kept here, any other per thread
    vars(celery_app._local).pop("backend", None)
    # kombu keeps producer pools in a global registry keyed by connection: a closed pool would be
    # handed out again to the next eager task of another test. Start the registry afresh.
    kombu_pools.reset()


@contextlib.contextmanager
def _tasks_go_to(broker: str):
    """`.delay` in this process publishes to ``broker`` instead of running the task in-process
    (tests/conftest.py makes every test eager). No result backend: nothing here waits for results,
    and a Redis one would subscribe to result channels nobody publishes on."""
    conf = celery_app.conf
    saved = {name: conf[name] for name in ("task_always_eager", "broker_url", "result_backend")}
    conf.task_always_eager = False
    conf.broker_url = broker
    conf.result_backend = None
    _reset_celery_client()
    try:
        with celery_app.connection_for_write() as broker_connection:
            assert broker_connection.as_uri() == Connection(broker).as_uri()
        yield
    finally:
        _reset_celery_client()
        for name, value in saved.items():
            conf[name] = value


def _log_count(log: Path, pattern: str) -> int:
    return len(re.findall(pattern, log.read_text(errors="replace")))


class _LockWaits(threading.Thread):
    """Samples pg_stat_activity on a connection of its own while the worker runs: in how many
    samples a worker process waited for a lock (two processes holding the same notice). Reported,
    not asserted: whether the two ever meet on one notice is up to the scheduler."""

    def __init__(self, *, exclude_pid: int):
        super().__init__(daemon=True)
        self.exclude_pid = exclude_pid
        self.done = threading.Event()
        self.samples = self.waits = 0

    def run(self) -> None:
        try:  # `connection` is per thread: this is a connection of the sampler's own
            with connection.cursor() as cursor:
                while not self.done.is_set():
                    cursor.execute(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                        "AND wait_event_type = 'Lock' AND pid NOT IN (pg_backend_pid(), %s)",
                        [self.exclude_pid],
                    )
                    self.samples += 1
                    self.waits += bool(cursor.fetchone()[0])
                    self.done.wait(0.005)
        finally:
            connection.close()


def test_a_two_process_worker_sends_each_notice_once_however_often_it_is_asked(tmp_path, settings):
    staff = UserFactory(role=Role.STAFF)
    call = CallFactory(cap_amount=2_000_000, budget_total=10_000_000)
    applications = {}
    for index, outcome in enumerate(OUTCOMES, start=1):
        submitter = UserFactory(role=Role.APPLICANT, email=f"notice-submitter{index}@example.jp")
        application = ApplicationFactory(
            call=call,
            organisation=OrganisationFactory(email=f"Notice-Org{index}@example.jp"),
            status=ApplicationStatus.SUBMITTED,
            receipt_number=f"{call.receipt_prefix}-{index:04d}",
            requested_amount=1_500_000,
            submitted_by=submitter,
        )
        adopted = outcome == ApplicationStatus.ADOPTED
        application = services.decision_record(
            application=application,
            outcome=outcome,
            award_amount=1_000_000 + index * 1_000 if adopted else None,
            decided_by=staff,
        )
        applications[application.pk] = application

    broker = _broker_url()
    mail_dir, private_dir = tmp_path / "mail", tmp_path / "private"
    settings.MEDIA_ROOT = private_dir  # where this process reads the PDFs the worker stored
    env = _child_env(mail_dir, REDIS_URL=broker, DJANGO_PRIVATE_ROOT=str(private_dir), DJANGO_LOG_LEVEL="INFO")
    pidfile, log = tmp_path / "worker.pid", tmp_path / "worker.log"
    worker_cmd = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "kodoku_portal",
        "worker",
        "--pool=prefork",
        "--concurrency=2",  # two worker processes compete for the tasks
        "-l",
        "info",
        "--pidfile",
        str(pidfile),
        "--hostname",
        f"notices-test-{uuid.uuid4().hex[:8]}@%h",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
    ]

    _flush(broker)
    process = lock_waits = None
    passed = False
    timings = {}
    started = time.monotonic()
    try:
        with log.open("wb") as out:
            process = subprocess.Popen(worker_cmd, cwd=BASE_DIR, env=env, stdout=out, stderr=subprocess.STDOUT)
        give_up = time.monotonic() + 30
        while " ready." not in log.read_text(errors="replace"):
            assert process.poll() is None, f"the worker exited with {process.returncode}"
            assert time.monotonic() < give_up, "the worker was not ready within 30 s"
            time.sleep(0.1)
        timings["worker ready"] = time.monotonic() - started

        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            lock_waits = _LockWaits(exclude_pid=cursor.fetchone()[0])  # not this process's own waits
        lock_waits.start()
        sending = time.monotonic()
        with _tasks_go_to(broker):
            # The batch: one task per notice, sent on commit (at once: no atomic block here).
            _batch, first = tasks.send_notices(call=call, created_by=staff)
            # Every task delivered a second time, in reverse order so that, at the turn, both worker
            # processes may hold the same notice at once.
            for notice_id in reversed(first):
                tasks.issue_notice.delay(notice_id=notice_id)
            # And the batch again, while the worker is at it: the notices not yet e-mailed again.
            _batch, again = tasks.send_notices(call=call, created_by=staff)
        sent = 2 * len(first) + len(again)
        assert len(first) == 6 and set(again) <= set(first)
        assert mail.outbox == []  # nothing ran in this process

        # Wait until every notice is e-mailed and the worker has finished every task.
        give_up = time.monotonic() + 60
        while (
            Notice.objects.filter(emailed_at__isnull=True).exists()
            or _log_count(log, rf"{TASK}\[[^\]]+\] succeeded") < sent
        ):
            assert process.poll() is None, f"the worker exited with {process.returncode}"
            assert time.monotonic() < give_up, "the notices were not all sent within 60 s"
            time.sleep(0.25)
        timings["all sent"] = time.monotonic() - sending
        lock_waits.done.set()
        time.sleep(3)  # anything still to come (a retry, a late duplicate) would show by now

        # The worker received and finished every task once, without a failure or a retry.
        text = log.read_text(errors="replace")
        assert _log_count(log, rf"{TASK}\[[^\]]+\] received") == sent
        assert _log_count(log, rf"{TASK}\[[^\]]+\] succeeded") == sent
        assert not re.search(r"notice \d+ failed|Retry in|raised|ERROR/", text)
        # Both worker processes ran tasks.
        runners = set(re.findall(rf"/(ForkPoolWorker-\d+)\] Task {TASK}\[[^\]]+\] succeeded", text))
        assert len(runners) == 2, runners

        notices = {notice.document_number: notice for notice in Notice.objects.select_related("application")}
        assert len(notices) == 6
        assert {notice.application_id for notice in notices.values()} == {
            pk for pk, a in applications.items() if a.status != ApplicationStatus.RESERVE
        }
        for notice in notices.values():
            decided = applications[notice.application_id].status
            assert notice.kind == (
                NoticeKind.ADOPTED if decided == ApplicationStatus.ADOPTED else NoticeKind.NOT_ADOPTED
            )
            assert notice.emailed_at and notice.generated_at and notice.pdf
            assert (notice.attempts, notice.last_error) == (1, "")
        assert Award.objects.count() == 3 and NoticeBatch.objects.count() == 2
        # One PDF per notice, rendered once: a second rendering would have stored a second file.
        stored = sorted(path.name for path in (private_dir / "notices").iterdir())
        assert stored == sorted(Path(notice.pdf.name).name for notice in notices.values())
        assert all(Path(name).stem in notices for name in stored)

        # Exactly one mail per notice, to the organisation and the submitter, with its PDF.
        messages, message_ids = _read_mails(mail_dir)
        assert len(messages) == message_ids == 6, (len(messages), message_ids)
        mailed = collections.Counter()
        for message in messages:
            [attachment] = message.iter_attachments()
            filename = attachment.get_filename()
            assert filename.endswith(".pdf") and attachment.get_content_type() == "application/pdf"
            number = filename.removesuffix(".pdf")
            notice = notices[number]
            application = notice.application
            mailed[number] += 1
            with notice.pdf.open("rb") as stored_pdf:
                assert attachment.get_content() == stored_pdf.read()  # the very file on record
            assert attachment.get_content().startswith(b"%PDF-")
            assert set(str(message["To"]).split(", ")) == {
                application.organisation.email.lower(),
                application.submitted_by.email,
            }
            assert application.receipt_number in str(message["Subject"])
        assert mailed == collections.Counter(dict.fromkeys(notices, 1))
        timings["total"] = time.monotonic() - started
        print(
            f"\nnotices: {sent} tasks ({len(first)} + {len(first)} duplicates + {len(again)} again) "
            f"by {sorted(runners)}; 6 mails; a worker waited for a lock in {lock_waits.waits} of "
            f"{lock_waits.samples} samples; worker ready {timings['worker ready']:.1f}s, "
            f"all sent {timings['all sent']:.1f}s after the first task, total {timings['total']:.1f}s"
        )
        passed = True
    finally:
        if lock_waits is not None and lock_waits.is_alive():
            lock_waits.done.set()
            lock_waits.join(timeout=5)
        if process is not None:
            _stop(process, pidfile)
        _flush(broker)
        if not passed and log.exists():
            print(f"\n===== {log.name} =====\n{log.read_text(errors='replace')}")
        leftovers = _processes_mentioning(str(tmp_path))
        for pid in leftovers:  # only processes started by this test carry tmp_path on their command line
            os.kill(pid, signal.SIGKILL)
    assert process.poll() is not None
    assert leftovers == [], f"processes left running: {leftovers}"
