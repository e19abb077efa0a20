from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReviewsConfig(AppConfig):
    name = "reviews"
    verbose_name = _("Reviews")

    def ready(self) -> None:
        from kodoku_portal.audit import register_action

        from . import rules  # noqa: F401  (registers can_review, can_declare_conflict, …)

        # How the audit page words the review's entries (reviews/services.py writes them), and
        # what its filter calls them.
        labels = {
            "phase_changed": _("Review phase changed"),
            "assignment_created": _("Assignment made"),
            "assignment_removed": _("Assignment removed"),
            "assignment_accepted": _("No conflict of interest declared"),
            "conflict_declared": _("Conflict of interest declared"),
            "assignment_returned": _("Assignment returned (conflict of interest)"),
            "conflict_recorded": _("Conflict of interest recorded"),
            "review_submitted": _("Review submitted"),
            "review_reopened": _("Review reopened"),
            "attachment_opened": _("Attachment opened"),
            "integrity_flag_dismissed": _("Integrity flag dismissed"),
            "integrity_flag_reopened": _("Integrity flag opened again"),
            "integrity_flag_overridden": _("Flagged pair assigned anyway"),
            "affiliation_added": _("Affiliation recorded"),
            "affiliation_removed": _("Affiliation removed"),
            "shortlist_added": _("Shortlisted for the interview"),
            "shortlist_removed": _("Removed from the interview shortlist"),
            "interview_slot_scheduled": _("Interview scheduled"),
            "interview_slot_changed": _("Interview slot changed"),
            "review_stages_configured": _("Review stages set"),
        }
        for code, sentence in {
            "phase_changed": _("%(actor)s moved the review of %(object)s from %(before)s to %(after)s"),
            "assignment_created": _("%(actor)s assigned %(name)s"),
            "assignment_removed": _("%(actor)s removed the assignment %(name)s"),
            "assignment_accepted": _("%(actor)s declared no conflict of interest for %(name)s"),
            "conflict_declared": _("%(actor)s declared a conflict of interest for %(name)s; it went back to staff"),
            "assignment_returned": _("%(actor)s recorded a conflict of interest; %(name)s went back to staff"),
            "conflict_recorded": _("%(actor)s recorded a conflict of interest: %(name)s"),
            "review_submitted": _("%(actor)s submitted the review of %(name)s"),
            "review_reopened": _("%(actor)s reopened the review of %(name)s"),
            "attachment_opened": _("%(actor)s opened the attachment %(name)s"),
            "integrity_flag_dismissed": _("%(actor)s dismissed the integrity flag %(name)s"),
            "integrity_flag_reopened": _("%(actor)s: the integrity flag %(name)s opened again (new matching fields)"),
            "integrity_flag_overridden": _("%(actor)s assigned the flagged pair %(name)s anyway"),
            "affiliation_added": _("%(actor)s recorded the affiliation %(name)s"),
            "affiliation_removed": _("%(actor)s removed the affiliation %(name)s"),
            # rv-stages: the shortlist and the interview slots (reviews/stages.py)
            "shortlist_added": _("%(actor)s shortlisted %(object)s for the interview"),
            "shortlist_removed": _("%(actor)s removed %(object)s from the interview shortlist"),
            "interview_slot_scheduled": _("%(actor)s scheduled the interview of %(object)s"),
            "interview_slot_changed": _("%(actor)s changed the interview slot of %(object)s"),
            "review_stages_configured": _("%(actor)s changed how %(object)s is reviewed (one or two stages)"),
        }.items():
            register_action(code, sentence, labels[code])

        from kodoku_portal import outbox

        from . import mails, stages

        outbox.register(
            stages.INTERVIEW_SLOT_MAIL, mails.build_interview_slot_mail, label=_("Interview slot (ヒアリング)")
        )
        outbox.register(
            stages.INTERVIEW_CANCELLED_MAIL,
            mails.build_interview_cancelled_mail,
            label=_("Interview cancelled (ヒアリング)"),
        )
