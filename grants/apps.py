from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class GrantsConfig(AppConfig):
    name = "grants"
    verbose_name = _("Decisions and awards")

    def ready(self) -> None:
        from kodoku_portal import audit, outbox

        from . import change_steps, forms, grant_steps, letters, mails, money_steps, reminders, report_steps
        from . import rules as _rules  # noqa: F401 - registers the named permissions
        from .models import ReminderKind
        from .services import NOTICE_MAIL

        outbox.register(NOTICE_MAIL, mails.build_notice_mail, label=_("Notice (通知書)"))
        for kind in ReminderKind:
            outbox.register(kind.value, reminders.build_reminder_mail, label=kind.label)
        outbox.register(letters.LETTER_MAIL, letters.build_letter_mail, label=_("Letter (通知書等)"))
        for action, sentence in AUDIT_SENTENCES.items():
            audit.register_action(action, sentence)
        forms.AUDIT_ACTION_LABELS.update(
            {
                "dossier_downloaded": _("Dossier downloaded"),
                "call_dossier_downloaded": _("Dossiers of the call downloaded"),
                "retention_anonymised": _("Personal data anonymised (retention)"),
            }
        )
        # Each step's module names its own actions (sentences for the trail, labels for its filter).
        for module in (grant_steps, change_steps, report_steps, money_steps):
            for action, sentence in module.AUDIT_SENTENCES.items():
                audit.register_action(action, sentence)
            forms.AUDIT_ACTION_LABELS.update(module.AUDIT_LABELS)


# How the audit page says what each action of this layer did. "decision" keeps the core's sentence
# ("… changed PRACTICE-0004 from Submitted to Adopted (¥1,200,000)"), which leaves out the amount
# when there is none (不採択, 補欠); one sentence of ours would print empty brackets there.
AUDIT_SENTENCES = {
    "notices_prepared": _("%(actor)s made the notices of %(object)s and queued them for sending"),
    # Entries of the four-step tracking that preceded the lifecycle (kept in older trails).
    "award_granted": _("%(actor)s recorded the grant decision for %(object)s (%(amount)s)"),
    "report_returned": _("%(actor)s returned the final report of %(object)s to be filed again"),
    "award_confirmed": _("%(actor)s confirmed the amount of %(object)s (%(amount)s)"),
    "award_paid": _("%(actor)s recorded the payment for %(object)s"),
    "adoptions_published": _("%(actor)s published the list of adopted projects of %(object)s"),
    "letter_reissued": _("%(actor)s reissued the letter %(object)s (the new letter replaces it)"),
    "letter_withdrawn": _("%(actor)s withdrew the letter %(object)s"),
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
