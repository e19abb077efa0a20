from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils.translation import gettext_lazy as _

from kodoku_portal.workflow import record

from .models import User
from .services import user_set_role


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ("email",)
    list_display = ("email", "full_name", "role", "is_active", "last_login")
    list_filter = ("role", "is_active")
    search_fields = ("email", "full_name")
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (_("Profile"), {"fields": ("full_name", "role", "is_active")}),
        (_("Important dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2", "role")}),)
    readonly_fields = ("last_login", "date_joined")

    def save_model(self, request, obj, form, change):
        """The role is changed by ``user_set_role`` (audited), never by the form's save."""
        new_role = obj.role
        if change and "role" in form.changed_data:
            obj.refresh_from_db(fields=["role"])  # the form's save leaves the role as it was
        super().save_model(request, obj, form, change)
        if not change:
            record(obj, by=request.user, action="user_created", after={"role": new_role})
        user_set_role(user=obj, role=new_role, by=request.user)
