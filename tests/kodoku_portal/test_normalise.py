"""Normalising Japanese form input: 法人番号, 郵便番号, 電話番号, amounts, counts, フリガナ."""

import pytest
from django import forms
from django.core.exceptions import ValidationError
from django.utils import translation
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum.jp import cn as stdnum_cn

from kodoku_portal.formfields import (
    CorporateNumberField,
    CountField,
    KanaField,
    PhoneField,
    PostalCodeField,
    YenAmountField,
)
from kodoku_portal.normalise import (
    format_corporate_number,
    normalise_amount,
    normalise_code,
    normalise_corporate_number,
    normalise_count,
    normalise_kana,
    normalise_phone,
    normalise_postal_code,
)

# No example database on disk (the suite runs with -p no:cacheprovider and writes nothing).
no_db = settings(database=None)


@pytest.fixture(autouse=True)
def _english_messages():
    """The assertions read the English source messages; the Japanese ones are checked in test_i18n."""
    with translation.override("en"):
        yield


def full_width(text: str) -> str:
    """The full-width (U+FF01–U+FF5E) form of printable ASCII, which NFKC maps back."""
    return "".join(chr(ord(c) + 0xFEE0) for c in text)


def error_of(func, value) -> ValidationError:
    with translation.override("en"), pytest.raises(ValidationError) as info:
        func(value)
    return info.value


def message_of(func, value) -> str:
    return " ".join(error_of(func, value).messages)


# --- normalise_code -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("１２３ＡＢＣ", "123ABC"),
        ("\u3000１００\u3000", "100"),
        (" 12 ", "12"),
        *[(f"100{dash}0001", "100-0001") for dash in "ー〜−‐‑–—―ｰ－"],
    ],
)
def test_normalise_code(raw, expected):
    assert normalise_code(raw) == expected


@no_db
@given(st.text(alphabet="0123456789"))
def test_normalise_code_turns_full_width_digits_into_ascii(digits):
    assert normalise_code(full_width(digits)) == digits


@no_db
@given(st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E)))
def test_normalise_code_turns_any_full_width_ascii_back(text):
    assert normalise_code(full_width(text)) == text


# --- 法人番号 ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "4011001098993",
        "4-0110-0109-8993",
        "４０１１００１０９８９９３",
        "４－０１１０－０１０９－８９９３",
        "4 0110 0109 8993",
        "4\u30000110\u30000109\u30008993",
        "  4011001098993\u3000",
        "4ー0110ー0109ー8993",
    ],
)
def test_corporate_number_accepted(raw):
    assert normalise_corporate_number(raw) == "4011001098993"


def test_corporate_number_format():
    assert format_corporate_number("4011001098993") == "4-0110-0109-8993"
    assert format_corporate_number("４０１１００１０９８９９３") == "4-0110-0109-8993"


def test_corporate_number_wrong_check_digit():
    error = error_of(normalise_corporate_number, "4011001098994")
    assert error.code == "invalid_checksum"
    assert "check digit" in " ".join(error.messages)


@pytest.mark.parametrize(("raw", "count"), [("401100109899", 12), ("40110010989931", 14), ("4-0110-0109-899", 12)])
def test_corporate_number_wrong_length_says_how_many_digits(raw, count):
    error = error_of(normalise_corporate_number, raw)
    assert error.code == "invalid_length"
    message = " ".join(error.messages)
    assert f"you entered {count} digits" in message
    assert "13 digits" in message


def test_corporate_number_one_digit_is_singular():
    assert "you entered 1 digit." in message_of(normalise_corporate_number, "4")


@pytest.mark.parametrize(
    "raw", ["401100109899A", "ABCDEFGHIJKLM", "4011-0010-9899-3X", "4011001098993.", "４０１１００１０９８９９Ａ"]
)
def test_corporate_number_letters_refused(raw):
    error = error_of(normalise_corporate_number, raw)
    assert error.code == "invalid"
    assert "digits only" in " ".join(error.messages)


def test_corporate_number_empty():
    assert error_of(normalise_corporate_number, "\u3000").code == "required"


@no_db
@given(st.text(alphabet="0123456789", min_size=12, max_size=12))
def test_any_base_with_its_check_digit_validates(base):
    number = stdnum_cn.calc_check_digit(base) + base
    assert normalise_corporate_number(number) == number
    assert normalise_corporate_number(full_width(number)) == number
    assert normalise_corporate_number(stdnum_cn.format(number)) == number
    assert format_corporate_number(number) == stdnum_cn.format(number)


@no_db
@given(st.text(alphabet="0123456789", min_size=12, max_size=12), st.integers(min_value=1, max_value=9))
def test_any_other_check_digit_fails(base, shift):
    check = int(stdnum_cn.calc_check_digit(base))
    wrong = (check + shift) % 10
    error = error_of(normalise_corporate_number, f"{wrong}{base}")
    assert error.code == "invalid_checksum"


# --- 郵便番号 ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "100-0001",
        "１００－０００１",
        "1000001",
        "〒100-0001",
        "〒 100-0001",
        "〶100-0001",
        "100ー0001",
        "100 0001",
        " 100-0001\u3000",
    ],
)
def test_postal_code_accepted(raw):
    assert normalise_postal_code(raw) == "100-0001"


@pytest.mark.parametrize(
    ("raw", "code"),
    [("100-001", "invalid_length"), ("100-00011", "invalid_length"), ("abc-defg", "invalid"), ("", "invalid")],
)
def test_postal_code_refused(raw, code):
    assert error_of(normalise_postal_code, raw).code == code


def test_postal_code_length_message():
    assert "A postal code has 7 digits; you entered 6 digits." in message_of(normalise_postal_code, "100-001")


# --- 電話番号 ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("03-1234-5678", "03-1234-5678"),
        ("0312345678", "03-1234-5678"),
        ("０３－１２３４－５６７８", "03-1234-5678"),
        ("03（1234）5678", "03-1234-5678"),
        ("03(1234)5678", "03-1234-5678"),
        ("03 1234 5678", "03-1234-5678"),
        ("03ー1234ー5678", "03-1234-5678"),
        ("090-1234-5678", "090-1234-5678"),
        ("09012345678", "090-1234-5678"),
        ("０９０１２３４５６７８", "090-1234-5678"),
        ("0120-123-456", "0120-123-456"),
        ("0471234567", "04-7123-4567"),
    ],
)
def test_phone_accepted(raw, expected):
    assert normalise_phone(raw) == expected


@pytest.mark.parametrize(
    "raw", ["", "3-1234-5678", "03-1234-567", "090-1234-56789", "+81 3-1234-5678", "03-1234-abcd", "0000000000"]
)
def test_phone_refused(raw):
    assert error_of(normalise_phone, raw).code == "invalid"


# --- 金額 ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "2000000",
        "2,000,000",
        "２，０００，０００",
        "２００００００",
        "¥2,000,000",
        "￥2,000,000",
        "￥２，０００，０００",
        "2,000,000円",
        "2,000,000 円",
        "¥ 2000000",
        "\u30002,000,000\u3000",
    ],
)
def test_amount_accepted(raw):
    assert normalise_amount(raw) == 2_000_000


def test_amount_zero_is_an_int():
    assert normalise_amount("0") == 0
    assert isinstance(normalise_amount("1,000"), int)


@pytest.mark.parametrize(
    ("raw", "code", "words"),
    [
        ("-1", "negative", "negative"),
        ("－１", "negative", "negative"),
        ("△1,000", "negative", "negative"),
        ("abc", "invalid", "digits"),
        ("", "required", "Enter an amount"),
        ("\u3000", "required", "Enter an amount"),
        ("200万円", "kanji_numerals", "200万円"),
        ("２００万", "kanji_numerals", "digits"),
        ("1.5", "decimal", "whole number"),
        ("20,00,000", "invalid", "digits"),
        ("2,000,000ドル", "invalid", "digits"),
        ("9" * 5000, "too_large", "too large"),
    ],
)
def test_amount_refused(raw, code, words):
    error = error_of(normalise_amount, raw)
    assert error.code == code
    assert words in " ".join(error.messages)


# --- 人数 ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"), [("12", 12), ("１２", 12), ("12人", 12), ("１２名", 12), ("1,200", 1200), ("0", 0)]
)
def test_count_accepted(raw, expected):
    assert normalise_count(raw) == expected


@pytest.mark.parametrize(
    ("raw", "code"), [("-3", "negative"), ("3.5", "invalid"), ("three", "invalid"), ("", "required")]
)
def test_count_refused(raw, code):
    assert error_of(normalise_count, raw).code == code


# --- フリガナ ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("とくていひえいり", "トクテイヒエイリ"),
        ("ﾄｸﾃｲ", "トクテイ"),
        ("ｶﾞｯｺｳﾎｳｼﾞﾝ", "ガッコウホウジン"),
        ("トクテイ ヒエイリ", "トクテイ\u3000ヒエイリ"),
        ("とくてい\u3000\u3000 ひえいり ", "トクテイ\u3000ヒエイリ"),
        ("ｻｰﾋﾞｽ・ｾﾝﾀｰ", "サービス・センター"),
        ("ヴぁいおりん", "ヴァイオリン"),
    ],
)
def test_kana_accepted(raw, expected):
    assert normalise_kana(raw) == expected


@pytest.mark.parametrize("raw", ["ABC", "ＡＢＣ", "特定非営利", "トクテイ1", "トクテイ(カ)"])
def test_kana_refused(raw):
    error = error_of(normalise_kana, raw)
    assert error.code == "invalid"
    assert "Use katakana only" in " ".join(error.messages)


# --- form fields ---------------------------------------------------------------------------------


class ApplicantForm(forms.Form):
    corporate_number = CorporateNumberField(max_length=13)
    postal_code = PostalCodeField()
    phone = PhoneField()
    amount = YenAmountField(min_value=100_000, max_value=2_000_000)
    staff = CountField(required=False)
    name_kana = KanaField(max_length=200)


VALID = {
    "corporate_number": "４－０１１０－０１０９－８９９３",
    "postal_code": "〒１００ー０００１",
    "phone": "03（1234）5678",
    "amount": "￥２，０００，０００",
    "staff": "１２人",
    "name_kana": "ﾄｸﾃｲ ひえいり",
}


def test_form_cleans_to_canonical_values():
    form = ApplicantForm(data=VALID)
    assert form.is_valid(), form.errors
    assert form.cleaned_data == {
        "corporate_number": "4011001098993",
        "postal_code": "100-0001",
        "phone": "03-1234-5678",
        "amount": 2_000_000,
        "staff": 12,
        "name_kana": "トクテイ\u3000ヒエイリ",
    }


def test_form_errors_carry_the_specific_messages():
    data = VALID | {
        "corporate_number": "4011001098994",
        "postal_code": "100-001",
        "amount": "200万円",
        "name_kana": "ABC",
    }
    with translation.override("en"):
        form = ApplicantForm(data=data)
        assert not form.is_valid()
        assert "check digit" in form.errors["corporate_number"][0]
        assert "you entered 6 digits" in form.errors["postal_code"][0]
        assert "200万円" in form.errors["amount"][0]
        assert "Use katakana only" in form.errors["name_kana"][0]


@pytest.mark.parametrize(
    ("raw", "message"),
    [("99,999", "at least ¥100,000"), ("2,000,001", "at most ¥2,000,000"), ("-5", "negative")],
)
def test_yen_amount_bounds(raw, message):
    with translation.override("en"):
        form = ApplicantForm(data=VALID | {"amount": raw})
        assert not form.is_valid()
        assert message in form.errors["amount"][0]


def test_empty_optional_fields_clean_to_empty_values():
    field = YenAmountField(required=False)
    assert field.clean("") is None
    assert KanaField(required=False).clean("") == ""
    assert CountField(required=False).clean("  ") is None


def test_required_fields_use_the_usual_required_message():
    form = ApplicantForm(data=VALID | {"amount": "", "corporate_number": ""})
    assert not form.is_valid()
    assert form.errors["amount"].as_data()[0].code == "required"
    assert form.errors["corporate_number"].as_data()[0].code == "required"


def test_yen_amount_defaults_and_widget():
    field = YenAmountField()
    assert (field.min_value, field.max_value) == (0, None)
    html = str(ApplicantForm()["amount"])
    assert 'inputmode="numeric"' in html
    assert 'type="text"' in html


def test_widgets_do_not_limit_raw_input_length():
    html = str(ApplicantForm()["corporate_number"])
    assert "maxlength" not in html
    assert 'inputmode="numeric"' in html
    # max_length is still enforced on the normalised value (13 digits fit).
    assert CorporateNumberField(max_length=13).clean("4-0110-0109-8993") == "4011001098993"


def test_explicit_widget_attrs_win():
    field = PhoneField(widget=forms.TextInput(attrs={"inputmode": "numeric"}))
    assert field.widget.attrs["inputmode"] == "numeric"
    assert field.widget.attrs["autocomplete"] == "tel"


def test_unchanged_amount_is_not_reported_as_changed():
    form = ApplicantForm(data=VALID | {"amount": "2,000,000"}, initial={"amount": 2_000_000})
    assert "amount" not in form.changed_data
