from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class GrantsConfig(AppConfig):
    name = "grants"
    verbose_name = _("Decisions and awards")

    def ready(self) -> None:
        from kodoku_portal import audit, outbox

        from . import change_steps, forms, grant_steps, letters, mails, money_steps, reminders, report_steps, selectors
        from . import rules as _rules  # noqa: F401 - registers the named permissions
        from .models import ReminderKind
        from .services import NOTICE_MAIL

        outbox.register(NOTICE_MAIL, mails.build_notice_mail, label=_("Notice (通知書)"))
        for kind in ReminderKind:
            outbox.register(kind.value, reminders.build_reminder_mail, label=kind.label)
        outbox.register(letters.LETTER_MAIL, letters.build_letter_mail, label=_("Letter (通知書等)"))
        forms.AUDIT_ACTION_LABELS.update(
            {
                "dossier_downloaded": _("Dossier downloaded"),
                "call_dossier_downloaded": _("Dossiers of the call downloaded"),
                "retention_anonymised": _("Personal data anonymised (retention)"),
                "letter_reissued": _("Letter reissued"),
                "letter_withdrawn": _("Letter withdrawn"),
                "submitted": _("Submitted"),
            }
        )
        # Each step's module names its own actions (sentences for the trail, labels for its filter).
        steps = (grant_steps, change_steps, report_steps, money_steps)
        for module in steps:
            forms.AUDIT_ACTION_LABELS.update(module.AUDIT_LABELS)
        for sentences in (AUDIT_SENTENCES, *(module.AUDIT_SENTENCES for module in steps)):
            for action, sentence in sentences.items():
                audit.register_action(action, sentence, forms.AUDIT_ACTION_LABELS[action])
        for key, label, yen in AUDIT_KEYS:
            audit.register_field(key, label, yen=yen)
        audit.register_field("verdict", model="grants.ReportCost")
        audit.register_field("eligible_amount", model="grants.ReportCost", yen=True)
        audit.register_field("cause", model="grants.Refund")
        audit.register_object_namer("grants.Award", selectors.audit_award_names)


# How the audit page says what each action of this layer did (the amount of a decision, when there
# is one, in brackets: %(amount_note)s is empty for 不採択 and 補欠).
AUDIT_SENTENCES = {
    "decision": _("%(actor)s changed the decision on %(object)s from %(before)s to %(after)s%(amount_note)s"),
    # The workflow's own example code (kodoku_portal/workflow.py), found in older trails.
    "submitted": _("%(actor)s submitted %(object)s"),
    "notices_prepared": _("%(actor)s made the notices of %(object)s and queued them for sending"),
    # Entries of the four-step tracking that preceded the lifecycle (kept in older trails).
    "award_granted": _("%(actor)s recorded the grant decision for %(object)s (%(amount)s)"),
    "report_returned": _("%(actor)s returned the final report of %(object)s to be filed again"),
    "award_confirmed": _("%(actor)s confirmed the amount of %(object)s (%(amount)s)"),
    "award_paid": _("%(actor)s recorded the payment for %(object)s"),
    "adoptions_published": _("%(actor)s published the list of adopted projects of %(object)s"),
    "letter_reissued": _("%(actor)s reissued the letter %(name)s (the new letter replaces it)"),
    "letter_withdrawn": _("%(actor)s withdrew the letter %(name)s"),
    "adoptions_withdrawn": _("%(actor)s withdrew the public list of adopted projects of %(object)s"),
    "notices_recorded_outside": _(
        "%(actor)s recorded that the notices of %(object)s were sent outside the portal (%(after)s)"
    ),
    "decisions_allowed_before_close": _("%(actor)s allowed decisions on %(object)s before it closes (%(after)s)"),
    "dossier_downloaded": _("%(actor)s downloaded the dossier of %(object)s"),
    "call_dossier_downloaded": _("%(actor)s downloaded the dossiers of every application of %(object)s"),
    "retention_anonymised": _(
        "%(actor)s anonymised the personal data in the records of %(object)s whose retention period has passed"
    ),
}


# Keys of this layer's before/after values that are not fields of the entry's object, in words.
AUDIT_KEYS = (
    ("award_amount", _("award amount"), True),
    ("confirmed_amount", _("confirmed amount"), True),
    ("granted_amount", _("granted amount"), True),
    ("cancelled_amount", _("amount cancelled"), True),
    ("grant_application", _("grant application (交付申請)"), False),
    ("report", _("report"), False),
    ("line", _("cost line"), False),
    ("scheduled_on", _("payment scheduled on"), False),
    ("paid_on", _("paid on"), False),
    ("received_on", _("received on"), False),
    ("effective_on", _("effective on"), False),
    ("cancelled_on", _("cancelled on"), False),
    ("abolished_on", _("discontinued on"), False),
    ("granted_on", _("grant decided on"), False),
    ("decline_by", _("may decline until"), False),
    ("project_start", _("project starts"), False),
    ("project_end", _("project ends"), False),
    ("final_report_due", _("final report due"), False),
    ("progress_report_due", _("progress report due"), False),
    ("budget_version", _("budget version"), False),
    ("decline_reason", _("reason for declining"), False),
    ("return_reason", _("reason for returning"), False),
    ("change", _("change"), False),
    ("change_number", _("change number"), False),
    ("change_kind", _("kind of change"), False),
    ("replaced_by", _("replaced by"), False),
    ("invoice", _("invoice"), False),
    ("evidence", _("evidence"), False),
    ("document", _("document"), False),
    ("applications", _("applications"), False),
    ("adoptions_published_at", _("published at"), False),
    ("decision_disclosed_at", _("decision disclosed at"), False),
    ("whole", _("whole call"), False),
)
