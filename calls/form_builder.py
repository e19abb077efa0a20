"""A Django form for one section of a call's application form (issue 16).

``section_form(version, section, values=…, data=None)`` gives a :class:`SchemaSectionForm` with one
form field per schema field of the section, typed by its kind (the normalising fields of
``kodoku_portal.formfields`` for numbers and amounts, the prefectures of
``kodoku_portal.prefectures``), with ``CleanInputFormMixin``. ``values`` are the stored answers of
the whole version (key → Python value), since a condition may refer to a field of an earlier
section.

Conditional fields: every field is in the form and rendered (without JavaScript all are shown,
and ``static/js/schema-form.js`` hides those whose condition fails as the applicant answers). The
server decides: after cleaning, a field hidden by its condition (evaluated on this submission for
the section's own fields, on the stored answers for others) is not required, its input is not
validated and not saved (``form.hidden_keys``; ``form.answers_to_save()`` leaves it out), so its
stored answer is neither required nor lost.

``section_form`` reads the version through two methods only, ``ordered_sections()`` and
``ordered_fields()`` (and its ``call``): a :class:`FormDefinition` holds sections and fields in memory
behind the same methods, so the admin's live preview (``calls/preview_views.py``) builds the form of
edits that are not saved yet.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django import forms
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from kodoku_portal.formfields import CleanInputFormMixin, CountField, YenAmountField
from kodoku_portal.jp import format_yen
from kodoku_portal.limits import LONG_TEXT_MAX, NAME_MAX
from kodoku_portal.prefectures import PREFECTURE_CHOICES

from .form_schema import FieldSpec, schema_of, visible_keys
from .models import FieldKind, FormField, FormSection, FormVersion

__all__ = ["FileSlotField", "FormDefinition", "SchemaSectionForm", "form_field_for", "section_form", "upload_name"]


class FormDefinition:
    """A version's sections and fields held in memory (unsaved instances may be among them), read as
    a :class:`FormVersion` is read here and by ``form_schema.schema_of``: ``call``,
    ``ordered_sections()`` and ``ordered_fields()``, in the same order. A field whose section is not
    among ``sections`` is left out, as deleting a section deletes its fields."""

    def __init__(self, version: FormVersion, sections: Iterable[FormSection], fields: Iterable[FormField]) -> None:
        self.version = version
        self.call = version.call
        self._sections = sorted(sections, key=lambda section: (section.order, section.key))
        place = {section.pk: (section.order, section.key) for section in self._sections if section.pk is not None}
        self._fields = sorted(
            (item for item in fields if item.section_id in place),
            key=lambda item: (*place[item.section_id], item.order, item.key),
        )

    def ordered_sections(self) -> list[FormSection]:
        return list(self._sections)

    def ordered_fields(self) -> list[FormField]:
        return list(self._fields)


def _choices(item: FormField) -> list[tuple[str, str]]:
    english = (get_language() or "ja").startswith("en")
    return [(value, (en if english and en else ja)) for value, ja, en in item.choice_list()]


def upload_name(html_name: str) -> str:
    """The name of a file slot's upload input beside its choice (``schema-plan_file-upload``)."""
    return f"{html_name}-upload"


class FileSlotSelect(forms.Select):
    """A file slot's choice among the application's files (or none, which empties the slot); a file
    sent as ``<name>-upload`` (the form is then multipart) is the slot's value instead."""

    needs_multipart_form = True

    def value_from_datadict(self, data, files, name):
        upload = files.get(upload_name(name)) if files else None
        return upload if upload is not None else super().value_from_datadict(data, files, name)


class FileSlotField(forms.TypedChoiceField):
    """A file slot: cleaned to the id of one of the application's files, None, or a file uploaded
    into the slot, which the form does not check: ``applications.services.answers_attach_file``
    checks it as the attachments page does, stores it and puts its id in the slot."""

    widget = FileSlotSelect

    @property
    def max_mb(self) -> int:
        """The size limit of an upload, in MB, as the attachments page states it."""
        return settings.ATTACHMENT_MAX_BYTES // (1024 * 1024)

    def clean(self, value: Any) -> Any:
        return value if isinstance(value, UploadedFile) else super().clean(value)

    def bound_data(self, data: Any, initial: Any) -> Any:
        # An upload refused (or not stored because of another error) shows the slot as stored.
        return initial if isinstance(data, UploadedFile) else data


def form_field_for(item: FormField, *, file_choices: Iterable[tuple[Any, str]] = ()) -> forms.Field:
    """The form field for one schema field (never required here: the form decides, see above)."""
    common: dict[str, Any] = {
        "label": item.localized_label,
        "help_text": item.localized_help_text,
        "required": False,
    }
    kind = item.kind
    if kind == FieldKind.SHORT_TEXT:
        return forms.CharField(max_length=item.max_length or NAME_MAX, **common)
    if kind == FieldKind.LONG_TEXT:
        return forms.CharField(
            max_length=item.max_length or LONG_TEXT_MAX, widget=forms.Textarea(attrs={"rows": 5}), **common
        )
    if kind == FieldKind.WHOLE_NUMBER:
        return CountField(**common)
    if kind == FieldKind.YEN:
        return YenAmountField(**common)
    if kind == FieldKind.DATE:
        return forms.DateField(widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"), **common)
    if kind == FieldKind.CHOICE:
        return forms.ChoiceField(choices=_choices(item), widget=forms.RadioSelect, **common)
    if kind == FieldKind.MULTI_CHOICE:
        return forms.MultipleChoiceField(choices=_choices(item), widget=forms.CheckboxSelectMultiple, **common)
    if kind == FieldKind.PREFECTURES:
        return forms.MultipleChoiceField(
            choices=PREFECTURE_CHOICES,
            widget=forms.CheckboxSelectMultiple(attrs={"class": "schema-prefecture"}),
            **common,
        )
    if kind == FieldKind.FILE:
        return FileSlotField(
            choices=[("", _("(no file chosen)")), *[(str(pk), name) for pk, name in file_choices]],
            coerce=int,
            empty_value=None,
            **common,
        )
    raise ValueError(f"unknown field kind {kind!r}")


def _styled(field: forms.Field) -> forms.Field:
    widget = field.widget
    if isinstance(widget, forms.Select) and not isinstance(widget, forms.RadioSelect | forms.CheckboxSelectMultiple):
        widget.attrs.setdefault("class", "form-select")
    elif not isinstance(widget, forms.RadioSelect | forms.CheckboxSelectMultiple):
        widget.attrs.setdefault("class", "form-control")
    return field


def _initial(kind: str, value: Any) -> Any:
    if value is None:
        return None
    if kind in (FieldKind.MULTI_CHOICE, FieldKind.PREFECTURES):
        return list(value)
    if kind == FieldKind.YEN:
        return f"{value:,}"
    if kind == FieldKind.FILE:
        return str(value)
    return value


class SchemaSectionForm(CleanInputFormMixin, forms.Form):
    """One schema section; built by :func:`section_form` (its fields are named by the schema's keys,
    so what the form knows of the schema is kept in instance attributes, never in class ones)."""

    def __init__(
        self,
        *args: Any,
        version: FormVersion | FormDefinition,
        section: FormSection,
        items: list[FormField],
        specs: tuple[FieldSpec, ...],
        stored: Mapping[str, Any],
        drafting: bool = False,
        **kwargs: Any,
    ) -> None:
        self.version, self.section, self.items, self.specs, self.stored = version, section, items, specs, stored
        # A draft's save: a required answer may still be missing (the task list and the submission
        # check ask for it), so part of a section is saved and nothing typed is lost.
        self.drafting = drafting
        super().__init__(*args, **kwargs)
        self.hidden_keys: set[str] = self._hidden_for(self.stored)

    def _hidden_for(self, values: Mapping[str, Any]) -> set[str]:
        shown = visible_keys(self.specs, values)
        return {item.key for item in self.items if item.key not in shown}

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        values = dict(self.stored)
        for item in self.items:
            if item.key in cleaned:
                values[item.key] = cleaned[item.key]
            elif item.key in self.errors:
                values[item.key] = None
        self.hidden_keys = self._hidden_for(values)
        for item in self.items:
            if item.key in self.hidden_keys:
                # Hidden by its condition: neither validated nor required, and not saved (the stored answer stays).
                self.errors.pop(item.key, None)
                cleaned.pop(item.key, None)
            elif (
                not self.drafting
                and item.required
                and cleaned.get(item.key) in (None, "", [], ())
                and item.key not in self.errors
            ):
                self.add_error(item.key, forms.ValidationError(_("This field is required."), code="required"))
        self._check_shares(cleaned)
        return cleaned

    def _check_shares(self, cleaned: dict[str, Any]) -> None:
        """An amount limited to the call's subsidy rate (補助率) of an earlier amount of the section."""
        by_key = {item.key: item for item in self.items}
        for item in self.items:
            base = by_key.get(item.share_of) if item.share_of else None
            if base is None or item.key not in cleaned or base.key not in cleaned:
                continue
            amount, total = cleaned[item.key], cleaned[base.key]
            if amount is None or total is None:
                continue
            rate = self.version.call.subsidy_rate_percent
            limit = total * rate // 100
            if amount > limit:
                self.add_error(
                    item.key,
                    forms.ValidationError(
                        _("%(label)s may be at most %(rate)s%% of %(base)s, that is %(limit)s.")
                        % {
                            "label": item.localized_label,
                            "rate": rate,
                            "base": base.localized_label,
                            "limit": format_yen(limit),
                        },
                        code="over_share",
                    ),
                )

    def answers_to_save(self) -> dict[str, Any]:
        """key → cleaned value of every shown field of the section (only on a valid form)."""
        return {item.key: self.cleaned_data.get(item.key) for item in self.items if item.key not in self.hidden_keys}

    def rows(self) -> list[dict[str, Any]]:
        """What the template draws per field: the bound field, the schema field, its condition and
        whether the server finds it hidden now."""
        return [{"field": self[item.key], "item": item, "hidden": item.key in self.hidden_keys} for item in self.items]


def section_form(
    version: FormVersion | FormDefinition,
    section: FormSection,
    *,
    values: Mapping[str, Any] | None = None,
    data: Mapping[str, Any] | None = None,
    file_choices: Iterable[tuple[Any, str]] = (),
    prefix: str = "schema",
    files: Mapping[str, Any] | None = None,
    drafting: bool = False,
) -> SchemaSectionForm:
    """The form of ``section`` of ``version``, showing ``values`` (stored answers, key → value) and
    bound to ``data`` when given (``files``: uploads into its file slots, see ``FileSlotField``).
    ``version``'s sections and fields should be prefetched (or it is a :class:`FormDefinition`)."""
    stored = dict(values or {})
    items = [item for item in version.ordered_fields() if item.section_id == section.pk]
    file_choices = list(file_choices)
    declared = {item.key: _styled(form_field_for(item, file_choices=file_choices)) for item in items}
    form_class = type("SchemaSectionForm", (SchemaSectionForm,), declared)
    initial = {item.key: _initial(item.kind, stored.get(item.key)) for item in items}
    return form_class(
        data=data,
        files=files,
        initial=initial,
        prefix=prefix,
        version=version,
        section=section,
        items=items,
        specs=schema_of(version).fields,
        stored=stored,
        drafting=drafting,
    )
