"""Administrators configure programmes, calls and themes here, so the next call needs no code."""

from django.contrib import admin
from django.db import models
from django.utils.translation import gettext_lazy as _

from .models import ApplicantType, Call, CallQuestion, Programme, Theme


@admin.register(ApplicantType)
class ApplicantTypeAdmin(admin.ModelAdmin):
    list_display = ("name", "name_en", "code", "has_corporate_number", "is_non_profit", "order")
    list_editable = ("order",)


@admin.register(Programme)
class ProgrammeAdmin(admin.ModelAdmin):
    list_display = ("name", "owner", "retention_years")
    search_fields = ("name", "name_en")


class ThemeInline(admin.StackedInline):
    model = Theme
    extra = 0


class CallQuestionInline(admin.StackedInline):
    """よくある質問 of the call, in their display order."""

    model = CallQuestion
    extra = 0
    fields = ("order", "question", "answer")


@admin.register(Call)
class CallAdmin(admin.ModelAdmin):
    list_display = ("title", "slug", "opens_at", "closes_at", "cap_amount", "is_practice", "published")
    list_filter = ("programme", "is_practice", "published")
    search_fields = ("title", "title_en", "slug")
    prepopulated_fields = {"slug": ("title_en",)}
    filter_horizontal = ("eligible_types",)
    inlines = [ThemeInline, CallQuestionInline]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    fieldsets = (
        (None, {"fields": ("programme", "slug", "title", "title_en", "fiscal_year", "is_practice", "published")}),
        ("Texts", {"fields": ("summary", "summary_en", "menu", "eligibility_note")}),
        (
            _("Public page: official page, contact, expected effects"),
            {
                "fields": (
                    "official_url",
                    "official_url_note",
                    "contact_office",
                    "contact_phone",
                    "contact_email",
                    "contact_hours",
                    "contact_note",
                    "expected_effects",
                )
            },
        ),
        ("Window", {"fields": ("opens_at", "closes_at", "closed_manually")}),
        ("Money", {"fields": ("cap_amount", "subsidy_rate_percent", "budget_total", "budget_label")}),
        ("Rules", {"fields": ("eligible_types", "area_rule", "summary_max_length", "receipt_prefix")}),
        ("Decisions and notices", {"fields": ("disclose_comments_in_notice",)}),
        ("Review", {"fields": ("two_stage_review", "final_ranking", "document_weight_percent")}),
        (
            "After adoption",
            {
                "fields": (
                    "funding_kind",
                    "grant_application_step",
                    "progress_report_step",
                    "advance_payments",
                    "grant_application_due_days",
                    "decline_days",
                    "final_report_due_days",
                    "final_report_due_date",
                    "minor_change_percent",
                    "confirm_by_line",
                    "late_interest_percent",
                    "grant_conditions",
                )
            },
        ),
    )
