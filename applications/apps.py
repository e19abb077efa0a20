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
            selectors,
            services,
        )

        outbox.register(services.RECEIPT_MAIL, mails.build_receipt_mail, label=_("Receipt (受付票)"))
        outbox.register(services.INVITATION_MAIL, mails.build_invitation_mail, label=_("Invitation to an organisation"))
        jobs.register(scans.SCAN_JOB, scans.run_scan, label=_("Virus check of an attachment"))
        for code, sentence, label in (
            ("attachment_added", _("%(actor)s attached a file to %(object)s: %(after)s"), _("File attached")),
            ("attachment_removed", _("%(actor)s removed a file from %(object)s: %(before)s"), _("File removed")),
            ("attachment_scan_clean", _("The virus check found no problem in %(object)s"), _("Virus check: clean")),
            ("attachment_scan_quarantined", _("The virus check quarantined %(object)s"), _("Virus check: quarantined")),
            ("attachment_scan_error", _("The virus check of %(object)s failed"), _("Virus check failed")),
            (
                "form_version_moved",
                _("%(actor)s moved %(object)s to another version of the application form: %(after)s"),
                _("Moved to another form version"),
            ),
            ("application_submitted", _("%(actor)s submitted %(object)s"), _("Application submitted")),
            ("application_withdrawn", _("%(actor)s withdrew %(object)s"), _("Application withdrawn")),
            ("member_joined", _("%(actor)s joined %(object)s by invitation"), _("Member joined")),
            (
                "application_imported",
                _("%(actor)s imported %(object)s from a past round"),
                _("Imported from a past round"),
            ),
            (
                "application_imported_outcome",
                _("%(actor)s imported the outcome of %(object)s: %(after)s"),
                _("Outcome imported"),
            ),
            (
                "application_decision_disclosed",
                _("%(actor)s disclosed the decision on %(object)s to the organisation"),
                _("Decision disclosed"),
            ),
        ):
            audit.register_action(code, sentence, label)
        audit.register_field("original_name", model="applications.Attachment")
        audit.register_object_namer("applications.Application", selectors.audit_application_names)
