"""The admin site for administrators: reached only through allauth's login and with TOTP set up.

Django's own admin login form would bypass the second factor, so it is replaced by a redirect.

Every model admin registered here (ours and third-party ones) is given
:class:`AccessibleAdminMixin`, which labels what Django's admin leaves unlabelled for a screen
reader (and axe): the date and time boxes of a split date-time field, and each field of a
list-editable changelist row. The admin's own CSS is completed by ``static/css/admin.css``
(``templates/admin/base_site.html``): links in text are underlined, not told apart by colour only.
"""

from allauth.mfa.models import Authenticator
from allauth.mfa.utils import is_mfa_enabled
from django.contrib import admin
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db import models
from django.forms import SplitDateTimeWidget
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _


def label_split_datetime(formfield) -> None:
    """Name the date box and the time box of a split date-time field after the field."""
    widget = getattr(formfield, "widget", None)
    if isinstance(widget, SplitDateTimeWidget):
        label = str(formfield.label or "")
        date_widget, time_widget = widget.widgets
        date_widget.attrs["aria-label"] = gettext("%(field)s: date") % {"field": label}
        time_widget.attrs["aria-label"] = gettext("%(field)s: time") % {"field": label}


class AccessibleAdminMixin:
    """Labels for the inputs Django's admin renders without one."""

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if isinstance(db_field, models.URLField):
            kwargs.setdefault("assume_scheme", "https")  # as the portal's own forms (and Django 6)
        formfield = super().formfield_for_dbfield(db_field, request, **kwargs)
        if formfield is not None:
            label_split_datetime(formfield)
        return formfield

    def get_changelist_form(self, request, **kwargs):
        base = super().get_changelist_form(request, **kwargs)

        class LabelledRowForm(base):
            """Each list-editable input says which column and which row it is."""

            def __init__(self, *args, **kwargs):
                super().__init__(*args, **kwargs)
                row = str(self.instance) if self.instance.pk else ""
                for field in self.fields.values():
                    if field.widget.is_hidden:
                        continue
                    name = str(field.label or "")
                    field.widget.attrs["aria-label"] = (
                        gettext("%(field)s of %(row)s") % {"field": name, "row": row} if row else name
                    )

        return LabelledRowForm


class PortalAdminSite(admin.AdminSite):
    site_header = _("Grant portal administration")
    site_title = _("Grant portal administration")
    index_title = _("Programmes, calls and users")

    def register(self, model_or_iterable, admin_class=None, **options):
        admin_class = admin_class or admin.ModelAdmin
        if not issubclass(admin_class, AccessibleAdminMixin):
            admin_class = type(
                admin_class.__name__, (AccessibleAdminMixin, admin_class), {"__module__": admin_class.__module__}
            )
        return super().register(model_or_iterable, admin_class, **options)

    def has_permission(self, request):
        user = request.user
        return super().has_permission(request) and is_mfa_enabled(user, [Authenticator.Type.TOTP])

    def login(self, request, extra_context=None):
        user = request.user
        next_url = request.GET.get("next") or reverse("admin:index")
        if not user.is_authenticated:
            return redirect_to_login(next_url, login_url=reverse("account_login"))
        if user.is_active and user.is_staff and not is_mfa_enabled(user, [Authenticator.Type.TOTP]):
            return redirect("mfa_activate_totp")
        raise PermissionDenied
