from django.contrib import admin

from .models import Application, Membership, Organisation


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    raw_id_fields = ("user",)


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ("name", "applicant_type", "prefecture", "corporate_number")
    list_filter = ("applicant_type", "prefecture")
    search_fields = ("name", "name_kana", "corporate_number")
    inlines = [MembershipInline]


@admin.register(Application)
class ApplicationAdmin(admin.ModelAdmin):
    """Read-only here: applications change state only through the portal's services."""

    list_display = ("receipt_number", "title", "organisation", "call", "status", "submitted_at")
    list_filter = ("call", "status")
    search_fields = ("receipt_number", "title", "organisation__name")
    list_select_related = ("organisation", "call")

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
