"""The audit trail and the outbox in the Django admin: read-only, with filters.

Nobody adds, edits or deletes here (the audit table refuses it in the database anyway). The one
action is sending failed messages again (``outbox.retry``), as staff must once automatic
attempts are exhausted.
"""

from django.contrib import admin, messages
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
