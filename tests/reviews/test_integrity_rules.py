"""The integrity rules on plain rows (reviews/integrity.py): each rule, its explanation, normalisation."""

import pytest
from django.utils import translation
from stdnum.jp import cn

from reviews import integrity
from reviews.integrity import AffiliationRow, ApplicationRow

NUMBER = cn.calc_check_digit("700110005901") + "700110005901"
OTHER_NUMBER = cn.calc_check_digit("800110005902") + "800110005902"


def app(pk, org=None, **kwargs):
    return ApplicationRow(id=pk, call_id=1, organisation_id=org or 100 + pk, **kwargs)


def rules(finding):
    return [m["rule"] for m in finding.matched]


# --- comparison keys ------------------------------------------------------------------------------


def test_names_meet_across_full_width_and_spaces():
    assert integrity.name_key("山田　太郎") == integrity.name_key("山田 太郎") == integrity.name_key("山田太郎")
    assert integrity.name_key("ＹＡＭＡＤＡ Taro") == integrity.name_key("yamada taro")


def test_addresses_meet_across_hyphens_full_width_digits_and_spaces():
    typed = [
        "東京都千代田区永田町１－６－１",
        "東京都 千代田区 永田町1-6-1",
        "東京都千代田区永田町1ー6ー1",  # long-vowel mark typed for a hyphen
        "東京都千代田区永田町1−6−1",  # minus sign
        "東京都千代田区永田町1‐6‐1",  # hyphen U+2010
        "東京都千代田区永田町１―６―１",  # horizontal bar
    ]
    assert len({integrity.address_key(a) for a in typed}) == 1
    assert integrity.address_key("東京都千代田区永田町1-6-2") != integrity.address_key(typed[0])


def test_phone_numbers_meet_across_hyphens_brackets_and_full_width_digits():
    typed = ["03-1234-5678", "０３－１２３４－５６７８", "03（1234）5678", "03 1234 5678", "03ー1234ー5678"]
    assert {integrity.phone_key(p) for p in typed} == {"0312345678"}


def test_organisation_names_meet_without_their_legal_form():
    assert integrity.organisation_key("NPO法人 みらいネット") == integrity.organisation_key(
        "特定非営利活動法人みらいネット"
    )
    assert integrity.organisation_key("㈱ひかり商事") == integrity.organisation_key("株式会社　ひかり商事")


# --- duplicate applications ------------------------------------------------------------------------


def test_the_same_corporate_number_is_a_duplicate_and_says_so():
    [finding] = integrity.duplicate_findings([app(1, corporate_number=NUMBER), app(2, corporate_number=NUMBER)])
    assert (finding.kind, finding.application_id, finding.other_application_id) == ("duplicate", 1, 2)
    assert rules(finding) == ["corporate_number"]
    with translation.override("en"):
        assert integrity.explain_matched(finding.matched) == [f"The same corporate number (法人番号): {NUMBER}"]


def test_the_same_representative_and_address_is_a_duplicate_however_typed():
    rows = [
        app(1, representative_name="山田 太郎", address="東京都千代田区永田町１－６－１"),
        app(2, representative_name="山田太郎", address="東京都 千代田区 永田町1ー6ー1"),
    ]
    [finding] = integrity.duplicate_findings(rows)
    assert rules(finding) == ["representative_address"]
    with translation.override("en"):
        [why] = integrity.explain_matched(finding.matched)
    # Both sides as typed, so staff see what matched.
    assert why == (
        "The same representative and address: “山田 太郎 / 東京都千代田区永田町１－６－１” "
        "and “山田太郎 / 東京都 千代田区 永田町1ー6ー1”"
    )


def test_the_same_representative_and_phone_is_a_duplicate_however_typed():
    rows = [
        app(1, representative_name="山田　太郎", phone="03-1234-5678", address="東京都港区"),
        app(2, representative_name="山田太郎", phone="０３（１２３４）５６７８", address="大阪府大阪市"),
    ]
    [finding] = integrity.duplicate_findings(rows)
    assert rules(finding) == ["representative_phone"]
    with translation.override("en"):
        assert "phone number" in integrity.explain_matched(finding.matched)[0]


def test_every_matching_rule_is_listed_on_one_flag():
    same = {"representative_name": "山田太郎", "address": "港区1-1", "phone": "0312345678", "corporate_number": NUMBER}
    [finding] = integrity.duplicate_findings([app(1, org=7, **same), app(2, org=7, **same)])
    assert rules(finding) == ["same_organisation", "corporate_number", "representative_address", "representative_phone"]


def test_blank_or_partial_keys_never_match():
    rows = [
        app(1, representative_name="", address="港区1-1", phone="0312345678"),
        app(2, representative_name="", address="港区1-1", phone="0312345678"),
        app(3, representative_name="山田太郎", address="", phone=""),
        app(4, representative_name="山田太郎", address="", phone=""),
        app(5, representative_name="山田太郎", address="港区1-1"),
        app(6, representative_name="山田次郎", address="港区1-1"),  # same address, another person
    ]
    assert integrity.duplicate_findings(rows) == []


def test_only_pairs_concerning_the_given_applications():
    rows = [app(i, corporate_number=NUMBER) for i in (1, 2, 3)]
    found = integrity.duplicate_findings(rows, concerning={3})
    assert [(f.application_id, f.other_application_id) for f in found] == [(1, 3), (2, 3)]


# --- possible conflicts of interest ----------------------------------------------------------------


def affiliation(name="", number="", start=2020, end=None, reviewer=9):
    return AffiliationRow(1, reviewer, name, number, start, end)


def test_an_affiliation_with_the_applicant_name_flags_the_pair_and_says_why():
    [finding] = integrity.conflict_findings(
        [app(1, organisation_name="特定非営利活動法人みらいネット")],
        [affiliation("NPO法人 みらいネット", start=2021, end=2024)],
        this_year=2026,
    )
    assert (finding.kind, finding.application_id, finding.reviewer_id) == ("conflict", 1, 9)
    assert rules(finding) == ["organisation_name"]
    with translation.override("en"):
        assert integrity.explain_matched(finding.matched) == [
            "The applicant “特定非営利活動法人みらいネット” has the name of the reviewer's affiliation "
            "“NPO法人 みらいネット” (2021–2024)"
        ]


def test_an_affiliation_with_the_applicant_corporate_number_flags_the_pair():
    [finding] = integrity.conflict_findings(
        [app(1, organisation_name="別名", corporate_number=NUMBER)], [affiliation("旧名", NUMBER)], this_year=2026
    )
    assert rules(finding) == ["organisation_corporate_number"]


def test_a_partner_named_in_the_application_flags_the_pair():
    partners = "地域包括支援センター\n株式会社　ひかり商事（物品提供）\n市社会福祉協議会"
    [finding] = integrity.conflict_findings(
        [app(1, organisation_name="みらい", partners=partners)], [affiliation("㈱ひかり商事")], this_year=2026
    )
    assert rules(finding) == ["partner_name"]
    assert finding.matched[0]["value"] == "株式会社　ひかり商事（物品提供）"  # the line as typed


def test_a_partner_corporate_number_in_the_application_flags_the_pair():
    typed = f"連携先：ひかり商事（法人番号 {NUMBER[0]}-{NUMBER[1:5]}-{NUMBER[5:9]}-{NUMBER[9:]}）"
    full_width = typed.translate(str.maketrans("0123456789-", "０１２３４５６７８９－"))
    for partners in (typed, full_width):
        [finding] = integrity.conflict_findings(
            [app(1, organisation_name="みらい", partners=partners)], [affiliation("別の名前", NUMBER)], this_year=2026
        )
        assert rules(finding) == ["partner_corporate_number"]


def test_only_the_past_three_years_count():
    application = [app(1, organisation_name="みらいネット")]
    assert integrity.conflict_findings(application, [affiliation("みらいネット", end=2023)], this_year=2026)
    assert not integrity.conflict_findings(application, [affiliation("みらいネット", end=2022)], this_year=2026)
    assert integrity.conflict_findings(application, [affiliation("みらいネット", start=1990)], this_year=2026)


def test_short_names_are_not_looked_for_in_the_partners_and_others_do_not_match():
    application = [app(1, organisation_name="みらい", partners="東京都内の団体と連携", corporate_number=OTHER_NUMBER)]
    assert (
        integrity.conflict_findings(application, [affiliation("東京"), affiliation("", NUMBER)], this_year=2026) == []
    )


@pytest.mark.parametrize("legal_form_only", ["特定非営利活動法人", "株式会社"])
def test_a_legal_form_alone_matches_nothing(legal_form_only):
    application = [app(1, organisation_name=legal_form_only, partners=legal_form_only)]
    assert integrity.conflict_findings(application, [affiliation(legal_form_only)], this_year=2026) == []
