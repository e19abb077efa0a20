import re

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from applications.models import Application, ApplicationStatus
from calls.models import Call
from kodoku_portal.formfields import REASON_MAX, CleanInputFormMixin, CorporateNumberField
from kodoku_portal.normalise import normalise_code, strip_invisible_controls
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


class SearchPickInput(forms.TextInput):
    """A text input holding several values separated by commas; static/js/search-pick.js turns it
    into a search box (an autocomplete served by ``search_url``) when scripts run."""

    def __init__(self, *, search_url: str = "", attrs=None):
        super().__init__(attrs={"autocomplete": "off", **(attrs or {})})
        self.search_url = search_url

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        if self.search_url:
            context["widget"]["attrs"]["data-search-url"] = self.search_url
        return context

    def value_from_datadict(self, data, files, name):
        return data.getlist(name) if hasattr(data, "getlist") else data.get(name)

    def format_value(self, value):
        if isinstance(value, (list, tuple)):
            return ", ".join(str(item) for item in value if item)
        return super().format_value(value)


class SearchPickField(forms.Field):
    """Several rows of ``queryset`` named by ``lookup`` (a receipt number, an e-mail address),
    typed or picked by search, separated by commas, 、 or spaces; a bare number is taken as the
    row's id (what the search and older forms post). Cleans to the rows, in the order given."""

    widget = SearchPickInput
    SEPARATORS = re.compile(r"[\s,、，]+")

    def __init__(self, *, queryset=None, lookup: str, normalise=normalise_code, max_items: int = 500, **kwargs):
        super().__init__(**kwargs)
        self.queryset, self.lookup, self.normalise, self.max_items = queryset, lookup, normalise, max_items

    def clean(self, value):
        items = value if isinstance(value, (list, tuple)) else [value or ""]
        raw = [strip_invisible_controls(str(item)) for item in items]
        if sum(len(item) for item in raw) > 50 * self.max_items:
            raise ValidationError(_("Choose at most %(n)d at once."), params={"n": self.max_items}, code="too_many")
        tokens = [token for item in raw for token in self.SEPARATORS.split(str(item)) if token]
        if not tokens:
            if self.required:
                raise ValidationError(self.error_messages["required"], code="required")
            return []
        if len(tokens) > self.max_items:
            raise ValidationError(_("Choose at most %(n)d at once."), params={"n": self.max_items}, code="too_many")
        keys = [token if token.isdecimal() else self.normalise(token) for token in tokens]
        ids = [int(key) for key in keys if key.isdecimal() and len(key) < 19]
        names = [key for key in keys if not key.isdecimal()]
        found = list(self.queryset.filter(Q(pk__in=ids) | Q(**{f"{self.lookup}__in": names})))
        by_key = {str(row.pk): row for row in found} | {getattr(row, self.lookup): row for row in found}
        missing = [token for token, key in zip(tokens, keys, strict=True) if key not in by_key]
        if missing:
            raise ValidationError(_("Not found: %(values)s"), params={"values": ", ".join(missing)}, code="not_found")
        return list({by_key[key].pk: by_key[key] for key in keys}.values())


class ManualAssignForm(CleanInputFormMixin, forms.Form):
    applications = SearchPickField(
        label=_("Applications (receipt numbers, separated by commas)"),
        lookup="receipt_number",
        help_text=_("Type a receipt number, or part of a project or organisation name to search."),
    )
    reviewers = SearchPickField(
        label=_("Reviewers (e-mail addresses, separated by commas)"),
        lookup="email",
        normalise=lambda value: value.strip().lower(),
        help_text=_("Type an e-mail address, or part of a name to search."),
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
        self.fields["applications"].queryset = submitted_applications(call).only("id", "receipt_number", "call_id")
        self.fields["reviewers"].queryset = active_reviewers()
        self.fields["applications"].widget.search_url = reverse("review_staff:search", args=[call.slug, "applications"])
        self.fields["reviewers"].widget.search_url = reverse("review_staff:search", args=[call.slug, "reviewers"])


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
