"""Form fields for Japanese input, built on ``kodoku_portal.normalise``.

Each is a ``forms.CharField`` whose ``to_python`` runs the matching normalise function, so
``cleaned_data`` holds the canonical value and a bad entry gets the message that says what is
wrong. Empty input is left to the usual ``required`` handling (``""``, or ``None`` for
``YenAmountField``), not passed to the normalise function.

Raw input is often longer than the stored value ("4-0110-0109-8993" is 16 characters, the stored
number 13), so these fields never put ``maxlength`` on the widget; ``max_length`` is still checked,
on the normalised value.

==========================  ======================================  =================================
Field                       Normalises with                         ``cleaned_data``
==========================  ======================================  =================================
``CorporateNumberField``    ``normalise_corporate_number``          ``"4011001098993"``
``LocalGovernmentCodeField`` ``normalise_local_government_code``    ``"130001"``
``PostalCodeField``         ``normalise_postal_code``               ``"100-0001"``
``PhoneField``              ``normalise_phone``                     ``"03-1234-5678"``
``YenAmountField``          ``normalise_amount`` (+ min/max)        ``2000000`` (int)
``CountField``              ``normalise_count`` (+ min/max)         ``12`` (int)
``KanaField``               ``normalise_kana``                      ``"トクテイ　ヒエイリ"``
==========================  ======================================  =================================

Names, addresses and free text use plain ``forms.CharField`` (never NFKC; see ``normalise``).

Every form that takes text mixes in ``CleanInputFormMixin`` (at the end of this module): each text
field gets a maximum length (its own, or ``DEFAULT_TEXT_MAX``) and its input loses control
characters other than tab and line breaks, and bidi override/isolate marks.
"""

from collections.abc import Callable
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator
from django.utils.translation import gettext_lazy as _

from kodoku_portal.limits import LONG_TEXT_MAX, NAME_MAX, NOTE_MAX, REASON_MAX
from kodoku_portal.normalise import (
    normalise_amount,
    normalise_corporate_number,
    normalise_count,
    normalise_kana,
    normalise_local_government_code,
    normalise_phone,
    normalise_postal_code,
    strip_invisible_controls,
)

__all__ = [
    "DEFAULT_TEXT_MAX",
    "LONG_TEXT_MAX",
    "NAME_MAX",
    "NOTE_MAX",
    "REASON_MAX",
    "CleanInputFormMixin",
    "CorporateNumberField",
    "CountField",
    "KanaField",
    "LocalGovernmentCodeField",
    "PhoneField",
    "PostalCodeField",
    "YenAmountField",
    "bound_model_choice_field",
    "clean_text_field",
]


class _NormalisingField(forms.CharField):
    """A CharField whose non-empty input goes through ``normalise`` (which raises ValidationError)."""

    normalise: Callable[[str], Any]
    extra_widget_attrs: dict[str, str] = {}

    def to_python(self, value: Any) -> Any:
        value = super().to_python(value)
        if value in self.empty_values:
            return value
        return type(self).normalise(value)

    def widget_attrs(self, widget: forms.Widget) -> dict[str, Any]:
        attrs = super().widget_attrs(widget)
        attrs.pop("maxlength", None)  # raw input may carry hyphens, spaces, ¥ … beyond max_length
        if not widget.is_hidden:
            for name, value in self.extra_widget_attrs.items():
                if name not in widget.attrs:
                    attrs[name] = value
        return attrs


class CorporateNumberField(_NormalisingField):
    """法人番号: accepts hyphens, spaces and full-width digits; cleans to 13 digits."""

    normalise = staticmethod(normalise_corporate_number)
    extra_widget_attrs = {"inputmode": "numeric", "autocomplete": "off"}


class LocalGovernmentCodeField(_NormalisingField):
    """団体コード: accepts hyphens, spaces and full-width digits; cleans to 6 digits."""

    normalise = staticmethod(normalise_local_government_code)
    extra_widget_attrs = {"inputmode": "numeric", "autocomplete": "off"}


class PostalCodeField(_NormalisingField):
    """郵便番号: accepts 〒, full-width digits and dash look-alikes; cleans to "100-0001"."""

    normalise = staticmethod(normalise_postal_code)
    extra_widget_attrs = {"inputmode": "numeric", "autocomplete": "postal-code"}


class PhoneField(_NormalisingField):
    """電話番号: accepts hyphens, parentheses, spaces, full-width digits; cleans to "03-1234-5678"."""

    normalise = staticmethod(normalise_phone)
    extra_widget_attrs = {"inputmode": "tel", "autocomplete": "tel"}


class KanaField(_NormalisingField):
    """フリガナ: hiragana and half-width kana are converted; cleans to full-width katakana."""

    normalise = staticmethod(normalise_kana)


class _WholeNumberField(_NormalisingField):
    """A non-negative int typed as text (so ２，０００ and 円 are accepted), with optional bounds."""

    extra_widget_attrs = {"inputmode": "numeric"}
    min_message = _("Enter a number of at least %(limit)s.")
    max_message = _("Enter a number of at most %(limit)s.")

    def __init__(self, *, min_value: int | None = 0, max_value: int | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("empty_value", None)
        self.min_value = min_value
        self.max_value = max_value
        super().__init__(**kwargs)

    def validate(self, value: Any) -> None:
        super().validate(value)
        if value in self.empty_values:
            return
        if self.min_value is not None and value < self.min_value:
            raise ValidationError(self.min_message, code="min_value", params={"limit": f"{self.min_value:,}"})
        if self.max_value is not None and value > self.max_value:
            raise ValidationError(self.max_message, code="max_value", params={"limit": f"{self.max_value:,}"})


class YenAmountField(_WholeNumberField):
    """金額 in yen: "2,000,000", "２，０００，０００", "¥2,000,000", "2,000,000円" all clean to 2000000.

    ``min_value`` (default 0) and ``max_value`` (default none) are inclusive bounds in yen.
    Empty input cleans to ``None``. The widget is a text input with ``inputmode="numeric"``.
    """

    normalise = staticmethod(normalise_amount)
    min_message = _("Enter an amount of at least ¥%(limit)s.")
    max_message = _("Enter an amount of at most ¥%(limit)s.")


class CountField(_WholeNumberField):
    """人数 and other counts: "１２", "12人", "1,200" clean to ints; empty input cleans to ``None``."""

    normalise = staticmethod(normalise_count)


# --- Limits and clean-up of every free text (issue 13) -----------------------------------------

# The default for a text field of a form that states no limit of its own (kodoku_portal/limits.py).
DEFAULT_TEXT_MAX = LONG_TEXT_MAX


def _stripping(to_python: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def to_python_without_controls(value: Any) -> Any:
        value = to_python(value)
        # A browser sends a textarea's line breaks as CRLF; kept as LF, a line break counts as one
        # character here as in the browser's maxlength and static/js/char-count.js.
        return strip_invisible_controls(value.replace("\r\n", "\n")) if isinstance(value, str) else value

    return to_python_without_controls


def clean_text_field(field: forms.Field, default_max_length: int = DEFAULT_TEXT_MAX) -> None:
    """Bound a text field and strip its input: CRLF becomes LF, control characters (tab and line
    breaks kept) and bidi overrides are removed before the field validates (so "required" and the length count
    what is stored); a field without ``max_length`` gets ``default_max_length``, checked on the
    server and put on the widget (``maxlength``, which static/js/char-count.js counts down) when
    the field is plain text. Fields that normalise codes keep their widget as it is (their raw
    input may be longer than the value stored)."""
    if not isinstance(field, forms.CharField) or getattr(field, "_clean_text", False):
        return
    if field.max_length is None and not isinstance(field, _WholeNumberField):  # numbers have their bounds
        field.max_length = default_max_length
        field.validators.append(MaxLengthValidator(default_max_length))
        if type(field) is forms.CharField and not field.widget.is_hidden:
            field.widget.attrs.setdefault("maxlength", str(default_max_length))
    field.to_python = _stripping(field.to_python)
    field._clean_text = True


# The largest id a posted value may name (a bigint primary key); a larger one is refused as an
# invalid choice before it reaches the database (where it would overflow: a 500).
_MAX_ID = 9_223_372_036_854_775_807


def _fits_an_id(value: Any) -> bool:
    try:
        return abs(int(str(value).strip())) <= _MAX_ID
    except ValueError:
        return True  # not a number: the field's own check refuses it


def bound_model_choice_field(field: forms.Field) -> None:
    """A model choice field over integer ids refuses an id too large for the database."""
    if not isinstance(field, forms.ModelChoiceField) or getattr(field, "_bounded_ids", False):
        return
    meta = field.queryset.model._meta
    key_field = meta.get_field(field.to_field_name) if field.to_field_name else meta.pk
    if key_field.get_internal_type() not in {"AutoField", "BigAutoField", "IntegerField", "BigIntegerField"}:
        return
    if isinstance(field, forms.ModelMultipleChoiceField):
        check_values = field._check_values

        def checked(value: Any) -> Any:
            for pk in value or ():
                if not _fits_an_id(pk):
                    raise ValidationError(
                        field.error_messages["invalid_pk_value"], code="invalid_pk_value", params={"pk": pk}
                    )
            return check_values(value)

        field._check_values = checked
    else:
        to_python = field.to_python

        def bounded(value: Any) -> Any:
            if value not in field.empty_values and not _fits_an_id(value):
                raise ValidationError(field.error_messages["invalid_choice"], code="invalid_choice")
            return to_python(value)

        field.to_python = bounded
    field._bounded_ids = True


class CleanInputFormMixin:
    """For every form that takes input: each ``CharField`` (and its subclasses: e-mail, URL, the
    code fields above) is bounded and stripped by :func:`clean_text_field`, and each model choice
    refuses an id too large for the database (:func:`bound_model_choice_field`). Put it first
    among the bases: ``class ReasonForm(CleanInputFormMixin, forms.Form)``.
    ``default_text_max_length`` is the limit of a text field that states none."""

    default_text_max_length = DEFAULT_TEXT_MAX

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            clean_text_field(field, self.default_text_max_length)
            bound_model_choice_field(field)
