"""Notices against the real services: a Celery worker with two processes (prefork), fed through
Redis, renders each notice once and sends each of its mails (one per address) exactly once,
however often its outbox message is dispatched.

The worker is another process that talks to the test database, so the data is committed
(``transaction=True``). It needs PostgreSQL and Redis; `.ci/run` sets DATABASE_URL and REDIS_URL,
so CI runs it. Tasks travel on a queue of this test's own (tests/support/worker.py). Locally:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/kodoku_notices REDIS_URL=redis://127.0.0.1:6379/1 \\
        .venv/bin/python -m pytest tests/grants/test_notices_services.py -s
"""

import collections
import os
import re
import signal
import time
from pathlib import Path

import pytest
from django.core import mail

from accounts.models import Role
from applications.models import ApplicationStatus
from grants import services
from grants.models import Award, Notice, NoticeBatch, NoticeKind
from kodoku_portal import outbox
from kodoku_portal.models import OutboxMessage, OutboxStatus
from tests.factories import ApplicationFactory, CallFactory, OrganisationFactory, UserFactory
from tests.support import worker

pytestmark = [
    pytest.mark.services,
    pytest.mark.skipif(bool(worker.missing_services()), reason=worker.missing_services() or "-"),
    pytest.mark.django_db(transaction=True),
]

TASK = "kodoku_portal.tasks.deliver_message"
# Three adopted, three not adopted and one on the reserve list: each gets a notice (補欠通知書 too).
OUTCOMES = [ApplicationStatus.ADOPTED, ApplicationStatus.NOT_ADOPTED] * 3 + [ApplicationStatus.RESERVE]
NOTICE_KINDS = {
    ApplicationStatus.ADOPTED: NoticeKind.ADOPTED,
    ApplicationStatus.NOT_ADOPTED: NoticeKind.NOT_ADOPTED,
    ApplicationStatus.RESERVE: NoticeKind.RESERVE,
}


def _log_count(log: Path, pattern: str) -> int:
    return len(re.findall(pattern, log.read_text(errors="replace")))


def test_a_two_process_worker_sends_each_notice_mail_once_however_often_it_is_asked(tmp_path, settings):
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

    queue = worker.new_queue("notices-test")
    mail_dir, private_dir = tmp_path / "mail", tmp_path / "private"
    settings.MEDIA_ROOT = private_dir  # where this process reads the PDFs the worker stored
    env = worker.child_env(mail_dir, DJANGO_PRIVATE_ROOT=str(private_dir))
    pidfile, log = tmp_path / "worker.pid", tmp_path / "worker.log"
    process = None
    passed = False
    try:
        process = worker.start(worker.worker_command(app="kodoku_portal", queue=queue, pidfile=pidfile), env, log)
        with worker.tasks_go_to(queue):
            # The batch: one outbox message per notice and address, dispatched on commit.
            _batch, first = services.notices_prepare(call=call, created_by=staff)
            ids = list(OutboxMessage.objects.filter(kind="notice").values_list("pk", flat=True))
            # Every message dispatched a second time, in reverse order, so that both worker
            # processes may hold the same message at once.
            for message_id in reversed(ids):
                outbox.dispatch(message_id)
            # And the batch again, while the worker is at it: nothing new is recorded.
            _batch, again = services.notices_prepare(call=call, created_by=staff)
        assert len(first) == 7 and set(again) <= set(first)
        assert len(ids) == 14  # the organisation and the submitter of each
        assert mail.outbox == []  # nothing ran in this process
        dispatched = 2 * len(ids)

        give_up = time.monotonic() + 90
        while (
            OutboxMessage.objects.exclude(status=OutboxStatus.SENT).exists()
            or _log_count(log, rf"{TASK}\[[^\]]+\] succeeded") < dispatched
        ):
            assert process.poll() is None, f"the worker exited with {process.returncode}"
            assert time.monotonic() < give_up, "the notices were not all sent within 90 s"
            time.sleep(0.25)
        time.sleep(3)  # anything still to come (a late duplicate) would show by now

        text = log.read_text(errors="replace")
        assert _log_count(log, rf"{TASK}\[[^\]]+\] received") == dispatched
        assert not re.search(r"failed, attempt|Retry in|raised|ERROR/", text)
        runners = set(re.findall(rf"/(ForkPoolWorker-\d+)\] Task {TASK}\[[^\]]+\] succeeded", text))
        assert len(runners) == 2, runners
        assert set(OutboxMessage.objects.values_list("status", "attempts")) == {(OutboxStatus.SENT, 1)}

        notices = {notice.document_number: notice for notice in Notice.objects.select_related("application")}
        assert len(notices) == 7
        assert {notice.application_id for notice in notices.values()} == set(applications)
        for notice in notices.values():
            decided = applications[notice.application_id].status
            assert notice.kind == NOTICE_KINDS[decided]
            assert notice.emailed_at and notice.generated_at and notice.pdf
        assert Award.objects.count() == 3 and NoticeBatch.objects.count() == 2
        # One PDF per notice, rendered once: a second rendering stored would be a second file.
        stored = sorted(path.name for path in (private_dir / "notices").iterdir())
        assert stored == sorted(Path(notice.pdf.name).name for notice in notices.values())

        # Exactly one mail per notice and address, each with the PDF on record.
        messages = worker.read_mails(mail_dir)
        assert len(messages) == 14, len(messages)
        mailed = collections.Counter()
        for message in messages:
            [attachment] = message.iter_attachments()
            number = attachment.get_filename().removesuffix(".pdf")
            notice = notices[number]
            application = notice.application
            [address] = str(message["To"]).split(", ")
            mailed[(number, address)] += 1
            with notice.pdf.open("rb") as stored_pdf:
                assert attachment.get_content() == stored_pdf.read()  # the very file on record
            assert address in {application.organisation.email.lower(), application.submitted_by.email}
            assert application.receipt_number in str(message["Subject"])
        assert sorted(mailed.values()) == [1] * 14
        passed = True
    finally:
        if process is not None:
            worker.stop(process, pidfile)
        worker.delete_queue(queue)
        if not passed and log.exists():
            print(f"\n===== {log.name} =====\n{log.read_text(errors='replace')}")
        leftovers = worker.processes_mentioning(queue)
        for pid in leftovers:  # only processes started by this test carry the queue's name
            os.kill(pid, signal.SIGKILL)
    assert process.poll() is not None
    assert leftovers == [], f"processes left running: {leftovers}"
