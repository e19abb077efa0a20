"""Administrators configure programmes, calls and themes here, so the next call needs no code."""

from django import forms
from django.contrib import admin, messages
from django.db import models
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from kodoku_portal.workflow import Refused

from . import services
from .models import ApplicantType, Call, CallQuestion, FormField, FormSection, FormVersion, Programme, Theme
from .rules import can_edit_forms
from .standard_form import add_project_section


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
    inlines = [ThemeInline, CallQuestionInline]
    formfield_overrides = {
        models.URLField: {"assume_scheme": "https"},
        # A plain list of checkboxes: Django's two-box filter widget marks up its icons with an
        # aria-label on a bare span (axe: aria-prohibited-attr), and there are only a few types.
        models.ManyToManyField: {"widget": forms.CheckboxSelectMultiple},
    }
    actions = ["start_form_draft"]

    @admin.action(description=_("Start a draft application form (a copy of the newest version)"))
    def start_form_draft(self, request, queryset):
        for call in queryset:
            try:
                draft = services.form_version_draft(call, by=request.user)
            except Refused as refused:
                for message in refused.messages:
                    self.message_user(request, f"{call}: {message}", messages.ERROR)
            else:
                self.message_user(request, gettext("Started %(version)s.") % {"version": draft}, messages.SUCCESS)

    fieldsets = (
        (None, {"fields": ("programme", "slug", "title", "title_en", "fiscal_year", "is_practice", "published")}),
        (_("Texts"), {"fields": ("summary", "summary_en", "menu", "eligibility_note")}),
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


# --- application forms (issue 16): staff edit a draft version; published versions are read only ---


class _DraftOnlyInline:
    """Sections and fields are edited only while their version is a draft, by those
    ``calls.rules.can_edit_forms`` allows (staff and administrators). Only administrators reach the
    admin; the live preview of unsaved changes (calls/preview_views.py) binds these formsets for
    staff too, and they would ignore a change their user may not make."""

    def _editable(self, request, obj) -> bool:
        return (obj is None or obj.is_draft) and can_edit_forms(request.user)

    def has_add_permission(self, request, obj=None):
        return self._editable(request, obj)

    def has_change_permission(self, request, obj=None):
        return self._editable(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self._editable(request, obj)


class FormSectionInline(_DraftOnlyInline, admin.StackedInline):
    """Stacked, not tabular: a tabular inline's boxes have only the table's column headers, no label
    (axe: label), as the fields' inline below has."""

    model = FormSection
    extra = 0
    fields = (("order", "key"), ("title", "title_en"))


class FormFieldInline(_DraftOnlyInline, admin.StackedInline):
    model = FormField
    fk_name = "version"
    extra = 0
    fieldsets = (
        (None, {"fields": (("section", "order"), ("key", "kind", "required", "in_summaries"), ("label", "label_en"))}),
        (_("Help and limits"), {"fields": ("help_text", "help_text_en", "max_length", "choices", "share_of")}),
        (_("Shown only when"), {"fields": (("condition_field", "condition_operator", "condition_value"),)}),
    )

    def get_formset(self, request, obj=None, **kwargs):
        self._version = obj
        return super().get_formset(request, obj, **kwargs)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "section":
            version = getattr(self, "_version", None)
            kwargs["queryset"] = FormSection.objects.filter(version=version) if version else FormSection.objects.none()
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(FormVersion)
class FormVersionAdmin(admin.ModelAdmin):
    list_display = ("__str__", "call", "number", "status", "published_at", "preview_link")
    list_filter = ("status", "call")
    search_fields = ("call__title", "call__slug")
    readonly_fields = ("call", "number", "status", "published_at", "preview_link", "problems")
    fields = ("call", "number", "status", "published_at", "note", "preview_link", "problems")
    inlines = [FormSectionInline, FormFieldInline]
    actions = ["validate_versions", "publish_versions", "start_new_draft", "add_project_questions"]

    def has_add_permission(self, request):
        return False  # a version is started from its call (action) or from the newest version (action)

    def has_delete_permission(self, request, obj=None):
        return bool(obj is not None and obj.is_draft and super().has_delete_permission(request, obj))

    def has_change_permission(self, request, obj=None):
        return can_edit_forms(request.user)  # as the inlines: the live preview binds this form for staff too

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        """A draft's page has a "Preview the changes" button (templates/admin/calls/formversion/
        change_form.html) that posts the form as it stands to the live preview, which saves nothing."""
        if obj is not None and obj.pk is not None and obj.is_draft and self.has_change_permission(request, obj):
            context["form_preview_url"] = reverse("calls:form_preview_edits", args=[obj.pk])
            context["form_preview_target"] = f"form-preview-{obj.pk}"
        return super().render_change_form(request, context, add=add, change=change, form_url=form_url, obj=obj)

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and not obj.is_draft:
            return (*self.readonly_fields, "note")
        return self.readonly_fields

    @admin.display(description=_("preview"))
    def preview_link(self, obj):
        if obj is None or obj.pk is None:
            return "—"
        return format_html(
            '<a href="{}" target="_blank" rel="noopener">{}</a>',
            reverse("calls:form_preview", args=[obj.pk]),
            gettext("Open the preview"),
        )

    @admin.display(description=_("problems"))
    def problems(self, obj):
        if obj is None or obj.pk is None:
            return "—"
        found = services.form_version_problems(obj)
        if not found:
            return gettext("None: this version can be published.")
        return format_html("<ul>{}</ul>", format_html_join("", "<li>{}</li>", ((p.message,) for p in found)))

    @admin.action(description=_("Validate the selected versions"))
    def validate_versions(self, request, queryset):
        for version in queryset:
            found = services.form_version_problems(version)
            if not found:
                self.message_user(
                    request, gettext("%(version)s: no problems.") % {"version": version}, messages.SUCCESS
                )
            for problem in found:
                self.message_user(request, f"{version}: {problem.message}", messages.ERROR)

    @admin.action(description=_("Publish the selected draft versions"))
    def publish_versions(self, request, queryset):
        for version in queryset:
            try:
                services.form_version_publish(version, by=request.user)
            except Refused as refused:
                for message in refused.messages:
                    self.message_user(request, f"{version}: {message}", messages.ERROR)
            else:
                self.message_user(request, gettext("Published %(version)s.") % {"version": version}, messages.SUCCESS)

    @admin.action(description=_("Add the NPO model survey's project questions (事業の内容) to the selected drafts"))
    def add_project_questions(self, request, queryset):
        for version in queryset.select_related("call"):
            if not version.is_draft:
                self.message_user(
                    request,
                    gettext("%(version)s is published: make a new draft and add the questions to it.")
                    % {"version": version},
                    messages.ERROR,
                )
                continue
            add_project_section(version)
            self.message_user(request, gettext("%(version)s asks the project questions first.") % {"version": version})

    @admin.action(description=_("Start a new draft version (a copy of the newest)"))
    def start_new_draft(self, request, queryset):
        for call in {version.call for version in queryset.select_related("call")}:
            try:
                draft = services.form_version_draft(call, by=request.user)
            except Refused as refused:
                for message in refused.messages:
                    self.message_user(request, f"{call}: {message}", messages.ERROR)
            else:
                self.message_user(request, gettext("Started %(version)s.") % {"version": draft}, messages.SUCCESS)
