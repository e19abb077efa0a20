"""The life of an award after 採択, in the browser, in Japanese (issue 10).

On the demo's practice call for the steps after adoption (seed_demo: "practice-awards", budget
10,000,000円, cap 2,000,000円, 概算払 allowed, every letter numbered 練習用第N号):

a. 採択 → 精算払: the demo organisation (applicant@example.jp, PRACTICE-AW-0001 at 採択) files its
   交付申請 (budget lines in full-width digits, the account holder in full-width katakana, stored
   half-width); staff return it (差戻し) with a reason, which the organisation reads before filing
   again; staff accept it and decide the grant (交付決定通知書 PDF checked); the organisation
   requests a 概算払, staff approve it and record it paid; the organisation files its 実績報告 with
   cost lines and a receipt (PDF, with a T-number) on a line; staff find each line eligible and
   accept the report; staff confirm the amount (one yen above the proposal is refused; 額の確定通知書
   checked) and record the 精算払; the award is closed and its timeline tells every step.
b. 採択 → 返還: PRACTICE-AW-0002 (granted 1,600,000円, an advance of 800,000円 paid) with a final
   report of 700,000円 filed; staff find one line only partly eligible, accept the report, confirm
   550,000円, order the 250,000円 back (返還命令書 checked: amount, 納期限, text, fonts) and record
   the money returned; the award is closed.
c. 辞退 → 繰上げ採択: the budget set to what is committed; the demo organisation declines
   PRACTICE-AW-0001 on its award page; staff see the freed budget on the reserve list and adopt
   PRACTICE-AW-0007 (補欠, its notice sent) for it; its organisation finds its award at 採択 and
   the 繰上げ採択通知書.

Each letter is mailed once per address of its application (through the outbox, Celery eager).
"""

import datetime as dt
import re
import subprocess
import time
from pathlib import Path

import pytest
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value, yield_hotp_counters_from_time
from django.contrib.auth import get_user_model
from django.core import mail
from django.utils import timezone, translation
from playwright.sync_api import Page, expect

from applications.models import Application, ApplicationStatus
from applications.selectors import application_mail_recipients
from calls.models import Call
from grants import report_steps
from grants.demo.loader import seed_demo
from grants.models import (
    Award,
    AwardStatus,
    CostVerdict,
    GrantApplicationStatus,
    Letter,
    LetterKind,
    PaymentKind,
    PaymentStatus,
    ReportKind,
    ReportStatus,
)
from grants.selectors import committed_amount
from kodoku_portal.jp import JST, format_date, format_wareki
from kodoku_portal.models import OutboxMessage, OutboxStatus
from tests.e2e.axe import assert_accessible
from tests.e2e.helpers import totp_secret

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "kodoku-demo-2025"
STAFF = "staff@example.jp"
APPLICANT = "applicant@example.jp"  # a member of the demo organisation (PRACTICE-AW-0001)
COLLEAGUE = "colleague@example.jp"  # a member of every practice organisation (PRACTICE-AW-0002 …)
SLUG = "practice-awards"
INVOICE_NUMBER = "T4011001098993"  # a registration number with a valid check digit
MINIMAL_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)

# The steps as the award page names them (AwardStatus in Japanese).
ADOPTED = "採択（交付申請待ち）"
APPLIED = "交付申請受付"
ACCEPTED = "交付申請の受理"
GRANTED = "交付決定済"
REPORTED = "実績報告済"
REPORT_ACCEPTED = "実績報告受理"
CONFIRMED = "額確定済"
REFUND_ORDERED = "返還命令"
DECLINED = "辞退"


def closed_label() -> str:
    """What the page calls AwardStatus.CLOSED in Japanese (its own context: not a call's 締切済)."""
    with translation.override("ja"):
        label = str(AwardStatus.CLOSED.label)
    assert label == "完了"
    return label


# --- helpers ------------------------------------------------------------------------------------


def log_in(page: Page, base: str, email: str, next_path: str) -> None:
    """Password, then (for staff) the TOTP code of the current 30-second window (allauth.mfa).
    A code is accepted once: if it is refused (the window turned, or the code was just used), the
    next window's code is typed."""
    user = get_user_model().objects.get(email=email)
    page.goto(f"{base}/accounts/login/?next={next_path}")
    page.get_by_label("メールアドレス").fill(email)
    page.get_by_label(re.compile(r"^\s*パスワード\*?\s*$")).fill(PASSWORD)
    page.get_by_role("button", name="ログイン").click()
    if user.requires_mfa:
        expect(page).to_have_url(f"{base}/accounts/2fa/authenticate/")
        secret = totp_secret(email)
        for attempt in range(2):
            if attempt:
                time.sleep(30.5 - time.time() % 30)
            code = format_hotp_value(hotp_value(secret, next(yield_hotp_counters_from_time())))
            page.get_by_label(re.compile(r"^\s*コード\*?\s*$")).fill(code)
            with page.expect_navigation():
                page.get_by_role("main").get_by_role("button", name="ログイン").click()
            if not page.url.endswith("/accounts/2fa/authenticate/"):
                break
    expect(page).to_have_url(base + next_path)
    expect(page.get_by_role("button", name="ログアウト")).to_be_visible()


def status_message(page: Page, text: str):
    return page.get_by_role("status").filter(has_text=text)


def yen(amount: int) -> str:
    return f"{amount:,}円"


def full_width(text) -> str:
    """１，２３４，５６７: digits and commas as a Japanese keyboard types them."""
    if isinstance(text, int):
        text = f"{text:,}"
    return text.translate(str.maketrans("0123456789,", "０１２３４５６７８９，"))


def today() -> dt.date:
    return timezone.now().astimezone(JST).date()


def pdf_text(path: Path) -> str:
    """The PDF's text with all whitespace removed (layout spacing is not what is checked)."""
    out = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True)
    return "".join(out.stdout.split())


def assert_fonts_embedded(path: Path) -> None:
    """Every font of the PDF is embedded, and the Japanese ones are IPAex fonts."""
    out = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout
    fonts = out.splitlines()[2:]
    assert fonts, out
    assert any("IPAex" in line for line in fonts), out
    for line in fonts:
        # name, type (one or two words), encoding, emb, sub, uni, object, generation
        assert line.split()[-5] == "yes", f"not embedded: {line}"


def assert_in_order(text: str, markers: list[str]) -> None:
    """Each marker appears in the text after the one before it."""
    position = 0
    for marker in markers:
        found = text.find(marker, position)
        assert found >= 0, f"{marker!r} not found after {text[max(position - 40, 0) : position]!r} in {text!r}"
        position = found + len(marker)


def download_letter(page: Page, letter: Letter, tmp_path: Path) -> Path:
    """The letter's PDF, downloaded from its link on the award page's timeline."""
    link = page.get_by_test_id("timeline").get_by_role("link", name=f"{letter.document_number}（PDF）")
    with page.expect_download() as download_info:
        link.click()
    download = download_info.value
    assert download.suggested_filename == f"{letter.document_number}.pdf"
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    assert path.read_bytes().startswith(b"%PDF-")
    return path


def letter_head(letter: Letter) -> list[str]:
    """What every letter begins with: the practice mark, its number and date, the subject."""
    assert re.fullmatch(r"練習用第\d+号", letter.document_number), letter.document_number
    return ["練習用", letter.document_number, "".join(format_wareki(letter.issued_on).split())]


def assert_mailed_once_per_address(letter: Letter) -> None:
    """The letter went out once to each address of its application (the organisation's, the
    submitter's), each mail with the letter's PDF, through the outbox."""
    letter.refresh_from_db()
    expected = sorted(application_mail_recipients(letter.application))
    assert len(expected) >= 1
    name = f"{letter.document_number}.pdf"
    mails = [m for m in mail.outbox if any(attachment[0] == name for attachment in m.attachments)]
    assert sorted(address for m in mails for address in m.to) == expected
    assert all(len(m.to) == 1 for m in mails)
    rows = OutboxMessage.objects.filter(kind="letter", to_email__in=expected, subject_id=letter.pk)
    assert sorted(rows.values_list("to_email", flat=True)) == expected
    assert set(rows.values_list("status", flat=True)) == {OutboxStatus.SENT}
    assert letter.emailed_at is not None


def timeline_titles(page: Page) -> list[str]:
    return sorted(page.get_by_test_id("timeline").locator("li > strong").all_inner_texts())


# --- a. 採択 → 精算払 -------------------------------------------------------------------------------


def test_from_adoption_to_settlement(page: Page, live_server, new_page, tmp_path):
    seed_demo()
    base = live_server.url
    application = Application.objects.get(receipt_number="PRACTICE-AW-0001")
    award = Award.objects.get(application=application)
    assert award.status == AwardStatus.ADOPTED
    assert application.decision.award_amount == 1_500_000
    mail.outbox.clear()
    member_page = f"/applications/{application.pk}/award/"
    staff_page = f"/staff/awards/{award.pk}/"

    # The organisation finds its award from its list of applications.
    member = page
    log_in(member, base, APPLICANT, "/applications/")
    row = member.get_by_role("row").filter(has_text=application.receipt_number)
    row.get_by_role("link", name="採択後の手続（交付申請・変更・報告・支払）").click()
    expect(member).to_have_url(base + member_page)
    expect(member.get_by_role("heading", level=1)).to_have_text(application.title)
    expect(member.get_by_test_id("award-status")).to_have_text(ADOPTED)
    expect(member.get_by_test_id("due-list")).to_contain_text("交付申請")
    assert_accessible(member)

    # 1. 交付申請: the budget from the application, typed again in full-width digits; the bank account.
    member.get_by_test_id("file-grant-application").click()
    expect(member).to_have_url(f"{base}/applications/{application.pk}/award/grant-application/")
    expect(member.get_by_role("heading", level=1)).to_have_text("交付申請書")
    lines = member.get_by_role("table").filter(has=member.get_by_role("columnheader", name="費目")).locator("tbody tr")
    expect(lines.nth(0).get_by_label("費目")).to_have_value("honoraria")
    expect(lines.nth(0).get_by_label("金額（円）")).to_have_value("450000")
    assert_accessible(member)
    budget = [("honoraria", "講師謝金", 400_000), ("rental", "会場借料", 500_000), ("supplies", "消耗品", 600_000)]
    for index, (category, description, amount) in enumerate(budget):
        line = lines.nth(index)
        line.get_by_label("費目").select_option(category)
        line.get_by_label("内容", exact=True).fill(description)
        line.get_by_label("金額（円）").fill(full_width(amount))
    member.get_by_label("担当者の役職").fill("事務局長")
    member.get_by_role("textbox", name=re.compile(r"^担当者\*?$")).fill("申請 花子")
    member.get_by_label(re.compile(r"^\s*金融機関名")).fill("みらい信用金庫")
    member.get_by_label(re.compile(r"^\s*金融機関コード")).fill("１２３４")
    member.get_by_label(re.compile(r"^\s*支店名")).fill("本店営業部")
    member.get_by_label(re.compile(r"^\s*支店コード")).fill("００１")
    member.get_by_label(re.compile(r"^\s*預金種別")).select_option(label="普通")
    member.get_by_label(re.compile(r"^\s*口座番号")).fill("１２３４５６７")
    member.get_by_label(re.compile(r"^\s*口座名義")).fill("トクテイヒエイリカツドウホウジン　ツナガリデモノカイ")
    member.get_by_role("button", name="交付申請書を提出する").click()
    expect(member).to_have_url(base + member_page)
    expect(status_message(member, "交付申請（第1回）を提出しました。事務局が内容を確認します。")).to_be_visible()
    expect(member.get_by_test_id("award-status")).to_have_text(APPLIED)
    holder = "ﾄｸﾃｲﾋｴｲﾘｶﾂﾄﾞｳﾎｳｼﾞﾝ ﾂﾅｶﾞﾘﾃﾞﾓﾉｶｲ"
    expect(member.get_by_test_id("bank-account")).to_contain_text(holder)
    assert_accessible(member)
    filing = award.grant_applications.get()
    assert (filing.amount, filing.bank_code, filing.branch_code, filing.account_number) == (
        1_500_000,
        "1234",
        "001",
        "1234567",
    )
    assert filing.account_holder_kana == holder
    assert [(line.category, line.amount) for line in filing.budget.lines.order_by("position")] == [
        (category, amount) for category, _description, amount in budget
    ]

    # 2. Staff return it for correction (差戻し) with a reason.
    staff = new_page()
    log_in(staff, base, STAFF, staff_page)
    expect(staff.get_by_test_id("award-status")).to_have_text(APPLIED)
    filed = staff.get_by_test_id("grant-filing")
    expect(filed).to_have_count(1)
    expect(filed).to_contain_text(yen(1_500_000))
    assert_accessible(staff)
    reason = "消耗品の内訳（品目と数量）を内容欄に書いてください。"
    staff.get_by_label("差戻しの理由（団体に表示されます）").fill(reason)
    staff.get_by_role("button", name="差し戻す").click()
    expect(status_message(staff, "交付申請を団体に差し戻しました。")).to_be_visible()
    expect(staff.get_by_test_id("award-status")).to_have_text(ADOPTED)

    # The organisation reads the reason and files again from what it filed.
    member.reload()
    expect(member.get_by_test_id("award-status")).to_have_text(ADOPTED)
    expect(member.get_by_test_id("grant-filing").get_by_test_id("return-reason")).to_contain_text(reason)
    assert_accessible(member)
    member.get_by_role("link", name="修正して再提出する").click()
    expect(member.get_by_test_id("return-reason")).to_contain_text(reason)
    expect(lines.nth(2).get_by_label("内容", exact=True)).to_have_value("消耗品")
    expect(lines.nth(2).get_by_label("金額（円）")).to_have_value("600000")
    expect(member.get_by_label(re.compile(r"^\s*口座名義"))).to_have_value(holder)
    lines.nth(2).get_by_label("内容", exact=True).fill("消耗品（文具 20点、茶菓 60回分）")
    member.get_by_role("button", name="交付申請書を提出する").click()
    expect(status_message(member, "交付申請（第2回）を提出しました。事務局が内容を確認します。")).to_be_visible()
    expect(member.get_by_test_id("award-status")).to_have_text(APPLIED)

    # 3. Staff accept it and decide the grant (交付決定): the notice goes out.
    staff.reload()
    expect(staff.get_by_test_id("grant-filing")).to_have_count(2)
    staff.get_by_role("button", name="交付申請を受理する").click()
    expect(status_message(staff, "交付申請を受理しました。交付決定ができます。")).to_be_visible()
    expect(staff.get_by_test_id("award-status")).to_have_text(ACCEPTED)
    expect(staff.get_by_label("交付決定額（円）")).to_have_value("1500000")
    assert_accessible(staff)
    staff.get_by_role("button", name="交付を決定し通知書を送る").click()
    expect(status_message(staff, "交付を決定しました。交付決定通知書を送信しています。")).to_be_visible()
    expect(staff.get_by_test_id("award-status")).to_have_text(GRANTED)
    expect(staff.get_by_role("main")).to_contain_text(f"{yen(1_500_000)}（{format_date(today(), 'ja')}）")
    decision = Letter.objects.get(application=application, kind=LetterKind.GRANT_DECISION)
    text = pdf_text(download_letter(staff, decision, tmp_path))
    assert_in_order(
        text,
        [
            *letter_head(decision),
            "特定非営利活動法人つながりデモの会",
            "交付決定について（通知）",
            "第6条第1項",
            "記",
            "交付決定額",
            "金1,500,000円",
            "経費の配分",
            "謝金",
            "400,000円",
            "合計",
            "1,500,000円",
            "交付の条件",
            "申請の取下げ",
            "以上",
        ],
    )
    assert_fonts_embedded(tmp_path / f"{decision.document_number}.pdf")
    assert_mailed_once_per_address(decision)

    # 4. 概算払: the organisation requests one, staff approve it and record it paid.
    member.goto(base + member_page)
    expect(member.get_by_test_id("award-status")).to_have_text(GRANTED)
    expect(member.get_by_test_id("advance-room")).to_contain_text(yen(1_500_000))
    advance = member.get_by_test_id("advance-form")
    advance.get_by_label("申請額（円）").fill(full_width(600_000))
    advance.get_by_label("概算払を必要とする理由").fill("講師謝金と会場借料を事業の開始時に支払うため。")
    advance.get_by_role("button", name="概算払を請求する").click()
    expect(status_message(member, "600,000円 の概算払の請求を事務局に送りました。")).to_be_visible()
    expect(member.get_by_test_id("payment-row")).to_contain_text(["概算払"])
    expect(member.get_by_test_id("advance-room")).to_contain_text(yen(900_000))
    assert_accessible(member)

    staff.reload()
    staff.get_by_test_id("approve-form").get_by_role("button", name="承認する").click()
    expect(status_message(staff, "概算払を承認しました。")).to_be_visible()
    expect(staff.get_by_label("支払日")).to_have_value(today().isoformat())
    staff.get_by_test_id("paid-form").get_by_role("button", name="支払済として記録する").click()
    expect(status_message(staff, "支払済として記録しました。")).to_be_visible()
    expect(staff.get_by_test_id("paid-so-far")).to_have_text(yen(600_000))
    assert_accessible(staff)

    # 5. The final report (実績報告) with its cost lines, then a receipt on its first line.
    member.reload()
    expect(member.get_by_test_id("payment-row")).to_contain_text(["支払済"])
    member.get_by_role("link", name="実績報告を提出する").click()
    expect(member.get_by_role("heading", level=1)).to_have_text("実績報告を提出する")
    assert_accessible(member)
    member.get_by_label(re.compile(r"^\s*実施内容")).fill("交流会を16回、相談会を8回開きました。")
    member.get_by_label(re.compile(r"^\s*参加者数")).fill("６４０")
    member.get_by_label(re.compile(r"^\s*成果")).fill("参加者の約7割が「話せる人ができた」と答えました。")
    costs = member.get_by_test_id("cost-lines").locator("tbody tr")
    spent = [380_000, 420_000, 550_000]
    for index, amount in enumerate(spent):
        expect(costs.nth(index).get_by_label("費目")).to_have_value(budget[index][0])
        costs.nth(index).get_by_label("実支出額（円）").fill(full_width(amount))
    member.get_by_role("button", name="実績報告を提出する").click()
    expect(status_message(member, "実績報告を提出しました。")).to_be_visible()
    expect(member.get_by_test_id("award-status")).to_have_text(REPORTED)
    report = award.reports.get(kind=ReportKind.FINAL)
    first = report.costs.get(position=0)
    receipt = tmp_path / "領収書_講師謝金.pdf"
    receipt.write_bytes(MINIMAL_PDF)
    line = member.get_by_test_id(f"line-{first.pk}")
    line.get_by_label("書類の種類").select_option(label="領収書")
    line.get_by_label("登録番号（T＋13桁）").fill(INVOICE_NUMBER)
    line.get_by_label(re.compile(r"^\s*ファイル（PDF・Word・Excel）")).set_input_files(receipt)
    line.get_by_role("button", name="アップロードする 1").click()
    expect(status_message(member, "領収書_講師謝金.pdfを1行目（謝金、380,000円）に添付しました。")).to_be_visible()
    expect(member.get_by_test_id(f"line-{first.pk}")).to_contain_text(
        re.compile(rf"領収書_講師謝金\.pdf\s*（領収書、{INVOICE_NUMBER}、")
    )
    assert_accessible(member)

    # 6. Staff find every line eligible and accept the report.
    staff.reload()
    expect(staff.get_by_test_id("award-status")).to_have_text(REPORTED)
    for cost in report.costs.order_by("position"):
        number = cost.position + 1
        row = staff.get_by_test_id(f"line-{cost.pk}")
        row.get_by_text(f"{number}行目を確認する").click()
        row.get_by_label("判定").select_option(label="対象経費")
        row.get_by_role("button", name=f"判定を保存する {number}").click()
        expect(status_message(staff, f"{number}行目（")).to_contain_text("：対象経費。")
    staff.get_by_role("button", name="報告を受理する").click()
    expect(status_message(staff, "報告を受理しました。")).to_be_visible()
    expect(staff.get_by_test_id("award-status")).to_have_text(REPORT_ACCEPTED)
    assert_accessible(staff)

    # 7. 額の確定: one yen above the proposal is refused; the proposal is confirmed.
    proposal = sum(spent)  # below the 交付決定額, at a subsidy rate of 100%
    expect(staff.get_by_test_id("confirm-terms")).to_contain_text(yen(proposal))
    confirm = staff.get_by_test_id("confirm-form")
    expect(confirm.get_by_label("確定額（円）")).to_have_value(str(proposal))
    confirm.get_by_label("確定額（円）").fill(str(proposal + 1))
    confirm.get_by_role("checkbox").check()
    confirm.get_by_role("button", name="額を確定して通知書を発行する").click()
    expect(status_message(staff, f"確定額（{yen(proposal + 1)}）は提案額を超えられません。")).to_be_visible()
    expect(status_message(staff, f"提案額は次のうち最も低い {yen(proposal)} です")).to_be_visible()
    assert_accessible(staff)
    expect(staff.get_by_test_id("award-status")).to_have_text(REPORT_ACCEPTED)
    confirm.get_by_label("確定額（円）").fill(full_width(proposal))
    confirm.get_by_role("checkbox").check()
    confirm.get_by_role("button", name="額を確定して通知書を発行する").click()
    expect(status_message(staff, f"額を {yen(proposal)} に確定し、額の確定通知書を発行しました。")).to_be_visible()
    expect(staff.get_by_test_id("award-status")).to_have_text(CONFIRMED)
    balance = proposal - 600_000
    expect(staff.get_by_test_id("balance")).to_have_text(yen(balance))
    confirmation = Letter.objects.get(application=application, kind=LetterKind.CONFIRMATION)
    text = pdf_text(download_letter(staff, confirmation, tmp_path))
    assert_in_order(
        text,
        [
            *letter_head(confirmation),
            "額の確定について（通知）",
            "第15条",
            "記",
            "交付決定額",
            "金1,500,000円",
            "確定額",
            f"金{yen(proposal)}",
            "既交付額",
            "金600,000円",
            "差引交付額",
            f"金{yen(balance)}",
            "精算払",
            "以上",
        ],
    )
    assert_fonts_embedded(tmp_path / f"{confirmation.document_number}.pdf")
    assert_mailed_once_per_address(confirmation)

    # 8. 精算払: staff record the balance paid; the award is closed.
    settlement = staff.get_by_test_id("payment-row").filter(has_text="精算払")
    expect(settlement).to_contain_text(yen(balance))
    staff.get_by_test_id("paid-form").get_by_role("button", name="精算払を支払済として記録し、事業を完了にする").click()
    expect(status_message(staff, "支払済として記録しました。")).to_be_visible()
    expect(staff.get_by_test_id("award-status")).to_have_text(closed_label())
    expect(staff.get_by_test_id("paid-so-far")).to_have_text(yen(proposal))
    expect(staff.get_by_test_id("balance")).to_have_text(yen(0))
    expect(staff.get_by_text("現在、必要な手続はありません。")).to_be_visible()
    assert_accessible(staff)

    # The timeline, on the organisation's side, tells every step.
    member.reload()
    expect(member.get_by_test_id("award-status")).to_have_text(closed_label())
    assert timeline_titles(member) == sorted(
        [
            "採択通知書",  # the notice the award began with
            "交付申請の提出",
            "交付申請の差戻し",
            "交付申請の提出",
            "交付申請の受理",
            "交付決定通知書",
            "概算払",  # requested
            "概算払",  # paid
            "実績報告",  # filed
            "実績報告",  # accepted
            "額の確定通知書",
            "精算払",  # paid
        ]
    )
    for letter in (decision, confirmation):
        expect(
            member.get_by_test_id("timeline").get_by_role("link", name=f"{letter.document_number}（PDF）")
        ).to_be_visible()
    assert_accessible(member)

    # The finance office's list has both payments with the account as filed.
    staff.goto(f"{base}/staff/payments/")
    paid_rows = staff.get_by_test_id("payment-list-row").filter(has_text=application.receipt_number)
    expect(paid_rows).to_have_count(2)
    expect(paid_rows.filter(has_text="概算払")).to_contain_text(yen(600_000))
    expect(paid_rows.filter(has_text="精算払")).to_contain_text(yen(balance))
    expect(paid_rows.first).to_contain_text(holder)
    assert_accessible(staff)

    # What was stored.
    award.refresh_from_db()
    assert (award.status, award.granted_amount, award.confirmed_amount) == (AwardStatus.CLOSED, 1_500_000, proposal)
    assert list(award.grant_applications.order_by("number").values_list("status", "return_reason")) == [
        (GrantApplicationStatus.RETURNED, reason),
        (GrantApplicationStatus.ACCEPTED, ""),
    ]
    assert list(award.payments.order_by("created_at").values_list("kind", "status", "amount")) == [
        (PaymentKind.ADVANCE, PaymentStatus.PAID, 600_000),
        (PaymentKind.SETTLEMENT, PaymentStatus.PAID, balance),
    ]
    report.refresh_from_db()
    assert report.status == ReportStatus.ACCEPTED
    assert list(report.costs.order_by("position").values_list("amount", "verdict", "eligible_amount")) == [
        (amount, CostVerdict.ACCEPTED, amount) for amount in spent
    ]
    evidence = first.evidence.get()
    assert (evidence.kind, evidence.invoice_number, evidence.original_name) == (
        "receipt",
        INVOICE_NUMBER,
        "領収書_講師謝金.pdf",
    )
    assert sorted(Letter.objects.filter(application=application).values_list("kind", flat=True)) == sorted(
        [LetterKind.GRANT_DECISION, LetterKind.CONFIRMATION]
    )
    letter_mails = OutboxMessage.objects.filter(kind="letter", subject_id__in=[decision.pk, confirmation.pk])
    assert letter_mails.count() == 2 * len(application_mail_recipients(application))


# --- b. 採択 → 返還 ---------------------------------------------------------------------------------


def test_from_adoption_to_refund(page: Page, live_server, new_page, tmp_path):
    seed_demo()
    base = live_server.url
    application = Application.objects.get(receipt_number="PRACTICE-AW-0002")
    award = Award.objects.get(application=application)
    # The demo brought it to 交付決定 with an advance of 800,000円 paid.
    assert (award.status, award.granted_amount) == (AwardStatus.GRANTED, 1_600_000)
    assert [(p.kind, p.status, p.amount) for p in award.payments.all()] == [
        (PaymentKind.ADVANCE, PaymentStatus.PAID, 800_000)
    ]
    # Its final report proves 700,000円 of costs (filed through the service: walk a files one in the browser).
    version = award.budget_in_force()
    lines = list(version.lines.order_by("position"))
    spent = [300_000, 250_000, 150_000]
    colleague = get_user_model().objects.get(email=COLLEAGUE)
    report = report_steps.report_file(
        award=award,
        kind=ReportKind.FINAL,
        activities="交流会を10回開きました。",
        participants=300,
        results="参加者の半数が継続して参加しました。",
        issues="",
        costs=[
            report_steps.CostInput(line.category, line.description, amount)
            for line, amount in zip(lines, spent, strict=True)
        ],
        by=colleague,
    )
    mail.outbox.clear()
    costs = list(report.costs.order_by("position"))

    # 1. Staff review the lines: the second only partly eligible, with the reason.
    staff = page
    log_in(staff, base, STAFF, f"/staff/awards/{award.pk}/")
    expect(staff.get_by_test_id("award-status")).to_have_text(REPORTED)
    partly = 100_000
    for cost in costs:
        number = cost.position + 1
        row = staff.get_by_test_id(f"line-{cost.pk}")
        row.get_by_text(f"{number}行目を確認する").click()
        if number == 2:
            row.get_by_label("判定").select_option(label="対象外")
            row.get_by_label("対象となる額（円、対象外の場合）").fill(full_width(partly))
            row.get_by_label("コメント（理由、または必要な証拠書類）").fill(
                "会場の一部は事業外の催しに使われています。"
            )
        else:
            row.get_by_label("判定").select_option(label="対象経費")
        row.get_by_role("button", name=f"判定を保存する {number}").click()
        expect(status_message(staff, f"{number}行目（")).to_contain_text(
            "：対象外。" if number == 2 else "：対象経費。"
        )
    staff.get_by_role("button", name="報告を受理する").click()
    expect(status_message(staff, "報告を受理しました。")).to_be_visible()
    expect(staff.get_by_test_id("award-status")).to_have_text(REPORT_ACCEPTED)

    # 2. 額の確定 below what was paid: the proposal (the eligible costs at a rate of 100%).
    confirmed = spent[0] + partly + spent[2]
    refund = 800_000 - confirmed
    expect(staff.get_by_test_id("confirm-terms")).to_contain_text(yen(confirmed))
    confirm = staff.get_by_test_id("confirm-form")
    expect(confirm.get_by_label("確定額（円）")).to_have_value(str(confirmed))
    confirm.get_by_role("checkbox").check()
    confirm.get_by_role("button", name="額を確定して通知書を発行する").click()
    expect(status_message(staff, f"額を {yen(confirmed)} に確定し、額の確定通知書を発行しました。")).to_be_visible()
    expect(staff.get_by_test_id("award-status")).to_have_text(CONFIRMED)
    expect(staff.get_by_test_id("balance")).to_have_text(f"-{yen(refund)}")
    expect(staff.get_by_test_id("due-list")).to_contain_text("返還命令")
    assert_accessible(staff)
    confirmation = Letter.objects.get(application=application, kind=LetterKind.CONFIRMATION)
    text = pdf_text(download_letter(staff, confirmation, tmp_path))
    assert_in_order(
        text, ["確定額", f"金{yen(confirmed)}", "既交付額", "金800,000円", "返還額", f"金{yen(refund)}", "以上"]
    )

    # 3. 返還命令 with its due date: the order goes out.
    due_on = today() + dt.timedelta(days=20)
    order = staff.get_by_test_id("refund-order-form")
    expect(staff.get_by_role("main")).to_contain_text(f"{yen(refund)}")
    order.get_by_label(re.compile(r"^\s*返還の納期限")).fill(due_on.isoformat())
    order.get_by_role("button", name="返還を命じる").click()
    expect(status_message(staff, f"{yen(refund)} の返還を命じました。")).to_be_visible()
    expect(staff.get_by_test_id("award-status")).to_have_text(REFUND_ORDERED)
    expect(staff.get_by_test_id("refund-due")).to_have_text(format_date(due_on, "ja"))
    assert_accessible(staff)
    refund_order = Letter.objects.get(application=application, kind=LetterKind.REFUND_ORDER)
    path = download_letter(staff, refund_order, tmp_path)
    text = pdf_text(path)
    assert_in_order(
        text,
        [
            *letter_head(refund_order),
            "返還について（命令）",
            confirmation.document_number,
            "第18条第2項",
            "記",
            "返還を命ずる額",
            f"金{yen(refund)}",
            "既交付額金800,000円",
            f"確定額金{yen(confirmed)}",
            "納期限",
            "".join(format_wareki(due_on).split()),
            "延滞金",
            "10.95パーセント",
            "以上",
        ],
    )
    assert_fonts_embedded(path)
    assert_mailed_once_per_address(confirmation)
    assert_mailed_once_per_address(refund_order)

    # The organisation sees the order, its amount and due date, and downloads it.
    member = new_page()
    log_in(member, base, COLLEAGUE, f"/applications/{application.pk}/award/")
    expect(member.get_by_test_id("award-status")).to_have_text(REFUND_ORDERED)
    expect(member.get_by_test_id("refund")).to_contain_text(yen(refund))
    expect(member.get_by_test_id("refund-due")).to_have_text(format_date(due_on, "ja"))
    assert_accessible(member)
    download_letter(member, refund_order, tmp_path / "member")

    # 4. Staff record the money returned (the amount due today, as the page computes it): closed.
    receipt = staff.get_by_test_id("receipt-form")
    expect(receipt.get_by_label(re.compile(r"^\s*受領日"))).to_have_value(today().isoformat())
    due_today = receipt.get_by_label(re.compile(r"^\s*受領額")).input_value()
    receipt.get_by_role("button", name="返還金の受領を記録し、事業を完了にする").click()
    expect(status_message(staff, "返還金の受領を記録し、この事業を完了にしました。")).to_be_visible()
    expect(staff.get_by_test_id("award-status")).to_have_text(closed_label())
    expect(staff.get_by_test_id("refund")).to_contain_text(format_date(today(), "ja"))
    member.reload()
    expect(member.get_by_test_id("award-status")).to_have_text(closed_label())
    expect(member.get_by_test_id("timeline")).to_contain_text("返還金の受領")

    award.refresh_from_db()
    assert (award.status, award.confirmed_amount) == (AwardStatus.CLOSED, confirmed)
    stored = award.refund
    assert (stored.amount, stored.due_on, stored.received_on) == (refund, due_on, today())
    assert stored.received_amount == int(due_today) == refund + stored.additional_charge + stored.late_charge
    assert stored.late_charge == 0  # paid before the due date
    assert stored.additional_charge == 0  # an 18(2) return (overpayment after 額の確定) bears no 加算金
    assert sorted(Letter.objects.filter(application=application).values_list("kind", flat=True)) == sorted(
        [LetterKind.GRANT_DECISION, LetterKind.CONFIRMATION, LetterKind.REFUND_ORDER]
    )


# --- c. 辞退 → 繰上げ採択 -------------------------------------------------------------------------


def test_decline_then_promote_from_the_reserve_list(page: Page, live_server, new_page, tmp_path):
    seed_demo()
    base = live_server.url
    call = Call.objects.get(slug=SLUG)
    declining = Application.objects.get(receipt_number="PRACTICE-AW-0001")
    reserve = Application.objects.get(receipt_number="PRACTICE-AW-0007")
    assert reserve.status == ApplicationStatus.RESERVE and reserve.notice.kind == "reserve"
    assert reserve.decision_disclosed_at is not None  # its reserve notice was sent
    # The budget is fully committed: nothing is left for the reserve list until someone declines.
    committed = committed_amount(call)
    call.budget_total = committed
    call.save(update_fields=["budget_total"])
    freed = declining.decision.award_amount
    mail.outbox.clear()

    staff = new_page()
    log_in(staff, base, STAFF, f"/staff/calls/{SLUG}/reserve/")
    expect(staff.get_by_role("heading", level=1)).to_have_text("補欠・繰上げ採択")
    expect(staff.get_by_test_id("budget-summary")).to_have_text(
        f"予算{yen(committed)}：使用済み{yen(committed)}、残り{yen(0)}。"
    )
    entry = staff.get_by_test_id("reserve-row").filter(has_text=reserve.receipt_number)
    expect(entry.get_by_test_id("fits")).to_have_text("収まらない")
    assert_accessible(staff)

    # 1. The demo organisation declines its award, ticking the confirmation.
    member = page
    log_in(member, base, APPLICANT, f"/applications/{declining.pk}/award/")
    expect(member.get_by_test_id("award-status")).to_have_text(ADOPTED)
    decline = member.get_by_test_id("decline")
    decline.get_by_text("辞退（申請の取下げ）").click()
    decline.get_by_label(re.compile(r"^\s*辞退の理由")).fill("代表者の病気療養のため、事業の実施が難しくなりました。")
    decline.get_by_label(re.compile(r"辞退は取り消せないことを理解しました")).check()
    decline.get_by_role("button", name="辞退する").click()
    expect(status_message(member, "辞退しました。")).to_be_visible()
    expect(member.get_by_test_id("award-status")).to_have_text(DECLINED)
    expect(member.get_by_test_id("declined")).to_contain_text("代表者の病気療養のため")
    assert_accessible(member)

    # 2. Staff see the freed budget and adopt the reserve application for it.
    staff.reload()
    expect(staff.get_by_test_id("budget-summary")).to_have_text(
        f"予算{yen(committed)}：使用済み{yen(committed - freed)}、残り{yen(freed)}。"
    )
    entry = staff.get_by_test_id("reserve-row").filter(has_text=reserve.receipt_number)
    # It asked for more than is free: the amount offered is what is free.
    expect(entry).to_contain_text(yen(reserve.requested_amount))
    expect(entry.get_by_label(re.compile(r"^\s*採択額（円）"))).to_have_value(str(freed))
    assert_accessible(staff)
    entry.get_by_role("button", name=f"採択する {reserve.receipt_number}").click()
    promoted = Award.objects.get(application=reserve)
    expect(staff).to_have_url(f"{base}/staff/awards/{promoted.pk}/")
    expect(
        status_message(staff, f"{reserve.receipt_number}を繰上げ採択しました。通知書を送信しています。")
    ).to_be_visible()
    expect(staff.get_by_test_id("award-status")).to_have_text(ADOPTED)
    letter = Letter.objects.get(application=reserve, kind=LetterKind.PROMOTED)
    path = download_letter(staff, letter, tmp_path)
    text = pdf_text(path)
    assert_in_order(
        text,
        [
            *letter_head(letter),
            reserve.organisation.name.replace(" ", ""),
            "繰上げ採択について（通知）",
            "補欠",
            "記",
            "採択額",
            f"金{yen(freed)}",
            "交付申請",
            "以上",
        ],
    )
    assert_fonts_embedded(path)
    assert_mailed_once_per_address(letter)

    # 3. Its organisation finds its award at 採択, with the letter on the timeline.
    other = new_page()
    log_in(other, base, COLLEAGUE, "/applications/")
    row = other.get_by_role("row").filter(has_text=reserve.receipt_number)
    row.get_by_role("link", name="採択後の手続（交付申請・変更・報告・支払）").click()
    expect(other).to_have_url(f"{base}/applications/{reserve.pk}/award/")
    expect(other.get_by_test_id("award-status")).to_have_text(ADOPTED)
    expect(other.get_by_role("main")).to_contain_text(yen(freed))
    expect(other.get_by_test_id("file-grant-application")).to_be_visible()
    assert_accessible(other)
    download_letter(other, letter, tmp_path / "member")

    # The reserve list is empty now, and the budget committed again.
    staff.goto(f"{base}/staff/calls/{SLUG}/reserve/")
    expect(staff.get_by_test_id("budget-summary")).to_have_text(
        f"予算{yen(committed)}：使用済み{yen(committed)}、残り{yen(0)}。"
    )
    expect(staff.get_by_test_id("reserve-row")).to_have_count(0)
    expect(staff.get_by_role("main")).to_contain_text("補欠の申請はありません。")
    assert_accessible(staff)

    # What was stored.
    declined = Award.objects.get(application=declining)
    assert declined.status == AwardStatus.DECLINED and declined.declined_at is not None
    reserve.refresh_from_db()
    assert (reserve.status, reserve.decision.award_amount) == (ApplicationStatus.ADOPTED, freed)
    assert promoted.status == AwardStatus.ADOPTED
    assert committed_amount(call) == committed
    assert list(
        Letter.objects.filter(application__call=call, created_at__gte=declined.declined_at).values_list(
            "kind", flat=True
        )
    ) == [LetterKind.PROMOTED]
