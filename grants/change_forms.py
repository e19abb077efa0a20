"""Forms of 変更承認申請 and 中止・廃止 (the organisation's) and of the decision on them (staff's)."""

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from applications.models import BudgetCategory
from kodoku_portal.formfields import CleanInputFormMixin, YenAmountField

from .models import BudgetVersion, ChangeKind

MAX_DOCUMENTS = 10


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input (the Django documentation's pattern)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(item, initial) for item in data]
        return [single(data, initial)] if data else []


class ChangeBudgetLineForm(CleanInputFormMixin, forms.Form):
    category = forms.ChoiceField(label=_("Expense category"), choices=[("", "---------"), *BudgetCategory.choices])
    description = forms.CharField(label=_("Details"), max_length=200)
    amount = YenAmountField(label=_("Amount (yen)"), min_value=0, max_value=1_000_000_000_000)

    def __init__(self, *args, kept_categories=(), **kwargs):
        super().__init__(*args, **kwargs)
        # A category of the budget in force that is no longer offered stays choosable for its lines.
        known = set(BudgetCategory.values)
        extra = [(category, category) for category in kept_categories if category not in known]
        if extra:
            self.fields["category"].choices = [*self.fields["category"].choices, *extra]
        self.fields["category"].widget.attrs["class"] = "form-select form-select-sm"
        self.fields["description"].widget.attrs["class"] = "form-control form-control-sm"
        self.fields["amount"].widget.attrs["class"] = "form-control form-control-sm text-end"


class BaseChangeBudgetFormSet(forms.BaseFormSet):
    def add_fields(self, form, index):
        super().add_fields(form, index)
        if "DELETE" in form.fields:
            form.fields["DELETE"].widget.attrs["class"] = "form-check-input"

    def lines(self) -> list[tuple[str, str, int]]:
        """(category, details, amount) of every filled row that is not deleted, in order."""
        return [
            (form.cleaned_data["category"], form.cleaned_data["description"], form.cleaned_data["amount"])
            for form in self.forms
            if form.cleaned_data and not self._should_delete_form(form)
        ]


ChangeBudgetFormSet = forms.formset_factory(
    ChangeBudgetLineForm,
    formset=BaseChangeBudgetFormSet,
    extra=2,
    can_delete=True,
    max_num=60,
    validate_max=True,
    absolute_max=60,
)


def budget_formset(version: BudgetVersion | None, data=None) -> BaseChangeBudgetFormSet:
    """The budget lines after the change, prefilled from the budget in force."""
    lines = list(version.lines.all()) if version else []
    initial = [{"category": line.category, "description": line.description, "amount": line.amount} for line in lines]
    kept = list(dict.fromkeys(line.category for line in lines))
    return ChangeBudgetFormSet(data, initial=initial, prefix="lines", form_kwargs={"kept_categories": kept})


class DocumentsMixin:
    """Attachments (several files in one input, at most MAX_DOCUMENTS)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["documents"].help_text = gettext("Up to %(count)s files.") % {"count": MAX_DOCUMENTS}

    def clean_documents(self):
        documents = self.cleaned_data["documents"]
        if len(documents) > MAX_DOCUMENTS:
            raise forms.ValidationError(gettext("Attach at most %(count)s files.") % {"count": MAX_DOCUMENTS})
        return documents


class ChangeRequestForm(CleanInputFormMixin, DocumentsMixin, forms.Form):
    plan_before = forms.CharField(
        label=_("The plan now"),
        required=False,
        max_length=10_000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Only for a change of plan: what the plan says now."),
    )
    plan_after = forms.CharField(
        label=_("The plan after the change"),
        required=False,
        max_length=10_000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Leave empty when only the budget changes. A change of plan always needs approval."),
    )
    reason = forms.CharField(
        label=_("Reason for the change"), max_length=10_000, widget=forms.Textarea(attrs={"rows": 3})
    )
    documents = MultipleFileField(label=_("Attachments (PDF, Word or Excel)"), required=False)


class DiscontinueForm(CleanInputFormMixin, DocumentsMixin, forms.Form):
    kind = forms.ChoiceField(
        label=_("What you ask for"),
        choices=[
            (ChangeKind.SUSPEND.value, ChangeKind.SUSPEND.label),
            (ChangeKind.ABOLISH.value, ChangeKind.ABOLISH.label),
        ],
        widget=forms.RadioSelect,
    )
    effective_on = forms.DateField(
        label=_("The date the project stops"), widget=forms.DateInput(attrs={"type": "date"})
    )
    reason = forms.CharField(label=_("Reason"), max_length=10_000, widget=forms.Textarea(attrs={"rows": 3}))
    documents = MultipleFileField(label=_("Attachments (PDF, Word or Excel)"), required=False)


class ChangeDecisionForm(CleanInputFormMixin, forms.Form):
    decision = forms.ChoiceField(choices=[("approve", _("Approve")), ("refuse", _("Refuse"))], widget=forms.HiddenInput)
    note = forms.CharField(
        label=_("Note on the decision"),
        required=False,
        max_length=2_000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Required when refusing; it is stated in the letter."),
    )

    def clean(self):
        data = super().clean()
        if data.get("decision") == "refuse" and not (data.get("note") or "").strip():
            self.add_error("note", _("Give the reason for refusing the change in the note."))
        return data
