import django_filters
from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from applications.models import Application, ApplicationStatus
from calls.models import Call
from kodoku_portal.formfields import REASON_MAX, CleanInputFormMixin, CorporateNumberField
from kodoku_portal.prefectures import PREFECTURE_CHOICES

from .models import ReviewRound
from .selectors import active_reviewers, submitted_applications


class DeclarationForm(CleanInputFormMixin, forms.Form):
    has_conflict = forms.TypedChoiceField(
        label=_("Do you have a conflict of interest with this organisation or project?"),
        choices=[("no", _("No, I have no conflict of interest")), ("yes", _("Yes, I have a conflict of interest"))],
        widget=forms.RadioSelect,
        coerce=lambda value: value == "yes",
    )
    reason = forms.CharField(label=_("Conflict (if any)"), max_length=200, required=False)


class ReviewForm(CleanInputFormMixin, forms.Form):
    """One score field per criterion of the call's rubric, plus the two comments."""

    # Limited here only (the model's TextFields have no limit yet: kodoku_portal/limits.py).
    comment_to_staff = forms.CharField(
        label=_("Comment to staff"), required=False, max_length=REASON_MAX, widget=forms.Textarea(attrs={"rows": 4})
    )
    comment_to_applicant = forms.CharField(
        label=_("Comment to the applicant"),
        required=False,
        max_length=REASON_MAX,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    disclose_to_applicant = forms.BooleanField(
        label=_("Disclose to the applicant (申請者に開示可)"),
        help_text=_("The organisation reads this comment, without your name, once its notice has been sent."),
        required=False,
    )

    def __init__(self, *args, criteria, **kwargs):
        super().__init__(*args, **kwargs)
        self.criteria = criteria
        for criterion in criteria:
            self.fields[f"score_{criterion.pk}"] = forms.TypedChoiceField(
                label=str(criterion),
                help_text=criterion.description,
                choices=[("", "—")] + [(str(v), str(v)) for v in range(criterion.max_score + 1)],
                coerce=int,
                empty_value=None,
                required=False,
            )

    def score_fields(self):
        return [self[f"score_{c.pk}"] for c in self.criteria]

    def scores(self) -> dict[int, int | None]:
        return {c.pk: self.cleaned_data.get(f"score_{c.pk}") for c in self.criteria}


class RoundForm(forms.ModelForm):
    class Meta:
        model = ReviewRound
        fields = ("reviewers_per_application", "use_calibration", "default_due_at")
        widgets = {"default_due_at": forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")}


class ManualAssignForm(CleanInputFormMixin, forms.Form):
    applications = forms.ModelMultipleChoiceField(
        label=_("Applications"), queryset=Application.objects.none(), widget=forms.CheckboxSelectMultiple
    )
    reviewers = forms.ModelMultipleChoiceField(
        label=_("Reviewers"), queryset=User.objects.none(), widget=forms.CheckboxSelectMultiple
    )
    due_at = forms.DateTimeField(
        label=_("Due"), required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    override_reason = forms.CharField(
        label=_("Reason for assigning a flagged pair anyway (only if needed)"),
        help_text=_(
            "Pairs flagged as a possible conflict of interest are skipped unless you give a reason; it is recorded."
        ),
        max_length=500,
        required=False,
    )

    def __init__(self, *args, call, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["applications"].queryset = submitted_applications(call).select_related("organisation")
        self.fields["applications"].label_from_instance = lambda a: f"{a.receipt_number} {a.title}"
        self.fields["reviewers"].queryset = active_reviewers()


class AutoAssignForm(CleanInputFormMixin, forms.Form):
    reviewers = forms.ModelMultipleChoiceField(
        label=_("Reviewers to use"), queryset=User.objects.none(), widget=forms.CheckboxSelectMultiple
    )
    due_at = forms.DateTimeField(
        label=_("Due"), required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reviewers"].queryset = active_reviewers()


SORTS = [
    ("score", _("Score in use (highest first)")),
    ("raw", _("Raw mean (highest first)")),
    ("calibrated", _("Calibrated mean (highest first)")),
    ("spread", _("Spread between reviewers (largest first)")),
    ("receipt", _("Receipt number")),
]


class RankingFilter(django_filters.FilterSet):
    theme = django_filters.ModelChoiceFilter(label=_("Theme"), queryset=None)
    prefecture = django_filters.ChoiceFilter(
        label=_("Prefecture"), field_name="organisation__prefecture", choices=PREFECTURE_CHOICES
    )
    status = django_filters.ChoiceFilter(label=_("Status"), choices=ApplicationStatus.choices)

    class Meta:
        model = Application
        fields = ("theme", "prefecture", "status")

    def __init__(self, *args, call, **kwargs):
        super().__init__(*args, **kwargs)
        self.filters["theme"].queryset = call.themes.all()


class RankingOptionsForm(forms.Form):
    sort = forms.ChoiceField(label=_("Sort by"), choices=SORTS, required=False)
    min_score = forms.FloatField(label=_("Minimum score"), required=False, min_value=0, max_value=100)


# --- integrity checks (issue 11, item 5) --------------------------------------------------------


class AffiliationForm(CleanInputFormMixin, forms.Form):
    """A reviewer's affiliation: organisation, 法人番号 (optional) and years (西暦)."""

    organisation_name = forms.CharField(label=_("Organisation name"), max_length=200)
    corporate_number = CorporateNumberField(label=_("Corporate number (法人番号), if any"), required=False)
    year_from = forms.IntegerField(label=_("From (year)"), min_value=1950, max_value=2100)
    year_to = forms.IntegerField(
        label=_("Until (year)"),
        min_value=1950,
        max_value=2100,
        required=False,
        help_text=_("Leave empty if you still belong to it."),
    )

    def clean(self):
        data = super().clean()
        start, end = data.get("year_from"), data.get("year_to")
        if start is not None and end is not None and end < start:
            self.add_error("year_to", _("The year until cannot be before the year from."))
        return data


class FlagDismissForm(CleanInputFormMixin, forms.Form):
    reason = forms.CharField(label=_("Why this flag is false"), max_length=500)


class FlagOverrideForm(CleanInputFormMixin, forms.Form):
    reason = forms.CharField(label=_("Reason for assigning anyway"), max_length=500)
    due_at = forms.DateTimeField(
        label=_("Due"), required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )


# --- rv-stages: the shortlist and the interview slots ----------------------------------------


class ShortlistTopForm(forms.Form):
    n = forms.IntegerField(label=_("Number of applications"), min_value=1, max_value=999)


class InterviewSlotForm(CleanInputFormMixin, forms.Form):
    starts_at = forms.DateTimeField(
        label=_("Date and time"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    duration_minutes = forms.IntegerField(label=_("Duration (minutes)"), min_value=5, max_value=600, initial=30)
    place = forms.CharField(label=_("Place"), max_length=200, required=False)
    online_url = forms.URLField(label=_("Online meeting URL"), max_length=500, required=False, assume_scheme="https")

    def clean(self):
        cleaned = super().clean()
        if not (cleaned.get("place") or cleaned.get("online_url")):
            raise forms.ValidationError(_("Give the place or the online meeting URL."))
        return cleaned


class StagesForm(forms.ModelForm):
    """The call's review configuration: one stage or two, and the final ranking of two."""

    class Meta:
        model = Call
        fields = ("two_stage_review", "final_ranking", "document_weight_percent")
