"""Administrators configure programmes, calls and themes here, so the next call needs no code."""

from django import forms
from django.contrib import admin
from django.db import models
from django.utils.translation import gettext_lazy as _

from .models import ApplicantType, Call, Programme, Theme


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


@admin.register(Call)
class CallAdmin(admin.ModelAdmin):
    list_display = ("title", "slug", "opens_at", "closes_at", "cap_amount", "is_practice", "published")
    list_filter = ("programme", "is_practice", "published")
    search_fields = ("title", "title_en", "slug")
    prepopulated_fields = {"slug": ("title_en",)}
    # A plain list of checkboxes: Django's two-box filter widget marks up its icons with an
    # aria-label on a bare span (axe: aria-prohibited-attr), and there are only a few types.
    formfield_overrides = {models.ManyToManyField: {"widget": forms.CheckboxSelectMultiple}}
    inlines = [ThemeInline]
    fieldsets = (
        (None, {"fields": ("programme", "slug", "title", "title_en", "fiscal_year", "is_practice", "published")}),
        (_("Texts"), {"fields": ("summary", "summary_en", "menu", "eligibility_note")}),
        (_("Window"), {"fields": ("opens_at", "closes_at", "closed_manually")}),
        (_("Money"), {"fields": ("cap_amount", "subsidy_rate_percent", "budget_total", "budget_label")}),
        (_("Rules"), {"fields": ("eligible_types", "area_rule", "summary_max_length", "receipt_prefix")}),
        (_("Decisions and notices"), {"fields": ("disclose_comments_in_notice",)}),
        (_("Review"), {"fields": ("two_stage_review", "final_ranking", "document_weight_percent")}),
        (
            _("After adoption"),
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
