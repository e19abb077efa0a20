import django_filters
from django import forms
from django.utils.translation import gettext_lazy as _

from applications.models import ApplicationStatus
from kodoku_portal import audit
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


# What the audit page calls each kind of entry (registered with its sentence in apps.py).
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


class AuditFilterBaseForm(CleanInputFormMixin, forms.Form):
    """The audit filter's form: a day range must not end before it starts."""

    def clean(self):
        data = super().clean()
        since, until = data.get("since"), data.get("until")
        if since and until and until < since:
            self.add_error("until", _("The last day is before the first day."))
        return data


DAY_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class AuditFilter(django_filters.FilterSet):
    """Filters of a call's audit trail, kept in the query string: the person who acted, the kind
    of action and of object (each offered from what the trail holds, by its label) and a range of
    days (JST, both ends included)."""

    actor = django_filters.ChoiceFilter(label=_("Person"), field_name="actor_id", empty_label=_("Everyone"))
    action = django_filters.ChoiceFilter(label=_("Kind"), empty_label=_("Every kind"))
    object_type = django_filters.ChoiceFilter(label=_("Object"), empty_label=_("Every object"))
    since = django_filters.DateFilter(
        label=_("From (day)"),
        field_name="created_at",
        lookup_expr="date__gte",
        widget=forms.DateInput({"type": "date"}),
    )
    until = django_filters.DateFilter(
        label=_("Until (day)"),
        field_name="created_at",
        lookup_expr="date__lte",
        widget=forms.DateInput({"type": "date"}),
    )

    class Meta:
        form = AuditFilterBaseForm

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        entries = self.queryset.order_by()
        actors = entries.filter(actor__isnull=False).values_list("actor_id", "actor__email").distinct()
        self.filters["actor"].extra["choices"] = sorted(((str(pk), email) for pk, email in actors), key=lambda c: c[1])
        actions = set(entries.values_list("action", flat=True).distinct())
        self.filters["action"].extra["choices"] = sorted(
            ((code, audit.action_label(code)) for code in actions), key=lambda c: c[1]
        )
        kinds = set(entries.values_list("object_type", flat=True).distinct())
        self.filters["object_type"].extra["choices"] = sorted(
            ((label, audit.object_kind(label)) for label in kinds), key=lambda c: c[1]
        )


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
