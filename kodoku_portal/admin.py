"""The audit trail and the outbox in the Django admin: read-only, with filters.

Nobody adds, edits or deletes here (the audit table refuses it in the database anyway). The one
action is sending failed messages again (``outbox.retry``), as staff must once automatic
attempts are exhausted.
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import GroupAdmin as DjangoGroupAdmin
from django.contrib.auth.models import Group, Permission
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from . import outbox
from .audit import describe
from .models import AuditEntry, OutboxMessage, OutboxStatus
from .workflow import Refused


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "actor", "action", "object_type", "object_repr", "call_id", "ip")
    list_filter = ("action", "object_type", "created_at")
    search_fields = ("object_repr", "object_id", "actor__email", "action")
    list_select_related = ("actor",)
    date_hierarchy = "created_at"
    readonly_fields = ("description",)

    @admin.display(description=_("what happened"))
    def description(self, entry: AuditEntry) -> str:
        return describe(entry)


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
