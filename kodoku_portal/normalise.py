"""Clean-up of Japanese form input: codes, numbers, yen amounts and フリガナ.

Applicants type on Japanese IMEs, so the same value arrives in many shapes: full-width digits
(４０１１…), a long-vowel mark or wave dash where a hyphen was meant (100ー0001), ￥ and 円, commas,
the ideographic space U+3000. Each function below states its rule, returns the one canonical form
that is stored, and raises ``django.core.exceptions.ValidationError`` with a message that says what
is wrong (English source strings; the Japanese catalogue lives in ``locale/``).

Which field uses which function (the form fields are in ``kodoku_portal.formfields``):

===================================  ===============================  =================================
Input                                Function                         Stored / returned as
===================================  ===============================  =================================
法人番号 (corporate number)          ``normalise_corporate_number``   ``"4011001098993"`` (13 digits)
団体コード (local government code)   ``normalise_local_government_code`` ``"130001"`` (6 digits)
郵便番号 (postal code)               ``normalise_postal_code``        ``"100-0001"``
電話番号 (phone)                     ``normalise_phone``              ``"03-1234-5678"``
金額 (yen amounts, budgets)          ``normalise_amount``             ``2000000`` (int)
人数 (staff and other counts)        ``normalise_count``              ``12`` (int)
フリガナ (name in katakana)          ``normalise_kana``               ``"トクテイ　ヒエイリ"``
===================================  ===============================  =================================

``normalise_code`` (NFKC plus dash mapping) is the building block of the first five and is only
for codes, numbers and amounts. It is NEVER applied to names, addresses or free text: NFKC would
rewrite ㈱ as (株), ｶﾌﾞｼｷｶﾞｲｼｬ as カブシキガイシャ and ① as 1, changing what the applicant wrote.
Organisation names, representatives' names, addresses and descriptions are stored as typed
(Django's CharField only strips surrounding whitespace). フリガナ uses ``normalise_kana``, which
converts kana only (jaconv), not NFKC.
"""

import re
import unicodedata

import jaconv
import phonenumbers
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy
from stdnum.jp import cn as stdnum_cn

from .prefectures import is_prefecture_code

__all__ = [
    "format_corporate_number",
    "normalise_amount",
    "normalise_code",
    "normalise_corporate_number",
    "normalise_count",
    "normalise_kana",
    "normalise_local_government_code",
    "normalise_phone",
    "normalise_postal_code",
]

# Characters that look like a hyphen and survive NFKC (ｰ U+FF70 becomes ー U+30FC first).
_DASHES = {
    "\u30fc": "-",  # ー katakana-hiragana prolonged sound mark
    "\u301c": "-",  # 〜 wave dash
    "\u2212": "-",  # − minus sign
    "\u2010": "-",  # ‐ hyphen (NFKC also maps the non-breaking hyphen U+2011 here)
    "\u2011": "-",  # ‑ non-breaking hyphen
    "\u2012": "-",  # ‒ figure dash
    "\u2013": "-",  # – en dash
    "\u2014": "-",  # — em dash
    "\u2015": "-",  # ― horizontal bar
}
_DASH_TABLE = str.maketrans(_DASHES)

# Postal marks an applicant may type before the code: 〒 (U+3012; 〶 U+3036 is 〒 after NFKC).
_POSTAL_MARKS = "\u3012\u3020"

_DIGITS = re.compile(r"[0-9]+")
_GROUPED = re.compile(r"[0-9]{1,3}(?:,[0-9]{3})+")
_PHONE = re.compile(r"0[0-9]{9,10}")
_KANA = re.compile(r"[ァ-ヶー・\u3000 ]+")
_SPACES = re.compile(r"[ \u3000]+")

# Amounts and counts must fit a PositiveBigIntegerField (and int() must not be handed 5,000 digits).
_MAX_BIG_INTEGER = 9_223_372_036_854_775_807


def _is_digits(value: str) -> bool:
    return _DIGITS.fullmatch(value) is not None


def _without_separators(value: str) -> str:
    """Drop hyphens and spaces (after ``normalise_code`` every dash is "-" and every space ASCII)."""
    return value.replace("-", "").replace(" ", "")


def normalise_code(value: str) -> str:
    """Codes, numbers and amounts only — never names or free text.

    Rule: Unicode NFKC (full-width digits, letters and punctuation become ASCII; U+3000 becomes a
    space), then every dash look-alike NFKC leaves alone (ー 〜 − ‐ ‑ ‒ – — ―, and ｰ via ー) becomes
    "-", then surrounding whitespace is stripped.
    """
    return unicodedata.normalize("NFKC", value).translate(_DASH_TABLE).strip()


def normalise_corporate_number(value: str) -> str:
    """法人番号: 13 digits whose FIRST digit is the check digit (National Tax Agency scheme).

    Rule: ``normalise_code``, drop hyphens and spaces, then require digits only, exactly 13 of
    them, and a correct check digit (``stdnum.jp.cn``). Returns the 13 digits, e.g.
    "4-0110-0109-8993" and "４０１１００１０９８９９３" both give "4011001098993".
    """
    number = _without_separators(normalise_code(value))
    if not number:
        raise ValidationError(_("Enter the 13-digit corporate number."), code="required")
    if not _is_digits(number):
        raise ValidationError(
            _(
                "A corporate number contains digits only (hyphens and spaces may separate them); "
                "remove letters or symbols."
            ),
            code="invalid",
        )
    if len(number) != 13:
        raise ValidationError(
            ngettext_lazy(
                "A corporate number has 13 digits; you entered %(count)d digit.",
                "A corporate number has 13 digits; you entered %(count)d digits.",
                "count",
            ),
            code="invalid_length",
            params={"count": len(number)},
        )
    if stdnum_cn.calc_check_digit(number[1:]) != number[0]:
        raise ValidationError(
            _(
                "This corporate number is not valid: its check digit (the first digit) does not match "
                "the other 12 digits. Check for a mistyped digit."
            ),
            code="invalid_checksum",
        )
    return number


def local_government_check_digit(first_five: str) -> str:
    """The check digit of a 全国地方公共団体コード (JIS X 0402 with the MIC's check digit).

    Rule: the five digits weighted 6, 5, 4, 3, 2; the check digit is the last digit of
    11 minus (the sum modulo 11). 東京都 13000 → 6+15 = 21, 21 mod 11 = 10, 11 − 10 = 1: "130001".
    """
    total = sum(int(digit) * weight for digit, weight in zip(first_five, (6, 5, 4, 3, 2), strict=True))
    return str((11 - total % 11) % 10)


def normalise_local_government_code(value: str) -> str:
    """団体コード: 6 digits, the first two a prefecture (01–47), the last a check digit.

    Rule: ``normalise_code``, drop hyphens and spaces, then require exactly 6 digits whose first
    two name a prefecture and whose sixth is ``local_government_check_digit`` of the first five.
    "13-0001" and "１３０００１" both give "130001".
    """
    number = _without_separators(normalise_code(value))
    if not number:
        raise ValidationError(_("Enter the 6-digit local government code (団体コード)."), code="required")
    if not _is_digits(number):
        raise ValidationError(
            _("A local government code contains digits only; remove letters or symbols."), code="invalid"
        )
    if len(number) != 6:
        raise ValidationError(
            ngettext_lazy(
                "A local government code has 6 digits; you entered %(count)d digit.",
                "A local government code has 6 digits; you entered %(count)d digits.",
                "count",
            ),
            code="invalid_length",
            params={"count": len(number)},
        )
    if not is_prefecture_code(number[:2]):
        raise ValidationError(
            _("A local government code begins with a prefecture's number from 01 to 47."), code="invalid_prefecture"
        )
    if local_government_check_digit(number[:5]) != number[5]:
        raise ValidationError(
            _(
                "This local government code is not valid: its check digit (the last digit) does not match "
                "the first five digits. Check for a mistyped digit."
            ),
            code="invalid_checksum",
        )
    return number


def local_government_corporate_number(code: str) -> str:
    """The 法人番号 the National Tax Agency gives a local government: check digit, "000020" and
    its 団体コード (東京都 130001 → "8000020130001")."""
    body = f"000020{code}"
    return stdnum_cn.calc_check_digit(body) + body


def format_corporate_number(value: str) -> str:
    """法人番号 for display: "4-0110-0109-8993" (check digit, then three groups of four).

    The value is normalised and validated first, so invalid input raises ``ValidationError``.
    """
    return stdnum_cn.format(normalise_corporate_number(value))


def normalise_postal_code(value: str) -> str:
    """郵便番号: 7 digits, returned as "100-0001".

    Rule: ``normalise_code``, drop a leading 〒, drop hyphens and spaces, then require exactly
    7 digits. Accepts "100-0001", "１００－０００１", "1000001", "〒100-0001" and "100ー0001".
    """
    code = _without_separators(normalise_code(value).lstrip(_POSTAL_MARKS))
    if not _is_digits(code):
        raise ValidationError(
            _("Enter the postal code as 7 digits, for example 100-0001."),
            code="invalid",
        )
    if len(code) != 7:
        raise ValidationError(
            ngettext_lazy(
                "A postal code has 7 digits; you entered %(count)d digit.",
                "A postal code has 7 digits; you entered %(count)d digits.",
                "count",
            ),
            code="invalid_length",
            params={"count": len(code)},
        )
    return f"{code[:3]}-{code[3:]}"


def normalise_phone(value: str) -> str:
    """電話番号: a Japanese number written in the national format, e.g. "03-1234-5678".

    Rule: ``normalise_code``, drop hyphens, spaces and parentheses (so "03（1234）5678" works),
    then require ``^0\\d{9,10}$`` (domestic form, leading 0; "+81…" is refused) and a number
    that ``phonenumbers`` knows as valid in region JP. Returns
    ``PhoneNumberFormat.NATIONAL``: "03-1234-5678", "090-1234-5678", "0120-123-456".
    """
    digits = _without_separators(normalise_code(value)).replace("(", "").replace(")", "")
    if _PHONE.fullmatch(digits) is None:
        raise ValidationError(
            _("Enter a Japanese phone number of 10 or 11 digits starting with 0, for example 03-1234-5678."),
            code="invalid",
        )
    number = phonenumbers.parse(digits, "JP")
    if not phonenumbers.is_valid_number(number):
        raise ValidationError(
            _("This is not a valid Japanese phone number; check the area code and the number of digits."),
            code="invalid",
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)


def _whole_number(text: str, *, negative_message, invalid_message, too_large_message) -> int:
    """Digits with optional thousands commas (correctly grouped) → int; shared by amounts and counts."""
    if text.startswith(("-", "△", "▲")):
        raise ValidationError(negative_message, code="negative")
    if _is_digits(text):
        digits = text
    elif _GROUPED.fullmatch(text):
        digits = text.replace(",", "")
    else:
        raise ValidationError(invalid_message, code="invalid")
    digits = digits.lstrip("0") or "0"
    if len(digits) > len(str(_MAX_BIG_INTEGER)) or int(digits) > _MAX_BIG_INTEGER:
        raise ValidationError(too_large_message, code="too_large")
    return int(digits)


def normalise_amount(value: str) -> int:
    """金額: a whole, non-negative number of yen.

    Rule: ``normalise_code`` (so ２，０００，０００ and ￥ become ASCII), then an optional leading
    ¥ (or "\\") and an optional trailing 円, with spaces around them allowed; what remains must
    be digits, optionally with commas every three digits. "2000000", "2,000,000", "¥2,000,000",
    "2,000,000円" all give 2000000. Refused, each with its own message: empty input, negative
    amounts ("-1", "△1"), decimals ("1.5"), kanji numerals or units ("200万円" — the applicant is
    asked for digits), misplaced commas ("20,00,000") and anything else that is not a number.
    """
    text = normalise_code(value)
    if not text:
        raise ValidationError(_("Enter an amount in yen, for example 2,000,000."), code="required")
    if text[0] in "¥\\":
        text = text[1:].lstrip()
    if text.endswith("円"):
        text = text[:-1].rstrip()
    if any(unit in text for unit in "十百千万億兆"):
        raise ValidationError(
            _("Write the amount in digits, for example 2,000,000 rather than 200万円."),
            code="kanji_numerals",
        )
    if re.fullmatch(r"[0-9,]*\.[0-9]*", text):
        raise ValidationError(_("Enter a whole number of yen, without a decimal point."), code="decimal")
    return _whole_number(
        text,
        negative_message=_("The amount cannot be negative."),
        invalid_message=_("Enter the amount in digits, for example 2,000,000 (commas, ¥ and 円 are optional)."),
        too_large_message=_("This amount is too large."),
    )


def normalise_count(value: str) -> int:
    """人数 and other counts: a non-negative whole number.

    Rule: ``normalise_code`` (full-width digits become ASCII), an optional trailing 人 or 名,
    then digits, optionally with commas every three digits. "１２", "12人" and "1,200" are
    accepted; empty input, negative numbers, decimals and text are refused.
    """
    text = normalise_code(value)
    if text.endswith(("人", "名")):
        text = text[:-1].rstrip()
    if not text:
        raise ValidationError(_("Enter a number, for example 12."), code="required")
    return _whole_number(
        text,
        negative_message=_("The number cannot be negative."),
        invalid_message=_("Enter a whole number in digits, for example 12."),
        too_large_message=_("This number is too large."),
    )


def normalise_kana(value: str) -> str:
    """フリガナ: full-width katakana, words separated by one full-width space.

    Rule (no NFKC — this is a name): hiragana become katakana (``jaconv.hira2kata``), half-width
    katakana become full-width (``jaconv.h2z`` with kana only, so ASCII letters and digits stay
    as they are and are refused), every run of spaces (ASCII or U+3000) becomes ONE full-width
    space U+3000 — the usual separator between family and given name in Japanese forms — and
    surrounding spaces are stripped. The result must consist of katakana, ー, ・ and spaces:
    "とくていひえいり" gives "トクテイヒエイリ", "ﾄｸﾃｲ ﾋｴｲﾘ" gives "トクテイ　ヒエイリ".
    """
    kana = jaconv.h2z(jaconv.hira2kata(value), kana=True, ascii=False, digit=False)
    kana = _SPACES.sub("\u3000", kana).strip(" \u3000")
    if not kana:
        raise ValidationError(_("Enter the name in katakana."), code="required")
    if _KANA.fullmatch(kana) is None:
        raise ValidationError(_("Use katakana only (hiragana is converted for you)."), code="invalid")
    return kana


# C0 controls other than tab and line breaks, DEL, and the bidirectional embedding, override and
# isolate marks (U+202A–U+202E, U+2066–U+2069): invisible, they can make a text read otherwise
# than it is stored (a file name or an amount shown backwards), and Excel cannot store C0 controls.
_INVISIBLE_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u202a-\u202e\u2066-\u2069]")


def strip_invisible_controls(value: str) -> str:
    """Text as typed, without control characters (tab and line breaks kept) and bidi overrides."""
    return _INVISIBLE_CONTROLS.sub("", value)
