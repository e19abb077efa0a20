"""適格請求書発行事業者 registration numbers: "T" + 13 digits with the 法人番号 check digit."""

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st

from grants.invoice_numbers import check_digit, is_valid_invoice_number, normalise_invoice_number


@pytest.fixture(autouse=True)
def _messages_in_english():
    """The refusals are asserted by their English source text."""
    with translation.override("en"):
        yield


def computed_check_digit(twelve: str) -> str:
    """The rule written out independently of stdnum: 9 − (Σ P(n)·Q(n) mod 9), n counted from the
    right of the 12 digits, Q(n) = 1 for odd n and 2 for even n."""
    total = sum(int(digit) * (1 if n % 2 == 1 else 2) for n, digit in enumerate(reversed(twelve), start=1))
    return str(9 - total % 9)


def code_of(value: str) -> str:
    with pytest.raises(ValidationError) as raised:
        normalise_invoice_number(value)
    return raised.value.code


@pytest.mark.parametrize(
    "typed",
    [
        "T4011001098993",
        "t4011001098993",
        "T4-0110-0109-8993",
        "T 4011 0010 98993",
        "Ｔ４０１１００１０９８９９３",  # full-width
        "ｔ４０１１－００１０－９８９９３",  # full-width with a full-width hyphen
        "T4011ー0010ー98993",  # long-vowel marks typed for hyphens
        " T4011001098993\u3000",
    ],
)
def test_valid_numbers_are_normalised(typed):
    assert normalise_invoice_number(typed) == "T4011001098993"
    assert is_valid_invoice_number(typed)


def test_a_wrong_check_digit_is_refused_with_its_message():
    with pytest.raises(ValidationError) as raised:
        normalise_invoice_number("T4011001098994")
    assert raised.value.code == "invalid_checksum"
    assert "check digit" in raised.value.messages[0]
    assert not is_valid_invoice_number("T4011001098994")
    assert code_of("T5011001098993") == "invalid_checksum"


@pytest.mark.parametrize(
    ("typed", "count"),
    [("T401100109899", 12), ("T40110010989931", 14), ("T4", 1), ("Ｔ４０１１００１０９８９９", 12)],
)
def test_wrong_lengths_are_refused_with_the_count(typed, count):
    with pytest.raises(ValidationError) as raised:
        normalise_invoice_number(typed)
    assert raised.value.code == "invalid_length"
    assert f"{count} digit" in raised.value.messages[0]


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("", "required"),
        ("   ", "required"),
        ("4011001098993", "invalid_prefix"),  # the 法人番号 alone, without the T
        ("X4011001098993", "invalid_prefix"),
        ("T40110010989A3", "invalid"),
        ("TT4011001098993", "invalid"),
        ("T4011001098993.", "invalid"),
    ],
)
def test_other_shapes_are_refused(typed, code):
    assert code_of(typed) == code


def test_the_check_digit_matches_the_rule_on_a_known_number():
    assert check_digit("011001098993") == "4" == computed_check_digit("011001098993")


twelve_digits = st.text(alphabet="0123456789", min_size=12, max_size=12)


@given(base=twelve_digits)
def test_every_base_with_its_computed_check_digit_validates(base):
    number = "T" + computed_check_digit(base) + base
    assert normalise_invoice_number(number) == number


@given(base=twelve_digits, position=st.integers(min_value=0, max_value=12), delta=st.integers(1, 9))
def test_changing_one_digit_invalidates(base, position, delta):
    digits = list(computed_check_digit(base) + base)
    old = int(digits[position])
    new = (old + delta) % 10
    # The scheme's one blind spot: 0 and 9 differ by 9 ≡ 0 (mod 9) in the 12 digits that are summed.
    if position > 0 and {old, new} == {0, 9}:
        assert is_valid_invoice_number("T" + "".join(digits[:position]) + str(new) + "".join(digits[position + 1 :]))
        return
    digits[position] = str(new)
    assert not is_valid_invoice_number("T" + "".join(digits))
