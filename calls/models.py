"""Programmes, calls (公募) and their themes: data, edited in the admin, never code.

The bottom of the house above accounts: every later floor (applications, reviews, grants) reads a
call's window, cap, rate, eligible applicant types, themes and area rule from here, so the next
call is configured by an administrator. The tables keep their first names (``grants_*``): the
models moved here from ``grants`` without copying a row.
"""

import datetime as dt
from decimal import Decimal

from django.apps import apps
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models.signals import pre_delete
from django.dispatch import receiver
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from kodoku_portal.limits import LONG_TEXT_MAX, NOTE_MAX, LimitedTextField, with_length_checks


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
    # 地方公共団体: registers with its 団体コード (the 法人番号 and the prefecture follow from it)
    # and a department and contact person instead of a representative.
    is_local_government = models.BooleanField(_("local government (地方公共団体)"), default=False)
    order = models.PositiveSmallIntegerField(_("display order"), default=0)

    class Meta:
        db_table = "grants_applicanttype"
        ordering = ("order", "id")
        verbose_name = _("applicant type")
        verbose_name_plural = _("applicant types")

    def __str__(self) -> str:
        return localized(self, "name")


@with_length_checks
class Programme(models.Model):
    """事業: a budgeted programme of the Cabinet Office under which calls are made."""

    name = models.CharField(_("name (Japanese)"), max_length=200)
    name_en = models.CharField(_("name (English)"), max_length=250, blank=True)
    owner = models.CharField(_("responsible office"), max_length=100, default="内閣府孤独・孤立対策推進室")
    purpose = LimitedTextField(_("purpose"), blank=True, max_length=LONG_TEXT_MAX)
    purpose_en = LimitedTextField(_("purpose (English)"), blank=True, max_length=LONG_TEXT_MAX)
    expected_effects = LimitedTextField(_("expected effects"), blank=True, max_length=LONG_TEXT_MAX)
    # 公文書管理法: how long the programme's records are kept, counted from 1 April after the fiscal
    # year in which a project ended (grants/retention.py); then `manage.py retention` anonymises
    # the personal data in them.
    retention_years = models.PositiveSmallIntegerField(
        _("retention period (years)"),
        default=5,
        validators=[MinValueValidator(1)],
        help_text=_(
            "Years the records are kept after the end of the fiscal year in which the project ended; "
            "then the personal data in them is anonymised."
        ),
    )

    class Meta:
        db_table = "grants_programme"
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


class FundingKind(models.TextChoices):
    """How the call's projects are funded. A contract (委託) has no 交付申請, 交付決定, 変更承認 or
    返還命令 letters and no 加算金: those are the subsidies Act's, not a contract's."""

    SUBSIDY = "subsidy", _("Subsidy (補助金・交付金)")
    CONTRACT = "contract", _("Contract (委託)")


DEFAULT_GRANT_CONDITIONS = "\n".join(
    [
        "補助事業の内容又は経費の配分を変更しようとするときは、あらかじめ変更承認申請書を提出し、その承認を受けること。ただし、軽微な変更についてはこの限りでない。",
        "補助事業を中止し、又は廃止しようとするときは、あらかじめ承認を受けること。",
        "補助事業が完了したときは、定められた期日までに実績報告書を提出すること。",
        "補助事業に係る経費の収支を明らかにした帳簿及び証拠書類を、補助事業の完了した日の属する年度の終了後5年間保存すること。",
        "補助金等に係る予算の執行の適正化に関する法律その他の法令及び交付要綱に従うこと。",
    ]
)


class FinalRanking(models.TextChoices):
    """What the final ranking of a two-stage call orders by (rv-stages)."""

    INTERVIEW = "interview", _("Interview scores only")
    WEIGHTED = "weighted", _("Weighted sum of both stages")


@with_length_checks
class Call(models.Model):
    """公募: one call for applications, with its window, cap and rules."""

    programme = models.ForeignKey(
        Programme, on_delete=models.PROTECT, related_name="calls", verbose_name=_("programme")
    )
    slug = models.SlugField(_("slug"), max_length=60, unique=True)
    title = models.CharField(_("title (Japanese)"), max_length=200)
    title_en = models.CharField(_("title (English)"), max_length=250, blank=True)
    fiscal_year = models.CharField(_("fiscal year"), max_length=40, blank=True, help_text="令和7年度")
    summary = LimitedTextField(_("summary"), blank=True, max_length=LONG_TEXT_MAX)
    summary_en = LimitedTextField(_("summary (English)"), blank=True, max_length=LONG_TEXT_MAX)
    menu = LimitedTextField(
        _("menu of eligible activities"), blank=True, help_text=_("One item per line."), max_length=LONG_TEXT_MAX
    )
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
    eligibility_note = LimitedTextField(_("eligibility note"), blank=True, max_length=LONG_TEXT_MAX)
    area_rule = models.CharField(_("area rule"), max_length=20, choices=AreaRule.choices, default=AreaRule.NONE)
    receipt_prefix = models.CharField(
        _("receipt number prefix"),
        max_length=12,
        unique=True,  # receipt numbers are unique across calls: two calls sharing a prefix would collide
        help_text=_("Receipt numbers read PREFIX-0001, PREFIX-0002, …"),
    )
    summary_max_length = models.PositiveIntegerField(_("summary length limit (characters)"), default=400)
    published = models.BooleanField(_("published"), default=True)
    adoptions_published_at = models.DateTimeField(
        _("adopted projects published"), null=True, blank=True, help_text=_("Set by staff from the decisions page.")
    )
    # 不採択通知書: print the reviewers' comments marked 「申請者に開示可」 on the notice (grants/documents.py).
    disclose_comments_in_notice = models.BooleanField(
        _("print disclosed review comments on the non-adoption notice"),
        default=False,
        help_text=_("Comments reviewers marked as disclosable are printed without their names."),
    )
    # Hours before the close at which organisations with an unsubmitted draft are reminded.
    reminder_offsets_hours = models.JSONField(
        _("deadline reminders (hours before the close)"),
        default=default_reminder_offsets,
        blank=True,
        help_text=_("For example [168, 72, 24, 3]: 7 days, 3 days, 1 day and 3 hours before."),
    )
    # --- rv-stages: how the call is reviewed: one stage (書類審査) or two (書類審査, then ヒアリング) ---
    two_stage_review = models.BooleanField(
        _("two-stage review (書類審査 then ヒアリング)"),
        default=False,
        help_text=_("On: staff shortlist applications after the document review and interview them."),
    )
    final_ranking = models.CharField(
        _("final ranking of a two-stage review"),
        max_length=10,
        choices=FinalRanking.choices,
        default=FinalRanking.INTERVIEW,
    )
    document_weight_percent = models.PositiveSmallIntegerField(
        _("weight of the document review (%)"),
        default=30,
        validators=[MaxValueValidator(100)],
        help_text=_("For the weighted sum: the interview counts for the rest (e.g. 30 % and 70 %)."),
    )
    # --- after 採択: the steps the call uses and their due rules (交付要綱), edited in the admin ---
    funding_kind = models.CharField(
        _("funding"), max_length=10, choices=FundingKind.choices, default=FundingKind.SUBSIDY
    )
    grant_application_step = models.BooleanField(
        _("separate grant application (交付申請)"),
        default=True,
        help_text=_("Off: the application itself serves as the grant application and staff decide the grant from it."),
    )
    progress_report_step = models.BooleanField(_("progress report (状況報告)"), default=True)
    advance_payments = models.BooleanField(_("advance payments (概算払)"), default=True)
    grant_application_due_days = models.PositiveSmallIntegerField(
        _("grant application due (days after the adoption notice)"), default=30
    )
    decline_days = models.PositiveSmallIntegerField(
        _("declining allowed (days after the grant decision notice)"),
        default=15,
        help_text=_("申請の取下げ (article 9): the period in which the organisation may still decline."),
    )
    final_report_due_days = models.PositiveSmallIntegerField(
        _("final report due (days after the project ends)"), default=30
    )
    final_report_due_date = models.DateField(
        _("final report due at the latest"),
        null=True,
        blank=True,
        help_text=_("A fixed date; the earlier of the two applies (e.g. 10 April after the fiscal year)."),
    )
    minor_change_percent = models.PositiveSmallIntegerField(
        _("minor change threshold (%)"),
        default=20,
        help_text=_("A shift between expense categories of at most this share of the smaller one needs no approval."),
    )
    confirm_by_line = models.BooleanField(
        _("confirm the amount line by line"),
        default=False,
        help_text=_("On: each expense category counts at most its amount in the budget in force."),
    )
    late_interest_percent = models.DecimalField(
        _("rate of 加算金 and 延滞金 (% a year)"),
        max_digits=5,
        decimal_places=2,
        default=Decimal("10.95"),
        help_text=_("Article 19 of the subsidies Act: 10.95% a year, counted in days."),
    )
    grant_conditions = LimitedTextField(
        _("conditions of the grant decision (記)"),
        default=DEFAULT_GRANT_CONDITIONS,
        blank=True,
        max_length=LONG_TEXT_MAX,
        help_text=_("One condition per line; printed on the grant decision notice."),
    )
    # --- the public page (issue 12, items 6 and 10): the call's official page, its contact, the
    # effects the programme expects; each block is left out of the page while it is empty ---
    official_url = models.URLField(
        _("official page of the call (公募URL)"),
        max_length=500,
        blank=True,
        help_text=_("The page where the call and its guidelines (公募要領) are published."),
    )
    official_url_note = models.CharField(
        _("note on the official page"), max_length=200, blank=True, help_text="株式会社○○のWebサイトです。"
    )
    contact_office = models.CharField(_("contact: office"), max_length=200, blank=True)
    contact_phone = models.CharField(_("contact: telephone"), max_length=40, blank=True)
    contact_email = models.EmailField(_("contact: e-mail"), blank=True)
    contact_hours = models.CharField(_("contact: hours"), max_length=200, blank=True, help_text="平日10:00〜17:00")
    contact_note = LimitedTextField(
        _("contact: note"),
        blank=True,
        max_length=NOTE_MAX,
        help_text=_("For example where the guidelines name the contact."),
    )
    expected_effects = LimitedTextField(
        _("expected effects (期待される効果)"), blank=True, help_text=_("One item per line."), max_length=LONG_TEXT_MAX
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        db_table = "grants_call"
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
        return reverse("calls:call_detail", args=[self.slug])

    def clean(self):
        offsets = self.reminder_offsets_hours
        if not isinstance(offsets, list) or not all(isinstance(h, int) and 0 < h <= 24 * 90 for h in offsets):
            raise ValidationError(_("Give the reminder offsets as a list of whole hours between 1 and 2160."))
        if (self.opens_at is None) != (self.closes_at is None):
            raise ValidationError(_("Give both the opening and the closing time, or neither."))
        if self.opens_at and self.closes_at and self.opens_at >= self.closes_at:
            raise ValidationError(_("The call must open before it closes."))
        if self._saved_value("receipt_prefix") not in (None, self.receipt_prefix) and self._has_receipt_numbers():
            raise ValidationError(
                {
                    "receipt_prefix": _(
                        "This call has already given receipt numbers with its prefix, so the prefix can no "
                        "longer be changed: the numbers given would no longer match it, and another call "
                        "could take it and give the same numbers again."
                    )
                }
            )
        if self._practice_flag_switched() and self.has_started_numbering():
            raise ValidationError(
                {
                    "is_practice": _(
                        "This call has already given receipt numbers or numbered notices and letters, so "
                        "whether it is a practice call can no longer be changed: the practice and official "
                        "number series would mix. Create a new call instead."
                    )
                }
            )

    def _saved_value(self, field: str):
        """The field's value in the saved call (None for a call not saved yet)."""
        if self.pk is None:
            return None
        return Call.objects.filter(pk=self.pk).values_list(field, flat=True).first()

    def _practice_flag_switched(self) -> bool:
        """The practice flag differs from the saved call's (a new call has nothing to switch)."""
        saved = self._saved_value("is_practice")
        return saved is not None and saved != self.is_practice

    def _has_receipt_numbers(self) -> bool:
        return self.applications.exclude(receipt_number__isnull=True).exclude(receipt_number="").exists()

    def has_started_numbering(self) -> bool:
        """An application of the call has a receipt number, or a notice or letter of the call has a
        document number (練習用第N号 for a practice call, 府孤第N号 otherwise; /verify/ reads the
        flag to say a practice letter has no effect): its practice flag then stays as it is."""
        if self.pk is None:
            return False
        if self._has_receipt_numbers():
            return True
        return any(
            apps.get_model("grants", name).objects.filter(application__call=self).exclude(document_number="").exists()
            for name in ("Notice", "Letter")
        )

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
    def has_area_rule(self) -> bool:
        return self.area_rule != AreaRule.NONE

    @property
    def is_subsidy(self) -> bool:
        return self.funding_kind == FundingKind.SUBSIDY

    @property
    def uses_grant_application(self) -> bool:
        """The organisation files a 交付申請 after 採択 (a contract never does)."""
        return self.is_subsidy and self.grant_application_step

    @property
    def grant_condition_items(self) -> list[str]:
        return [line.strip() for line in self.grant_conditions.splitlines() if line.strip()]

    @property
    def menu_items(self) -> list[str]:
        return [line.strip() for line in self.menu.splitlines() if line.strip()]

    @property
    def localized_summary(self) -> str:
        return localized(self, "summary")

    @property
    def expected_effect_items(self) -> list[str]:
        return [line.strip() for line in self.expected_effects.splitlines() if line.strip()]

    @property
    def has_contact(self) -> bool:
        return any((self.contact_office, self.contact_phone, self.contact_email, self.contact_hours, self.contact_note))


@with_length_checks
class Theme(models.Model):
    """テーマ: one of a call's themes (①–④), with its example initiatives (取組イメージ)."""

    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="themes", verbose_name=_("call"))
    number = models.PositiveSmallIntegerField(_("number"))
    title = models.CharField(_("title (Japanese)"), max_length=200)
    title_en = models.CharField(_("title (English)"), max_length=250, blank=True)
    examples = LimitedTextField(
        _("example initiatives"), blank=True, help_text=_("One example per line."), max_length=LONG_TEXT_MAX
    )

    class Meta:
        db_table = "grants_theme"
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


# --- Application forms as data of a call (issue 16) -----------------------------------------------
# A call's form is a FormVersion with sections and fields. Staff edit a draft version; publishing
# it (calls.services.form_version_publish) validates it (calls/form_schema.py) and freezes it: a
# published or retired version is never edited again, a change is a new version. Answers live in
# the applications layer (applications.Answer), one row per application and field key.


class FormVersionStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PUBLISHED = "published", _("Published")
    RETIRED = "retired", _("Retired")


FORM_VERSION_TRANSITIONS: dict[str, frozenset[str]] = {
    FormVersionStatus.DRAFT: frozenset({FormVersionStatus.PUBLISHED}),
    FormVersionStatus.PUBLISHED: frozenset({FormVersionStatus.RETIRED}),
    FormVersionStatus.RETIRED: frozenset(),
}


class FieldKind(models.TextChoices):
    SHORT_TEXT = "short_text", _("Short text")
    LONG_TEXT = "long_text", _("Long text")
    WHOLE_NUMBER = "whole_number", _("Whole number")
    YEN = "yen", _("Amount in yen")
    DATE = "date", _("Date")
    CHOICE = "choice", _("Single choice")
    MULTI_CHOICE = "multi_choice", _("Multiple choice")
    PREFECTURES = "prefectures", _("Set of prefectures")
    FILE = "file", _("File slot")


class ConditionOperator(models.TextChoices):
    EQUALS = "equals", _("equals")
    INCLUDES = "includes", _("includes")


class FrozenVersion(Exception):
    """A section or field of a published or retired form version was about to be changed."""


class FormVersion(models.Model):
    """One version of a call's application form. Numbered per call; only a draft is edited."""

    TRANSITIONS = FORM_VERSION_TRANSITIONS

    call = models.ForeignKey(Call, on_delete=models.PROTECT, related_name="form_versions", verbose_name=_("call"))
    number = models.PositiveSmallIntegerField(_("version number"))
    status = models.CharField(
        _("status"), max_length=10, choices=FormVersionStatus.choices, default=FormVersionStatus.DRAFT
    )
    note = models.CharField(_("what changed"), max_length=200, blank=True)
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ("call", "number")
        verbose_name = _("application form version")
        verbose_name_plural = _("application form versions")
        constraints = [models.UniqueConstraint(fields=("call", "number"), name="form_version_number_unique_per_call")]

    def __str__(self) -> str:
        return _("%(call)s: form version %(number)s") % {"call": self.call, "number": self.number}

    @property
    def is_draft(self) -> bool:
        return self.status == FormVersionStatus.DRAFT

    def ordered_sections(self) -> list["FormSection"]:
        return sorted(self.sections.all(), key=lambda section: (section.order, section.key))

    def ordered_fields(self) -> list["FormField"]:
        """Every field in form order: by section, then by the field's order (conditions refer back)."""
        sections = {section.pk: (section.order, section.key) for section in self.sections.all()}
        return sorted(
            self.fields.all(), key=lambda field: (*sections.get(field.section_id, (0, "")), field.order, field.key)
        )


class _FrozenWithVersion(models.Model):
    """Sections and fields belong to their version: once it is published nothing of it changes."""

    class Meta:
        abstract = True

    def save(self, *args, **kwargs) -> None:
        self._refuse_when_frozen()
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        self._refuse_when_frozen()
        return super().delete(*args, **kwargs)

    def clean(self) -> None:
        super().clean()
        try:
            self._refuse_when_frozen()
        except FrozenVersion as exc:
            raise ValidationError(str(exc)) from None

    def _refuse_when_frozen(self) -> None:
        version_id = self.version_id
        if version_id is None:
            return
        status = FormVersion.objects.filter(pk=version_id).values_list("status", flat=True).first()
        if status is not None and status != FormVersionStatus.DRAFT:
            raise FrozenVersion(_("A published form version cannot be changed; make a new version and publish it."))


class FormSection(_FrozenWithVersion):
    """A section of the form: one more entry of the applicant's task list."""

    version = models.ForeignKey(
        FormVersion, on_delete=models.CASCADE, related_name="sections", verbose_name=_("form version")
    )
    key = models.SlugField(_("key"), max_length=60)
    title = models.CharField(_("title (Japanese)"), max_length=200)
    title_en = models.CharField(_("title (English)"), max_length=200, blank=True)
    order = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        ordering = ("version", "order", "key")
        verbose_name = _("form section")
        verbose_name_plural = _("form sections")
        constraints = [models.UniqueConstraint(fields=("version", "key"), name="form_section_key_unique_per_version")]

    def __str__(self) -> str:
        return localized(self, "title")


@with_length_checks
class FormField(_FrozenWithVersion):
    """A question of the form. ``choices`` are data: one per line, ``value|日本語|English``."""

    version = models.ForeignKey(
        FormVersion, on_delete=models.CASCADE, related_name="fields", verbose_name=_("form version")
    )
    section = models.ForeignKey(FormSection, on_delete=models.CASCADE, related_name="fields", verbose_name=_("section"))
    key = models.SlugField(_("key"), max_length=60)
    label = models.CharField(_("label (Japanese)"), max_length=200)
    label_en = models.CharField(_("label (English)"), max_length=200, blank=True)
    help_text = LimitedTextField(_("help text (Japanese)"), blank=True, max_length=NOTE_MAX)
    help_text_en = LimitedTextField(_("help text (English)"), blank=True, max_length=NOTE_MAX)
    kind = models.CharField(_("kind"), max_length=20, choices=FieldKind.choices)
    required = models.BooleanField(_("required"), default=False)
    max_length = models.PositiveIntegerField(
        _("maximum length (characters)"), null=True, blank=True, help_text=_("For texts only.")
    )
    choices = LimitedTextField(
        _("choices"),
        blank=True,
        max_length=NOTE_MAX,
        help_text=_("Single and multiple choice: one choice per line, value|label in Japanese|label in English."),
    )
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    condition_field = models.SlugField(
        _("shown when field"),
        max_length=60,
        blank=True,
        help_text=_("The key of an earlier field; empty: always shown."),
    )
    condition_operator = models.CharField(_("condition"), max_length=10, choices=ConditionOperator.choices, blank=True)
    condition_value = models.CharField(_("has the value"), max_length=200, blank=True)
    # 補助率: an amount asked for a cost, at most the call's subsidy rate of that cost.
    share_of = models.SlugField(
        _("at most the subsidy rate of"),
        max_length=60,
        blank=True,
        help_text=_(
            "Amounts only: the key of an earlier amount in the same section (e.g. the total cost); this amount may "
            "be at most the call's subsidy rate of it (yen fractions rounded down)."
        ),
    )

    # The receipt (受付票) and the adoption list (採択一覧 CSV/XLSX) show the answer; long narratives
    # shown on screens only are False (calls/standard_form.py).
    in_summaries = models.BooleanField(
        _("on the receipt and in the adoption list"),
        default=True,
        help_text=_("Shown on the receipt and as a column of the adoption list's CSV/XLSX, besides the screens."),
    )

    class Meta:
        ordering = ("version", "section__order", "order", "key")
        verbose_name = _("form field")
        verbose_name_plural = _("form fields")
        constraints = [models.UniqueConstraint(fields=("version", "key"), name="form_field_key_unique_per_version")]

    def __str__(self) -> str:
        return localized(self, "label")

    def save(self, *args, **kwargs) -> None:
        if self.section_id is not None and self.version_id is None:
            self.version_id = (
                FormSection.objects.filter(pk=self.section_id).values_list("version_id", flat=True).first()
            )
        super().save(*args, **kwargs)

    @property
    def localized_label(self) -> str:
        return localized(self, "label")

    @property
    def localized_help_text(self) -> str:
        return localized(self, "help_text")

    def choice_list(self) -> list[tuple[str, str, str]]:
        """(value, Japanese label, English label) per non-empty line of ``choices``."""
        return parse_choices(self.choices)


@receiver(pre_delete, sender=FormSection)
@receiver(pre_delete, sender=FormField)
def _refuse_deleting_from_a_frozen_version(sender, instance, **kwargs) -> None:
    """Also a queryset's delete() (it sends this signal per row) cannot take a field or a section
    out of a published version. A queryset's update() is not watched: services do not use it."""
    instance._refuse_when_frozen()


def parse_choices(text: str) -> list[tuple[str, str, str]]:
    """``value|日本語|English`` per line; a missing label is the value (the Japanese one)."""
    found = []
    for line in text.splitlines():
        if not line.strip():
            continue
        parts = [part.strip() for part in line.split("|")]
        value = parts[0]
        ja = parts[1] if len(parts) > 1 and parts[1] else value
        en = parts[2] if len(parts) > 2 and parts[2] else ""
        found.append((value, ja, en))
    return found


@with_length_checks
class CallQuestion(models.Model):
    """よくある質問: one question of a call's FAQ and its answer, shown on the call's page in order."""

    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="questions", verbose_name=_("call"))
    order = models.PositiveSmallIntegerField(_("display order"), default=0)
    question = models.CharField(_("question"), max_length=300)
    answer = LimitedTextField(_("answer"), max_length=NOTE_MAX)

    class Meta:
        ordering = ("call", "order", "id")
        verbose_name = _("frequently asked question")
        verbose_name_plural = _("frequently asked questions")

    def __str__(self) -> str:
        return self.question
