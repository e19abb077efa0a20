from django import forms
from django.utils.translation import gettext_lazy as _

from applications.models import ApplicationStatus
from kodoku_portal.formfields import CleanInputFormMixin, YenAmountField
from kodoku_portal.limits import NOTE_MAX

DECISION_CHOICES = [
    (ApplicationStatus.ADOPTED.value, _("Adopt (採択)")),
    (ApplicationStatus.RESERVE.value, _("Reserve list (補欠)")),
    (ApplicationStatus.NOT_ADOPTED.value, _("Do not adopt (不採択)")),
    (ApplicationStatus.SUBMITTED.value, _("Undecided")),
]


class DecisionForm(CleanInputFormMixin, forms.Form):
    application = forms.IntegerField(widget=forms.HiddenInput, min_value=1, max_value=9_223_372_036_854_775_807)
    outcome = forms.ChoiceField(label=_("Decision"), choices=DECISION_CHOICES)
    award_amount = YenAmountField(label=_("Award amount (yen)"), required=False, min_value=1)


class ProposalForm(forms.Form):
    balance_by = forms.ChoiceField(
        label=_("Balance"),
        required=False,
        choices=[
            ("", _("No balancing: highest scores first")),
            ("theme", _("Themes take turns")),
            ("region", _("Regions take turns")),
        ],
    )


# What the audit page calls each kind of entry; an action not listed is shown by its code.
AUDIT_ACTION_LABELS = {
    "decision": _("Decision (採否)"),
    "notices_prepared": _("Notices made"),
    "award_granted": _("Grant decided (交付決定)"),
    "report_progress": _("Progress report"),
    "report_final": _("Final report (実績報告)"),
    "report_returned": _("Report returned"),
    "award_confirmed": _("Amount confirmed (額の確定)"),
    "award_paid": _("Paid"),
    "adoptions_published": _("Adoption list published"),
    "adoptions_withdrawn": _("Adoption list withdrawn"),
    "notices_recorded_outside": _("Notices recorded as sent outside the portal"),
    "decisions_allowed_before_close": _("Decisions allowed before the call closes"),
}


class AuditFilterForm(forms.Form):
    """Filters of a call's audit trail: by the person who acted and by the kind of action, each
    offered from what the trail holds."""

    actor = forms.TypedChoiceField(label=_("Person"), required=False, coerce=int, empty_value=None)
    action = forms.ChoiceField(label=_("Kind"), required=False)

    def __init__(self, *args, entries, **kwargs):
        super().__init__(*args, **kwargs)
        actors = entries.order_by().filter(actor__isnull=False).values_list("actor_id", "actor__email").distinct()
        actions = entries.order_by().values_list("action", flat=True).distinct()
        self.fields["actor"].choices = [("", _("Everyone")), *sorted(actors, key=lambda pair: pair[1])]
        self.fields["action"].choices = [
            ("", _("Every kind")),
            *sorted(((code, AUDIT_ACTION_LABELS.get(code, code)) for code in set(actions)), key=lambda c: str(c[1])),
        ]

    def filter(self, entries):
        if self.cleaned_data.get("actor"):
            entries = entries.filter(actor_id=self.cleaned_data["actor"])
        if self.cleaned_data.get("action"):
            entries = entries.filter(action=self.cleaned_data["action"])
        return entries


class OutsideNoticesForm(CleanInputFormMixin, forms.Form):
    """Record that a past round's notices were sent outside the portal (grants.services.notices_record_outside)."""

    sent_on = forms.DateField(
        label=_("Day the notices were sent (if known)"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    note = forms.CharField(
        label=_("Note"),
        max_length=NOTE_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("How and by whom the organisations were told, e.g. the published list it was taken from."),
    )


class DecisionWindowOverrideForm(CleanInputFormMixin, forms.Form):
    """Allow decisions before the call closes, with the reason (grants.services.decisions_allow_before_close)."""

    reason = forms.CharField(
        label=_("Reason for deciding before the call closes"),
        max_length=NOTE_MAX,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
