"""適格請求書発行事業者 registration numbers (インボイス制度の登録番号): "T" + 13 digits.

The 13 digits carry the 法人番号 check digit (a corporation's registration number is "T" + its
法人番号; a sole proprietor's is a number of the same form from the National Tax Agency): the FIRST
digit is 9 − (Σ P(n)·Q(n) mod 9) over the other 12 digits P(n), counted from the right (n = 1 is
the last digit), with Q(n) = 1 for odd n and 2 for even n (``stdnum.jp.cn`` implements it).

The scheme detects every single mistyped digit except a 0 typed as 9 or a 9 typed as 0 in the 12
digits (a difference of 9 is 0 mod 9), as the 法人番号 itself does.

- ``normalise_invoice_number(value)`` returns "T4011001098993" from "t４０１１-００１０-９８９９３",
  or raises ``ValidationError`` with a message saying what is wrong.
- ``is_valid_invoice_number(value)`` is the same rule as a yes or no.
"""

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy
from stdnum.jp import cn as stdnum_cn

from kodoku_portal.normalise import normalise_code

__all__ = ["check_digit", "is_valid_invoice_number", "normalise_invoice_number"]

_DIGITS = re.compile(r"[0-9]+")


def check_digit(twelve_digits: str) -> str:
    """The check digit (the first of the 13) of the 12 digits that follow it."""
    return stdnum_cn.calc_check_digit(twelve_digits)


def normalise_invoice_number(value: str) -> str:
    """Rule: NFKC (full-width letters and digits become ASCII), every dash look-alike and space
    dropped, upper case; then "T" followed by exactly 13 digits whose first digit is the check
    digit of the other 12. Returns e.g. "T4011001098993"."""
    number = normalise_code(value or "").replace("-", "").replace(" ", "").upper()
    if not number:
        raise ValidationError(_("Enter the registration number: T followed by 13 digits."), code="required")
    if not number.startswith("T"):
        raise ValidationError(
            _("A registration number starts with T and is followed by 13 digits (e.g. T1234567890123)."),
            code="invalid_prefix",
        )
    digits = number[1:]
    if not _DIGITS.fullmatch(digits):
        raise ValidationError(
            _("After the T, a registration number contains digits only; remove letters or symbols."),
            code="invalid",
        )
    if len(digits) != 13:
        raise ValidationError(
            ngettext_lazy(
                "A registration number has 13 digits after the T; you entered %(count)d digit.",
                "A registration number has 13 digits after the T; you entered %(count)d digits.",
                "count",
            ),
            code="invalid_length",
            params={"count": len(digits)},
        )
    if check_digit(digits[1:]) != digits[0]:
        raise ValidationError(
            _(
                "This registration number is not valid: its check digit (the first digit after the T) "
                "does not match the other 12 digits. Check for a mistyped digit."
            ),
            code="invalid_checksum",
        )
    return "T" + digits


def is_valid_invoice_number(value: str) -> bool:
    try:
        normalise_invoice_number(value)
    except ValidationError:
        return False
    return True
