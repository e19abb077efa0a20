"""The outbox: every e-mail the portal owes someone is a row, written in the transaction of the
change that causes it, and sent by a worker after commit — exactly once in the normal case.

Using it
--------
An app registers a *builder* per kind of message in its ``AppConfig.ready``::

    outbox.register("receipt", build_receipt_mail)   # (OutboxMessage) -> EmailMessage | None

and, inside the transaction of a change, enqueues (directly, or through ``change_state(mails=…)``)::

    outbox.enqueue(Mail("receipt", application, user.email, recipient=user, language=user.language))

The builder runs at *send* time in the worker, with the message's language active: it reads the
subject afresh, renders the text, may render and attach a PDF, and returns the Django
``EmailMessage`` (``to`` left empty means the row's ``to_email``) — or None when the message is no
longer needed (the draft was submitted before its reminder went out): the row is then cancelled.

The unique key (kind, subject_type, subject_id, to_email, slot) makes enqueueing idempotent: a
second enqueue of the same message returns the existing row and sends nothing more. ``slot``
tells repeated messages of one kind apart (reminders: "24h", an ISO datetime …).

Delivery protocol (:func:`deliver`)
-----------------------------------
1. Claim, in a short transaction: a conditional ``UPDATE … WHERE status is claimable`` (queued;
   failed and due; sending with an expired lease) sets status ``sending``, ``lease_until = now +
   OUTBOX_LEASE_SECONDS`` and ``attempts + 1``. Its row count decides who owns the attempt, on
   PostgreSQL and SQLite alike; on PostgreSQL ``SELECT … FOR UPDATE SKIP LOCKED`` first lets a
   second worker give up at once instead of waiting. ``attempts`` is the attempt's fencing token.
2. Build and send with no transaction open and no row lock held (SMTP and PDF rendering can be
   slow; a lock held across them would block the portal).
3. Mark ``sent`` (or ``cancelled`` / ``failed``) with an UPDATE conditional on ``status='sending'``
   and the same ``attempts``: an attempt whose lease was taken over cannot overwrite the newer one.
   A failure records ``last_error`` and ``next_attempt_at = now + 30 s · 2^(attempts-1)`` (at most
   1 h); after ``OUTBOX_MAX_ATTEMPTS`` (8) it stays failed with no next attempt until staff
   :func:`retry` it (which grants one more attempt each time).

Dispatch is ``transaction.on_commit(…deliver_message.delay…)``; when the broker is down the request
does not fail: the error is logged and :func:`sweep` (Celery beat, every OUTBOX_SWEEP_SECONDS)
re-dispatches what is due — queued rows not claimed within OUTBOX_DISPATCH_GRACE_SECONDS, failed
rows whose ``next_attempt_at`` has come, and ``sending`` rows whose lease has expired.

Exactly once, and the one exception (at-least-once)
---------------------------------------------------
Two workers never send the same message while a lease is live: the claim is exclusive and a
duplicate task finds the row sending (or sent) and does nothing. The one case that can repeat a
mail is a worker killed after the mail server accepted the message and before the row was marked
sent: the row stays ``sending``; nothing resends it before ``lease_until``; after the lease expires
the sweeper re-dispatches it and it is sent once more. The portal cannot tell that case from a
send that never happened, and prefers sending twice to not sending at all. Keep
OUTBOX_LEASE_SECONDS well above the longest build + send (PDF rendering included).

``next_attempt_at`` is "when the sweeper should look at this row again": the dispatch grace for
queued rows, the backoff for failed ones, the lease's end for sending ones, NULL once finished
(sent, cancelled, or failed for good). Status changes of outbox rows are infrastructure, not user
actions: this module is the one place that writes them, with conditional ``.update()`` calls, and
they are not audited.

Why not django-post-office (3.12.0 installs here)
-------------------------------------------------
Weighed and not used. It renders subject and body when the mail is queued (``render_on_delivery``
renders only its own database templates, and attachments are still made at queue time), whereas
our letters render their PDFs at send time from the current data and may turn out not to be
needed any more. It has no unique key per message (enqueueing twice queues two mails), no
"sending" state and no per-row lease: ``send_queued_mail`` serialises senders with one lock file
per host, so two worker containers may both send a queued mail, and a worker killed mid-send
leaves the mail queued to be sent again without any lease to bound it. Adding those would mean
wrapping most of it; the protocol above is about 200 lines.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import models, transaction
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.translation import gettext

from . import leases
from .models import OutboxMessage, OutboxStatus
from .refusals import Refused

DELIVER_TASK = "kodoku_portal.tasks.deliver_message"

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser

__all__ = [
    "Builder",
    "Mail",
    "OutboxMessage",
    "OutboxStatus",
    "deliver",
    "dispatch",
    "enqueue",
    "register",
    "registered_kinds",
    "retry",
    "sweep",
]

logger = logging.getLogger(__name__)

Builder = Callable[[OutboxMessage], EmailMessage | None]
_BUILDERS: dict[str, Builder] = {}
_LABELS: dict[str, str | Promise] = {}

ERROR_MAX = 2000
BACKOFF_BASE_SECONDS = 30
BACKOFF_MAX_SECONDS = 3600


def lease_seconds() -> int:
    """How long a claimed message belongs to the worker that claimed it (OUTBOX_LEASE_SECONDS, 300)."""
    return int(getattr(settings, "OUTBOX_LEASE_SECONDS", 300))


def max_attempts() -> int:
    """Automatic attempts before a message stays failed for staff (OUTBOX_MAX_ATTEMPTS, 8)."""
    return int(getattr(settings, "OUTBOX_MAX_ATTEMPTS", 8))


def dispatch_grace_seconds() -> int:
    """A queued message not claimed this long after its dispatch is dispatched again by the
    sweeper (OUTBOX_DISPATCH_GRACE_SECONDS, 120)."""
    return int(getattr(settings, "OUTBOX_DISPATCH_GRACE_SECONDS", 120))


def backoff(attempts: int) -> dt.timedelta:
    """The wait after the ``attempts``-th failed attempt: 30 s, 60 s, 120 s, … at most 1 hour."""
    return dt.timedelta(seconds=min(BACKOFF_MAX_SECONDS, BACKOFF_BASE_SECONDS * 2 ** max(0, attempts - 1)))


@dataclass(frozen=True)
class Mail:
    """A message to enqueue: what (``kind``), about what (``subject``), to whom, in which language.

    ``subject`` is a saved model instance, or a ``(model label, pk)`` pair such as
    ``("applications.Application", 12)``. ``slot`` separates repeated messages of one kind about
    one subject to one address. ``context`` holds small JSON parameters for the builder (ids,
    flags — not rendered text). ``call_id`` defaults to ``subject.call_id`` when it has one.
    """

    kind: str
    subject: models.Model | tuple[str, int]
    to_email: str
    recipient: AbstractBaseUser | None = None
    language: str = "ja"
    slot: str = ""
    context: dict[str, Any] = field(default_factory=dict)
    call_id: int | None = None

    @property
    def subject_type(self) -> str:
        """The subject's model label, e.g. "applications.Application"."""
        if isinstance(self.subject, models.Model):
            return self.subject._meta.label
        return self.subject[0]

    @property
    def subject_id(self) -> int:
        """The subject's primary key (the instance must be saved)."""
        pk = self.subject.pk if isinstance(self.subject, models.Model) else self.subject[1]
        if pk is None:
            raise ValueError("Mail.subject must be saved before the mail is enqueued")
        return int(pk)


def register(kind: str, build: Builder, *, label: str | Promise = "") -> None:
    """Use ``build`` for messages of ``kind`` (call it in ``AppConfig.ready``; a second call for
    the same kind replaces the builder). ``build(message)`` returns the ``EmailMessage`` to send,
    or None to cancel the message as no longer needed; an exception counts as a failed attempt.
    ``label`` (a lazy translation) is what staff pages call the kind."""
    _BUILDERS[kind] = build
    if label:
        _LABELS[kind] = label


def kind_label(kind: str) -> str:
    """What staff call a kind of message, in the active language (its code when it has no label)."""
    return str(_LABELS.get(kind, kind))


def registered_kinds() -> list[str]:
    """The kinds that have a builder, sorted."""
    return sorted(_BUILDERS)


def _require_transaction() -> None:
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError(
            "enqueue() must run inside the transaction of the change that causes the mail "
            "(transaction.atomic), so that the mail exists if and only if the change does"
        )


def enqueue(mail: Mail) -> OutboxMessage | None:
    """Record ``mail`` in the caller's transaction and dispatch it once that commits.

    Idempotent on the unique key: if the same message (kind, subject, address, slot) exists, it is
    returned unchanged and nothing more is sent. The address is stored trimmed and lower-cased.
    Returns None (and records nothing) when ``to_email`` is empty. ``RuntimeError`` outside a
    transaction.
    """
    _require_transaction()
    to_email = (mail.to_email or "").strip().lower()
    if not to_email:
        logger.info("outbox: %s about %s:%s has no address; nothing to send", mail.kind, *_subject(mail))
        return None
    subject_type, subject_id = _subject(mail)
    for name, value in (("kind", mail.kind), ("subject_type", subject_type), ("slot", mail.slot)):
        limit = OutboxMessage._meta.get_field(name).max_length
        if len(value) > limit:  # PostgreSQL would refuse it; SQLite would keep it whole
            raise ValueError(f"Mail {name} is longer than {limit} characters: {value!r}")
    call_id = mail.call_id
    if call_id is None and isinstance(mail.subject, models.Model):
        value = getattr(mail.subject, "call_id", None)
        call_id = value if isinstance(value, int) else None
    message, created = OutboxMessage.objects.get_or_create(
        kind=mail.kind,
        subject_type=subject_type,
        subject_id=subject_id,
        to_email=to_email,
        slot=mail.slot,
        defaults={
            "recipient": mail.recipient if getattr(mail.recipient, "pk", None) else None,
            "language": mail.language or settings.LANGUAGE_CODE,
            "context": dict(mail.context),
            "call_id": call_id,
            "next_attempt_at": timezone.now() + dt.timedelta(seconds=dispatch_grace_seconds()),
        },
    )
    if created:
        transaction.on_commit(functools.partial(dispatch, message.pk))
    return message


def _subject(mail: Mail) -> tuple[str, int]:
    return mail.subject_type, mail.subject_id


def dispatch(message_id: int) -> None:
    """Hand the message to a worker (``deliver_message.delay``). Never raises: when the broker
    cannot be reached the error is logged and the sweeper dispatches the message later."""
    try:
        leases.task_named(DELIVER_TASK).delay(message_id=message_id)
    except Exception:
        logger.exception("outbox message %s could not be dispatched; the sweeper will dispatch it", message_id)


# --- delivery ----------------------------------------------------------------------------------


STATES = leases.LeaseStates(queued=OutboxStatus.QUEUED, failed=OutboxStatus.FAILED, running=OutboxStatus.SENDING)


def _claim(message_id: int, now: dt.datetime) -> OutboxMessage | None:
    """Step 1: make this attempt the owner of the message, or return None if it cannot be."""
    claimed = leases.claim(
        OutboxMessage, message_id, now, states=STATES, lease_seconds=lease_seconds(), max_attempts=max_attempts()
    )
    return OutboxMessage.objects.select_related("recipient").get(pk=message_id) if claimed else None


def _settle(message: OutboxMessage, **values: Any) -> bool:
    """Step 3: record the outcome of this attempt, unless its lease was taken over meanwhile."""
    settled = leases.settle(message, states=STATES, **values)
    if not settled:
        logger.warning(
            "outbox message %s: attempt %s finished after its lease was taken over; outcome %s not recorded",
            message.pk,
            message.attempts,
            values.get("status"),
        )
    return settled


def _status(message_id: int) -> str:
    return leases.status_of(OutboxMessage, message_id)


def _fail(message: OutboxMessage, error: str, now: dt.datetime) -> None:
    exhausted = message.attempts >= max_attempts()
    _settle(
        message,
        status=OutboxStatus.FAILED,
        last_error=error[:ERROR_MAX],
        next_attempt_at=None if exhausted else now + backoff(message.attempts),
    )
    logger.warning(
        "outbox message %s (%s to %s) failed, attempt %s%s: %s",
        message.pk,
        message.kind,
        message.to_email,
        message.attempts,
        " (no more automatic attempts)" if exhausted else "",
        error[:300],
    )


def deliver(message_id: int, *, now: dt.datetime | None = None) -> str:
    """Claim, build and send one message, then record the outcome; returns its status afterwards.

    A message that is sent, cancelled, failed and not yet due, or held by another worker's live
    lease is left alone (its status is returned; "" if there is no such message). Build and send
    happen outside any transaction of this function: call it in autocommit mode (a task, or an
    on_commit callback), never inside a transaction. ``now`` (default: the clock) is for tests.
    """
    clock = now or timezone.now()
    message = _claim(message_id, clock)
    if message is None:
        return _status(message_id)
    build = _BUILDERS.get(message.kind)
    if build is None:
        _fail(message, f"no builder registered for outbox kind {message.kind!r}", clock)
        return _status(message_id)
    try:
        with translation.override(message.language or settings.LANGUAGE_CODE):
            email = build(message)
            if email is not None:
                if not (email.to or email.cc or email.bcc):
                    email.to = [message.to_email]
                email.send()
    except Exception as exc:  # noqa: BLE001 - any failure of a build or a send is an attempt that failed
        _fail(message, repr(exc), clock)
        return _status(message_id)
    if email is None:
        _settle(
            message,
            status=OutboxStatus.CANCELLED,
            cancelled_reason="no longer needed (the builder returned nothing)",
            next_attempt_at=None,
        )
    else:
        _settle(
            message,
            status=OutboxStatus.SENT,
            sent_at=now or timezone.now(),
            last_error="",
            next_attempt_at=None,
        )
    return _status(message_id)


def retry(message_id: int) -> None:
    """Staff: put a failed message back in the queue; it is dispatched when the transaction
    commits. Raises ``Refused(code="transition")`` unless the message is failed."""
    now = timezone.now()
    with transaction.atomic():
        updated = OutboxMessage.objects.filter(pk=message_id, status=OutboxStatus.FAILED).update(
            status=OutboxStatus.QUEUED,
            lease_until=None,
            next_attempt_at=now + dt.timedelta(seconds=dispatch_grace_seconds()),
        )
        if not updated:
            raise Refused(gettext("Only a failed message can be sent again."), code="transition")
        transaction.on_commit(functools.partial(dispatch, message_id))


def sweep(now: dt.datetime | None = None) -> int:
    """Dispatch again every message that is due; returns how many were dispatched.

    Due: queued and not claimed within the dispatch grace (its dispatch was lost); failed with
    ``next_attempt_at`` passed (put back in the queue); sending with an expired lease (the worker
    was lost — see the module docstring; after OUTBOX_MAX_ATTEMPTS it is marked failed instead).
    Each row's ``next_attempt_at`` moves on by the dispatch grace, so a message is not dispatched
    again at every sweep while its task waits in the broker.
    """
    now = now or timezone.now()
    grace = now + dt.timedelta(seconds=dispatch_grace_seconds())
    due = (
        OutboxMessage.objects.filter(
            next_attempt_at__lte=now,
            status__in=(OutboxStatus.QUEUED, OutboxStatus.FAILED, OutboxStatus.SENDING),
        )
        .order_by("next_attempt_at", "pk")
        .values_list("pk", "status", "attempts", "lease_until", "next_attempt_at")
    )
    dispatched = 0
    for pk, status, attempts, lease_until, next_attempt_at in due:
        same = OutboxMessage.objects.filter(pk=pk, status=status, attempts=attempts, next_attempt_at=next_attempt_at)
        if status == OutboxStatus.SENDING:
            if lease_until is not None and lease_until >= now:
                continue
            if attempts >= max_attempts():
                same.update(
                    status=OutboxStatus.FAILED,
                    lease_until=None,
                    next_attempt_at=None,
                    last_error=f"the worker was lost during attempt {attempts} (its lease expired)",
                )
                logger.warning("outbox message %s: worker lost on the last attempt; left failed", pk)
                continue
            moved = same.update(next_attempt_at=grace)
        elif status == OutboxStatus.FAILED:
            moved = same.update(status=OutboxStatus.QUEUED, next_attempt_at=grace)
        else:
            moved = same.update(next_attempt_at=grace)
        if moved:
            transaction.on_commit(functools.partial(dispatch, pk))
            dispatched += 1
    if dispatched:
        logger.info("outbox sweep: %s message(s) dispatched again", dispatched)
    return dispatched
