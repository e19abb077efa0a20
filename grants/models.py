"""The top of the house: decisions, notices, awards and reports (reminders are outbox messages).

Programmes, calls and themes live in ``calls``; applications in ``applications``.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from applications.models import BudgetCategory
from calls.models import Call


class ReminderKind(models.TextChoices):
    """The outbox kinds of the reminders (kodoku_portal.models.OutboxMessage.kind)."""

    DEADLINE = "reminder_deadline", _("Call deadline (unsubmitted draft)")
    REVIEW = "reminder_review", _("Review due")
    REPORT = "reminder_report", _("Report due")


# --- decisions, notices, awards ----------------------------------------------------------------


class Decision(models.Model):
    """採否: the award amount and who decided. The outcome itself is the application's status."""

    application = models.OneToOneField("applications.Application", on_delete=models.CASCADE, related_name="decision")
    award_amount = models.PositiveBigIntegerField(_("award amount (yen)"), null=True, blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(_("decided at"))
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("decision")
        verbose_name_plural = _("decisions")

    def __str__(self) -> str:
        return f"{self.application} {self.award_amount}"


class NoticeKind(models.TextChoices):
    ADOPTED = "adopted", _("Notice of adoption (採択通知書)")
    NOT_ADOPTED = "not_adopted", _("Notice of non-adoption (不採択通知書)")


class NoticeBatch(models.Model):
    """One run of "send the notices of this call", for the progress bar."""

    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="notice_batches")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("-created_at",)
        verbose_name = _("notice batch")
        verbose_name_plural = _("notice batches")

    def __str__(self) -> str:
        return f"{self.call} {self.created_at:%Y-%m-%d %H:%M}"


class Notice(models.Model):
    """通知書: one per decided application. Its mails are outbox messages (kind "notice", one per
    address); the PDF is rendered once, when the first of them is sent, and kept here.
    ``emailed_at`` is when the first of its mails was sent (set by the outbox's "sent")."""

    application = models.OneToOneField("applications.Application", on_delete=models.PROTECT, related_name="notice")
    batch = models.ForeignKey(NoticeBatch, on_delete=models.SET_NULL, null=True, blank=True, related_name="notices")
    kind = models.CharField(_("kind"), max_length=20, choices=NoticeKind.choices)
    document_number = models.CharField(_("document number"), max_length=30, unique=True)
    issued_on = models.DateField(_("date of the notice"))
    award_amount = models.PositiveBigIntegerField(_("award amount (yen)"), null=True, blank=True)
    pdf = models.FileField(upload_to="notices/", max_length=200, blank=True)
    generated_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("document_number",)
        verbose_name = _("notice")
        verbose_name_plural = _("notices")

    def __str__(self) -> str:
        return self.document_number


class DocumentCounter(models.Model):
    """The last document number (府孤第N号) issued in a fiscal year; row-locked while taking one."""

    fiscal_year = models.PositiveSmallIntegerField(unique=True)
    last = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.fiscal_year}: {self.last}"


class AwardStatus(models.TextChoices):
    ADOPTED = "adopted", _("Adopted")  # 採択
    GRANTED = "granted", _("Grant decided")  # 交付決定
    REPORTED = "reported", _("Final report received")  # 実績報告
    CONFIRMED = "confirmed", _("Amount confirmed")  # 額の確定
    PAID = "paid", _("Paid")  # 支払


AWARD_TRANSITIONS: dict[str, frozenset[str]] = {
    AwardStatus.ADOPTED: frozenset({AwardStatus.GRANTED}),
    AwardStatus.GRANTED: frozenset({AwardStatus.REPORTED}),
    AwardStatus.REPORTED: frozenset({AwardStatus.CONFIRMED, AwardStatus.GRANTED}),  # GRANTED: report returned
    AwardStatus.CONFIRMED: frozenset({AwardStatus.PAID}),
    AwardStatus.PAID: frozenset(),
}


class Award(models.Model):
    """The life of an adopted project: 交付決定 → 実績報告 → 額の確定 → 支払."""

    TRANSITIONS = AWARD_TRANSITIONS

    application = models.OneToOneField("applications.Application", on_delete=models.PROTECT, related_name="award")
    status = models.CharField(_("status"), max_length=20, choices=AwardStatus.choices, default=AwardStatus.ADOPTED)
    granted_on = models.DateField(_("grant decided on"), null=True, blank=True)
    granted_amount = models.PositiveBigIntegerField(_("granted amount (yen)"), null=True, blank=True)
    progress_report_due = models.DateField(_("progress report due"), null=True, blank=True)
    final_report_due = models.DateField(_("final report due"), null=True, blank=True)
    confirmed_amount = models.PositiveBigIntegerField(_("confirmed amount (yen)"), null=True, blank=True)
    confirmed_on = models.DateField(_("amount confirmed on"), null=True, blank=True)
    paid_on = models.DateField(_("paid on"), null=True, blank=True)

    class Meta:
        verbose_name = _("award")
        verbose_name_plural = _("awards")

    def __str__(self) -> str:
        # What the audit trail and the staff read: the application's receipt number.
        return self.application.receipt_number or f"#{self.application_id}"

    def reports_open(self) -> list["ReportKind"]:
        """The kinds of report the organisation may file now: while the grant is decided
        (交付決定), each kind once. The one rule behind the report form, the report service and
        the report reminders (prefetch ``reports`` when asking for many awards)."""
        if self.status != AwardStatus.GRANTED:
            return []
        filed = {report.kind for report in self.reports.all() if report.returned_at is None}
        return [kind for kind in ReportKind if kind not in filed]


class ReportKind(models.TextChoices):
    PROGRESS = "progress", _("Progress report")
    FINAL = "final", _("Final report (実績報告)")


class Report(models.Model):
    award = models.ForeignKey(Award, on_delete=models.CASCADE, related_name="reports")
    kind = models.CharField(_("kind"), max_length=20, choices=ReportKind.choices)
    activities = models.TextField(_("activities done"))
    participants = models.PositiveIntegerField(_("participants"))
    results = models.TextField(_("results"))
    issues = models.TextField(_("issues"), blank=True)
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    submitted_at = models.DateTimeField(_("submitted at"))
    # Set when staff return the report to be filed again; a returned report stays on record.
    returned_at = models.DateTimeField(_("returned at"), null=True, blank=True)

    class Meta:
        ordering = ("award", "submitted_at")
        verbose_name = _("report")
        verbose_name_plural = _("reports")
        constraints = [
            models.UniqueConstraint(
                fields=("award", "kind"), condition=models.Q(returned_at__isnull=True), name="report_once_per_kind"
            )
        ]

    def __str__(self) -> str:
        return f"{self.award} {self.kind}"


class ReportCost(models.Model):
    """Actual costs by 費目 in a final report."""

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="costs")
    category = models.CharField(_("expense category"), max_length=20)
    amount = models.PositiveBigIntegerField(_("amount (yen)"))

    class Meta:
        verbose_name = _("actual cost")
        verbose_name_plural = _("actual costs")

    def __str__(self) -> str:
        return f"{self.category} {self.amount}"

    @property
    def category_label(self) -> str:
        return BudgetCategory(self.category).label if self.category in BudgetCategory.values else self.category
