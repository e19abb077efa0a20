"""The outbox in one process (tasks run in-process): one row per message, the claim/send/mark
protocol, backoff, attempts, cancelling, leases, staff retry, the sweeper, and no mail sent
inside a transaction. tests/kodoku_portal/test_outbox_worker.py runs it with a real worker."""

import datetime as dt
import logging

import pytest
from django.core import mail
from django.db import transaction
from django.utils import timezone

from kodoku_portal import outbox, tasks
from kodoku_portal.models import OutboxMessage, OutboxStatus
from kodoku_portal.outbox import Mail
from kodoku_portal.workflow import Refused, change_state
from tests.factories import UserFactory
from tests.support.mail import AtomicCheckingBackend, SentInsideTransaction
from tests.support.outbox import KIND, build_test_mail


@pytest.fixture(autouse=True)
def _test_builder(monkeypatch):
    monkeypatch.setitem(outbox._BUILDERS, KIND, build_test_mail)


def _mail(n: int = 1, **context) -> Mail:
    return Mail(KIND, ("tests.Subject", n), f"person{n}@example.jp", context=context)


def _enqueue(mail_: Mail) -> OutboxMessage:
    """Enqueue in a transaction of its own and leave the dispatch for the test to run."""
    with transaction.atomic():
        return outbox.enqueue(mail_)


def _sent_ids() -> list[int]:
    return [int(message.extra_headers["X-Outbox-Message"]) for message in mail.outbox]


def _row(message: OutboxMessage) -> OutboxMessage:
    return OutboxMessage.objects.get(pk=message.pk)


# --- enqueue ------------------------------------------------------------------------------------


def test_enqueueing_twice_gives_one_row_and_one_dispatch(db, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        first = _enqueue(_mail(1))
        second = _enqueue(Mail(KIND, ("tests.Subject", 1), " PERSON1@example.jp ", context={"other": 1}))
    assert first.pk == second.pk and OutboxMessage.objects.count() == 1
    assert len(callbacks) == 1  # the duplicate dispatches nothing
    assert _row(first).context == {}  # the first one stands
    # Another slot is another message.
    _enqueue(Mail(KIND, ("tests.Subject", 1), "person1@example.jp", slot="24h"))
    assert OutboxMessage.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_enqueue_needs_the_callers_transaction_and_an_address():
    with pytest.raises(RuntimeError, match="transaction"):
        outbox.enqueue(_mail(1))
    with transaction.atomic():
        assert outbox.enqueue(Mail(KIND, ("tests.Subject", 1), "  ")) is None
    with pytest.raises(ValueError, match="slot"), transaction.atomic():
        outbox.enqueue(Mail(KIND, ("tests.Subject", 1), "a@example.jp", slot="x" * 61))
    assert not OutboxMessage.objects.exists()


def test_a_message_about_a_model_instance_keeps_its_label_call_and_recipient(db):
    user = UserFactory(email="member@example.jp", language="en")
    message = _enqueue(Mail(KIND, user, user.email, recipient=user, language="en", call_id=5))
    message = _row(message)
    assert (message.subject_type, message.subject_id, message.recipient, message.language, message.call_id) == (
        "accounts.User",
        user.pk,
        user,
        "en",
        5,
    )
    assert message.status == OutboxStatus.QUEUED and message.attempts == 0
    assert message.next_attempt_at > timezone.now()  # the sweeper looks again after the dispatch grace


# --- deliver ------------------------------------------------------------------------------------


def test_deliver_sends_once_and_marks_sent(db):
    message = _enqueue(_mail(1))
    assert outbox.deliver(message.pk) == OutboxStatus.SENT
    assert outbox.deliver(message.pk) == OutboxStatus.SENT  # a duplicate task sends nothing
    assert _sent_ids() == [message.pk]
    assert mail.outbox[0].to == ["person1@example.jp"]  # the builder left `to` to the row
    row = _row(message)
    assert (row.status, row.attempts, row.last_error, row.lease_until, row.next_attempt_at) == (
        OutboxStatus.SENT,
        1,
        "",
        None,
        None,
    )
    assert row.sent_at is not None


def test_dispatch_on_commit_delivers_through_the_task(db, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        message = _enqueue(_mail(1))
    assert _row(message).status == OutboxStatus.SENT and _sent_ids() == [message.pk]
    assert tasks.deliver_message(message_id=message.pk) == OutboxStatus.SENT
    assert len(mail.outbox) == 1


def test_the_builder_runs_in_the_messages_language(db):
    ja = _enqueue(Mail(KIND, ("tests.Subject", 1), "a@example.jp", language="ja"))
    en = _enqueue(Mail(KIND, ("tests.Subject", 2), "b@example.jp", language="en"))
    outbox.deliver(ja.pk)
    outbox.deliver(en.pk)
    assert "日本語" in mail.outbox[0].body and "Japanese" in mail.outbox[1].body


def test_a_failure_is_recorded_and_retried_by_the_sweeper_after_the_backoff(db, django_capture_on_commit_callbacks):
    message = _enqueue(_mail(1, fail_attempts=1))
    now = timezone.now()
    assert outbox.deliver(message.pk, now=now) == OutboxStatus.FAILED
    row = _row(message)
    assert row.attempts == 1 and "fails on purpose" in row.last_error
    assert row.next_attempt_at == now + dt.timedelta(seconds=30)
    assert mail.outbox == []
    # Not due yet: neither a duplicate task nor the sweeper sends it.
    assert outbox.deliver(message.pk, now=now + dt.timedelta(seconds=10)) == OutboxStatus.FAILED
    with django_capture_on_commit_callbacks(execute=True):
        assert outbox.sweep(now=now + dt.timedelta(seconds=10)) == 0
    assert _row(message).attempts == 1
    # Due: the sweeper puts it back in the queue and dispatches it; the second attempt succeeds.
    with django_capture_on_commit_callbacks(execute=True):
        assert outbox.sweep(now=now + dt.timedelta(seconds=31)) == 1
    row = _row(message)
    assert (row.status, row.attempts, row.last_error) == (OutboxStatus.SENT, 2, "")
    assert _sent_ids() == [message.pk]


def test_backoff_doubles_up_to_an_hour():
    assert [outbox.backoff(n).total_seconds() for n in (1, 2, 3, 4, 7, 8, 20)] == [
        30,
        60,
        120,
        240,
        1920,
        3600,
        3600,
    ]


def test_after_the_last_attempt_it_waits_for_staff_and_retry_grants_one_more(
    db, settings, django_capture_on_commit_callbacks
):
    settings.OUTBOX_MAX_ATTEMPTS = 3
    message = _enqueue(_mail(1, fail_attempts=3))
    now = timezone.now()
    for attempt in (1, 2, 3):
        now += dt.timedelta(hours=1)
        assert outbox.deliver(message.pk, now=now) == OutboxStatus.FAILED
        assert _row(message).attempts == attempt
    row = _row(message)
    assert row.next_attempt_at is None  # no more automatic attempts
    far = now + dt.timedelta(days=30)
    assert outbox.deliver(message.pk, now=far) == OutboxStatus.FAILED and _row(message).attempts == 3
    assert outbox.sweep(now=far) == 0
    # Staff send it again: one more attempt, which (this time) succeeds.
    with django_capture_on_commit_callbacks(execute=True):
        outbox.retry(message.pk)
    row = _row(message)
    assert (row.status, row.attempts) == (OutboxStatus.SENT, 4)
    assert _sent_ids() == [message.pk]


def test_only_a_failed_message_can_be_retried(db):
    message = _enqueue(_mail(1))
    with pytest.raises(Refused) as refused:
        outbox.retry(message.pk)
    assert refused.value.code == "transition"
    outbox.deliver(message.pk)
    with pytest.raises(Refused):
        outbox.retry(message.pk)


def test_a_builder_returning_nothing_cancels_the_message(db):
    message = _enqueue(_mail(1, cancel=True))
    assert outbox.deliver(message.pk) == OutboxStatus.CANCELLED
    row = _row(message)
    assert row.cancelled_reason and row.next_attempt_at is None and mail.outbox == []
    assert outbox.deliver(message.pk) == OutboxStatus.CANCELLED


def test_a_kind_without_a_builder_fails_and_says_so(db):
    with transaction.atomic():
        message = outbox.enqueue(Mail("nobody-builds-this", ("tests.Subject", 1), "a@example.jp"))
    assert outbox.deliver(message.pk) == OutboxStatus.FAILED
    assert "no builder registered" in _row(message).last_error


def test_a_live_lease_is_not_stolen_an_expired_one_is(db, settings):
    settings.OUTBOX_LEASE_SECONDS = 300
    message = _enqueue(_mail(1))
    now = timezone.now()
    # A worker claims the message and dies before sending (or after: the outbox cannot tell).
    lost = outbox._claim(message.pk, now)
    assert lost is not None and lost.attempts == 1
    row = _row(message)
    assert row.status == OutboxStatus.SENDING and row.lease_until == now + dt.timedelta(seconds=300)
    # While the lease lives: another delivery and the sweeper leave it alone.
    assert outbox.deliver(message.pk, now=now + dt.timedelta(seconds=299)) == OutboxStatus.SENDING
    assert outbox.sweep(now=now + dt.timedelta(seconds=299)) == 0
    assert mail.outbox == [] and _row(message).attempts == 1
    # Once it has expired, the next delivery takes it over, sends it and marks it sent.
    assert outbox.deliver(message.pk, now=now + dt.timedelta(seconds=301)) == OutboxStatus.SENT
    assert _row(message).attempts == 2 and _sent_ids() == [message.pk]
    # The lost attempt, should it come back, cannot overwrite the outcome of the newer one.
    assert outbox._settle(lost, status=OutboxStatus.FAILED, last_error="late") is False
    assert _row(message).status == OutboxStatus.SENT


def test_the_sweeper_redispatches_an_expired_lease(db, django_capture_on_commit_callbacks):
    message = _enqueue(_mail(1))
    past = timezone.now() - dt.timedelta(minutes=10)
    outbox._claim(message.pk, past)  # its lease expired five minutes ago
    with django_capture_on_commit_callbacks(execute=True):
        assert outbox.sweep() == 1
    row = _row(message)
    assert (row.status, row.attempts) == (OutboxStatus.SENT, 2)
    with django_capture_on_commit_callbacks(execute=True):
        assert outbox.sweep() == 0


def test_a_worker_lost_on_the_last_attempt_leaves_the_message_failed(db, settings):
    settings.OUTBOX_MAX_ATTEMPTS = 1
    message = _enqueue(_mail(1))
    outbox._claim(message.pk, timezone.now() - dt.timedelta(minutes=10))
    assert outbox.sweep() == 0
    row = _row(message)
    assert row.status == OutboxStatus.FAILED and row.next_attempt_at is None and "lease expired" in row.last_error


def test_a_lost_dispatch_is_found_by_the_sweeper(db, monkeypatch, caplog, django_capture_on_commit_callbacks):
    def broker_down(**kwargs):
        raise ConnectionError("broker unreachable")

    monkeypatch.setattr(tasks.deliver_message, "delay", broker_down)
    with (
        caplog.at_level(logging.ERROR, logger="kodoku_portal.outbox"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        message = _enqueue(_mail(1))  # the commit (the request) does not fail
    assert "could not be dispatched" in caplog.text
    assert _row(message).status == OutboxStatus.QUEUED
    monkeypatch.undo()
    monkeypatch.setitem(outbox._BUILDERS, KIND, build_test_mail)
    with django_capture_on_commit_callbacks(execute=True):
        assert outbox.sweep() == 0  # within the dispatch grace: its task may still be on its way
    later = timezone.now() + dt.timedelta(seconds=outbox.dispatch_grace_seconds() + 1)
    with django_capture_on_commit_callbacks(execute=True):
        assert outbox.sweep(now=later) == 1
    assert _row(message).status == OutboxStatus.SENT
    # Its next look is moved on, so a slow queue does not get the same message at every sweep.
    queued = _enqueue(_mail(2))
    with django_capture_on_commit_callbacks() as callbacks:
        assert outbox.sweep(now=later) == 1
        assert outbox.sweep(now=later) == 0
    assert len(callbacks) == 1 and _row(queued).status == OutboxStatus.QUEUED


def test_the_sweep_task_is_scheduled(settings):
    schedule = settings.CELERY_BEAT_SCHEDULE["sweep-outbox"]
    assert schedule == {"task": "kodoku_portal.tasks.sweep_outbox", "schedule": settings.OUTBOX_SWEEP_SECONDS}
    from kodoku_portal.celery import app

    app.loader.import_default_modules()  # what a worker does at start: autodiscovery
    assert {"kodoku_portal.tasks.deliver_message", "kodoku_portal.tasks.sweep_outbox"} <= set(app.tasks)


# --- no mail inside a transaction ---------------------------------------------------------------


def test_the_checking_backend_refuses_a_send_inside_a_transaction(db):
    with pytest.raises(SentInsideTransaction), transaction.atomic():
        AtomicCheckingBackend().send_messages([mail.EmailMessage("s", "b", to=["a@example.jp"])])


@pytest.mark.django_db(transaction=True)
def test_mail_is_sent_after_commit_and_outside_any_transaction(settings):
    """Here on_commit really runs after the commit (no test transaction around it), in-process."""
    settings.EMAIL_BACKEND = "tests.support.mail.AtomicCheckingBackend"
    user = UserFactory(email="member@example.jp")
    with transaction.atomic():
        message = outbox.enqueue(_mail(1))
        # Through the workflow function too: a state change with its mail.
        row = OutboxMessage(kind="other", subject_type="x.Y", subject_id=1, to_email="x@example.jp")
        change_state(row, OutboxStatus.CANCELLED, by=user, action="cancelled", mails=[Mail(KIND, user, user.email)])
        assert mail.outbox == []  # nothing leaves before the commit
    sent = {m.extra_headers["X-Outbox-Message"]: m.to for m in mail.outbox}
    by_user = OutboxMessage.objects.get(subject_type="accounts.User")
    assert sent == {str(message.pk): ["person1@example.jp"], str(by_user.pk): ["member@example.jp"]}
    assert OutboxMessage.objects.filter(status=OutboxStatus.SENT).count() == 2
