"""The official letters after 採択 (grants/letters.py): each kind as an A4 公用文 letter (text and
embedded fonts checked with pdftotext / pdffonts), its mail through the outbox, issued once,
numbered per fiscal year and series, a practice call's marked as such."""

import datetime as dt
import subprocess
import threading
from pathlib import Path

import pytest
from django.core import mail
from django.db import connection, transaction
from django.utils import timezone, translation

from applications.models import ApplicationStatus
from grants import letters
from grants.letters import issue_letter, letter_pdf, letter_render, next_document_number
from grants.models import (
    SUBSIDY_ONLY_LETTERS,
    AwardStatus,
    ChangeKind,
    ChangeRequest,
    DocumentCounter,
    DocumentSeries,
    Letter,
    LetterKind,
)
from kodoku_portal import outbox
from kodoku_portal.jp import JST, format_wareki
from kodoku_portal.models import OutboxMessage, OutboxStatus
from kodoku_portal.refusals import Refused
from tests.factories import ApplicationFactory, OrganisationFactory
from tests.grants.lifecycle import award_at

pytestmark = pytest.mark.django_db

OWNER = "内閣府孤独・孤立対策推進室"


@pytest.fixture(autouse=True)
def _private_files(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "private"
    settings.PRIVATE_ROOT = tmp_path / "private"
    settings.PORTAL_BASE_URL = "https://portal.example.jp"


def today_wareki() -> str:
    return format_wareki(timezone.now().astimezone(JST).date())


def pdf_text(pdf: bytes, tmp_path: Path) -> str:
    """The PDF's text with all whitespace removed (layout spacing is not what is being tested)."""
    path = tmp_path / "letter.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True)
    return "".join(out.stdout.split())


def pdf_fonts(pdf: bytes, tmp_path: Path) -> list[str]:
    path = tmp_path / "fonts.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout
    return out.splitlines()[2:]


def assert_in_order(text: str, markers: list[str]) -> None:
    positions = [text.find(marker) for marker in markers]
    assert all(p >= 0 for p in positions), dict(zip(markers, positions, strict=True))
    assert positions == sorted(positions), dict(zip(markers, positions, strict=True))


def case_at(status=AwardStatus.GRANTED, **call_settings):
    case = award_at(status, **call_settings)
    programme = case.call.programme
    programme.owner = OWNER
    programme.save()
    return case


def issue(case, kind, details, *, change=None, award=True):
    with transaction.atomic():
        return issue_letter(
            kind,
            application=case.application,
            award=case.award if award else None,
            change=change,
            details=details,
            by=case.staff,
        )


def change_request(case, *, kind=ChangeKind.CHANGE, number=1):
    return ChangeRequest.objects.create(
        award=case.award,
        number=number,
        kind=kind,
        reason="会場の変更のため",
        requested_by=case.member,
        requested_at=timezone.now(),
    )


GRANT_DETAILS = {
    "amount": 1_500_000,
    "applied_on": "2025-06-10",
    "project_start": "2025-07-01",
    "project_end": "2026-02-28",
    "conditions": [
        "補助事業の内容を変更する場合は、あらかじめ承認を受けること。",
        "帳簿及び証拠書類を5年間保存すること。",
    ],
    "budget": [["謝金", 300_000], ["旅費", 200_000], ["借料及び損料", 400_000], ["消耗品費", 600_000]],
}

BUDGET_BEFORE = [["謝金", 300_000], ["旅費", 200_000], ["借料及び損料", 400_000], ["消耗品費", 600_000]]
BUDGET_AFTER = [["謝金", 350_000], ["旅費", 150_000], ["借料及び損料", 400_000], ["消耗品費", 600_000]]


# --- each kind: the PDF ---------------------------------------------------------------------


def test_grant_decision_letter_states_the_decision_under_articles_6_and_8(tmp_path):
    case = case_at()
    letter = issue(case, LetterKind.GRANT_DECISION, GRANT_DETAILS)
    pdf = letter_pdf(letter)
    text = pdf_text(pdf, tmp_path)
    title = case.call.title.replace(" ", "")
    for expected in (
        letter.document_number,
        today_wareki(),
        "山田花子様",
        f"{OWNER}長",
        "（公印省略）",
        f"{title}に係る補助金の交付決定について（通知）",
        "令和7年6月10日付けで申請のあった",
        "補助金等に係る予算の執行の適正化に関する法律（昭和30年法律第179号。以下「法」という。）第6条第1項の規定に基づき、"
        "下記のとおり交付することに決定したので、法第8条の規定により通知します。",
        "交付決定額金1,500,000円",
        "事業期間令和7年7月1日から令和8年2月28日まで",
        "謝金300,000円",
        "消耗品費600,000円",
        "合計1,500,000円",
        "（１）補助事業の内容を変更する場合は、あらかじめ承認を受けること。",
        "（２）帳簿及び証拠書類を5年間保存すること。",
        f"法第9条第1項の規定により、{format_wareki(case.award.decline_by)}までに申請の取下げをすることができる。",
    ):
        assert expected in text, expected
    assert letter.document_number.startswith("府孤第")
    assert "練習用" not in text
    assert_in_order(
        text,
        [letter.document_number, today_wareki(), "様", "長", "（通知）", "通知します。", "記１受付番号", "２事業名",
         "３交付決定額", "４事業期間", "５経費の配分", "６交付の条件", "７申請の取下げ", "以上", "担当"],
    )  # fmt: skip
    fonts = pdf_fonts(pdf, tmp_path)
    assert any("IPAexMincho" in row for row in fonts), fonts
    assert any("IPAexGothic" in row for row in fonts), fonts
    assert all(" yes " in row for row in fonts), fonts  # every font embedded


def test_a_grant_decision_without_a_budget_leaves_the_item_out_and_numbers_the_rest_in_order(tmp_path):
    case = case_at()
    details = {**GRANT_DETAILS, "budget": [], "decline_by": "2025-08-15"}
    text = pdf_text(letter_pdf(issue(case, LetterKind.GRANT_DECISION, details)), tmp_path)
    assert "経費の配分" not in text
    assert "５交付の条件" in text and "６申請の取下げ" in text
    assert "令和7年8月15日までに申請の取下げ" in text  # the details' date, not the award's


@pytest.mark.parametrize(
    ("kind", "verdict", "closing"),
    [
        (LetterKind.CHANGE_APPROVED, "承認", "下記のとおり承認したので通知します。"),
        (LetterKind.CHANGE_REFUSED, "不承認", "下記の理由により承認しないこととしたので通知します。"),
    ],
)
def test_change_letters_cite_article_7_and_show_the_budget_before_and_after(kind, verdict, closing, tmp_path):
    case = case_at()
    change = change_request(case, number=2)
    details = {
        "change_number": 2,
        "change_kind": "経費の配分の変更",
        "requested_on": "2025-09-01",
        "note": "会場費の増額分は謝金から充当すること。",
        "budget_before": BUDGET_BEFORE,
        "budget_after": BUDGET_AFTER,
    }
    letter = issue(case, kind, details, change=change)
    pdf = letter_pdf(letter)
    text = pdf_text(pdf, tmp_path)
    title = case.call.title.replace(" ", "")
    for expected in (
        letter.document_number,
        today_wareki(),
        f"{title}に係る補助事業の計画変更の{verdict}について（通知）",
        "令和7年9月1日付けで申請のあった",
        "第7条第1項の規定により交付の決定に付した条件に基づき",
        closing,
        "変更申請第2号（令和7年9月1日申請）",
        "変更の内容経費の配分の変更",
        "謝金300,000円350,000円＋50,000円",
        "旅費200,000円150,000円△50,000円",
        "借料及び損料400,000円400,000円0円",
        "合計1,500,000円1,500,000円",
        "会場費の増額分は謝金から充当すること。",
        "記",
        "以上",
    ):
        assert expected in text, expected
    assert_in_order(
        text, ["（通知）", "通知します。", "記１受付番号", "３変更申請", "４変更の内容", "５経費の配分", "６", "以上"]
    )
    assert all(" yes " in row for row in pdf_fonts(pdf, tmp_path))


def test_a_refused_discontinuation_without_a_budget_names_the_discontinuation(tmp_path):
    case = case_at()
    change = change_request(case, kind=ChangeKind.ABOLISH)
    details = {"change_number": 1, "change_kind": "廃止", "requested_on": "2025-10-01", "note": "",
               "budget_before": [], "budget_after": []}  # fmt: skip
    text = pdf_text(letter_pdf(issue(case, LetterKind.CHANGE_REFUSED, details, change=change)), tmp_path)
    assert "に係る補助事業の廃止の不承認について（通知）" in text
    assert "変更前" not in text and "５経費の配分" not in text  # no budget table
    assert "５理由別途お知らせします。" in text
    assert "補助事業は、従前の計画及び経費の配分により遂行してください。" in text


@pytest.mark.parametrize(
    ("paid", "balance_text"),
    [
        (800_000, "差引交付額金400,000円確定額から既交付額を差し引いた額は、精算払により交付します。"),
        (1_500_000, "返還額金300,000円既交付額のうち確定額を超える額については、別途返還を命じます。"),
        (1_200_000, "差引額金0円確定額と既交付額が同額であるため、追加の交付及び返還はありません。"),
    ],
)
def test_confirmation_letter_cites_article_15_and_says_what_follows_from_the_balance(paid, balance_text, tmp_path):
    case = case_at(AwardStatus.CONFIRMED, confirmed_amount=1_200_000)
    details = {
        "granted_amount": 1_500_000,
        "confirmed_amount": 1_200_000,
        "reported_on": "2026-03-20",
        "paid_so_far": paid,
        "balance": 1_200_000 - paid,
    }
    letter = issue(case, LetterKind.CONFIRMATION, details)
    pdf = letter_pdf(letter)
    text = pdf_text(pdf, tmp_path)
    title = case.call.title.replace(" ", "")
    for expected in (
        letter.document_number,
        today_wareki(),
        f"{title}に係る補助金の額の確定について（通知）",
        "令和8年3月20日付けで提出のあった補助事業実績報告書に基づき、",
        "第15条の規定により、交付すべき補助金の額を下記のとおり確定したので通知します。",
        "交付決定額金1,500,000円",
        "確定額金1,200,000円",
        f"既交付額金{paid:,}円",
        balance_text,
        "記",
        "以上",
    ):
        assert expected in text, expected
    assert all(" yes " in row for row in pdf_fonts(pdf, tmp_path))


def test_a_contract_calls_confirmation_speaks_of_the_contract_not_the_subsidies_act(tmp_path):
    case = case_at(AwardStatus.CONFIRMED, funding_kind="contract")
    details = {"granted_amount": 1_500_000, "confirmed_amount": 1_400_000, "reported_on": "2026-03-20",
               "paid_so_far": 0, "balance": 1_400_000}  # fmt: skip
    text = pdf_text(letter_pdf(issue(case, LetterKind.CONFIRMATION, details)), tmp_path)
    assert "委託費の額の確定について（通知）" in text
    assert "委託契約の定めるところにより" in text
    assert "契約額金1,500,000円" in text
    assert "補助金" not in text and "第15条" not in text


REFUND_DETAILS = {
    "amount": 300_000,
    "due_on": "2026-05-29",
    "rate": "10.95",
    "confirmation_number": "府孤第41号",
    "confirmed_amount": 1_200_000,
    "paid_so_far": 1_500_000,
    "cause": "overpayment",
    "additional_charge": False,
}


def test_an_overpayment_refund_order_cites_article_18_2_and_states_only_the_late_charge(tmp_path):
    case = case_at(AwardStatus.CONFIRMED, confirmed_amount=1_200_000)
    letter = issue(case, LetterKind.REFUND_ORDER, REFUND_DETAILS)
    pdf = letter_pdf(letter)
    text = pdf_text(pdf, tmp_path)
    title = case.call.title.replace(" ", "")
    for expected in (
        letter.document_number,
        today_wareki(),
        f"{title}に係る補助金の返還について（命令）",
        "府孤第41号により額を確定した",
        "第18条第2項の規定に基づき、下記のとおり返還を命じます。",
        "返還を命ずる額金300,000円",
        "既交付額金1,500,000円−確定額金1,200,000円（額の確定通知府孤第41号）",
        "納期限令和8年5月29日",
        "法第19条第2項の規定により、納期限の翌日から納付の日までの日数に応じ、その未納付額につき年10.95パーセントの割合で計算した延滞金",
        "延滞金の年当たりの割合は、閏年の日を含む期間についても365日当たりの割合とし（法第19条第3項）",
        "記",
        "以上",
    ):
        assert expected in text, expected
    assert "加算金" not in text and "第19条第1項" not in text and "第18条第1項" not in text
    assert_in_order(
        text, ["（命令）", "命じます。", "記１受付番号", "３返還を命ずる額", "５納期限", "７延滞金", "以上"]
    )
    assert all(" yes " in row for row in pdf_fonts(pdf, tmp_path))


def test_a_refund_order_issued_without_a_cause_is_read_as_an_overpayment(tmp_path):
    """Letters issued before the cause was recorded: an 18(2) order, no 加算金."""
    case = case_at(AwardStatus.CONFIRMED, confirmed_amount=1_200_000)
    details = {key: value for key, value in REFUND_DETAILS.items() if key not in ("cause", "additional_charge")}
    text = pdf_text(letter_pdf(issue(case, LetterKind.REFUND_ORDER, {**details, "rate": "8.5"})), tmp_path)
    assert "第18条第2項" in text and "加算金" not in text
    assert "年8.5パーセントの割合で計算した延滞金" in text


CANCELLATION_REFUND_DETAILS = {
    "amount": 1_000_000,
    "due_on": "2026-05-29",
    "rate": "10.95",
    "confirmation_number": "",
    "confirmed_amount": 0,
    "paid_so_far": 1_000_000,
    "cause": "cancellation",
    "additional_charge": True,
    "cancellation_number": "府孤第52号",
    "cancelled_on": "2026-05-08",
    "entitled_amount": 0,
}


def test_a_cancellation_refund_order_cites_article_18_1_and_states_both_charges(tmp_path):
    case = case_at(AwardStatus.GRANTED)
    letter = issue(case, LetterKind.REFUND_ORDER, CANCELLATION_REFUND_DETAILS)
    text = pdf_text(letter_pdf(letter), tmp_path)
    title = case.call.title.replace(" ", "")
    for expected in (
        f"{title}に係る補助金の返還について（命令）",
        "令和8年5月8日付け府孤第52号により交付決定を取り消した",
        "当該取消しに係る部分に関し、既に補助金が交付されているので",
        "第18条第1項の規定に基づき、下記のとおり返還を命じます。",
        "返還を命ずる額金1,000,000円",
        "既交付額金1,000,000円−取消し後の交付すべき額金0円（交付決定取消通知府孤第52号）",
        "法第19条第1項の規定により、補助金の受領の日から納付の日までの日数に応じ、",
        "年10.95パーセントの割合で計算した加算金を納付しなければならない。",
        "法第19条第2項の規定により、納期限の翌日から納付の日までの日数に応じ",
        "加算金及び延滞金の年当たりの割合は",
    ):
        assert expected in text, expected
    assert "第18条第2項" not in text and "額を確定した" not in text
    assert_in_order(text, ["３返還を命ずる額", "５納期限", "７加算金", "８延滞金", "以上"])


def test_promoted_letter_is_an_adoption_with_the_grant_application_to_follow(tmp_path):
    case = case_at(AwardStatus.ADOPTED)
    letter = issue(case, LetterKind.PROMOTED, {"award_amount": 1_250_000})
    pdf = letter_pdf(letter)
    text = pdf_text(pdf, tmp_path)
    title = case.call.title.replace(" ", "")
    for expected in (
        letter.document_number,
        today_wareki(),
        f"{title}の繰上げ採択について（通知）",
        "補欠として選定していたところ、",
        "下記のとおり繰り上げて採択することとしたので通知します。",
        "採択額金1,250,000円",
        "交付申請の手続については、別途お知らせします。",
        f"交付申請書は、{format_wareki(case.award.grant_application_due)}までに提出してください。",
        "記",
        "以上",
    ):
        assert expected in text, expected
    assert all(" yes " in row for row in pdf_fonts(pdf, tmp_path))


def reserve_application(call=None, **call_settings):
    case = case_at(AwardStatus.ADOPTED, **call_settings)  # for the call, its owner and a staff member
    application = ApplicationFactory(
        call=case.call,
        organisation=OrganisationFactory(
            email="reserve@example.jp", name="一般社団法人 つながり", representative_name=""
        ),
        status=ApplicationStatus.RESERVE,
        receipt_number=f"{case.call.receipt_prefix}-0900",
        submitted_at=timezone.now() - dt.timedelta(days=60),
    )
    return application, case.staff


def test_reserve_closed_letter_says_the_list_is_closed_and_thanks_politely(tmp_path):
    application, staff = reserve_application()
    with transaction.atomic():
        letter = issue_letter(LetterKind.RESERVE_CLOSED, application=application, details={}, by=staff)
    pdf = letter_pdf(letter)
    text = pdf_text(pdf, tmp_path)
    title = application.call.title.replace(" ", "")
    for expected in (
        letter.document_number,
        today_wareki(),
        "一般社団法人つながり御中",
        f"{title}の補欠の取扱いの終了について（通知）",
        "補欠の取扱いを終了することとしたため、採択に至らなかったので通知します。",
        "誠にありがとうございました。",
        "結果不採択",
        "記",
        "以上",
    ):
        assert expected in text, expected
    assert "様" not in text
    assert all(" yes " in row for row in pdf_fonts(pdf, tmp_path))


def test_letter_text_is_printed_literally(tmp_path):
    case = case_at()
    details = {**GRANT_DETAILS, "conditions": ['<img src="file:///etc/passwd">を含まないこと。']}
    text = pdf_text(letter_pdf(issue(case, LetterKind.GRANT_DECISION, details)), tmp_path)
    assert '（１）<imgsrc="file:///etc/passwd">を含まないこと。' in text
    assert "root:" not in text


# --- practice calls ---------------------------------------------------------------------------


def test_a_practice_calls_letter_is_marked_and_numbered_in_the_practice_series(tmp_path):
    case = case_at(is_practice=True)
    letter = issue(case, LetterKind.GRANT_DECISION, GRANT_DETAILS)
    assert letter.document_number.startswith("練習用第") and letter.document_number.endswith("号")
    text = pdf_text(letter_pdf(letter), tmp_path)
    assert letter.document_number in text
    assert "練習用（この文書は練習用の公募のものであり、効力はありません。）" in text
    assert "府孤第" not in text


def test_a_practice_calls_notice_is_marked_and_numbered_in_the_practice_series(tmp_path):
    from grants import services
    from grants.documents import notice_pdf
    from grants.models import Decision, Notice

    case = case_at(AwardStatus.ADOPTED, is_practice=True)
    reserve = ApplicationFactory(
        call=case.call, status=ApplicationStatus.RESERVE, receipt_number=f"{case.call.receipt_prefix}-0901"
    )
    adopted = ApplicationFactory(
        call=case.call,
        status=ApplicationStatus.ADOPTED,
        receipt_number=f"{case.call.receipt_prefix}-0902",
        requested_amount=1_000_000,
    )
    Decision.objects.create(
        application=adopted, award_amount=1_000_000, decided_by=case.staff, decided_at=timezone.now()
    )
    services.notices_prepare(call=case.call, created_by=case.staff)
    for application in (reserve, adopted):
        notice = Notice.objects.get(application=application)
        assert notice.document_number.startswith("練習用第"), notice.document_number
        text = pdf_text(notice_pdf(notice), tmp_path)
        assert notice.document_number in text
        assert "練習用（この文書は練習用の公募のものであり、効力はありません。）" in text
        assert "府孤第" not in text


def test_an_official_calls_notice_and_letter_carry_the_official_number_and_no_mark(tmp_path):
    from grants import services
    from grants.documents import notice_pdf
    from grants.models import Notice

    case = case_at(AwardStatus.ADOPTED)
    reserve = ApplicationFactory(
        call=case.call, status=ApplicationStatus.RESERVE, receipt_number=f"{case.call.receipt_prefix}-0903"
    )
    services.notices_prepare(call=case.call, created_by=case.staff)
    notice = Notice.objects.get(application=reserve)
    letter = issue(case, LetterKind.PROMOTED, {"award_amount": 1_000_000})
    for number, pdf in ((notice.document_number, notice_pdf(notice)), (letter.document_number, letter_pdf(letter))):
        assert number.startswith("府孤第")
        text = pdf_text(pdf, tmp_path)
        assert number in text
        assert "練習用" not in text


def test_reserve_notice_says_the_application_is_on_the_list_and_nothing_is_to_be_done(tmp_path):
    from grants import services
    from grants.documents import notice_email, notice_pdf
    from grants.models import Notice, NoticeKind

    case = case_at(AwardStatus.ADOPTED)
    reserve = ApplicationFactory(
        call=case.call,
        status=ApplicationStatus.RESERVE,
        receipt_number=f"{case.call.receipt_prefix}-0904",
        submitted_at=dt.datetime(2025, 5, 20, 10, 0, tzinfo=JST),
    )
    services.notices_prepare(call=case.call, created_by=case.staff)
    notice = Notice.objects.get(application=reserve)
    assert notice.kind == NoticeKind.RESERVE
    text = pdf_text(notice_pdf(notice), tmp_path)
    title = case.call.title.replace(" ", "")
    for expected in (
        notice.document_number,
        f"{title}の補欠としての選定について（通知）",
        "令和7年5月20日付けで申請のあった下記の事業については、審査の結果、補欠として選定したので通知します。",
        "繰り上げて採択することがあります。",
        "この通知について、御対応いただく手続はありません。",
        "記",
        "以上",
    ):
        assert expected in text, expected
    assert "採択額" not in text and "不採択" not in text
    message = notice_email(notice)
    assert "補欠通知書の送付について" in message.subject
    assert "補欠として選定しました。" in message.body
    assert "御対応いただく手続はありません。" in message.body


# --- the mail ---------------------------------------------------------------------------------


def letter_messages(letter):
    return OutboxMessage.objects.filter(kind=letters.LETTER_MAIL, subject_id=letter.pk).order_by("to_email")


CHANGE_DETAILS = {
    "change_number": 3,
    "change_kind": "経費の配分の変更",
    "requested_on": "2025-09-01",
    "note": "",
    "budget_before": BUDGET_BEFORE,
    "budget_after": BUDGET_AFTER,
}

MAIL_CASES = [
    (LetterKind.GRANT_DECISION, GRANT_DETAILS, "交付決定通知書", "交付決定額：金1,500,000円"),
    (
        LetterKind.CONFIRMATION,
        {
            "granted_amount": 1_500_000,
            "confirmed_amount": 1_200_000,
            "reported_on": "2026-03-20",
            "paid_so_far": 1_500_000,
            "balance": -300_000,
        },
        "額の確定通知書",
        "既交付額のうち確定額を超える金300,000円については、別途返還の手続をお知らせします。",
    ),
    (LetterKind.REFUND_ORDER, REFUND_DETAILS, "返還命令書", "納期限：令和8年5月29日"),
    (LetterKind.PROMOTED, {"award_amount": 1_250_000}, "繰上げ採択通知書", "採択額：金1,250,000円"),
    (
        LetterKind.CHANGE_APPROVED,
        CHANGE_DETAILS,
        "変更承認通知書",
        "申請のあった変更（変更申請 第3号）を承認しました。",
    ),
    (LetterKind.CHANGE_REFUSED, CHANGE_DETAILS, "変更不承認通知書", "補助事業は、従前の計画により遂行してください。"),
]


@pytest.mark.parametrize(("kind", "details", "title", "sentence"), MAIL_CASES)
def test_each_letter_is_mailed_once_to_each_address_with_its_pdf(
    kind, details, title, sentence, django_capture_on_commit_callbacks, tmp_path
):
    case = case_at(AwardStatus.CONFIRMED, confirmed_amount=1_200_000)
    change = change_request(case, number=3) if kind in {LetterKind.CHANGE_APPROVED, LetterKind.CHANGE_REFUSED} else None
    with django_capture_on_commit_callbacks(execute=True):
        letter = issue(case, kind, details, change=change)
    letter.refresh_from_db()
    assert letter.pdf and letter.generated_at and letter.emailed_at
    addresses = sorted([case.application.organisation.email, case.member.email])
    assert sorted(message.to[0] for message in mail.outbox) == addresses
    with letter.pdf.open("rb") as stored:
        pdf = stored.read()
    for message in mail.outbox:
        assert message.to == [message.to[0]]  # one address per mail
        assert message.subject == (
            f"【{OWNER}】{title}の送付について（{letter.document_number}・受付番号 {case.application.receipt_number}）"
        )
        assert sentence in message.body
        assert f"https://portal.example.jp/applications/{case.application.pk}/award/" in message.body
        assert "山田 花子　様" in message.body
        [(name, content, mimetype)] = message.attachments
        assert (name, mimetype) == (f"{letter.document_number}.pdf", "application/pdf")
        assert content == pdf  # the very file on record
    assert letter.document_number in pdf_text(pdf, tmp_path)
    assert [m.status for m in letter_messages(letter)] == [OutboxStatus.SENT, OutboxStatus.SENT]
    # A duplicate delivery of the task sends nothing more.
    for message in letter_messages(letter):
        assert outbox.deliver(message.pk) == OutboxStatus.SENT
    assert len(mail.outbox) == 2


def test_a_practice_letters_mail_is_marked_in_its_subject_and_body(django_capture_on_commit_callbacks):
    case = case_at(is_practice=True)
    with django_capture_on_commit_callbacks(execute=True):
        letter = issue(case, LetterKind.GRANT_DECISION, GRANT_DETAILS)
    assert letter.document_number.startswith("練習用第")
    assert mail.outbox and all(m.subject.startswith("【練習用】") for m in mail.outbox)
    assert all("練習用の公募のものであり、効力はありません" in m.body for m in mail.outbox)


def test_the_reserve_closed_mail_links_to_the_application(django_capture_on_commit_callbacks):
    application, staff = reserve_application()
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        letter = issue_letter(LetterKind.RESERVE_CLOSED, application=application, details={}, by=staff)
    [message] = mail.outbox  # the organisation only: nobody submitted it in this test
    assert "補欠解除通知書の送付について" in message.subject
    assert "一般社団法人 つながり\n御中" in message.body
    assert f"https://portal.example.jp/applications/{application.pk}/" in message.body
    assert "/award/" not in message.body
    assert message.attachments[0][0] == f"{letter.document_number}.pdf"


def test_a_letter_counts_as_emailed_only_once_the_mail_server_accepted_it_and_a_retry_sends_the_stored_pdf(
    django_capture_on_commit_callbacks, settings
):
    case = case_at()
    settings.EMAIL_BACKEND = "tests.grants.mail_backends.UnreachableBackend"
    with django_capture_on_commit_callbacks(execute=True):
        letter = issue(case, LetterKind.GRANT_DECISION, GRANT_DETAILS)
    letter.refresh_from_db()
    messages = list(letter_messages(letter))
    assert [m.status for m in messages] == [OutboxStatus.FAILED, OutboxStatus.FAILED]
    assert all("SMTP server unreachable" in m.last_error for m in messages)
    assert letter.emailed_at is None  # built, rendered, but not sent
    assert letter.pdf and letter.generated_at  # the PDF was rendered once and kept
    stored_name = letter.pdf.name
    with letter.pdf.open("rb") as stored:
        pdf = stored.read()

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    for message in messages:
        with django_capture_on_commit_callbacks(execute=True):
            outbox.retry(message.pk)
    letter.refresh_from_db()
    assert letter.emailed_at is not None
    assert letter.pdf.name == stored_name and letter.generated_at is not None
    assert [(m.status, m.attempts) for m in letter_messages(letter)] == [(OutboxStatus.SENT, 2)] * 2
    assert [m.attachments[0][1] for m in mail.outbox] == [pdf, pdf]  # the same stored file
    assert len(list((Path(settings.MEDIA_ROOT) / "letters").iterdir())) == 1


def test_emailed_at_is_the_first_send_and_not_moved_by_a_later_one(django_capture_on_commit_callbacks):
    case = case_at()
    with django_capture_on_commit_callbacks(execute=True):
        letter = issue(case, LetterKind.GRANT_DECISION, GRANT_DETAILS)
    first = Letter.objects.get(pk=letter.pk).emailed_at
    letters.letter_mail_sent(letter_id=letter.pk, at=first + dt.timedelta(hours=1))
    assert Letter.objects.get(pk=letter.pk).emailed_at == first


def test_a_letter_gone_before_its_mail_cancels_the_mail():
    case = case_at()
    letter = issue(case, LetterKind.GRANT_DECISION, GRANT_DETAILS)
    message = letter_messages(letter).first()
    OutboxMessage.objects.filter(pk=message.pk).update(subject_id=letter.pk + 10_000)
    assert letters.build_letter_mail(OutboxMessage.objects.get(pk=message.pk)) is None


# --- issued once; the contract; numbering -----------------------------------------------------


def test_a_letter_cannot_be_issued_twice_and_the_second_attempt_numbers_and_mails_nothing(
    django_capture_on_commit_callbacks,
):
    case = case_at()
    with django_capture_on_commit_callbacks(execute=True):
        letter = issue(case, LetterKind.GRANT_DECISION, GRANT_DETAILS)
    counter = DocumentCounter.objects.get(series=DocumentSeries.OFFICIAL)
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(Refused) as refused,
        translation.override("en"),
    ):
        issue(case, LetterKind.GRANT_DECISION, {**GRANT_DETAILS, "amount": 1})
    assert refused.value.code == "issued"
    with translation.override("en"):
        assert refused.value.message == (
            f"The {LetterKind.GRANT_DECISION.label} has already been issued ({letter.document_number} of "
            f"{format_wareki(letter.issued_on)}); a letter is issued only once."
        )
    assert callbacks == []
    assert Letter.objects.filter(application=case.application).count() == 1
    assert DocumentCounter.objects.get(pk=counter.pk).last == counter.last  # no number taken
    assert letter_messages(letter).count() == 2 and len(mail.outbox) == 2


def test_each_change_request_gets_its_own_letter():
    case = case_at()
    details = {"change_number": 1, "change_kind": "変更", "requested_on": "2025-09-01", "note": "",
               "budget_before": [], "budget_after": []}  # fmt: skip
    first = issue(case, LetterKind.CHANGE_APPROVED, details, change=change_request(case, number=1))
    second = issue(
        case, LetterKind.CHANGE_APPROVED, {**details, "change_number": 2}, change=change_request(case, number=2)
    )
    assert first.document_number != second.document_number
    with pytest.raises(Refused):
        issue(case, LetterKind.CHANGE_APPROVED, details, change=first.change)


@pytest.mark.parametrize("kind", sorted(SUBSIDY_ONLY_LETTERS))
def test_a_contract_call_issues_no_subsidy_only_letter(kind):
    case = case_at(funding_kind="contract")
    assert issue(case, kind, {"amount": 1}) is None
    assert not Letter.objects.exists()
    assert not OutboxMessage.objects.filter(kind=letters.LETTER_MAIL).exists()
    assert not DocumentCounter.objects.exists()  # no number taken


@pytest.mark.parametrize("kind", [LetterKind.CONFIRMATION, LetterKind.PROMOTED, LetterKind.RESERVE_CLOSED])
def test_a_contract_call_issues_the_letters_that_are_not_subsidy_only(kind):
    case = case_at(funding_kind="contract")
    assert issue(case, kind, {"award_amount": 1, "granted_amount": 1, "confirmed_amount": 1, "paid_so_far": 0,
                              "balance": 1}) is not None  # fmt: skip


@pytest.mark.django_db(transaction=True)
def test_issue_letter_refuses_to_run_outside_a_transaction():
    case = case_at()
    with pytest.raises(RuntimeError, match="inside the caller's transaction"):
        issue_letter(LetterKind.GRANT_DECISION, application=case.application, details={}, by=case.staff)
    assert not Letter.objects.exists()


def test_numbers_run_per_fiscal_year_from_april_and_per_series():
    with transaction.atomic():
        numbers = [
            next_document_number(dt.date(2025, 4, 1), practice=False),
            next_document_number(dt.date(2026, 3, 31), practice=False),  # the same fiscal year (令和7年度)
            next_document_number(dt.date(2025, 3, 31), practice=False),  # the year before
            next_document_number(dt.date(2026, 4, 1), practice=False),  # a new fiscal year starts again
            next_document_number(dt.date(2025, 12, 1), practice=True),  # the practice series of its own
            next_document_number(dt.date(2025, 12, 2), practice=True),
            next_document_number(dt.date(2025, 12, 3), practice=False),
        ]
    assert numbers == ["府孤第1号", "府孤第2号", "府孤第1号", "府孤第1号", "練習用第1号", "練習用第2号", "府孤第3号"]
    assert set(DocumentCounter.objects.values_list("series", "fiscal_year", "last")) == {
        (DocumentSeries.OFFICIAL, 2024, 1),
        (DocumentSeries.OFFICIAL, 2025, 3),
        (DocumentSeries.OFFICIAL, 2026, 1),
        (DocumentSeries.PRACTICE, 2025, 2),
    }


def test_letters_and_notices_share_the_official_series():
    from grants import services
    from grants.models import Notice

    case = case_at(AwardStatus.ADOPTED)
    ApplicationFactory(
        call=case.call, status=ApplicationStatus.RESERVE, receipt_number=f"{case.call.receipt_prefix}-0905"
    )
    services.notices_prepare(call=case.call, created_by=case.staff)
    letter = issue(case, LetterKind.PROMOTED, {"award_amount": 1})
    notice_numbers = list(
        Notice.objects.exclude(document_number__startswith="TEST").values_list("document_number", flat=True)
    )
    assert notice_numbers == ["府孤第1号"] and letter.document_number == "府孤第2号"


def test_the_render_is_kept_and_not_redone():
    case = case_at()
    letter = issue(case, LetterKind.GRANT_DECISION, GRANT_DETAILS)
    rendered = letter_render(letter_id=letter.pk)
    again = letter_render(letter_id=letter.pk)
    assert rendered.pdf.name == again.pdf.name and rendered.generated_at == again.generated_at


@pytest.mark.django_db(transaction=True)
def test_two_letters_issued_at_once_take_two_numbers(settings, tmp_path):
    """The counter row is locked until commit: two staff issuing at the same moment get two
    consecutive numbers, never the same one."""
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL (CI runs this on PostgreSQL)")
    cases = [case_at(), case_at()]
    barrier = threading.Barrier(2)
    numbers, errors = [], []

    def run(case):
        try:
            with transaction.atomic():
                barrier.wait()
                letter = issue_letter(
                    LetterKind.GRANT_DECISION,
                    application=case.application,
                    award=case.award,
                    details=GRANT_DETAILS,
                    by=case.staff,
                )
                numbers.append(letter.document_number)
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(case,)) for case in cases]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(numbers) == ["府孤第1号", "府孤第2号"]


@pytest.mark.django_db(transaction=True)
def test_the_same_letter_issued_twice_at_once_is_issued_once(settings):
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL (CI runs this on PostgreSQL)")
    case = case_at()
    barrier = threading.Barrier(2)
    issued, refusals, errors = [], [], []

    def run():
        try:
            with transaction.atomic():
                barrier.wait()
                issued.append(
                    issue_letter(
                        LetterKind.GRANT_DECISION,
                        application=case.application,
                        award=case.award,
                        details=GRANT_DETAILS,
                        by=case.staff,
                    ).document_number
                )
        except Refused as refused:
            refusals.append(refused.code)
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(issued) == 1 and refusals == ["issued"]
    assert Letter.objects.count() == 1


def test_a_sent_letter_that_was_not_recorded_is_recorded_by_the_repair(django_capture_on_commit_callbacks):
    """The worker stopped between the mail server's answer and the record: the outbox rows are
    sent, the letter not marked as e-mailed — until beat's repair records it with the first send."""
    from grants.tasks import record_sent_notices

    case = case_at()
    with django_capture_on_commit_callbacks(execute=True):
        letter = issue(case, LetterKind.GRANT_DECISION, GRANT_DETAILS)
    first_sent = min(message.sent_at for message in letter_messages(letter))
    Letter.objects.filter(pk=letter.pk).update(emailed_at=None)  # what a killed worker leaves behind
    sent_before = len(mail.outbox)
    assert letters.letters_record_sent() == 1
    assert Letter.objects.get(pk=letter.pk).emailed_at == first_sent
    assert letters.letters_record_sent() == 0  # nothing left to repair
    assert record_sent_notices() == 0  # the beat task runs both repairs
    assert len(mail.outbox) == sent_before  # and no mail was sent again
