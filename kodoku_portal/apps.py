from django.apps import AppConfig
from django.contrib.admin.apps import AdminConfig
from django.utils.translation import gettext_lazy as _


class PortalConfig(AppConfig):
    name = "kodoku_portal"
    verbose_name = _("Audit trail and outbox")

    def ready(self) -> None:
        from django.db import connections
        from django.db.backends.signals import connection_created

        from . import append_only

        # Every SQLite connection gets kodoku_audit_maintenance(), which the audit table's
        # triggers call; without it they refuse every UPDATE and DELETE (append_only.py).
        connection_created.connect(append_only.register_sqlite_function, dispatch_uid="kodoku_audit_maintenance")
        for connection in connections.all(initialized_only=True):
            if connection.connection is not None:
                append_only.register_sqlite_function(connection=connection)


class PortalAdminConfig(AdminConfig):
    """The Django admin, behind the portal's login (allauth, with TOTP)."""

    default_site = "kodoku_portal.admin_site.PortalAdminSite"

    def ready(self) -> None:
        super().ready()
        from .admin_labels import relabel_third_party

        relabel_third_party()
