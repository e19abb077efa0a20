"""Forms of 遂行状況報告 / 実績報告: the report with its cost lines (a formset), evidence and document
uploads, staff's verdict per line, returning and accepting. The services check every rule again."""

from django import forms
from django.core.validators import MaxLengthValidator
from django.utils.translation import gettext_lazy as _

from applications.models import BudgetCategory
from kodoku_portal.formfields import CleanInputFormMixin, CountField, YenAmountField

from .models import CostVerdict, EvidenceKind
from .report_steps import MAX_LINES, TEXT_MAX, CostInput


def _long_text(label, *, required: bool = True, rows: int = 4) -> forms.CharField:
    return forms.CharField(
        label=label,
        required=required,
        max_length=TEXT_MAX,
        validators=[MaxLengthValidator(TEXT_MAX)],
        widget=forms.Textarea(attrs={"rows": rows, "maxlength": str(TEXT_MAX)}),
    )


class _StrippedForm(CleanInputFormMixin, forms.Form):
    """Every text bounded and stored without control characters or bidi overrides (tab and line
    breaks kept): the portal's CleanInputFormMixin."""


class ReportForm(_StrippedForm):
    activities = _long_text(_("Activities done"))
    participants = CountField(label=_("Participants (total)"), max_value=100_000_000)
    results = _long_text(_("Results"))
    issues = _long_text(_("Issues"), required=False, rows=3)
    carry_documents = forms.BooleanField(
        label=_("Carry over the documents attached to the returned report"), required=False, initial=True
    )

    def __init__(self, *args, returned=None, **kwargs):
        super().__init__(*args, **kwargs)
        if returned is None or not returned.documents.exists():
            del self.fields["carry_documents"]


class CostLineForm(_StrippedForm):
    category = forms.ChoiceField(label=_("Expense category"), choices=[("", "---------"), *BudgetCategory.choices])
    description = forms.CharField(label=_("Details"), max_length=200, required=False)
    amount = YenAmountField(label=_("Actual cost (yen)"), min_value=0, max_value=1_000_000_000_000)
    # The line of the returned report this one continues: its evidence comes along.
    source = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=1, max_value=2_147_483_647)

    def to_input(self) -> CostInput:
        data = self.cleaned_data
        return CostInput(data["category"], data.get("description") or "", data["amount"], data.get("source"))


class BaseCostFormSet(forms.BaseFormSet):
    """The cost lines. ``kept`` lines (those of a returned report, filed again) are lines unless
    deleted; the lines prefilled from the budget in force are offered: one left as prefilled,
    without an amount, is not a line. Two empty lines follow them."""

    def __init__(self, *args, kept: int = 0, **kwargs):
        self.kept = kept
        super().__init__(*args, **kwargs)
        self.extra = max(len(self.initial or []) - kept, 0) + 2

    def initial_form_count(self) -> int:
        return self.kept

    def lines(self) -> list[CostInput]:
        return [
            form.to_input()
            for index, form in enumerate(self.forms)
            if (index < self.kept or form.has_changed()) and not self._should_delete_form(form) and form.cleaned_data
        ]

    def clean(self):
        super().clean()
        if any(self.errors):
            return
        if not self.lines():
            raise forms.ValidationError(_("Give the actual costs, one line per expense."))


CostFormSet = forms.formset_factory(
    CostLineForm,
    formset=BaseCostFormSet,
    extra=2,
    can_delete=True,
    max_num=MAX_LINES,
    validate_max=True,
    absolute_max=MAX_LINES,
)


class EvidenceForm(CleanInputFormMixin, forms.Form):
    kind = forms.ChoiceField(label=_("Document type"), choices=EvidenceKind.choices)
    invoice_number = forms.CharField(
        label=_("Registration number (T + 13 digits)"),
        required=False,
        max_length=40,
        help_text=_("The invoice's 適格請求書発行事業者 registration number, if it has one."),
    )
    file = forms.FileField(label=_("File (PDF, Word or Excel)"))


class ReportDocumentForm(CleanInputFormMixin, forms.Form):
    title = forms.CharField(label=_("Document"), max_length=100)
    file = forms.FileField(label=_("File (PDF, Word or Excel)"))


class LineVerdictForm(_StrippedForm):
    verdict = forms.ChoiceField(
        label=_("Verdict"),
        choices=[(value, label) for value, label in CostVerdict.choices if value != CostVerdict.PENDING],
    )
    eligible_amount = YenAmountField(
        label=_("Eligible part (yen, when not eligible)"), required=False, min_value=0, max_value=1_000_000_000_000
    )
    comment = forms.CharField(
        label=_("Comment (the reason, or the evidence needed)"),
        required=False,
        max_length=TEXT_MAX,
        widget=forms.Textarea(attrs={"rows": 2, "maxlength": str(TEXT_MAX)}),
    )


class ReturnReportForm(_StrippedForm):
    reason = forms.CharField(
        label=_("Why the report is returned"),
        max_length=TEXT_MAX,
        widget=forms.Textarea(attrs={"rows": 3, "maxlength": str(TEXT_MAX)}),
    )
