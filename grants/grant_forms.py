"""Forms of 交付申請, its review, 交付決定, 辞退 and 繰上げ採択 (grant_views). The services check the
same rules again (grant_steps); the forms say what is wrong field by field."""

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from applications.filetypes import validate_attachment
from applications.models import BudgetCategory
from kodoku_portal.formfields import CleanInputFormMixin, PhoneField, YenAmountField
from kodoku_portal.jp import format_yen

from .grant_steps import (
    DocumentInput,
    FilingInput,
    LineInput,
    normalise_account_holder,
    normalise_account_number,
    normalise_bank_code,
    normalise_branch_code,
)
from .models import AccountType

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class _NormalisedField(forms.CharField):
    """A text field whose value goes through one of grant_steps' bank normalisers."""

    def __init__(self, *, normalise, numeric: bool = False, **kwargs):
        self.normalise = normalise
        super().__init__(**kwargs)
        if numeric:
            self.widget.attrs.setdefault("inputmode", "numeric")
        self.widget.attrs.pop("maxlength", None)

    def to_python(self, value):
        value = super().to_python(value)
        return value if value in self.empty_values else self.normalise(value)


class FilingForm(CleanInputFormMixin, forms.Form):
    project_start = forms.DateField(label=_("Project starts"), widget=DATE)
    project_end = forms.DateField(label=_("Project ends"), widget=DATE)
    responsible_title = forms.CharField(label=_("Title of the person responsible"), max_length=60, required=False)
    responsible_name = forms.CharField(label=_("Person responsible"), max_length=60)
    responsible_phone = PhoneField(label=_("Phone of the person responsible"), max_length=20, required=False)
    responsible_email = forms.EmailField(label=_("E-mail of the person responsible"), required=False)
    bank_name = forms.CharField(label=_("Bank"), max_length=60)
    bank_code = _NormalisedField(label=_("Bank code (4 digits)"), normalise=normalise_bank_code, numeric=True)
    branch_name = forms.CharField(label=_("Branch"), max_length=60)
    branch_code = _NormalisedField(label=_("Branch code (3 digits)"), normalise=normalise_branch_code, numeric=True)
    account_type = forms.ChoiceField(label=_("Account type"), choices=AccountType.choices)
    account_number = _NormalisedField(
        label=_("Account number (up to 7 digits)"), normalise=normalise_account_number, numeric=True
    )
    account_holder_kana = _NormalisedField(
        label=_("Account holder (katakana, as the bank has it)"),
        normalise=normalise_account_holder,
        help_text=_("Converted to the half-width katakana banks use, e.g. とくてい → ﾄｸﾃｲ."),
    )

    def clean(self):
        data = super().clean()
        start, end = data.get("project_start"), data.get("project_end")
        if start and end and start > end:
            self.add_error("project_end", _("The project must start before it ends."))
        return data


class GrantLineForm(CleanInputFormMixin, forms.Form):
    category = forms.ChoiceField(label=_("Expense category"), choices=BudgetCategory.choices)
    description = forms.CharField(label=_("Details"), max_length=200)
    amount = YenAmountField(label=_("Amount (yen)"), min_value=0, max_value=1_000_000_000_000)


class BaseGrantBudgetFormSet(forms.BaseFormSet):
    """The budget lines of the filing; the total is more than ¥0 and at most the award amount."""

    def __init__(self, *args, award_amount: int | None = None, **kwargs):
        self.award_amount = award_amount
        super().__init__(*args, **kwargs)

    def lines(self) -> list[LineInput]:
        return [
            LineInput(form.cleaned_data["category"], form.cleaned_data["description"], form.cleaned_data["amount"])
            for form in self.forms
            if form.has_changed() and not self._should_delete_form(form) and form.cleaned_data
        ]

    def clean(self):
        super().clean()
        if any(self.errors):
            return
        lines = self.lines()
        total = sum(line.amount for line in lines)
        if not lines or total <= 0:
            raise ValidationError(_("The budget total must be more than ¥0."))
        if self.award_amount is not None and total > self.award_amount:
            raise ValidationError(
                _("The budget total (%(total)s) cannot exceed the award amount (%(award)s).")
                % {"total": format_yen(total), "award": format_yen(self.award_amount)}
            )


GrantBudgetFormSet = forms.formset_factory(
    GrantLineForm,
    formset=BaseGrantBudgetFormSet,
    extra=2,
    can_delete=True,
    max_num=60,
    validate_max=True,
    absolute_max=60,
)


class DocumentForm(CleanInputFormMixin, forms.Form):
    title = forms.CharField(label=_("Document"), max_length=100, required=False)
    file = forms.FileField(label=_("File (PDF, Word or Excel)"), required=False)

    def clean(self):
        data = super().clean()
        upload, title = data.get("file"), data.get("title")
        if upload:
            try:
                data["file_type"] = validate_attachment(upload, max_bytes=settings.ATTACHMENT_MAX_BYTES)
            except ValidationError as error:
                self.add_error("file", error)
            if not title:
                self.add_error("title", _("Say what the document is."))
        elif title:
            self.add_error("file", _("Choose the file."))
        return data


class BaseDocumentFormSet(forms.BaseFormSet):
    def documents(self) -> list[DocumentInput]:
        return [
            DocumentInput(form.cleaned_data["title"], form.cleaned_data["file"], form.cleaned_data["file_type"])
            for form in self.forms
            if form.cleaned_data.get("file")
        ]


DocumentFormSet = forms.formset_factory(DocumentForm, formset=BaseDocumentFormSet, extra=3, max_num=10, absolute_max=10)


def filing_input(form: FilingForm, budget: BaseGrantBudgetFormSet, documents: BaseDocumentFormSet) -> FilingInput:
    data = form.cleaned_data
    return FilingInput(
        project_start=data["project_start"],
        project_end=data["project_end"],
        lines=budget.lines(),
        responsible_title=data["responsible_title"],
        responsible_name=data["responsible_name"],
        responsible_phone=data["responsible_phone"],
        responsible_email=data["responsible_email"],
        bank_name=data["bank_name"],
        bank_code=data["bank_code"],
        branch_name=data["branch_name"],
        branch_code=data["branch_code"],
        account_type=data["account_type"],
        account_number=data["account_number"],
        account_holder_kana=data["account_holder_kana"],
        documents=documents.documents(),
    )


class ReturnForm(CleanInputFormMixin, forms.Form):
    reason = forms.CharField(
        label=_("Reason for returning (shown to the organisation)"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=4000,
    )


class GrantDecisionForm(CleanInputFormMixin, forms.Form):
    amount = YenAmountField(label=_("Granted amount (yen)"), min_value=1)
    conditions = forms.CharField(
        label=_("Conditions of the grant (記), one per line"),
        widget=forms.Textarea(attrs={"rows": 6}),
        required=False,
        max_length=10_000,
    )
    progress_report_due = forms.DateField(label=_("Progress report due"), widget=DATE, required=False)

    def __init__(self, *args, progress_report: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        if not progress_report:
            del self.fields["progress_report_due"]


class DeclineForm(CleanInputFormMixin, forms.Form):
    reason = forms.CharField(label=_("Reason for declining"), widget=forms.Textarea(attrs={"rows": 3}), max_length=4000)
    confirm = forms.BooleanField(label=_("I understand that declining cannot be undone."))


class PromoteForm(CleanInputFormMixin, forms.Form):
    award_amount = YenAmountField(label=_("Award amount (yen)"), min_value=1)


class ReserveCloseForm(forms.Form):
    confirm = forms.BooleanField(
        label=_("I understand that every application still on the reserve list becomes not adopted.")
    )
