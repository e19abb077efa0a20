"""The audit trail and the outbox in the Django admin: read-only, with filters.

Nobody adds, edits or deletes here (the audit table refuses it in the database anyway). The one
action is sending failed messages again (``outbox.retry``), as staff must once automatic
attempts are exhausted.
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import GroupAdmin as DjangoGroupAdmin
from django.contrib.auth.models import Group, Permission
from django.utils.html import format_html_join
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from . import outbox
from .audit import action_label, describe, describe_changes, object_kind
from .models import AuditEntry, OutboxMessage, OutboxStatus
from .workflow import Refused


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ActionFilter(admin.SimpleListFilter):
    """The kind of action, by its label (not its code)."""

    title = _("kind")
    parameter_name = "action"

    def lookups(self, request, model_admin):
        codes = AuditEntry.objects.order_by().values_list("action", flat=True).distinct()
        return sorted(((code, action_label(code)) for code in set(codes)), key=lambda pair: pair[1])

    def queryset(self, request, queryset):
        return queryset.filter(action=self.value()) if self.value() else queryset


class ObjectKindFilter(admin.SimpleListFilter):
    """The kind of object, by the model's name."""

    title = _("object")
    parameter_name = "object_type"

    def lookups(self, request, model_admin):
        kinds = AuditEntry.objects.order_by().values_list("object_type", flat=True).distinct()
        return sorted(((label, object_kind(label)) for label in set(kinds)), key=lambda pair: pair[1])

    def queryset(self, request, queryset):
        return queryset.filter(object_type=self.value()) if self.value() else queryset


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    """Entries in words: the sentence, the kind of action, the values before and after by their
    labels (kodoku_portal.audit.describe / describe_changes); the codes are only in the filters' URLs."""

    list_display = ("created_at", "actor", "kind", "description", "ip")
    list_filter = (ActionFilter, ObjectKindFilter, "created_at")
    search_fields = ("object_repr", "object_id", "actor__email", "action")
    list_select_related = ("actor",)
    date_hierarchy = "created_at"
    fields = ("created_at", "actor", "kind", "description", "changes", "ip")
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor")

    @admin.display(description=_("kind"))
    def kind(self, entry: AuditEntry) -> str:
        return action_label(entry.action)

    @admin.display(description=_("what happened"))
    def description(self, entry: AuditEntry) -> str:
        return describe(entry)

    @admin.display(description=_("values before and after"))
    def changes(self, entry: AuditEntry) -> str:
        return (
            format_html_join(
                "",
                "<div>{}: {} → {}</div>",
                ((change.label, change.before, change.after) for change in describe_changes(entry)),
            )
            or "—"
        )


@admin.register(OutboxMessage)
class OutboxMessageAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "kind", "to_email", "status", "attempts", "sent_at", "next_attempt_at", "call_id")
    list_filter = ("status", "kind", "language", "created_at")
    search_fields = ("to_email", "kind", "subject_type", "last_error")
    list_select_related = ("recipient",)
    date_hierarchy = "created_at"
    actions = ("send_again",)

    @admin.action(description=_("Send the selected failed messages again"))
    def send_again(self, request, queryset):
        count = 0
        for pk in queryset.filter(status=OutboxStatus.FAILED).values_list("pk", flat=True):
            try:
                outbox.retry(pk)
            except Refused:  # it changed meanwhile (sent, or already queued)
                continue
            count += 1
        self.message_user(
            request,
            ngettext("%(count)d message was queued again.", "%(count)d messages were queued again.", count)
            % {"count": count},
            messages.SUCCESS,
        )


# --- third-party admins, in the portal's words (kodoku_portal/admin_labels.py names their apps) ---


def _periodic_task_admins():
    """django-celery-beat's admins with every column and read-only field labelled in gettext
    (its own labels for these are the method names)."""
    from django_celery_beat import admin as beat_admin
    from django_celery_beat.models import CrontabSchedule, PeriodicTask

    class PeriodicTaskAdmin(beat_admin.PeriodicTaskAdmin):
        list_display = ("name", "enabled", "schedule_shown", "interval", "start_time", "last_run_at", "one_off")

        @admin.display(description=_("Schedule"))
        def schedule_shown(self, task):
            return task.scheduler

        @admin.display(description=_("Crontab in words"))
        def crontab_translation(self, task):
            return task.crontab.human_readable if task.crontab_id else "—"

    class CrontabScheduleAdmin(beat_admin.CrontabScheduleAdmin):
        list_display = ("__str__", "human_readable")
        fields = ("human_readable", "minute", "hour", "day_of_month", "month_of_year", "day_of_week", "timezone")
        readonly_fields = ("human_readable",)

        @admin.display(description=_("In words"))
        def human_readable(self, crontab):
            return crontab.human_readable

    for model, admin_class in ((PeriodicTask, PeriodicTaskAdmin), (CrontabSchedule, CrontabScheduleAdmin)):
        if admin.site.is_registered(model):
            admin.site.unregister(model)
        admin.site.register(model, admin_class)


_periodic_task_admins()


class GroupPermissionsField(forms.ModelMultipleChoiceField):
    """A permission named in the active language: 「アカウント | 利用者 | 追加」, not the English
    sentence Django stores in the database ("Can add user")."""

    ACTIONS = {"add": _("add"), "change": _("change"), "delete": _("delete"), "view": _("view")}

    def label_from_instance(self, permission):
        model = permission.content_type.model_class()
        action = permission.codename.split("_", 1)[0]
        if model is None or action not in self.ACTIONS:
            return str(permission)
        return " | ".join(
            (str(model._meta.app_config.verbose_name), str(model._meta.verbose_name), str(self.ACTIONS[action]))
        )


class GroupAdmin(DjangoGroupAdmin):
    filter_horizontal = ()

    def formfield_for_manytomany(self, db_field, request=None, **kwargs):
        if db_field.name == "permissions":
            kwargs["form_class"] = GroupPermissionsField
            kwargs["widget"] = forms.CheckboxSelectMultiple
            kwargs["queryset"] = Permission.objects.select_related("content_type")
        return super().formfield_for_manytomany(db_field, request=request, **kwargs)


if admin.site.is_registered(Group):
    admin.site.unregister(Group)
admin.site.register(Group, GroupAdmin)
