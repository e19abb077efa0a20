"""The outbox with the real services: a Celery worker (prefork, two processes) fed through Redis
sends each message exactly once however often it is asked; and a worker killed right after the
mail server accepted a message leaves it ``sending``: not resent while its lease lives, resent
exactly once after the lease has expired (the documented at-least-once case).

The worker is another process that talks to the test database, so the data is committed
(``transaction=True``) and PostgreSQL is needed; Redis is the broker. Locally:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/kodoku_core REDIS_URL=redis://127.0.0.1:6379/3 \\
        .venv/bin/python -m pytest tests/kodoku_portal/test_outbox_worker.py -s
"""

import collections
import datetime as dt
import os
import re
import signal
import time
from pathlib import Path

import pytest
from django.db import transaction
from django.utils import timezone

from kodoku_portal import outbox, tasks
from kodoku_portal.models import OutboxMessage, OutboxStatus
from kodoku_portal.outbox import Mail
from tests.support import worker
from tests.support.outbox import KIND

pytestmark = [
    pytest.mark.services,
    pytest.mark.fault,  # a worker killed mid-batch (SIGKILL): see tests/faults/
    pytest.mark.skipif(bool(worker.missing_services()), reason=worker.missing_services() or "-"),
    pytest.mark.django_db(transaction=True),
]

APP = "tests.support.outbox_worker"
# Long enough to outlast the prefork parent noticing its killed child (about 5 s) and the checks.
LEASE_SECONDS = 12


def _sends(mail_dir: Path) -> collections.Counter:
    """How many times each outbox message reached the mail backend (by its X-Outbox-Message)."""
    return collections.Counter(int(m["X-Outbox-Message"]) for m in worker.read_mails(mail_dir))


def _wait(condition, *, within: float, what: str, process=None) -> None:
    give_up = time.monotonic() + within
    while not condition():
        if process is not None:
            assert process.poll() is None, f"the worker exited with {process.returncode}"
        assert time.monotonic() < give_up, f"{what} within {within} s"
        time.sleep(0.1)


class _Worker:
    """A worker on a queue of its own, stopped (and anything it left killed) at the end."""

    def __init__(self, tmp_path: Path, **env: str):
        self.queue = worker.new_queue("outbox-test")
        self.mail_dir = tmp_path / "mail"
        self.pidfile, self.log = tmp_path / "worker.pid", tmp_path / "worker.log"
        self.command = worker.worker_command(app=APP, queue=self.queue, pidfile=self.pidfile)
        self.env = worker.child_env(self.mail_dir, **env)
        self.process = None
        self.leftovers: list[int] = []

    def __enter__(self):
        self.process = worker.start(self.command, self.env, self.log)
        return self

    def __exit__(self, exc_type, exc, tb):
        if self.process is not None:
            worker.stop(self.process, self.pidfile)
        worker.delete_queue(self.queue)
        if exc_type is not None and self.log.exists():
            print(f"\n===== {self.log.name} =====\n{self.log.read_text(errors='replace')}")
        self.leftovers = worker.processes_mentioning(self.queue)
        for pid in self.leftovers:  # only processes started by this test carry the queue's name
            os.kill(pid, signal.SIGKILL)

    def log_count(self, pattern: str) -> int:
        return len(re.findall(pattern, self.log.read_text(errors="replace")))


def test_a_two_process_worker_sends_each_of_20_messages_exactly_once(tmp_path):
    started = time.monotonic()
    with _Worker(tmp_path) as running, worker.tasks_go_to(running.queue):
        # 20 messages in one transaction: dispatched when it commits.
        with transaction.atomic():
            messages = [outbox.enqueue(Mail(KIND, ("tests.Subject", n), f"person{n}@example.jp")) for n in range(1, 21)]
        ids = [message.pk for message in messages]
        # Every message asked for again, in reverse order, while the worker is at it, and swept.
        for pk in reversed(ids):
            tasks.deliver_message.delay(message_id=pk)
        # The sweeper, an hour ahead: whatever is not sent yet is dispatched again.
        swept = outbox.sweep(now=timezone.now() + dt.timedelta(hours=1))
        asked = 2 * len(ids) + swept

        _wait(
            lambda: not OutboxMessage.objects.exclude(status=OutboxStatus.SENT).exists(),
            within=30,
            what="all 20 messages sent",
            process=running.process,
        )
        _wait(
            lambda: running.log_count(r"kodoku_portal\.tasks\.deliver_message\[[^\]]+\] succeeded") >= asked,
            within=15,
            what="every task finished",
            process=running.process,
        )
        time.sleep(1)  # a late duplicate would show by now

        sends = _sends(running.mail_dir)
        assert sends == collections.Counter(dict.fromkeys(ids, 1)), sends
        rows = OutboxMessage.objects.filter(pk__in=ids)
        assert {(row.status, row.attempts) for row in rows} == {(OutboxStatus.SENT, 1)}
        text = running.log.read_text(errors="replace")
        assert running.log_count(r"kodoku_portal\.tasks\.deliver_message\[[^\]]+\] received") == asked
        assert not re.search(r"ERROR/|Traceback", text)
        runners = set(re.findall(r"/(ForkPoolWorker-\d+)\] Task kodoku_portal\.tasks\.deliver_message", text))
        print(
            f"\noutbox worker: 20 messages, {asked} tasks by {sorted(runners)}, each mail once; "
            f"{time.monotonic() - started:.1f}s"
        )
    assert running.leftovers == []


def test_a_worker_killed_after_sending_resends_only_after_the_lease_expired(tmp_path):
    started = time.monotonic()
    with _Worker(tmp_path, OUTBOX_LEASE_SECONDS=str(LEASE_SECONDS)) as running, worker.tasks_go_to(running.queue):
        with transaction.atomic():
            doomed = outbox.enqueue(
                Mail(KIND, ("tests.Subject", 1), "doomed@example.jp", context={"kill_on_attempt": 1})
            )
            other = outbox.enqueue(Mail(KIND, ("tests.Subject", 2), "other@example.jp"))

        # The mail server accepted the message, then the worker process died (SIGKILL).
        _wait(
            lambda: _sends(running.mail_dir)[doomed.pk] == 1, within=15, what="the first send", process=running.process
        )
        _wait(
            lambda: running.log_count(r"exited with 'signal 9|WorkerLostError") > 0,
            within=10,
            what="the worker process's death noticed",
            process=running.process,
        )
        row = OutboxMessage.objects.get(pk=doomed.pk)
        assert (row.status, row.attempts) == (OutboxStatus.SENDING, 1)
        lease_until = row.lease_until

        # While the lease lives: the sweeper leaves it alone and a duplicate task sends nothing.
        assert outbox.sweep() == 0
        received = running.log_count(r"deliver_message\[[^\]]+\] received")
        tasks.deliver_message.delay(message_id=doomed.pk)
        _wait(
            lambda: running.log_count(r"deliver_message\[[^\]]+\] succeeded in [0-9.]+s: 'sending'") >= 1,
            within=10,
            what="the duplicate task done",
            process=running.process,
        )
        assert running.log_count(r"deliver_message\[[^\]]+\] received") == received + 1
        checked_at = timezone.now()
        assert checked_at < lease_until, "too slow: the lease expired before the check was done; nothing proven"
        assert _sends(running.mail_dir)[doomed.pk] == 1
        row.refresh_from_db()
        assert (row.status, row.attempts) == (OutboxStatus.SENDING, 1)

        # After the lease: the sweeper dispatches it once more and it is sent a second time, once.
        _wait(lambda: timezone.now() > lease_until, within=LEASE_SECONDS + 2, what="the lease expired")
        assert outbox.sweep() == 1
        _wait(
            lambda: OutboxMessage.objects.filter(pk=doomed.pk, status=OutboxStatus.SENT).exists(),
            within=15,
            what="the message sent after the lease",
            process=running.process,
        )
        assert outbox.sweep() == 0
        time.sleep(1)
        sends = _sends(running.mail_dir)
        assert sends == {doomed.pk: 2, other.pk: 1}, sends
        row.refresh_from_db()
        assert (row.status, row.attempts) == (OutboxStatus.SENT, 2)
        attempts = [
            m["X-Outbox-Attempt"] for m in worker.read_mails(running.mail_dir) if m["To"] == "doomed@example.jp"
        ]
        assert sorted(attempts) == ["1", "2"]
        print(
            f"\noutbox kill: sent, worker process killed, not resent within the {LEASE_SECONDS}s lease, "
            f"resent once after it; {time.monotonic() - started:.1f}s"
        )
    assert running.leftovers == []
