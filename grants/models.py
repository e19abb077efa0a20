"""Programmes, calls (公募) and their themes: data, edited in the admin, never code.

A call's window, cap, rate, eligible applicant types, themes and area rule are all fields, so
the next call is configured by an administrator.
"""

import datetime as dt

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _


def localized(obj, field: str) -> str:
    """The English variant of ``field`` on English pages when it is filled in."""
    if (get_language() or "ja").startswith("en"):
        english = getattr(obj, f"{field}_en", "")
        if english:
            return english
    return getattr(obj, field)


class ApplicantType(models.Model):
    """法人種別: the legal form of an applicant organisation (NPO法人, 社会福祉法人, …)."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name (Japanese)"), max_length=60)
    name_en = models.CharField(_("name (English)"), max_length=80, blank=True)
    # 任意団体 (unincorporated associations) have no 法人番号.
    has_corporate_number = models.BooleanField(_("has a corporate number (法人番号)"), default=True)
    is_non_profit = models.BooleanField(_("non-profit"), default=True)
    order = models.PositiveSmallIntegerField(_("display order"), default=0)

    class Meta:
        ordering = ("order", "id")
        verbose_name = _("applicant type")
        verbose_name_plural = _("applicant types")

    def __str__(self) -> str:
        return localized(self, "name")


class Programme(models.Model):
    """事業: a budgeted programme of the Cabinet Office under which calls are made."""

    name = models.CharField(_("name (Japanese)"), max_length=200)
    name_en = models.CharField(_("name (English)"), max_length=250, blank=True)
    owner = models.CharField(_("responsible office"), max_length=100, default="内閣府孤独・孤立対策推進室")
    purpose = models.TextField(_("purpose"), blank=True)
    purpose_en = models.TextField(_("purpose (English)"), blank=True)
    expected_effects = models.TextField(_("expected effects"), blank=True)

    class Meta:
        ordering = ("id",)
        verbose_name = _("programme")
        verbose_name_plural = _("programmes")

    def __str__(self) -> str:
        return localized(self, "name")


def default_reminder_offsets() -> list[int]:
    return [168, 72, 24, 3]


class CallState(models.TextChoices):
    BEFORE = "before", _("Not yet open")
    OPEN = "open", _("Open")
    CLOSED = "closed", _("Closed")


class AreaRule(models.TextChoices):
    NONE = "none", _("No rule")
    # 原則、一つの都道府県を超えた区域の事業が対象: below the rule needs a reason, not a refusal.
    WIDER_THAN_ONE_PREFECTURE = "multi_prefecture", _("In principle, a project area wider than one prefecture")


class Call(models.Model):
    """公募: one call for applications, with its window, cap and rules."""

    programme = models.ForeignKey(
        Programme, on_delete=models.PROTECT, related_name="calls", verbose_name=_("programme")
    )
    slug = models.SlugField(_("slug"), max_length=60, unique=True)
    title = models.CharField(_("title (Japanese)"), max_length=200)
    title_en = models.CharField(_("title (English)"), max_length=250, blank=True)
    fiscal_year = models.CharField(_("fiscal year"), max_length=40, blank=True, help_text="令和7年度")
    summary = models.TextField(_("summary"), blank=True)
    summary_en = models.TextField(_("summary (English)"), blank=True)
    menu = models.TextField(_("menu of eligible activities"), blank=True, help_text=_("One item per line."))
    is_practice = models.BooleanField(
        _("practice call"), default=False, help_text=_("A call for trying the portal; nothing is funded.")
    )
    opens_at = models.DateTimeField(_("opens at"), null=True, blank=True)
    closes_at = models.DateTimeField(_("closes at"), null=True, blank=True)
    closed_manually = models.BooleanField(
        _("closed regardless of the window"),
        default=False,
        help_text=_("For a past call recorded without its dates, or a call stopped early."),
    )
    cap_amount = models.PositiveBigIntegerField(
        _("cap per project (yen)"), null=True, blank=True, help_text=_("Leave empty when the call sets no cap.")
    )
    subsidy_rate_percent = models.PositiveSmallIntegerField(
        _("subsidy rate (%)"), default=100, help_text=_("100 = 10/10 of eligible costs.")
    )
    budget_total = models.PositiveBigIntegerField(_("budget (yen)"), null=True, blank=True)
    budget_label = models.CharField(_("budget label"), max_length=60, blank=True, help_text="6年度補正予算額")
    eligible_types = models.ManyToManyField(
        ApplicantType, related_name="calls", verbose_name=_("eligible applicant types"), blank=True
    )
    eligibility_note = models.TextField(_("eligibility note"), blank=True)
    area_rule = models.CharField(_("area rule"), max_length=20, choices=AreaRule.choices, default=AreaRule.NONE)
    receipt_prefix = models.CharField(
        _("receipt number prefix"), max_length=12, help_text=_("Receipt numbers read PREFIX-0001, PREFIX-0002, …")
    )
    summary_max_length = models.PositiveIntegerField(_("summary length limit (characters)"), default=400)
    published = models.BooleanField(_("published"), default=True)
    adoptions_published_at = models.DateTimeField(
        _("adopted projects published"), null=True, blank=True, help_text=_("Set by staff from the decisions page.")
    )
    # Hours before the close at which organisations with an unsubmitted draft are reminded.
    reminder_offsets_hours = models.JSONField(
        _("deadline reminders (hours before the close)"),
        default=default_reminder_offsets,
        blank=True,
        help_text=_("For example [168, 72, 24, 3]: 7 days, 3 days, 1 day and 3 hours before."),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ("-opens_at", "id")
        verbose_name = _("call")
        verbose_name_plural = _("calls")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(opens_at__isnull=True)
                | models.Q(closes_at__isnull=True)
                | models.Q(opens_at__lt=models.F("closes_at")),
                name="call_opens_before_it_closes",
            ),
            models.CheckConstraint(
                condition=models.Q(subsidy_rate_percent__gte=1, subsidy_rate_percent__lte=100),
                name="call_rate_between_1_and_100",
            ),
        ]

    def __str__(self) -> str:
        return localized(self, "title")

    def get_absolute_url(self) -> str:
        return reverse("grants:call_detail", args=[self.slug])

    def clean(self):
        offsets = self.reminder_offsets_hours
        if not isinstance(offsets, list) or not all(isinstance(h, int) and 0 < h <= 24 * 90 for h in offsets):
            raise ValidationError(_("Give the reminder offsets as a list of whole hours between 1 and 2160."))
        if (self.opens_at is None) != (self.closes_at is None):
            raise ValidationError(_("Give both the opening and the closing time, or neither."))
        if self.opens_at and self.closes_at and self.opens_at >= self.closes_at:
            raise ValidationError(_("The call must open before it closes."))

    def state_at(self, now: dt.datetime) -> CallState:
        """受付前 / 受付中 / 締切済 by the server clock. Open on [opens_at, closes_at)."""
        if self.closed_manually:
            return CallState.CLOSED
        if self.opens_at is None or now < self.opens_at:
            return CallState.BEFORE
        if now < self.closes_at:
            return CallState.OPEN
        return CallState.CLOSED

    @property
    def state(self) -> CallState:
        return self.state_at(timezone.now())

    @property
    def is_open(self) -> bool:
        return self.state == CallState.OPEN

    @property
    def has_window(self) -> bool:
        return self.opens_at is not None and self.closes_at is not None

    @property
    def menu_items(self) -> list[str]:
        return [line.strip() for line in self.menu.splitlines() if line.strip()]

    @property
    def localized_summary(self) -> str:
        return localized(self, "summary")


class Theme(models.Model):
    """テーマ: one of a call's themes (①–④), with its example initiatives (取組イメージ)."""

    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="themes", verbose_name=_("call"))
    number = models.PositiveSmallIntegerField(_("number"))
    title = models.CharField(_("title (Japanese)"), max_length=200)
    title_en = models.CharField(_("title (English)"), max_length=250, blank=True)
    examples = models.TextField(_("example initiatives"), blank=True, help_text=_("One example per line."))

    class Meta:
        ordering = ("call", "number")
        verbose_name = _("theme")
        verbose_name_plural = _("themes")
        constraints = [models.UniqueConstraint(fields=("call", "number"), name="theme_number_unique_per_call")]

    def __str__(self) -> str:
        return f"{self.marker} {localized(self, 'title')}"

    @property
    def marker(self) -> str:
        """①, ②, … as the Cabinet Office numbers its themes."""
        return chr(0x2460 + self.number - 1) if 1 <= self.number <= 20 else str(self.number)

    @property
    def example_list(self) -> list[str]:
        return [line.strip() for line in self.examples.splitlines() if line.strip()]


class ReminderKind(models.TextChoices):
    DEADLINE = "deadline", _("Call deadline (unsubmitted draft)")
    REVIEW = "review", _("Review due")
    REPORT = "report", _("Report due")


class ReminderStatus(models.TextChoices):
    PENDING = "pending", _("Waiting to be sent")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed; will be retried")
    CANCELLED = "cancelled", _("Not sent: no longer needed")


class Reminder(models.Model):
    """One reminder to one person: recorded under a unique key before it is sent, so the schedule
    running twice, two workers, or a worker stopped mid-run never send it twice."""

    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reminders")
    kind = models.CharField(_("kind"), max_length=20, choices=ReminderKind.choices)
    subject_key = models.CharField(_("about"), max_length=60, help_text="application:12, assignment:34")
    slot = models.CharField(_("reminder"), max_length=60, help_text="24h before 2025-05-30T12:00+09:00")
    status = models.CharField(
        _("status"), max_length=20, choices=ReminderStatus.choices, default=ReminderStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    last_attempt_at = models.DateTimeField(_("last attempt"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        ordering = ("-created_at", "-id")
        verbose_name = _("reminder")
        verbose_name_plural = _("reminders")
        constraints = [
            models.UniqueConstraint(fields=("recipient", "kind", "subject_key", "slot"), name="reminder_exactly_once")
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.subject_key} {self.slot} → {self.recipient_id}"


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
    """通知書: one per decided application; rendered once and e-mailed once by Celery tasks."""

    application = models.OneToOneField("applications.Application", on_delete=models.PROTECT, related_name="notice")
    batch = models.ForeignKey(NoticeBatch, on_delete=models.SET_NULL, null=True, blank=True, related_name="notices")
    kind = models.CharField(_("kind"), max_length=20, choices=NoticeKind.choices)
    document_number = models.CharField(_("document number"), max_length=30, unique=True)
    issued_on = models.DateField(_("date of the notice"))
    award_amount = models.PositiveBigIntegerField(_("award amount (yen)"), null=True, blank=True)
    pdf = models.FileField(upload_to="notices/", max_length=200, blank=True)
    generated_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
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
        return f"{self.application} ({self.get_status_display()})"


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

    class Meta:
        ordering = ("award", "submitted_at")
        verbose_name = _("report")
        verbose_name_plural = _("reports")
        constraints = [models.UniqueConstraint(fields=("award", "kind"), name="report_once_per_kind")]

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
        from applications.models import BudgetCategory  # the later layer, read lazily

        return BudgetCategory(self.category).label if self.category in BudgetCategory.values else self.category
