"""A worker process killed by SIGKILL in the middle of a batch of 16 mails, the worker then
restarted: the batch finishes by itself (the sweep re-dispatches the message whose lease expired)
and every mail is sent exactly once. The process dies while building its message, before the mail
server sees it; a worker killed after the mail server accepted a message is the documented
at-least-once case (tests/kodoku_portal/test_outbox_worker.py)."""

import time

import pytest
from django.db import transaction
from django.utils import timezone

from kodoku_portal import outbox
from kodoku_portal.models import OutboxMessage, OutboxStatus
from kodoku_portal.outbox import Mail
from tests.kodoku_portal.test_outbox_worker import _sends, _wait, _Worker
from tests.support import worker
from tests.support.outbox import KIND

pytestmark = [
    pytest.mark.services,
    pytest.mark.skipif(bool(worker.missing_services()), reason=worker.missing_services() or "-"),
    pytest.mark.django_db(transaction=True),
]

LEASE_SECONDS = 8


def test_a_worker_killed_mid_batch_and_restarted_sends_each_of_16_mails_exactly_once(tmp_path):
    (tmp_path / "first").mkdir()
    (tmp_path / "second").mkdir()
    first = _Worker(tmp_path / "first", OUTBOX_LEASE_SECONDS=str(LEASE_SECONDS))
    with first as running, worker.tasks_go_to(running.queue):
        with transaction.atomic():
            batch = [
                outbox.enqueue(
                    Mail(
                        KIND,
                        ("tests.Subject", n),
                        f"notice{n}@example.jp",
                        context={"die_on_attempt": 1} if n == 6 else {},
                    )
                )
                for n in range(1, 17)
            ]
        doomed = batch[5]
        _wait(
            lambda: running.log_count(r"exited with 'signal 9|WorkerLostError") > 0,
            within=30,
            what="the worker process killed mid-batch",
            process=running.process,
        )
        _wait(
            lambda: OutboxMessage.objects.filter(status=OutboxStatus.SENT).count() == 15,
            within=30,
            what="the other 15 sent",
            process=running.process,
        )
        row = OutboxMessage.objects.get(pk=doomed.pk)
        assert (row.status, row.attempts) == (OutboxStatus.SENDING, 1)
        assert _sends(running.mail_dir)[doomed.pk] == 0
    # The worker is stopped and started again (its queue kept); the sweep, once the lease of the
    # killed attempt has expired, dispatches the unfinished message once more.
    second = _Worker(tmp_path / "second", OUTBOX_LEASE_SECONDS=str(LEASE_SECONDS))
    second.queue = first.queue
    second.command = worker.worker_command(
        app="tests.support.outbox_worker", queue=second.queue, pidfile=second.pidfile
    )
    with second as running, worker.tasks_go_to(running.queue):
        _wait(lambda: timezone.now() > row.lease_until, within=LEASE_SECONDS + 2, what="the lease expired")
        assert outbox.sweep() == 1
        _wait(
            lambda: not OutboxMessage.objects.exclude(status=OutboxStatus.SENT).exists(),
            within=30,
            what="the whole batch sent",
            process=running.process,
        )
        assert outbox.sweep() == 0
        time.sleep(1)
    sends = _sends(first.mail_dir) + _sends(second.mail_dir)
    assert sends == {message.pk: 1 for message in batch}, sends
    row.refresh_from_db()
    assert (row.status, row.attempts) == (OutboxStatus.SENT, 2)
