from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CallsConfig(AppConfig):
    name = "calls"
    verbose_name = _("Grant programmes and calls")

    def ready(self) -> None:
        from kodoku_portal import audit

        from . import rules  # noqa: F401 - registers the named permissions (can_edit_forms)

        audit.register_action(
            "form_version_drafted", _("%(actor)s started a new draft of %(object)s"), _("Form version drafted")
        )
        audit.register_action(
            "form_version_published", _("%(actor)s published %(object)s"), _("Form version published")
        )
        audit.register_action(
            "form_version_retired", _("%(object)s was replaced by a newer version"), _("Form version retired")
        )
