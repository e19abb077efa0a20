"""The ground floor's tables.

- ``AuditEntry``: the audit trail, append-only records of who changed what, written in the same
  transaction as the change (kodoku_portal/audit.py); the database refuses UPDATE and DELETE
  (kodoku_portal/append_only.py).
- ``OutboxMessage``: one row per e-mail the portal owes someone, written in the same transaction
  as the change that causes it and delivered by a worker (kodoku_portal/outbox.py).
- ``Job``: the same for background work that is not a mail (a virus scan), run by a worker
  (kodoku_portal/jobs.py).

Neither points up to an app's model: the subject of a message and the call of an entry are plain
columns (a model label and ids), so this floor stays free of upward references.
"""

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditEntry(models.Model):
    """Who did what to which object, with the values before and after, when and from where."""

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("person"),
    )
    action = models.CharField(_("action"), max_length=60)
    object_type = models.CharField(_("object type"), max_length=60)
    object_id = models.CharField(_("object id"), max_length=40)
    # str(obj) when the entry was written (e.g. a receipt number): readable after the object changes.
    object_repr = models.CharField(_("object"), max_length=200, blank=True, default="")
    # The call the object belongs to, for filtering a call's trail; a plain integer, not a foreign key.
    call_id = models.PositiveIntegerField(_("call"), null=True, blank=True, db_index=True)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    before = models.JSONField(_("before"), null=True, blank=True, encoder=DjangoJSONEncoder)
    after = models.JSONField(_("after"), null=True, blank=True, encoder=DjangoJSONEncoder)
    created_at = models.DateTimeField(_("when"), auto_now_add=True)

    class Meta:
        ordering = ("-created_at", "-id")
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit trail")
        indexes = [models.Index(fields=("object_type", "object_id"))]

    def __str__(self) -> str:
        """When and about what (the admin's titles), never the codes: the sentence is
        ``kodoku_portal.audit.describe``'s."""
        from .jp import format_datetime

        when = format_datetime(self.created_at) if self.created_at else ""
        return f"{when} {self.object_repr or f'#{self.object_id}'}".strip()

    # The database refuses changes too (append_only.py); these say so earlier and more plainly.
    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("audit entries are never changed")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("audit entries are never deleted")


class OutboxStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")


class OutboxMessage(models.Model):
    """One e-mail owed to one address about one subject: rendered and sent by a worker, once.

    The unique key (kind, subject, address, slot) makes enqueueing idempotent. Status changes are
    infrastructure, not user actions: only kodoku_portal/outbox.py writes them, with conditional
    UPDATEs (no audit entries).
    """

    TRANSITIONS: dict[str, frozenset[str]] = {
        OutboxStatus.QUEUED: frozenset({OutboxStatus.SENDING, OutboxStatus.CANCELLED}),
        # sending → sending: a lease that expired is taken over by another attempt.
        OutboxStatus.SENDING: frozenset(
            {OutboxStatus.SENT, OutboxStatus.FAILED, OutboxStatus.CANCELLED, OutboxStatus.SENDING}
        ),
        # failed → queued: staff send it again by hand (outbox.retry).
        OutboxStatus.FAILED: frozenset({OutboxStatus.SENDING, OutboxStatus.QUEUED, OutboxStatus.CANCELLED}),
        OutboxStatus.SENT: frozenset(),
        OutboxStatus.CANCELLED: frozenset(),
    }

    kind = models.CharField(_("kind"), max_length=40)
    subject_type = models.CharField(_("subject type"), max_length=60)
    subject_id = models.PositiveBigIntegerField(_("subject id"))
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("recipient"),
    )
    to_email = models.EmailField(_("e-mail address"))
    language = models.CharField(_("language"), max_length=10, default="ja")
    slot = models.CharField(_("slot"), max_length=60, blank=True, default="")
    context = models.JSONField(_("context"), default=dict, blank=True, encoder=DjangoJSONEncoder)
    call_id = models.PositiveIntegerField(_("call"), null=True, blank=True, db_index=True)

    status = models.CharField(_("status"), max_length=10, choices=OutboxStatus.choices, default=OutboxStatus.QUEUED)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True, default="")
    lease_until = models.DateTimeField(_("lease until"), null=True, blank=True)
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True, db_index=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    cancelled_reason = models.CharField(_("reason for cancelling"), max_length=200, blank=True, default="")

    class Meta:
        ordering = ("-created_at", "-id")
        verbose_name = _("outgoing e-mail")
        verbose_name_plural = _("outbox")
        constraints = [
            models.UniqueConstraint(
                fields=("kind", "subject_type", "subject_id", "to_email", "slot"), name="outbox_message_once"
            )
        ]
        indexes = [
            models.Index(fields=("subject_type", "subject_id"), name="outbox_subject"),
            # The paged outbox and reminder lists, newest first, by status or kind (issue 14).
            models.Index(fields=("created_at", "id"), name="outbox_created"),
            models.Index(fields=("status", "created_at", "id"), name="outbox_status_created"),
            models.Index(fields=("kind", "created_at", "id"), name="outbox_kind_created"),
        ]

    def __str__(self) -> str:
        slot = f" [{self.slot}]" if self.slot else ""
        return f"{self.kind} {self.subject_type}:{self.subject_id} → {self.to_email}{slot}"


class JobStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class Job(models.Model):
    """One piece of background work that is not a mail (a virus scan, …): written in the
    transaction of the change that causes it, run by a worker after commit (kodoku_portal/jobs.py).

    The outbox's design without the mail: unique key (kind, subject, slot), a lease on the
    running attempt, retries with back-off, a sweeper. Status changes are infrastructure, not user
    actions: only kodoku_portal/jobs.py writes them, with conditional UPDATEs (no audit entries).
    """

    TRANSITIONS: dict[str, frozenset[str]] = {
        JobStatus.QUEUED: frozenset({JobStatus.RUNNING}),
        # running → running: a lease that expired is taken over by another attempt.
        JobStatus.RUNNING: frozenset({JobStatus.DONE, JobStatus.FAILED, JobStatus.RUNNING}),
        # failed → queued: due again after its back-off, or put back by staff (jobs.retry).
        JobStatus.FAILED: frozenset({JobStatus.RUNNING, JobStatus.QUEUED}),
        JobStatus.DONE: frozenset(),
    }

    kind = models.CharField(_("kind"), max_length=40)
    subject_type = models.CharField(_("subject type"), max_length=60)
    subject_id = models.PositiveBigIntegerField(_("subject id"))
    slot = models.CharField(_("slot"), max_length=60, blank=True, default="")
    context = models.JSONField(_("context"), default=dict, blank=True, encoder=DjangoJSONEncoder)

    status = models.CharField(_("status"), max_length=10, choices=JobStatus.choices, default=JobStatus.QUEUED)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True, default="")
    lease_until = models.DateTimeField(_("lease until"), null=True, blank=True)
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True, db_index=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        ordering = ("-created_at", "-id")
        verbose_name = _("background job")
        verbose_name_plural = _("background jobs")
        constraints = [models.UniqueConstraint(fields=("kind", "subject_type", "subject_id", "slot"), name="job_once")]
        indexes = [models.Index(fields=("subject_type", "subject_id"), name="job_subject")]

    def __str__(self) -> str:
        slot = f" [{self.slot}]" if self.slot else ""
        return f"{self.kind} {self.subject_type}:{self.subject_id}{slot}"
