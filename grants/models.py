"""The top of the house: decisions, notices, awards and reports (reminders are outbox messages).

Programmes, calls and themes live in ``calls``; applications in ``applications``.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from applications.models import BudgetCategory, UploadedFile
from calls.models import Call
from kodoku_portal.limits import LONG_TEXT_MAX, NOTE_MAX, REASON_MAX, LimitedTextField, with_length_checks


class ReminderKind(models.TextChoices):
    """The outbox kinds of the reminders (kodoku_portal.models.OutboxMessage.kind)."""

    DEADLINE = "reminder_deadline", _("Call deadline (unsubmitted draft)")
    REVIEW = "reminder_review", _("Review due")
    REPORT = "reminder_report", _("Due date of an award (交付申請, report, refund)")


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
    RESERVE = "reserve", _("Notice of the reserve list (補欠通知書)")


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


class SignedDocument(models.Model):
    """What a signed official letter keeps for the public verification page (/verify/): the code it
    prints (first 16 hex digits of the SHA-256 of the canonical record of what it states, with
    ``verification_salt``; kodoku_portal/signing.py) and the SHA-256 of the signed file as kept and
    mailed. A letter rendered before signing was introduced has neither ("issued before signing")."""

    verification_salt = models.CharField(max_length=32, blank=True, editable=False)
    verification_code = models.CharField(_("verification code"), max_length=16, blank=True, editable=False)
    signed_sha256 = models.CharField(_("SHA-256 of the signed file"), max_length=64, blank=True, db_index=True)
    signed_with_test_certificate = models.BooleanField(default=False, editable=False)

    class Meta:
        abstract = True

    @property
    def is_signed(self) -> bool:
        return bool(self.signed_sha256)


class Notice(SignedDocument):
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


@with_length_checks
class NoticesSentOutside(models.Model):
    """A record that the decisions of some of a call's applications were notified outside the
    portal (a past round imported as already decided): who recorded it, when, when the notices
    were sent if that is known, and a note. Those applications get no notice from the portal
    (``services.notices_prepare`` leaves them out) and count as told, so the adopted list can be
    published (``services.notices_record_outside``)."""

    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="notices_sent_outside")
    applications = models.ManyToManyField(
        "applications.Application", related_name="notices_sent_outside", verbose_name=_("applications")
    )
    sent_on = models.DateField(_("notices sent on"), null=True, blank=True)
    note = LimitedTextField(_("note"), max_length=NOTE_MAX)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("recorded by")
    )
    recorded_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    class Meta:
        ordering = ("recorded_at", "id")
        verbose_name = _("notices sent outside the portal")
        verbose_name_plural = _("notices sent outside the portal")

    def __str__(self) -> str:
        return str(self.call)


@with_length_checks
class DecisionWindowOverride(models.Model):
    """Staff allowed decisions on a call before it closed (decisions otherwise wait until the
    call's window has closed: ``services.decision_record``); why, who and when."""

    call = models.OneToOneField(Call, on_delete=models.CASCADE, related_name="decision_window_override")
    reason = LimitedTextField(_("reason"), max_length=NOTE_MAX)
    allowed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("allowed by")
    )
    allowed_at = models.DateTimeField(_("allowed at"), auto_now_add=True)

    class Meta:
        verbose_name = _("decisions allowed before the call closes")
        verbose_name_plural = _("decisions allowed before the call closes")

    def __str__(self) -> str:
        return str(self.call)


class DocumentSeries(models.TextChoices):
    OFFICIAL = "official", _("Official (府孤第N号)")
    PRACTICE = "practice", _("Practice (練習用第N号)")


class DocumentCounter(models.Model):
    """The last document number issued in a fiscal year and series (the official 府孤第N号, or a
    practice call's own 練習用第N号); row-locked while taking one."""

    series = models.CharField(max_length=10, choices=DocumentSeries.choices, default=DocumentSeries.OFFICIAL)
    fiscal_year = models.PositiveSmallIntegerField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=("series", "fiscal_year"), name="document_counter_once")]

    def __str__(self) -> str:
        return f"{self.series} {self.fiscal_year}: {self.last}"


class AwardStatus(models.TextChoices):
    """The step an award is at (補助金適正化法). Side documents (progress reports, change requests,
    advance payments) have states of their own and do not move the award."""

    ADOPTED = "adopted", _("Adopted: grant application due")  # 採択 (交付申請待ち)
    APPLIED = "applied", _("Grant application received")  # 交付申請 (article 5)
    ACCEPTED = "accepted", _("Grant application accepted")  # 交付決定待ち
    GRANTED = "granted", _("Grant decided")  # 交付決定 (articles 6, 8)
    REPORTED = "reported", _("Final report received")  # 実績報告 (article 14)
    REPORT_ACCEPTED = "report_accepted", _("Final report accepted")  # 額の確定待ち
    CONFIRMED = "confirmed", _("Amount confirmed")  # 額の確定 (article 15)
    REFUND_ORDERED = "refund_ordered", _("Refund ordered")  # 返還命令 (article 18)
    CLOSED = "closed", pgettext_lazy("award step", "Closed")  # 精算払 paid, refund received, or nothing left to settle
    DECLINED = "declined", _("Declined")  # 辞退 / 申請の取下げ (article 9)


AWARD_TRANSITIONS: dict[str, frozenset[str]] = {
    # ADOPTED → GRANTED where the call has no separate grant application (the application serves).
    AwardStatus.ADOPTED: frozenset({AwardStatus.APPLIED, AwardStatus.GRANTED, AwardStatus.DECLINED}),
    # APPLIED → ADOPTED: returned for correction (差戻し), to be filed again.
    AwardStatus.APPLIED: frozenset({AwardStatus.ADOPTED, AwardStatus.ACCEPTED, AwardStatus.DECLINED}),
    AwardStatus.ACCEPTED: frozenset({AwardStatus.GRANTED, AwardStatus.DECLINED}),
    # → REFUND_ORDERED / CLOSED from GRANTED, REPORTED, REPORT_ACCEPTED (and CONFIRMED): the whole
    # grant decision cancelled (決定の取消, article 17(1)), with money to return or without.
    AwardStatus.GRANTED: frozenset(
        {AwardStatus.REPORTED, AwardStatus.DECLINED, AwardStatus.REFUND_ORDERED, AwardStatus.CLOSED}
    ),  # DECLINED: within the period
    AwardStatus.REPORTED: frozenset(
        {AwardStatus.GRANTED, AwardStatus.REPORT_ACCEPTED, AwardStatus.REFUND_ORDERED, AwardStatus.CLOSED}
    ),  # GRANTED: 差戻し
    AwardStatus.REPORT_ACCEPTED: frozenset({AwardStatus.CONFIRMED, AwardStatus.REFUND_ORDERED, AwardStatus.CLOSED}),
    AwardStatus.CONFIRMED: frozenset({AwardStatus.CLOSED, AwardStatus.REFUND_ORDERED}),
    AwardStatus.REFUND_ORDERED: frozenset({AwardStatus.CLOSED}),
    AwardStatus.CLOSED: frozenset(),
    AwardStatus.DECLINED: frozenset(),
}


@with_length_checks
class Award(models.Model):
    """The life of an adopted project, from 採択 to the last yen settled (the steps: AwardStatus)."""

    TRANSITIONS = AWARD_TRANSITIONS

    application = models.OneToOneField("applications.Application", on_delete=models.PROTECT, related_name="award")
    status = models.CharField(_("status"), max_length=20, choices=AwardStatus.choices, default=AwardStatus.ADOPTED)
    grant_application_due = models.DateField(_("grant application due"), null=True, blank=True)
    project_start = models.DateField(_("project starts"), null=True, blank=True)
    project_end = models.DateField(_("project ends"), null=True, blank=True)
    granted_on = models.DateField(_("grant decided on"), null=True, blank=True)
    granted_amount = models.PositiveBigIntegerField(_("granted amount (yen)"), null=True, blank=True)
    grant_conditions = LimitedTextField(_("conditions of the grant (記)"), blank=True, max_length=LONG_TEXT_MAX)
    decline_by = models.DateField(_("may decline until"), null=True, blank=True)
    declined_at = models.DateTimeField(_("declined at"), null=True, blank=True)
    decline_reason = LimitedTextField(_("reason for declining"), blank=True, max_length=REASON_MAX)
    abolished_on = models.DateField(_("discontinued on (中止・廃止)"), null=True, blank=True)
    progress_report_due = models.DateField(_("progress report due"), null=True, blank=True)
    final_report_due = models.DateField(_("final report due"), null=True, blank=True)
    confirmed_amount = models.PositiveBigIntegerField(_("confirmed amount (yen)"), null=True, blank=True)
    confirmed_on = models.DateField(_("amount confirmed on"), null=True, blank=True)
    # 決定の取消 (article 17(1)): the part of the 交付決定額 cancelled (in all), the day of the
    # last cancellation and its reason. What remains granted is granted_amount − cancelled_amount.
    cancelled_on = models.DateField(_("grant decision cancelled on (取消)"), null=True, blank=True)
    cancelled_amount = models.PositiveBigIntegerField(_("amount cancelled (yen)"), default=0)
    cancel_reason = LimitedTextField(_("reason for the cancellation"), blank=True, max_length=REASON_MAX)

    class Meta:
        verbose_name = _("award")
        verbose_name_plural = _("awards")

    def __str__(self) -> str:
        # What the audit trail and the staff read: the application's receipt number.
        return self.application.receipt_number or f"#{self.application_id}"

    def reports_open(self) -> list["ReportKind"]:
        """The kinds of report the organisation may file now: while the grant is decided
        (交付決定), each kind once (a returned report may be filed again); the progress report only
        where the call asks for one. The one rule behind the report form, the report service and
        the report reminders (prefetch ``reports`` and select ``application__call`` for many)."""
        if self.status != AwardStatus.GRANTED:
            return []
        filed = {report.kind for report in self.reports.all() if report.status != ReportStatus.RETURNED}
        kinds = [ReportKind.FINAL]
        if self.application.call.progress_report_step:
            kinds.insert(0, ReportKind.PROGRESS)
        return [kind for kind in kinds if kind not in filed]

    def budget_in_force(self) -> "BudgetVersion | None":
        """The last budget put in force (by the grant decision or an approved or minor change)."""
        return self.budget_versions.filter(in_force_from__isnull=False).order_by("-in_force_from", "-number").first()


# --- budgets, 交付申請 and changes ------------------------------------------------------------


class BudgetVersion(models.Model):
    """One version of an award's budget by 費目. Versions are never edited once made: the 交付申請
    makes one, each change request another; the one in force is the last put in force."""

    award = models.ForeignKey(Award, on_delete=models.CASCADE, related_name="budget_versions")
    number = models.PositiveSmallIntegerField(_("version"))
    in_force_from = models.DateTimeField(_("in force from"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("award", "number")
        verbose_name = _("budget version")
        verbose_name_plural = _("budget versions")
        constraints = [models.UniqueConstraint(fields=("award", "number"), name="budget_version_number_once")]

    def __str__(self) -> str:
        return f"{self.award} v{self.number}"

    @property
    def total(self) -> int:
        return sum(line.amount for line in self.lines.all())

    def by_category(self) -> dict[str, int]:
        totals: dict[str, int] = {}
        for line in self.lines.all():
            totals[line.category] = totals.get(line.category, 0) + line.amount
        return totals


class BudgetVersionLine(models.Model):
    version = models.ForeignKey(BudgetVersion, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField(default=0)
    category = models.CharField(_("expense category"), max_length=20, choices=BudgetCategory.choices)
    description = models.CharField(_("details"), max_length=200)
    amount = models.PositiveBigIntegerField(_("amount (yen)"))

    class Meta:
        ordering = ("version", "position", "id")
        verbose_name = _("budget line")
        verbose_name_plural = _("budget lines")

    def __str__(self) -> str:
        return f"{self.category} {self.amount}"


class GrantApplicationStatus(models.TextChoices):
    SUBMITTED = "submitted", _("Submitted")
    RETURNED = "returned", _("Returned for correction")  # 差戻し
    ACCEPTED = "accepted", _("Accepted")


class AccountType(models.TextChoices):
    ORDINARY = "ordinary", _("Ordinary (普通)")
    CURRENT = "current", _("Current (当座)")


@with_length_checks
class GrantApplication(models.Model):
    """交付申請書 (article 5): one filing. A returned filing stays on record with its reason; the
    organisation files again (the next number)."""

    TRANSITIONS = {
        GrantApplicationStatus.SUBMITTED: frozenset({GrantApplicationStatus.RETURNED, GrantApplicationStatus.ACCEPTED}),
        GrantApplicationStatus.RETURNED: frozenset(),
        GrantApplicationStatus.ACCEPTED: frozenset(),
    }

    award = models.ForeignKey(Award, on_delete=models.CASCADE, related_name="grant_applications")
    number = models.PositiveSmallIntegerField(_("filing"))
    status = models.CharField(
        _("status"), max_length=20, choices=GrantApplicationStatus.choices, default=GrantApplicationStatus.SUBMITTED
    )
    budget = models.OneToOneField(BudgetVersion, on_delete=models.PROTECT, related_name="grant_application")
    amount = models.PositiveBigIntegerField(_("amount applied for (yen)"))
    project_start = models.DateField(_("project starts"))
    project_end = models.DateField(_("project ends"))
    responsible_title = models.CharField(_("responsible person's title"), max_length=60, blank=True)
    responsible_name = models.CharField(_("responsible person"), max_length=60)
    responsible_phone = models.CharField(_("responsible person's phone"), max_length=20, blank=True)
    responsible_email = models.EmailField(_("responsible person's e-mail"), blank=True)
    bank_name = models.CharField(_("bank"), max_length=60)
    bank_code = models.CharField(_("bank code"), max_length=4)
    branch_name = models.CharField(_("branch"), max_length=60)
    branch_code = models.CharField(_("branch code"), max_length=3)
    account_type = models.CharField(_("account type"), max_length=10, choices=AccountType.choices)
    account_number = models.CharField(_("account number"), max_length=7)
    account_holder_kana = models.CharField(_("account holder (half-width katakana)"), max_length=60)
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    submitted_at = models.DateTimeField(_("submitted at"))
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)
    return_reason = LimitedTextField(_("reason for returning"), blank=True, max_length=LONG_TEXT_MAX)

    class Meta:
        ordering = ("award", "number")
        verbose_name = _("grant application")
        verbose_name_plural = _("grant applications")
        constraints = [models.UniqueConstraint(fields=("award", "number"), name="grant_application_number_once")]

    def __str__(self) -> str:
        return f"{self.award} 交付申請 {self.number}"

    @property
    def audit_label(self) -> str:
        return f"{self.award} 交付申請 {self.number}"


class ChangeKind(models.TextChoices):
    CHANGE = "change", _("Change of plan or budget (変更)")
    SUSPEND = "suspend", _("Suspension (中止)")
    ABOLISH = "abolish", _("Discontinuation (廃止)")


class ChangeStatus(models.TextChoices):
    MINOR = "minor", _("Recorded as a minor change")  # 軽微な変更: no approval needed
    PENDING = "pending", _("Awaiting approval")
    APPROVED = "approved", _("Approved")
    REFUSED = "refused", _("Not approved")
    WITHDRAWN = "withdrawn", _("Withdrawn")


@with_length_checks
class ChangeRequest(models.Model):
    """変更承認申請 (article 7), or 中止・廃止: the plan before and after, the budget proposed (a new
    version), the reason. A minor change (within the call's threshold) is recorded as MINOR and
    its budget is in force at once; the others wait for staff."""

    TRANSITIONS = {
        ChangeStatus.PENDING: frozenset({ChangeStatus.APPROVED, ChangeStatus.REFUSED, ChangeStatus.WITHDRAWN}),
        ChangeStatus.MINOR: frozenset(),
        ChangeStatus.APPROVED: frozenset(),
        ChangeStatus.REFUSED: frozenset(),
        ChangeStatus.WITHDRAWN: frozenset(),
    }

    award = models.ForeignKey(Award, on_delete=models.CASCADE, related_name="changes")
    number = models.PositiveSmallIntegerField(_("number"))
    kind = models.CharField(_("kind"), max_length=10, choices=ChangeKind.choices, default=ChangeKind.CHANGE)
    status = models.CharField(_("status"), max_length=10, choices=ChangeStatus.choices, default=ChangeStatus.PENDING)
    plan_before = LimitedTextField(_("plan before"), blank=True, max_length=LONG_TEXT_MAX)
    plan_after = LimitedTextField(_("plan after"), blank=True, max_length=LONG_TEXT_MAX)
    reason = LimitedTextField(_("reason"), max_length=LONG_TEXT_MAX)
    budget = models.OneToOneField(
        BudgetVersion, on_delete=models.PROTECT, null=True, blank=True, related_name="change_request"
    )
    effective_on = models.DateField(_("from"), null=True, blank=True)  # 中止・廃止: the day it stops
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(_("requested at"))
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_note = LimitedTextField(_("note on the decision"), blank=True, max_length=NOTE_MAX)

    class Meta:
        ordering = ("award", "number")
        verbose_name = _("change request")
        verbose_name_plural = _("change requests")
        constraints = [models.UniqueConstraint(fields=("award", "number"), name="change_request_number_once")]

    def __str__(self) -> str:
        return f"{self.award} 変更 {self.number}"

    @property
    def audit_label(self) -> str:
        return str(self)


class ReportKind(models.TextChoices):
    PROGRESS = "progress", _("Progress report")
    FINAL = "final", _("Final report (実績報告)")


class ReportStatus(models.TextChoices):
    SUBMITTED = "submitted", _("Submitted")
    RETURNED = "returned", _("Returned for correction")  # 差戻し: filed again as a new report
    ACCEPTED = "accepted", _("Accepted")


@with_length_checks
class Report(models.Model):
    """遂行状況報告 (article 12) or 実績報告 (article 14). A returned report stays on record with
    its reason and its lines' comments; the organisation files a new one."""

    TRANSITIONS = {
        ReportStatus.SUBMITTED: frozenset({ReportStatus.RETURNED, ReportStatus.ACCEPTED}),
        ReportStatus.RETURNED: frozenset(),
        ReportStatus.ACCEPTED: frozenset(),
    }

    award = models.ForeignKey(Award, on_delete=models.CASCADE, related_name="reports")
    status = models.CharField(_("status"), max_length=20, choices=ReportStatus.choices, default=ReportStatus.SUBMITTED)
    kind = models.CharField(_("kind"), max_length=20, choices=ReportKind.choices)
    activities = LimitedTextField(_("activities done"), max_length=LONG_TEXT_MAX)
    participants = models.PositiveIntegerField(_("participants"))
    results = LimitedTextField(_("results"), max_length=LONG_TEXT_MAX)
    issues = LimitedTextField(_("issues"), blank=True, max_length=LONG_TEXT_MAX)
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    submitted_at = models.DateTimeField(_("submitted at"))
    # Set when staff return the report to be filed again; a returned report stays on record.
    returned_at = models.DateTimeField(_("returned at"), null=True, blank=True)
    return_reason = LimitedTextField(_("reason for returning"), blank=True, max_length=LONG_TEXT_MAX)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)

    class Meta:
        ordering = ("award", "submitted_at")
        verbose_name = _("report")
        verbose_name_plural = _("reports")
        constraints = [
            models.UniqueConstraint(
                fields=("award", "kind"), condition=~models.Q(status="returned"), name="report_once_per_kind"
            )
        ]

    def __str__(self) -> str:
        return f"{self.award} {self.kind}"

    @property
    def audit_label(self) -> str:
        return f"{self.award} {self.get_kind_display()}"


class CostVerdict(models.TextChoices):
    PENDING = "pending", _("Not yet reviewed")
    ACCEPTED = "accepted", _("Eligible")
    NOT_ELIGIBLE = "not_eligible", _("Not eligible")
    MORE_NEEDED = "more_needed", _("More evidence needed")


@with_length_checks
class ReportCost(models.Model):
    """One line of actual costs in a final report, by 費目, with the evidence that proves it and
    staff's verdict on it (the eligible part counts towards 額の確定)."""

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="costs")
    position = models.PositiveSmallIntegerField(default=0)
    category = models.CharField(_("expense category"), max_length=20)
    description = models.CharField(_("details"), max_length=200, blank=True)
    amount = models.PositiveBigIntegerField(_("amount (yen)"))
    verdict = models.CharField(_("verdict"), max_length=20, choices=CostVerdict.choices, default=CostVerdict.PENDING)
    eligible_amount = models.PositiveBigIntegerField(_("eligible amount (yen)"), null=True, blank=True)
    comment = LimitedTextField(_("comment"), blank=True, max_length=LONG_TEXT_MAX)

    class Meta:
        ordering = ("report", "position", "id")
        verbose_name = _("actual cost")
        verbose_name_plural = _("actual costs")

    def __str__(self) -> str:
        return f"{self.category} {self.amount}"

    @property
    def category_label(self) -> str:
        return BudgetCategory(self.category).label if self.category in BudgetCategory.values else self.category


class EvidenceKind(models.TextChoices):
    RECEIPT = "receipt", _("Receipt (領収書)")
    INVOICE = "invoice", _("Invoice (請求書)")
    CONTRACT = "contract", _("Contract (契約書)")
    DELIVERABLE = "deliverable", _("Deliverable (成果物)")
    OTHER = "other", _("Other")


def evidence_path(instance: "Evidence", filename: str) -> str:
    # Never the uploaded name (it may hold anything): a random name under the award.
    import secrets

    return f"evidence/{instance.cost.report.award_id}/{secrets.token_hex(16)}"


class Evidence(UploadedFile):
    """A file proving a line of actual costs (領収書, 契約書, 成果物), with the invoice's
    適格請求書発行事業者 registration number (T + 13 digits) when one is given. Virus-checked as
    an application's attachment is (``ScannedFile``, applications/scans.py)."""

    cost = models.ForeignKey(ReportCost, on_delete=models.CASCADE, related_name="evidence")
    kind = models.CharField(_("document type"), max_length=20, choices=EvidenceKind.choices)
    invoice_number = models.CharField(_("registration number (T + 13 digits)"), max_length=14, blank=True)
    file = models.FileField(upload_to=evidence_path, max_length=200)

    class Meta:
        ordering = ("cost", "uploaded_at", "id")
        verbose_name = _("evidence")
        verbose_name_plural = _("evidence")

    @property
    def audit_label(self) -> str:
        return f"{self.cost.report.award}: {self.original_name}"

    def scan_call_id(self) -> int | None:
        return self.cost.report.award.application.call_id


class AwardDocumentPurpose(models.TextChoices):
    GRANT_APPLICATION = "grant_application", _("Grant application")
    CHANGE = "change", _("Change request")
    REPORT = "report", _("Report")


def award_document_path(instance: "AwardDocument", filename: str) -> str:
    import secrets

    return f"award-documents/{instance.award_id}/{secrets.token_hex(16)}"


class AwardDocument(UploadedFile):
    """An attachment of a grant application, a change request or a report (not a cost line's
    evidence): kept with the filing it came with. Virus-checked as an application's attachment is
    (``ScannedFile``, applications/scans.py)."""

    award = models.ForeignKey(Award, on_delete=models.CASCADE, related_name="documents")
    purpose = models.CharField(_("for"), max_length=20, choices=AwardDocumentPurpose.choices)
    grant_application = models.ForeignKey(
        GrantApplication, on_delete=models.CASCADE, null=True, blank=True, related_name="documents"
    )
    change = models.ForeignKey(ChangeRequest, on_delete=models.CASCADE, null=True, blank=True, related_name="documents")
    report = models.ForeignKey(Report, on_delete=models.CASCADE, null=True, blank=True, related_name="documents")
    title = models.CharField(_("document"), max_length=100)
    file = models.FileField(upload_to=award_document_path, max_length=200)

    class Meta:
        ordering = ("award", "uploaded_at", "id")
        verbose_name = _("award document")
        verbose_name_plural = _("award documents")

    @property
    def audit_label(self) -> str:
        return f"{self.award}: {self.original_name}"

    def scan_call_id(self) -> int | None:
        return self.award.application.call_id


# --- money ---------------------------------------------------------------------------------


class PaymentKind(models.TextChoices):
    ADVANCE = "advance", _("Advance payment (概算払)")
    SETTLEMENT = "settlement", _("Settlement (精算払)")


class PaymentStatus(models.TextChoices):
    REQUESTED = "requested", _("Requested")
    APPROVED = "approved", _("Approved, scheduled")
    REFUSED = "refused", _("Refused")
    PAID = "paid", _("Paid")


@with_length_checks
class Payment(models.Model):
    """Money to the organisation: 概算払 (requested by the organisation, approved by staff, before
    額の確定, never above the 交付決定額 in total) or 精算払 (the balance after 額の確定)."""

    TRANSITIONS = {
        PaymentStatus.REQUESTED: frozenset({PaymentStatus.APPROVED, PaymentStatus.REFUSED}),
        # APPROVED → REFUSED: a scheduled 精算払 withdrawn when the grant decision is cancelled
        # (article 17(3)) and nothing is left to pay.
        PaymentStatus.APPROVED: frozenset({PaymentStatus.PAID, PaymentStatus.REFUSED}),
        PaymentStatus.REFUSED: frozenset(),
        PaymentStatus.PAID: frozenset(),
    }

    award = models.ForeignKey(Award, on_delete=models.PROTECT, related_name="payments")
    kind = models.CharField(_("kind"), max_length=12, choices=PaymentKind.choices)
    status = models.CharField(_("status"), max_length=12, choices=PaymentStatus.choices)
    amount = models.PositiveBigIntegerField(_("amount (yen)"))
    reason = LimitedTextField(_("reason"), blank=True, max_length=LONG_TEXT_MAX)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    requested_at = models.DateTimeField(_("requested at"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_note = LimitedTextField(_("note"), blank=True, max_length=NOTE_MAX)
    scheduled_on = models.DateField(_("scheduled for"), null=True, blank=True)
    paid_on = models.DateField(_("paid on"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("award", "created_at", "id")
        verbose_name = _("payment")
        verbose_name_plural = _("payments")

    def __str__(self) -> str:
        return f"{self.award} {self.kind} {self.amount}"

    @property
    def audit_label(self) -> str:
        return f"{self.award} {self.get_kind_display()}"


class RefundCause(models.TextChoices):
    """Why money is ordered back: it decides whether 加算金 is owed (article 19(1))."""

    # 返還 after 額の確定 of what was paid above the confirmed amount (article 18(2)): 延滞金 only.
    OVERPAYMENT = "overpayment", _("Paid above the confirmed amount (article 18(2))")
    # 返還 after 決定の取消 (articles 17(1), 18(1)): 加算金 from each receipt, and 延滞金.
    CANCELLATION = "cancellation", _("Grant decision cancelled (articles 17(1), 18(1))")


@with_length_checks
class Refund(models.Model):
    """返還 (article 18): what was paid above the confirmed amount (18(2)) or above what remains
    granted after a cancellation (18(1)), ordered back with a due date; 加算金 (only for a
    cancellation) and 延滞金 (article 19) are computed when the money is received."""

    award = models.OneToOneField(Award, on_delete=models.PROTECT, related_name="refund")
    amount = models.PositiveBigIntegerField(_("amount to return (yen)"))
    ordered_on = models.DateField(_("ordered on"))
    due_on = models.DateField(_("due on"))
    received_on = models.DateField(_("received on"), null=True, blank=True)
    received_amount = models.PositiveBigIntegerField(_("amount received (yen)"), null=True, blank=True)
    additional_charge = models.PositiveBigIntegerField(_("加算金 (yen)"), null=True, blank=True)
    late_charge = models.PositiveBigIntegerField(_("延滞金 (yen)"), null=True, blank=True)
    note = LimitedTextField(_("note"), blank=True, max_length=NOTE_MAX)
    ordered_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    cause = models.CharField(_("cause"), max_length=12, choices=RefundCause.choices, default=RefundCause.OVERPAYMENT)

    class Meta:
        verbose_name = _("refund")
        verbose_name_plural = _("refunds")

    def __str__(self) -> str:
        return f"{self.award} {self.amount}"


# --- letters after 採択 ----------------------------------------------------------------------


class LetterKind(models.TextChoices):
    GRANT_DECISION = "grant_decision", _("Notice of grant decision (交付決定通知書)")
    CHANGE_APPROVED = "change_approved", _("Notice of change approval (変更承認通知書)")
    CHANGE_REFUSED = "change_refused", _("Notice of change refusal (変更不承認通知書)")
    CONFIRMATION = "confirmation", _("Notice of the confirmed amount (額の確定通知書)")
    REFUND_ORDER = "refund_order", _("Order to return (返還命令書)")
    PROMOTED = "promoted", _("Notice of adoption from the reserve list (繰上げ採択通知書)")
    RESERVE_CLOSED = "reserve_closed", _("Notice that the reserve list is closed (補欠解除通知書)")
    CANCELLATION = "cancellation", _("Notice of cancellation of the grant decision (交付決定取消通知書)")


# Letters a contract (委託) does not issue: they are acts under the subsidies Act.
SUBSIDY_ONLY_LETTERS = frozenset(
    {
        LetterKind.GRANT_DECISION,
        LetterKind.CHANGE_APPROVED,
        LetterKind.CHANGE_REFUSED,
        LetterKind.REFUND_ORDER,
        LetterKind.CANCELLATION,
    }
)


class LetterStatus(models.TextChoices):
    ISSUED = "issued", _("issued")
    REPLACED = "replaced", _("replaced by a reissued letter")
    WITHDRAWN = "withdrawn", _("withdrawn")


class Letter(SignedDocument):
    """An official letter after 採択, numbered per fiscal year (a practice call in its own series),
    rendered once as PDF and e-mailed once per address through the outbox (kind "letter").
    ``details`` holds what the letter states, frozen when it is issued (amounts, dates, items).
    A reissue (``letters.letter_reissue``) makes a new letter and marks this one replaced."""

    TRANSITIONS = {
        LetterStatus.ISSUED: frozenset({LetterStatus.REPLACED, LetterStatus.WITHDRAWN}),
        LetterStatus.REPLACED: frozenset(),
        LetterStatus.WITHDRAWN: frozenset(),
    }

    application = models.ForeignKey("applications.Application", on_delete=models.PROTECT, related_name="letters")
    award = models.ForeignKey(Award, on_delete=models.PROTECT, null=True, blank=True, related_name="letters")
    change = models.ForeignKey(ChangeRequest, on_delete=models.PROTECT, null=True, blank=True, related_name="letters")
    kind = models.CharField(_("kind"), max_length=20, choices=LetterKind.choices)
    document_number = models.CharField(_("document number"), max_length=30, unique=True)
    issued_on = models.DateField(_("date of the letter"))
    details = models.JSONField(default=dict, blank=True)
    pdf = models.FileField(upload_to="letters/", max_length=200, blank=True)
    generated_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)
    issued_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(_("status"), max_length=10, choices=LetterStatus.choices, default=LetterStatus.ISSUED)
    replaced_by = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="replaces", editable=False
    )
    status_changed_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ("issued_on", "id")
        verbose_name = _("letter")
        verbose_name_plural = _("letters")

    def __str__(self) -> str:
        return self.document_number
