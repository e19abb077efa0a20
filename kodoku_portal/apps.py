from django.apps import AppConfig
from django.contrib.admin.apps import AdminConfig


class PortalConfig(AppConfig):
    name = "kodoku_portal"
    verbose_name = "kodoku-portal"


class PortalAdminConfig(AdminConfig):
    """The Django admin, behind the portal's login (allauth, with TOTP)."""

    default_site = "kodoku_portal.admin_site.PortalAdminSite"
