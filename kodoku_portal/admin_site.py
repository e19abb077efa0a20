"""The admin site for administrators: reached only through allauth's login and with TOTP set up.

Django's own admin login form would bypass the second factor, so it is replaced by a redirect.
"""

from allauth.mfa.models import Authenticator
from allauth.mfa.utils import is_mfa_enabled
from django.contrib import admin
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext_lazy as _


class PortalAdminSite(admin.AdminSite):
    site_header = _("Grant portal administration")
    site_title = _("Grant portal administration")
    index_title = _("Programmes, calls and users")

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
