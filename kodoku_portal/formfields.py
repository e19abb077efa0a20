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
``PostalCodeField``         ``normalise_postal_code``               ``"100-0001"``
``PhoneField``              ``normalise_phone``                     ``"03-1234-5678"``
``YenAmountField``          ``normalise_amount`` (+ min/max)        ``2000000`` (int)
``CountField``              ``normalise_count`` (+ min/max)         ``12`` (int)
``KanaField``               ``normalise_kana``                      ``"トクテイ　ヒエイリ"``
==========================  ======================================  =================================

Names, addresses and free text use plain ``forms.CharField`` (never NFKC; see ``normalise``).
"""

from collections.abc import Callable
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from kodoku_portal.normalise import (
    normalise_amount,
    normalise_corporate_number,
    normalise_count,
    normalise_kana,
    normalise_phone,
    normalise_postal_code,
)

__all__ = [
    "CorporateNumberField",
    "CountField",
    "KanaField",
    "PhoneField",
    "PostalCodeField",
    "YenAmountField",
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
