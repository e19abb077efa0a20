"""Forms of the applicant's side. Codes and amounts are normalised (full-width digits, hyphens)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from calls.models import ApplicantType
from kodoku_portal.formfields import (
    NAME_MAX,
    CleanInputFormMixin,
    CorporateNumberField,
    CountField,
    KanaField,
    LocalGovernmentCodeField,
    PhoneField,
    PostalCodeField,
    YenAmountField,
)
from kodoku_portal.limits import LimitedTextField
from kodoku_portal.prefectures import PREFECTURE_CHOICES

from .checks import (
    CORPORATE_NUMBER_MISSING,
    corporate_number_problem,
    project_period_problem,
    unexpected_corporate_number_message,
)
from .models import Application, AttachmentKind, BudgetCategory, MemberRole, Organisation
from .services import DRAFT_FIELDS, ORGANISATION_FIELDS, BudgetLineInput

# The application's long texts (LimitedTextField: a max_length and a LENGTH check in the database).
LIMITED_TEXT_FIELDS = frozenset(f.name for f in Application._meta.fields if isinstance(f, LimitedTextField))


class OrganisationForm(CleanInputFormMixin, forms.ModelForm):
    name_kana = KanaField(label=_("Name in katakana (フリガナ)"), max_length=200)
    corporate_number = CorporateNumberField(
        label=_("Corporate number (法人番号)"),
        required=False,
        help_text=_(
            "13 digits. Hyphens and full-width digits are accepted. Unincorporated associations leave it empty."
        ),
    )
    local_government_code = LocalGovernmentCodeField(
        label=_("Local government code (団体コード)"),
        required=False,
        help_text=_(
            "Local governments only: the 6-digit code (全国地方公共団体コード), e.g. 130001. The prefecture and "
            "the corporate number follow from it."
        ),
    )
    department = forms.CharField(
        label=_("Department in charge (担当部署)"),
        required=False,
        max_length=100,
        help_text=_("Local governments only, e.g. 福祉局生活福祉部地域福祉課."),
    )
    postal_code = PostalCodeField(label=_("Postal code"), help_text="100-0001")
    phone = PhoneField(label=_("Phone"))
    staff_count = CountField(label=_("Number of staff"), required=False, max_value=1_000_000)
    volunteer_count = CountField(label=_("Number of volunteers"), required=False, max_value=1_000_000)
    annual_budget = YenAmountField(label=_("Annual budget (yen)"), required=False)
    website = forms.URLField(label=_("Website"), required=False, assume_scheme="https")

    class Meta:
        model = Organisation
        fields = ORGANISATION_FIELDS
        widgets = {"founded_on": forms.DateInput(attrs={"type": "date"})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        types = list(ApplicantType.objects.order_by("order"))
        self.fields["applicant_type"].queryset = ApplicantType.objects.order_by("order")
        # The types that register with a 団体コード (static/js/organisation-form.js shows their fields).
        self.local_government_type_ids = ",".join(str(t.pk) for t in types if t.is_local_government)
        for name in ("address", "contact_name", "email"):
            self.fields[name].required = True
        # Asked of every body but a local government (whose prefecture follows from its code and
        # which names a department instead of a representative): checked in clean().
        self.fields["prefecture"].required = False
        self.fields["prefecture"].help_text = _("Local governments: filled in from the local government code.")

    def clean(self):
        cleaned = super().clean()
        applicant_type = cleaned.get("applicant_type")
        if applicant_type is not None and applicant_type.is_local_government:
            if not cleaned.get("local_government_code") and "local_government_code" not in self.errors:
                self.add_error("local_government_code", _("Enter the 6-digit local government code (団体コード)."))
            if not cleaned.get("department"):
                self.add_error("department", _("Enter the department in charge (担当部署)."))
            # Its 法人番号 follows from the code (the service derives it).
            cleaned["corporate_number"] = ""
            self.errors.pop("corporate_number", None)
            return cleaned
        if applicant_type is not None:
            # Only a local government has a 団体コード and names a department: for any other body the
            # two fields are hidden (static/js/organisation-form.js) and emptied here, so a profile
            # whose type changed from 地方公共団体 keeps no code it can no longer see.
            cleaned["local_government_code"] = ""
            cleaned["department"] = ""
            for name in ("prefecture", "representative_title", "representative_name"):
                if not cleaned.get(name) and name not in self.errors:
                    self.add_error(name, forms.Field.default_error_messages["required"])
            # A registration gives the number whenever the legal form has one (the service alone
            # would accept a profile without it: see corporate_number_problem).
            problem = corporate_number_problem(applicant_type, cleaned.get("corporate_number") or "")
            if problem == CORPORATE_NUMBER_MISSING:
                self.add_error("corporate_number", _("Enter the 13-digit corporate number (法人番号)."))
            elif problem is not None:
                self.add_error("corporate_number", unexpected_corporate_number_message())
        return cleaned


class InvitationForm(CleanInputFormMixin, forms.Form):
    email = forms.EmailField(label=_("Colleague's e-mail address"))
    role = forms.ChoiceField(label=_("Role"), choices=MemberRole.choices, initial=MemberRole.EDITOR)


class KnownChoiceField(forms.ModelChoiceField):
    """A ``ModelChoiceField`` that already holds one valid object (the stored choice): choosing it
    again is validated without asking the database."""

    known = None

    def to_python(self, value):
        if self.known is not None and value not in self.empty_values and str(value) == str(self.known.pk):
            return self.known
        return super().to_python(value)


class ApplicationForm(CleanInputFormMixin, forms.ModelForm):
    """The draft form: every field may be empty while drafting; the preview lists what is missing.
    Every text is bounded (the model's max_length: LONG_TEXT_MAX for a section; the summary also
    has the call's own, shorter limit, checked at submission) and stored without invisible control
    characters or bidi overrides (CleanInputFormMixin)."""

    area_prefectures = forms.MultipleChoiceField(
        label=_("Project area: prefectures"),
        choices=PREFECTURE_CHOICES,
        required=False,
        widget=forms.CheckboxSelectMultiple(attrs={"class": "form-check-input"}),
    )
    # The version this save is based on (never overwrite a newer one). Bounded like the column it
    # is kept in, so a tampered value is a refused form (400), not a database error (500).
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=0, max_value=2_147_483_647)

    class Meta:
        model = Application
        fields = DRAFT_FIELDS
        widgets = {
            "summary": forms.Textarea(attrs={"rows": 5}),
            "area_reason": forms.Textarea(attrs={"rows": 3}),
            "period_start": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "period_end": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        }
        field_classes = {"theme": KnownChoiceField}

    def __init__(self, *args, call, fields=None, **kwargs):
        """``fields``: the draft fields of one section (applications/sections.py); the form then
        has only those (and the version), so a save of that section changes nothing else: a field
        the form does not have is not in ``draft_fields()``, whatever the POST lacks."""
        super().__init__(*args, **kwargs)
        self.call = call
        if fields is not None:
            for name in [name for name in self.fields if name != "version" and name not in fields]:
                del self.fields[name]
        for field in self.fields.values():
            field.required = False
        self.fields["version"].required = True
        if "summary" in self.fields:
            summary = self.fields["summary"]
            summary.widget.attrs.update({"data-max-length": call.summary_max_length})
            summary.help_text = _("Up to %(limit)d characters.") % {"limit": call.summary_max_length}
        if "theme" not in self.fields:
            return
        self.fields["theme"].queryset = call.themes.order_by("number")
        if self.instance.theme_id is not None and self.instance.theme.call_id == call.pk:
            # The stored theme is one of the call's: the call has themes, and keeping it is valid.
            self.fields["theme"].known = self.instance.theme
        elif not call.themes.exists():
            del self.fields["theme"]

    def _get_validation_exclusions(self):
        # The model's own validation would ask the database again what this form's fields have
        # just checked: the theme's existence (the field took it from the call's themes) and, once
        # per long text, the LENGTH check constraint (the field's max_length is the same rule).
        exclude = super()._get_validation_exclusions()
        return exclude | {"theme", *(name for name in self.fields if name in LIMITED_TEXT_FIELDS)}

    def clean(self):
        cleaned = super().clean()
        problem = project_period_problem(cleaned.get("period_start"), cleaned.get("period_end"))
        if problem:
            self.add_error("period_end", problem)
        return cleaned

    def draft_fields(self) -> dict:
        """The cleaned values as the draft service stores them (empty text as "", never None)."""
        data = {name: self.cleaned_data.get(name) for name in self.Meta.fields if name in self.fields}
        for name, field in self.fields.items():
            if isinstance(field, forms.CharField) and data.get(name) is None and name in data:
                data[name] = ""
        if "area_nationwide" in data:
            data["area_nationwide"] = bool(data["area_nationwide"])
        if "area_prefectures" in data:
            data["area_prefectures"] = list(data["area_prefectures"] or [])
        return data


class BudgetLineForm(CleanInputFormMixin, forms.Form):
    category = forms.ChoiceField(label=_("Expense category"), choices=BudgetCategory.choices)
    description = forms.CharField(label=_("Details"), max_length=NAME_MAX)
    quantity = CountField(label=_("Quantity"), min_value=1, max_value=1_000_000)
    unit_price = YenAmountField(label=_("Unit price (yen)"), min_value=0, max_value=1_000_000_000)

    def to_input(self) -> BudgetLineInput:
        data = self.cleaned_data
        return BudgetLineInput(data["category"], data["description"], data["quantity"], data["unit_price"])


class BaseBudgetFormSet(forms.BaseFormSet):
    def lines(self) -> list[BudgetLineInput]:
        return [
            form.to_input()
            for form in self.forms
            if form.has_changed() and not self._should_delete_form(form) and form.cleaned_data
        ]


# absolute_max: a tampered TOTAL_FORMS (say 99999) is refused at 60 forms instead of building and
# validating a thousand (Django's default ceiling is max_num + 1000).
BudgetFormSet = forms.formset_factory(
    BudgetLineForm, formset=BaseBudgetFormSet, extra=1, can_delete=True, max_num=60, validate_max=True, absolute_max=60
)


class AttachmentForm(forms.Form):
    kind = forms.ChoiceField(label=_("Document type"), choices=AttachmentKind.choices)
    file = forms.FileField(label=_("File (PDF, Word or Excel)"))
