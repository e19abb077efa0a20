from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ApplicationsConfig(AppConfig):
    name = "applications"
    verbose_name = _("Applications")

    def ready(self) -> None:
        from kodoku_portal import audit, jobs, outbox

        from . import (
            mails,
            rules,  # noqa: F401 - registers the named permissions (can_edit_draft, …)
            scans,
            services,
        )

        outbox.register(services.RECEIPT_MAIL, mails.build_receipt_mail, label=_("Receipt (受付票)"))
        outbox.register(services.INVITATION_MAIL, mails.build_invitation_mail, label=_("Invitation to an organisation"))
        jobs.register(scans.SCAN_JOB, scans.run_scan, label=_("Virus check of an attachment"))
        audit.register_action("attachment_scan_clean", _("The virus check found no problem in %(object)s"))
        audit.register_action("attachment_scan_quarantined", _("The virus check quarantined %(object)s"))
        audit.register_action("attachment_scan_error", _("The virus check of %(object)s failed"))
        audit.register_action(
            "form_version_moved", _("%(actor)s moved %(object)s to another version of the application form: %(after)s")
        )
        audit.register_action("application_submitted", _("%(actor)s submitted %(object)s"))
        audit.register_action("application_withdrawn", _("%(actor)s withdrew %(object)s"))
        audit.register_action("member_joined", _("%(actor)s joined %(object)s by invitation"))
        audit.register_action("application_imported", _("%(actor)s imported %(object)s from a past round"))
        audit.register_action(
            "application_imported_outcome", _("%(actor)s imported the outcome of %(object)s: %(after)s")
        )
        audit.register_action(
            "application_decision_disclosed", _("%(actor)s disclosed the decision on %(object)s to the organisation")
        )
