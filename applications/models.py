"""Organisations (団体) and their applications (申請) to calls."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from kodoku_portal.prefectures import NATIONWIDE_LABEL, PREFECTURE_CHOICES, prefecture_name


class Organisation(models.Model):
    """団体: an applicant organisation, shared by its members."""

    name = models.CharField(_("organisation name"), max_length=200)
    name_kana = models.CharField(_("name in katakana (フリガナ)"), max_length=200, blank=True)
    applicant_type = models.ForeignKey(
        "grants.ApplicantType", on_delete=models.PROTECT, related_name="organisations", verbose_name=_("legal form")
    )
    # 法人番号: 13 digits, check digit first; empty for 任意団体.
    corporate_number = models.CharField(_("corporate number (法人番号)"), max_length=13, blank=True)
    prefecture = models.CharField(_("prefecture"), max_length=2, choices=PREFECTURE_CHOICES)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ("name",)
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")
        constraints = [
            models.UniqueConstraint(
                fields=("corporate_number",),
                condition=~models.Q(corporate_number=""),
                name="organisation_corporate_number_unique",
            )
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
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
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


# The one transition table for an application's status; services check it before any change.
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
    ApplicationStatus.RESERVE: frozenset({ApplicationStatus.ADOPTED, ApplicationStatus.NOT_ADOPTED}),
    ApplicationStatus.WITHDRAWN: frozenset(),
    ApplicationStatus.ADOPTED: frozenset(),
    ApplicationStatus.NOT_ADOPTED: frozenset(),
}


def can_transition(current: str, target: str) -> bool:
    return target in APPLICATION_TRANSITIONS[current]


class Application(models.Model):
    """申請: one organisation's application to one call."""

    call = models.ForeignKey(
        "grants.Call", on_delete=models.PROTECT, related_name="applications", verbose_name=_("call")
    )
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="applications", verbose_name=_("organisation")
    )
    theme = models.ForeignKey(
        "grants.Theme",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="applications",
        verbose_name=_("theme"),
    )
    title = models.CharField(_("project name (事業名)"), max_length=200, blank=True)
    summary = models.TextField(_("summary (概要)"), blank=True)
    # 事業区域: prefectures as JIS codes in the order given, and/or nationwide; area_description
    # keeps wording such as 「神奈川県を中心とした複数県」 exactly as the applicant wrote it.
    area_prefectures = models.JSONField(_("project area: prefectures"), default=list, blank=True)
    area_nationwide = models.BooleanField(_("project area: nationwide"), default=False)
    area_description = models.CharField(_("project area as written"), max_length=200, blank=True)
    note = models.CharField(_("note"), max_length=200, blank=True)
    status = models.CharField(
        _("status"), max_length=20, choices=ApplicationStatus.choices, default=ApplicationStatus.DRAFT
    )
    receipt_number = models.CharField(_("receipt number"), max_length=30, null=True, blank=True, unique=True)
    submitted_at = models.DateTimeField(_("received at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ("call", "receipt_number", "id")
        verbose_name = _("application")
        verbose_name_plural = _("applications")

    def __str__(self) -> str:
        return self.title or f"#{self.pk}"

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

    call = models.OneToOneField("grants.Call", on_delete=models.CASCADE, related_name="receipt_counter")
    last = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.call_id}: {self.last}"
