"""Bank details of the 交付申請: the account holder in the half-width katakana banks use, the codes
and the account number as digits (full-width accepted), each refusal with its message."""

import pytest
from django.core.exceptions import ValidationError

from grants.grant_steps import (
    normalise_account_holder,
    normalise_account_number,
    normalise_bank_code,
    normalise_branch_code,
)


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("とくていひえいりかつどうほうじん", "ﾄｸﾃｲﾋｴｲﾘｶﾂﾄﾞｳﾎｳｼﾞﾝ"),  # hiragana, voiced ど and じ
        ("ガギグゲゴ", "ｶﾞｷﾞｸﾞｹﾞｺﾞ"),  # full-width katakana with dakuten
        ("パピプペポ", "ﾊﾟﾋﾟﾌﾟﾍﾟﾎﾟ"),  # handakuten
        ("ｶﾞｯｺｳ", "ｶﾞﾂｺｳ"),  # half-width kept, small ｯ written large
        ("キャンプ", "ｷﾔﾝﾌﾟ"),  # small ャ written large
        ("ヴォーカル", "ｳﾞｵ-ｶﾙ"),  # ヴ, small ォ, and the long vowel ー as the bank's "-"
        ("トクヒ）ヤマダ　ハナコ", "ﾄｸﾋ)ﾔﾏﾀﾞ ﾊﾅｺ"),  # full-width ） and the ideographic space
        ("  ヤマダ   ハナコ  ", "ﾔﾏﾀﾞ ﾊﾅｺ"),  # runs of spaces become one, ends dropped
        ("ＮＰＯ　１２３", "NPO 123"),  # full-width letters and digits
        ("npo.abc-1/2,(x)", "NPO.ABC-1/2,(X)"),  # lower case upper, the allowed symbols kept
    ],
)
def test_the_account_holder_is_normalised_to_half_width_katakana(typed, stored):
    assert normalise_account_holder(typed) == stored


@pytest.mark.parametrize(
    ("typed", "named"), [("山田ハナコ", "「山」「田」"), ("ヤマダ・ハナコ", "「･」"), ("ﾔﾏﾀﾞ@", "「@」")]
)
def test_other_characters_are_refused_by_name(typed, named):
    with pytest.raises(ValidationError) as refused:
        normalise_account_holder(typed)
    assert named in refused.value.messages[0]


def test_an_empty_or_too_long_holder_is_refused():
    with pytest.raises(ValidationError):
        normalise_account_holder("　 ")
    assert len(normalise_account_holder("ア" * 60)) == 60
    with pytest.raises(ValidationError):
        normalise_account_holder("ア" * 61)


@pytest.mark.parametrize(("typed", "stored"), [("0005", "0005"), ("０００５", "0005"), (" 9900 ", "9900")])
def test_the_bank_code_is_four_digits(typed, stored):
    assert normalise_bank_code(typed) == stored


@pytest.mark.parametrize("typed", ["005", "00055", "00a5", "５"])
def test_a_bank_code_of_other_than_four_digits_is_refused(typed):
    with pytest.raises(ValidationError):
        normalise_bank_code(typed)


@pytest.mark.parametrize(("typed", "ok"), [("001", True), ("００１", True), ("01", False), ("0011", False)])
def test_the_branch_code_is_three_digits(typed, ok):
    if ok:
        assert normalise_branch_code(typed) == "001"
    else:
        with pytest.raises(ValidationError):
            normalise_branch_code(typed)


@pytest.mark.parametrize(
    ("typed", "stored"), [("1234567", "1234567"), ("12345", "0012345"), ("１２３４５", "0012345"), ("1", "0000001")]
)
def test_the_account_number_is_padded_to_seven_digits(typed, stored):
    assert normalise_account_number(typed) == stored


@pytest.mark.parametrize("typed", ["12345678", "12a45", "一二三"])
def test_an_account_number_longer_than_seven_digits_or_not_digits_is_refused(typed):
    with pytest.raises(ValidationError):
        normalise_account_number(typed)
