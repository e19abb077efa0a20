"""Organisations (団体) and their applications (申請) to calls."""

import functools
import uuid

from django.conf import settings
from django.db import models
from django.db.models.functions import Length
from django.db.models.lookups import LessThanOrEqual
from django.utils.translation import gettext_lazy as _

from calls.models import AreaRule
from kodoku_portal.limits import LONG_TEXT_MAX, LimitedTextField, with_length_checks
from kodoku_portal.prefectures import NATIONWIDE_LABEL, PREFECTURE_CHOICES, prefecture_name


class Organisation(models.Model):
    """団体: an applicant organisation, shared by its members."""

    name = models.CharField(_("organisation name"), max_length=200)
    name_kana = models.CharField(_("name in katakana (フリガナ)"), max_length=200, blank=True)
    applicant_type = models.ForeignKey(
        "calls.ApplicantType", on_delete=models.PROTECT, related_name="organisations", verbose_name=_("legal form")
    )
    # 法人番号: 13 digits, check digit first; empty for 任意団体.
    corporate_number = models.CharField(_("corporate number (法人番号)"), max_length=13, blank=True)
    # 団体コード (JIS X 0402 with its check digit): local governments only; empty for others.
    local_government_code = models.CharField(_("local government code (団体コード)"), max_length=6, blank=True)
    department = models.CharField(_("department (担当部署)"), max_length=100, blank=True)
    prefecture = models.CharField(_("prefecture"), max_length=2, choices=PREFECTURE_CHOICES)
    postal_code = models.CharField(_("postal code"), max_length=8, blank=True, help_text="100-0001")
    address = models.CharField(_("address"), max_length=200, blank=True)
    representative_title = models.CharField(_("representative's title"), max_length=60, blank=True)
    representative_name = models.CharField(_("representative's name"), max_length=60, blank=True)
    founded_on = models.DateField(_("founded on"), null=True, blank=True)
    staff_count = models.PositiveIntegerField(_("number of staff"), null=True, blank=True)
    volunteer_count = models.PositiveIntegerField(_("number of volunteers"), null=True, blank=True)
    annual_budget = models.PositiveBigIntegerField(_("annual budget (yen)"), null=True, blank=True)
    contact_name = models.CharField(_("contact person"), max_length=60, blank=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    email = models.EmailField(_("e-mail"), blank=True)
    website = models.URLField(_("website"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ("name",)
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")
        constraints = [
            models.UniqueConstraint(
                fields=("corporate_number",),
                condition=~models.Q(corporate_number=""),
                name="organisation_corporate_number_unique",
            ),
            models.UniqueConstraint(
                fields=("local_government_code",),
                condition=~models.Q(local_government_code=""),
                name="organisation_local_government_code_unique",
                violation_error_message=_("An organisation with this local government code is already registered."),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def name_with_prefecture(self) -> str:
        """団体名（所在都道府県） as the adoption lists print it."""
        return f"{self.name}（{prefecture_name(self.prefecture)}）"


class MemberRole(models.TextChoices):
    OWNER = "owner", _("Owner")
    EDITOR = "editor", _("Editor")


class Membership(models.Model):
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships", verbose_name=_("user")
    )
    role = models.CharField(_("role"), max_length=10, choices=MemberRole.choices, default=MemberRole.EDITOR)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [models.UniqueConstraint(fields=("organisation", "user"), name="membership_unique")]

    def __str__(self) -> str:
        return f"{self.user} @ {self.organisation}"


class ApplicationStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted")
    WITHDRAWN = "withdrawn", _("Withdrawn")
    ADOPTED = "adopted", _("Adopted")
    NOT_ADOPTED = "not_adopted", _("Not adopted")
    RESERVE = "reserve", _("Reserve list")


# The one transition table for an application's status (Application.TRANSITIONS): every change of
# status goes through kodoku_portal.workflow.change_state, which checks it.
APPLICATION_TRANSITIONS: dict[str, frozenset[str]] = {
    ApplicationStatus.DRAFT: frozenset({ApplicationStatus.SUBMITTED}),
    ApplicationStatus.SUBMITTED: frozenset(
        {
            ApplicationStatus.WITHDRAWN,
            ApplicationStatus.ADOPTED,
            ApplicationStatus.NOT_ADOPTED,
            ApplicationStatus.RESERVE,
        }
    ),
    # Decisions may be changed (or taken back) until the notice is issued; the decision service
    # refuses any change once a notice exists.
    ApplicationStatus.RESERVE: frozenset(
        {ApplicationStatus.ADOPTED, ApplicationStatus.NOT_ADOPTED, ApplicationStatus.SUBMITTED}
    ),
    ApplicationStatus.ADOPTED: frozenset(
        {ApplicationStatus.NOT_ADOPTED, ApplicationStatus.RESERVE, ApplicationStatus.SUBMITTED}
    ),
    ApplicationStatus.NOT_ADOPTED: frozenset(
        {ApplicationStatus.ADOPTED, ApplicationStatus.RESERVE, ApplicationStatus.SUBMITTED}
    ),
    ApplicationStatus.WITHDRAWN: frozenset(),
}

DECIDED_STATUSES = frozenset({ApplicationStatus.ADOPTED, ApplicationStatus.NOT_ADOPTED, ApplicationStatus.RESERVE})


def can_transition(current: str, target: str) -> bool:
    """Whether the table allows ``current`` → ``target`` (for callers that ask before changing)."""
    return target in Application.TRANSITIONS[current]


@with_length_checks
class Application(models.Model):
    """申請: one organisation's application to one call."""

    TRANSITIONS = APPLICATION_TRANSITIONS

    call = models.ForeignKey(
        "calls.Call", on_delete=models.PROTECT, related_name="applications", verbose_name=_("call")
    )
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="applications", verbose_name=_("organisation")
    )
    theme = models.ForeignKey(
        "calls.Theme",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="applications",
        verbose_name=_("theme"),
    )
    title = models.CharField(_("project name (事業名)"), max_length=200, blank=True)
    summary = LimitedTextField(_("summary (概要)"), blank=True, max_length=LONG_TEXT_MAX)
    # 事業区域: prefectures as JIS codes in the order given, and/or nationwide; area_description
    # keeps wording such as 「神奈川県を中心とした複数県」 exactly as the applicant wrote it.
    area_prefectures = models.JSONField(_("project area: prefectures"), default=list, blank=True)
    area_nationwide = models.BooleanField(_("project area: nationwide"), default=False)
    area_description = models.CharField(_("project area as written"), max_length=200, blank=True)
    # Why a project below the call's area rule should still be considered (原則 is not a refusal).
    area_reason = LimitedTextField(_("reason for a smaller project area"), blank=True, max_length=LONG_TEXT_MAX)
    # 目的, 対象者, 事業内容, 実施体制, 連携先, 期待される成果, スケジュール: answers to the call's form
    # (section 事業の内容, calls/standard_form.py), no longer columns (migration 0012).
    period_start = models.DateField(_("project starts"), null=True, blank=True)
    period_end = models.DateField(_("project ends"), null=True, blank=True)
    # Sum of the budget lines, kept by the service that saves them.
    requested_amount = models.PositiveBigIntegerField(_("requested amount (yen)"), default=0)
    # Optimistic locking: every accepted save increments it; a save based on an older one is refused.
    version = models.PositiveIntegerField(_("version"), default=1)
    note = models.CharField(_("note"), max_length=200, blank=True)
    # The version of the call's application form (calls.FormVersion) this application answers: set
    # when its first answer is saved, moved only by the organisation (answers.form_version_move).
    form_version = models.ForeignKey(
        "calls.FormVersion",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="applications",
        verbose_name=_("application form version"),
    )
    status = models.CharField(
        _("status"), max_length=20, choices=ApplicationStatus.choices, default=ApplicationStatus.DRAFT
    )
    receipt_number = models.CharField(_("receipt number"), max_length=30, null=True, blank=True, unique=True)
    submitted_at = models.DateTimeField(_("received at"), null=True, blank=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("submitted by"),
    )
    withdrawn_at = models.DateTimeField(_("withdrawn at"), null=True, blank=True)
    # When the organisation was told the decision (its notice e-mailed); until then a decision
    # stays internal. Written only by services.application_disclose_decision.
    decision_disclosed_at = models.DateTimeField(_("decision disclosed at"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("updated by"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ("call", "receipt_number", "id")
        verbose_name = _("application")
        verbose_name_plural = _("applications")
        # The sorts and filters of the paged staff lists (kodoku_portal/paging.py, issue 14).
        indexes = [
            models.Index(fields=("call", "receipt_number", "id"), name="application_call_receipt"),
            models.Index(fields=("call", "requested_amount", "id"), name="application_call_amount"),
            models.Index(fields=("call", "status", "receipt_number", "id"), name="application_call_status"),
        ]
        constraints = [
            # One live application per organisation and call; a withdrawn one may be followed by another.
            models.UniqueConstraint(
                fields=("call", "organisation"),
                condition=~models.Q(status="withdrawn"),
                name="application_one_live_per_call_and_organisation",
            ),
        ]

    def __str__(self) -> str:
        return self.title or f"#{self.pk}"

    @property
    def audit_label(self) -> str:
        """How the audit trail names it: the receipt number once there is one (PRACTICE-0004)."""
        return self.receipt_number or str(self)

    @property
    def decision_is_disclosed(self) -> bool:
        """The decision may be shown to the organisation: it is decided and it has been told."""
        return self.status in DECIDED_STATUSES and self.decision_disclosed_at is not None

    def validate_constraints(self, exclude=None) -> None:
        """Django's check, less the LENGTH checks (``@with_length_checks``) of the long texts left
        out of it (``exclude``, e.g. by the draft form, whose own fields check the same
        max_length): Django would build each one's query only to find its column excluded and
        skip it (about 0.3 ms each, nine on every autosave). Nothing else changes."""
        excluded = set(exclude or ())
        self._constraints_skipped = {name for name, field in length_checks().items() if field in excluded}
        try:
            super().validate_constraints(exclude)
        finally:
            self._constraints_skipped = set()

    def get_constraints(self):
        skipped = getattr(self, "_constraints_skipped", None)
        constraints = super().get_constraints()
        if not skipped:
            return constraints
        return [(model, [c for c in listed if c.name not in skipped]) for model, listed in constraints]

    @property
    def status_as_shown(self) -> ApplicationStatus:
        """The state the organisation is shown: a decision stays internal (the application reads
        as submitted) until it is disclosed. Every applicant page asks this, never ``status``."""
        if self.status in DECIDED_STATUSES and not self.decision_is_disclosed:
            return ApplicationStatus.SUBMITTED
        return ApplicationStatus(self.status)

    @property
    def status_for_applicant(self) -> str:
        return self.status_as_shown.label

    @property
    def below_area_rule(self) -> bool:
        """True when the call asks for more than one prefecture and this project covers one or none."""
        return (
            self.call.area_rule == AreaRule.WIDER_THAN_ONE_PREFECTURE
            and not self.area_nationwide
            and len(self.area_prefectures) <= 1
        )

    @property
    def area_display(self) -> str:
        """事業区域 as shown and exported: the applicant's wording, else the areas in order."""
        if self.area_description:
            return self.area_description
        parts = [prefecture_name(code) for code in self.area_prefectures]
        if self.area_nationwide:
            parts.append(str(NATIONWIDE_LABEL))
        return " ".join(parts)


class ReceiptCounter(models.Model):
    """The last receipt number issued per call (row-locked while a number is taken)."""

    call = models.OneToOneField("calls.Call", on_delete=models.CASCADE, related_name="receipt_counter")
    last = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.call_id}: {self.last}"


@functools.cache
def length_checks() -> dict[str, str]:
    """The application's LENGTH check constraints: constraint name → the column's field name."""
    found = {}
    for constraint in Application._meta.constraints:
        condition = getattr(constraint, "condition", None)
        if isinstance(condition, LessThanOrEqual) and isinstance(condition.lhs, Length):
            found[constraint.name] = condition.lhs.source_expressions[0].name
    return found


class BudgetCategory(models.TextChoices):
    """費目: the customary expense categories of Japanese grant budgets."""

    HONORARIA = "honoraria", _("Honoraria (謝金)")
    TRAVEL = "travel", _("Travel (旅費)")
    MEETINGS = "meetings", _("Meetings (会議費)")
    RENTAL = "rental", _("Rental and hire (借料・損料)")
    SUPPLIES = "supplies", _("Supplies (消耗品費)")
    PRINTING = "printing", _("Printing and binding (印刷製本費)")
    COMMUNICATION = "communication", _("Postage and communication (通信運搬費)")
    OUTSOURCING = "outsourcing", _("Outsourcing (委託費)")
    PERSONNEL = "personnel", _("Personnel (人件費)")
    OTHER = "other", _("Other (その他)")


class BudgetLine(models.Model):
    """One line of an application's budget: 費目 · 内容 · 単価 × 数量 = 金額."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="budget_lines")
    position = models.PositiveSmallIntegerField(default=0)
    category = models.CharField(_("expense category"), max_length=20, choices=BudgetCategory.choices)
    description = models.CharField(_("details"), max_length=200)
    quantity = models.PositiveIntegerField(_("quantity"))
    unit_price = models.PositiveBigIntegerField(_("unit price (yen)"))
    amount = models.PositiveBigIntegerField(_("amount (yen)"))

    class Meta:
        ordering = ("application", "position", "id")
        verbose_name = _("budget line")
        verbose_name_plural = _("budget lines")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(amount=models.F("quantity") * models.F("unit_price")),
                name="budget_line_amount_is_quantity_times_unit_price",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_category_display()} {self.description}"


class AttachmentKind(models.TextChoices):
    """Documents customarily attached to a Japanese grant application."""

    ARTICLES = "articles", _("Articles of association (定款)")
    OFFICERS = "officers", _("List of officers (役員名簿)")
    ACTIVITY_REPORT = "activity_report", _("Activity report (事業報告書)")
    FINANCIAL_STATEMENT = "financial_statement", _("Statement of activities (活動計算書)")
    BALANCE_SHEET = "balance_sheet", _("Balance sheet (貸借対照表)")
    OTHER = "other", _("Other")


def attachment_path(instance, filename: str) -> str:
    """A random name: the original name is kept in the row, never used on disk."""
    return f"attachments/{instance.application_id}/{uuid.uuid4().hex}"


class ScanStatus(models.TextChoices):
    """What the virus scan (kodoku_portal/scanning.py) found in an uploaded file."""

    NOT_SCANNED = "not_scanned", _("Not scanned")
    PENDING = "pending", _("Being checked")
    CLEAN = "clean", _("No problem found")
    QUARANTINED = "quarantined", _("Quarantined")
    ERROR = "error", _("Check failed")


class ScannedFile(models.Model):
    """The virus check of an uploaded file (applications/scans.py), shared by every model holding
    one (an application's attachment here; a report's evidence and an award's documents in grants).

    ``scan_status`` is created pending when ATTACHMENT_SCAN_COMMAND is set (not scanned when it
    is not) and moves through ``TRANSITIONS`` by the workflow only; the file is served only when
    clean or not scanned (``may_be_opened``); a quarantined file is never served."""

    TRANSITIONS: dict[str, frozenset[str]] = {
        ScanStatus.NOT_SCANNED: frozenset(),
        ScanStatus.PENDING: frozenset({ScanStatus.CLEAN, ScanStatus.QUARANTINED, ScanStatus.ERROR}),
        # A failed check is retried (kodoku_portal/jobs.py); its next verdict replaces it.
        ScanStatus.ERROR: frozenset({ScanStatus.CLEAN, ScanStatus.QUARANTINED}),
        ScanStatus.CLEAN: frozenset(),
        ScanStatus.QUARANTINED: frozenset(),
    }
    # The states in which the file may be served (to members, reviewers, staff).
    OPENABLE = frozenset({ScanStatus.CLEAN, ScanStatus.NOT_SCANNED})

    scan_status = models.CharField(
        _("virus check"), max_length=12, choices=ScanStatus.choices, default=ScanStatus.NOT_SCANNED
    )
    scan_detail = models.TextField(_("virus check result"), blank=True, default="")
    scanned_at = models.DateTimeField(_("checked at"), null=True, blank=True)

    class Meta:
        abstract = True

    @property
    def may_be_opened(self) -> bool:
        """Whether the file may be served: clean, or not scanned (scanning disabled)."""
        return self.scan_status in self.OPENABLE

    def scan_call_id(self) -> int | None:
        """The call the file's audit entries are filed under (each model says how it reaches it)."""
        raise NotImplementedError


class UploadedFile(ScannedFile):
    """What every stored upload records besides its file (whose path each model chooses): the name
    it was uploaded under, its checked type, its size, who uploaded it and when."""

    original_name = models.CharField(_("file name"), max_length=200)
    file_type = models.CharField(_("file type"), max_length=10)
    size = models.PositiveBigIntegerField(_("size (bytes)"))
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    uploaded_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return self.original_name


class Attachment(UploadedFile):
    """A file attached to an application: stored outside the web root, served only through a view.

    Its virus check is :class:`ScannedFile`'s (applications/scans.py)."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="attachments")
    kind = models.CharField(_("document type"), max_length=30, choices=AttachmentKind.choices)
    file = models.FileField(upload_to=attachment_path, max_length=200)

    class Meta:
        ordering = ("application", "uploaded_at", "id")
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")

    @property
    def audit_label(self) -> str:
        """The audit trail names a file by its application's receipt number and its name."""
        return f"{self.application.audit_label}: {self.original_name}"

    def scan_call_id(self) -> int | None:
        return self.application.call_id


class RefusedSaveReason(models.TextChoices):
    CONFLICT = "conflict", _("Someone else saved a newer version first")
    CLOSED = "closed", _("The call had closed")
    NOT_DRAFT = "not_draft", _("The application was no longer a draft")


class RefusedSave(models.Model):
    """What a member typed but the portal could not save: kept, so nothing typed is ever lost."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="refused_saves")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    reason = models.CharField(_("reason"), max_length=20, choices=RefusedSaveReason.choices)
    based_on_version = models.PositiveIntegerField()
    data = models.JSONField()
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    dismissed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at", "-id")
        verbose_name = _("unsaved input")
        verbose_name_plural = _("unsaved input")

    def __str__(self) -> str:
        return f"{self.application_id} {self.reason} {self.created_at:%Y-%m-%d %H:%M}"


class Invitation(models.Model):
    """An invitation to join an organisation, sent by e-mail by an owner."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField(_("e-mail address"))
    role = models.CharField(_("role"), max_length=10, choices=MemberRole.choices, default=MemberRole.EDITOR)
    token = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ("-created_at",)
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")

    def __str__(self) -> str:
        return f"{self.email} → {self.organisation}"


class Receipt(models.Model):
    """受付票: the receipt PDF of a submission, rendered once (with its first mail) and kept for the
    receipt page. Its mails are outbox messages of kind "receipt" about the application, one per
    address (sent, failed and retried there, like every mail of the portal)."""

    application = models.OneToOneField(Application, on_delete=models.CASCADE, related_name="receipt")
    pdf = models.FileField(upload_to="receipts/", max_length=200, blank=True)
    generated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("receipt")
        verbose_name_plural = _("receipts")

    def __str__(self) -> str:
        return f"受付票 {self.application.receipt_number}"


@with_length_checks
class Answer(models.Model):
    """One answer to a field of a call's application form (calls.FormField), per application and
    field key, stored in the column of its kind: ``text`` (short and long texts, a single choice),
    ``number`` (whole numbers and yen), ``date``, ``choices`` (a JSON list: multiple choice and
    prefecture codes) or ``attachment`` (a file slot). ``form_version`` is the version it was
    answered under; an answer to a field the application's version no longer has is kept and shown
    as "from an earlier version" (applications/answers.py)."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="answers")
    field_key = models.SlugField(_("field key"), max_length=60)
    form_version = models.ForeignKey(
        "calls.FormVersion", on_delete=models.PROTECT, related_name="answers", verbose_name=_("form version")
    )
    text = LimitedTextField(_("text"), blank=True, max_length=LONG_TEXT_MAX)
    number = models.BigIntegerField(_("number"), null=True, blank=True)
    date = models.DateField(_("date"), null=True, blank=True)
    choices = models.JSONField(_("choices"), null=True, blank=True)
    attachment = models.ForeignKey(
        Attachment, on_delete=models.SET_NULL, null=True, blank=True, related_name="answers", verbose_name=_("file")
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ("application", "id")
        verbose_name = _("answer")
        verbose_name_plural = _("answers")
        constraints = [
            models.UniqueConstraint(fields=("application", "field_key"), name="answer_one_per_application_and_field")
        ]

    def __str__(self) -> str:
        return f"{self.application_id}:{self.field_key}"
