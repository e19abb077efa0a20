"""Redis stopped: the broker and the cache of the portal gone while applicants work.

Each test starts a redis-server of its own on a free port (so the shared Redis of other tests is
never stopped), points the portal's broker and cache at it, and stops it:

- during a submission: the applicant is shown the application as submitted (not a server error),
  the receipt mails wait in the outbox; once Redis is back, the sweep hands them to a real worker
  and each is sent exactly once, a second sweep sends nothing more;
- during an autosave: the draft is saved as if nothing had happened (saving needs the database
  only).
"""

import datetime as dt
import email.header
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest
import redis
from django.core import mail
from django.test import Client
from django.utils import timezone

from applications.models import ApplicationStatus
from kodoku_portal import outbox
from kodoku_portal.models import OutboxMessage, OutboxStatus
from tests.support import worker

REDIS_SERVER = shutil.which("redis-server")
NO_REDIS_SERVER = "needs the redis-server program (Debian package redis-server; .ci/run installs it)"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class OwnRedis:
    """A redis-server this test starts and stops itself (only its own process is ever signalled)."""

    def __init__(self, tmp_path: Path):
        self.port = _free_port()
        self.dir = tmp_path / "redis"
        self.dir.mkdir(exist_ok=True)
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        command = [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        command += ["--dir", str(self.dir)]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        give_up = time.monotonic() + 10
        while True:
            try:
                redis.Redis.from_url(self.url, socket_connect_timeout=0.5).ping()
                return
            except redis.exceptions.ConnectionError:
                assert self.process.poll() is None, "redis-server exited"
                assert time.monotonic() < give_up, "redis-server did not answer within 10 s"
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None

    def answers(self) -> bool:
        try:
            return bool(redis.Redis.from_url(self.url, socket_connect_timeout=0.5).ping())
        except redis.exceptions.ConnectionError:
            return False


@pytest.fixture
def own_redis(tmp_path, settings):
    server = OwnRedis(tmp_path)
    server.start()
    # The portal's cache on it too: a request that needed Redis would fail with it stopped.
    caches = settings.CACHES
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": server.url}}
    yield server
    server.stop()
    # Back before tests/conftest.py empties the cache (fixtures end in reverse order).
    settings.CACHES = caches


def _subjects(messages) -> list[str]:
    return sorted(str(email.header.make_header(email.header.decode_header(m["Subject"]))) for m in messages)


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(not REDIS_SERVER, reason=NO_REDIS_SERVER)
@pytest.mark.skipif(bool(worker.missing_services()), reason=worker.missing_services() or "-")
def test_redis_stopped_during_submission_the_receipt_waits_and_is_sent_once_when_redis_is_back(
    own_redis, complete_draft, member, tmp_path, django_capture_on_commit_callbacks, settings
):
    queue = worker.new_queue("redis-down")
    client = Client(raise_request_exception=False)
    client.force_login(member)
    own_redis.stop()
    assert not own_redis.answers()

    with worker.tasks_go_to(queue, broker_url=own_redis.url), django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/applications/{complete_draft.pk}/submit/")
    # The applicant: the application's page, submitted with its receipt number; never a 500.
    assert response.status_code == 302
    complete_draft.refresh_from_db()
    assert complete_draft.status == ApplicationStatus.SUBMITTED and complete_draft.receipt_number
    page = client.get(response["Location"])
    assert page.status_code == 200 and complete_draft.receipt_number in page.content.decode()
    messages = list(OutboxMessage.objects.filter(kind="receipt"))
    assert messages and {message.status for message in messages} == {OutboxStatus.QUEUED}
    assert mail.outbox == []

    # Redis is back: the sweep hands the waiting mails to a real worker; each is sent once.
    own_redis.start()
    mail_dir = tmp_path / "mail"
    env = worker.child_env(mail_dir)
    env["REDIS_URL"] = own_redis.url
    pidfile, log = tmp_path / "worker.pid", tmp_path / "worker.log"
    command = worker.worker_command(app="tests.support.outbox_worker", queue=queue, pidfile=pidfile)
    running = worker.start(command, env, log)
    try:
        later = timezone.now() + dt.timedelta(seconds=settings.OUTBOX_DISPATCH_GRACE_SECONDS + 1)
        with worker.tasks_go_to(queue, broker_url=own_redis.url):
            assert outbox.sweep(now=later) == len(messages)
            give_up = time.monotonic() + 60
            while OutboxMessage.objects.filter(kind="receipt").exclude(status=OutboxStatus.SENT).exists():
                assert running.poll() is None, log.read_text(errors="replace")
                assert time.monotonic() < give_up, "receipts not sent within 60 s:\n" + log.read_text(errors="replace")
                time.sleep(0.2)
            # Asked again (a second sweep, much later): nothing is sent twice.
            assert outbox.sweep(now=later + dt.timedelta(hours=1)) == 0
        time.sleep(1)
    finally:
        worker.stop(running)
        for pid in worker.processes_mentioning(queue):
            subprocess.run(["kill", "-9", str(pid)], check=False)
    sent = worker.read_mails(mail_dir)
    assert sorted(address for m in sent for address in m["To"].split(", ")) == sorted(m.to_email for m in messages)
    assert len(sent) == len(messages)
    assert all(complete_draft.receipt_number in subject for subject in _subjects(sent))
    assert {(row.status, row.attempts) for row in OutboxMessage.objects.filter(kind="receipt")} == {
        (OutboxStatus.SENT, 1)
    }


@pytest.mark.django_db
@pytest.mark.skipif(not REDIS_SERVER, reason=NO_REDIS_SERVER)
def test_redis_stopped_during_autosave_the_draft_is_saved(own_redis, draft, member):
    client = Client(raise_request_exception=False)
    client.force_login(member)
    own_redis.stop()
    data = {
        "version": str(draft.version),
        "title": "見守りカフェ",
        "summary": "地域の居場所づくり",
        "budget-TOTAL_FORMS": "0",
        "budget-INITIAL_FORMS": "0",
        "budget-MIN_NUM_FORMS": "0",
        "budget-MAX_NUM_FORMS": "1000",
    }
    with worker.tasks_go_to(worker.new_queue("redis-down"), broker_url=own_redis.url):
        response = client.post(f"/applications/{draft.pk}/save/", data, HTTP_X_AUTOSAVE="1")
    assert response.status_code == 200 and response.json()["saved"] is True
    draft.refresh_from_db()
    assert (draft.title, draft.summary, draft.version) == (
        "見守りカフェ",
        "地域の居場所づくり",
        int(data["version"]) + 1,
    )
