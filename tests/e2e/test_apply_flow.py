"""The applicant's walk on the practice call, in the browser.

Inviting a colleague; drafting with autosave, the character counter, the call's project questions
(事業の内容, a section of its form) and budget lines (full-width digits); an attachment; the
preview; submission, the receipt number, the receipt PDF and its mail; a double click on "submit";
the English pages; a page left open across the deadline; two members saving the same draft.
"""

import datetime as dt
import re
import time
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.utils import timezone, translation
from playwright.sync_api import Page, expect

from applications import services
from applications.models import (
    Answer,
    Application,
    ApplicationStatus,
    MemberRole,
    Membership,
    Organisation,
    Receipt,
    ReceiptCounter,
    RefusedSave,
    RefusedSaveReason,
)
from applications.services import BudgetLineInput
from calls.models import Call
from calls.standard_form import PROJECT_FIELDS
from grants.demo.loader import seed_demo
from kodoku_portal.jp import format_datetime
from tests.e2e.helpers import fill_budget_line

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "kodoku-demo-2025"
APPLICANT = "applicant@example.jp"
COLLEAGUE = "colleague@example.jp"
ORGANISATION = "特定非営利活動法人 つながりデモの会"
MINIMAL_PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"

# "Saved at %(time)s." in the Japanese catalogue.
SAVED = re.compile(r"\d{1,2}:\d{2}:\d{2}に保存しました。")
CONFLICT = (
    "この申請を開いた後に、他のメンバーが内容を保存しました。あなたの入力内容で上書きはしていません。"
    "両方の内容を比べて、残す内容を選んでください。"
)
TEXTS = {
    "目的": "地域で孤立しがちな高齢者と若者が、気軽に立ち寄れる居場所をつくる。",
    "対象者": "地域の一人暮らしの高齢者、不登校の中高生とその家族",
    "事業内容": "週2回の食堂と、月1回の多世代交流イベントを開く。",
    "実施体制": "理事長を責任者とし、職員2名とボランティア10名で運営する。",
    "連携先": "地域包括支援センター、市の社会福祉協議会",
    "期待される成果と評価指標": "延べ参加者数600人、参加者アンケートで孤独感が下がった人の割合",
    "実施スケジュール": "4月準備、5月開始、毎月振り返り、3月報告書作成",
}
# The project questions (事業の内容, calls/standard_form.py) by key: the answers stored.
PROJECT_TEXTS = {item["key"]: TEXTS[item["label"]] for item in PROJECT_FIELDS}


# --- helpers ------------------------------------------------------------------------------------


def log_in(page: Page, base: str, email: str, next_path: str = "/") -> None:
    page.goto(f"{base}/accounts/login/?next={next_path}")
    page.get_by_label("メールアドレス").fill(email)
    page.get_by_label(re.compile(r"^\s*パスワード\*?\s*$")).fill(PASSWORD)
    page.get_by_role("button", name="ログイン").click()
    expect(page.get_by_role("button", name="ログアウト")).to_be_visible()
    expect(page).to_have_url(base + next_path)


def task_state(page: Page, key: str):
    """The state shown for a section on the task list (未着手 / 入力中 / 完了 / まだ開始できません)."""
    return page.get_by_test_id(f"task-{key}").get_by_test_id("task-state")


def wait_for(predicate, page: Page, timeout: float = 10) -> None:
    """Poll the database (the live server writes from another thread) until predicate() holds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting for the server"
        page.wait_for_timeout(100)


def demo_user(email: str):
    return get_user_model().objects.get(email=email)


def project_label(label: str) -> re.Pattern:
    """A project question's label (事業の内容), followed by 必須 when the question is required."""
    return re.compile(rf"^\s*{re.escape(label)}(\s*必須)?\s*$")


def stored_answers(application: Application) -> dict[str, str]:
    """The application's answers to the call's form, key → text."""
    return dict(Answer.objects.filter(application=application).values_list("field_key", "text"))


def complete_draft(*, title: str = "多世代の居場所づくり事業") -> Application:
    """A draft on the practice call with nothing missing, made through the services."""
    call = Call.objects.get(slug="practice")
    organisation = Organisation.objects.get(name=ORGANISATION)
    user = demo_user(APPLICANT)
    application = services.application_start(call=call, organisation=organisation, user=user)
    fields = {
        "theme": call.themes.order_by("number").first(),
        "title": title,
        "summary": "誰もが気軽に立ち寄れる地域の居場所をつくる。",
        "area_prefectures": ["13"],
        "area_nationwide": False,
        "area_reason": "",
        "period_start": dt.date(2027, 4, 1),
        "period_end": dt.date(2028, 3, 31),
    }
    outcome = services.application_save_draft(
        application_id=application.pk,
        user=user,
        fields=fields,
        budget_lines=[BudgetLineInput("honoraria", "講師謝金", 12, 10_000)],
        base_version=application.version,
        raw={},
    )
    assert outcome.saved
    assert services.project_answers_save(application, PROJECT_TEXTS, by=user).saved
    return Application.objects.get(pk=application.pk)


# --- 1. the whole walk in Japanese -----------------------------------------------------------------


def next_receipt_number(slug: str = "practice") -> str:
    """The receipt number the next submission on the call will get."""
    counter = ReceiptCounter.objects.filter(call__slug=slug).first()
    return f"PRACTICE-{(counter.last if counter else 0) + 1:04d}"


def test_invite_colleague_draft_attach_preview_submit_and_receipt(page: Page, live_server, new_page, tmp_path):
    seed_demo()
    number = next_receipt_number()  # the demo data has already used some on the practice call
    base = live_server.url
    organisation = Organisation.objects.get(name=ORGANISATION)
    log_in(page, base, APPLICANT, "/applications/")

    # Invite the colleague from the organisation page.
    page.get_by_role("link", name=ORGANISATION).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(ORGANISATION)
    members = page.get_by_role("region", name="メンバー")
    # Not get_by_label: the invitation's e-mail input shares id="id_email" with the profile's
    # e-mail input, so its label names the wrong field (see test_invitation_email_field_has_its_own_label).
    members.locator("input[name=email]").fill(COLLEAGUE)
    members.get_by_label(re.compile(r"^\s*役割\*?\s*$")).select_option(label="編集者")
    members.get_by_role("button", name="招待を送る").click()
    expect(page.get_by_role("status").filter(has_text=f"{COLLEAGUE}宛てに招待を送信しました。")).to_be_visible()
    expect(members).to_contain_text("承諾待ちの招待")
    invitations = [m for m in mail.outbox if m.to == [COLLEAGUE]]
    assert len(invitations) == 1
    link = re.search(r"https?://\S+/invitations/\S+/", invitations[0].body).group(0)
    assert link.startswith(base + "/invitations/")

    # The colleague, at another computer, logs in, opens the link and accepts.
    colleague = new_page()
    log_in(colleague, base, COLLEAGUE)
    colleague.goto(link)
    expect(colleague.get_by_role("heading", level=1)).to_have_text("団体への招待")
    colleague.get_by_role("button", name="招待を承諾する").click()
    expect(colleague.get_by_role("status").filter(has_text=f"{ORGANISATION}のメンバーになりました。")).to_be_visible()
    expect(colleague.get_by_role("region", name="所属団体").get_by_role("link", name=ORGANISATION)).to_be_visible()
    colleague.context.close()

    page.reload()
    expect(members).to_contain_text(f"（{COLLEAGUE}）— 編集者")
    expect(members).not_to_contain_text("承諾待ちの招待")

    # Start an application on the practice call: its home is the task list.
    page.goto(base + "/calls/practice/")
    page.get_by_role("button", name="申請書を作成する").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("申請書の作成・編集")
    application = Application.objects.get(call__slug="practice", organisation=organisation)
    assert page.url == f"{base}/applications/{application.pk}/"
    expect(task_state(page, "content")).to_have_text("未着手")
    expect(task_state(page, "check")).to_have_text("まだ開始できません")
    page.get_by_role("link", name="申請内容").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("申請内容")
    status = page.get_by_test_id("save-status")
    expect(status).to_have_text("入力内容は自動で保存されます。")

    page.get_by_label("テーマ").select_option(index=1)
    page.get_by_label("事業名", exact=True).fill("多世代の居場所づくり事業")
    expect(status).to_have_text("まだ保存されていません…")

    summary = page.get_by_label("概要", exact=True)
    counter = page.locator("#summary-counter")
    expect(counter).to_have_text("0 / 400")
    summary_text = "誰もが気軽に立ち寄れる居場所を、商店街の空き店舗につくる。"
    summary.fill(summary_text)
    expect(counter).to_have_text(f"{len(summary_text)} / 400")
    expect(summary).to_have_accessible_description(re.compile(f"{len(summary_text)} / 400"))

    page.get_by_label("事業開始日").fill("2027-04-01")
    page.get_by_label("事業終了日").fill("2028-03-31")
    page.get_by_label("東京都", exact=True).check()

    # 次へ saves the section first, then opens the call's project questions (事業の内容).
    page.get_by_role("button", name="次へ：事業の内容").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("事業の内容")
    expect(page).to_have_url(f"{base}/applications/{application.pk}/section/form-project/")
    expect(page.locator(".messages").filter(has_text="保存しました")).to_be_visible()
    saved = Application.objects.get(pk=application.pk)
    assert (saved.title, saved.area_prefectures) == ("多世代の居場所づくり事業", ["13"])
    for label, text in TEXTS.items():
        page.get_by_label(project_label(label)).fill(text)

    # 次へ saves them, then opens the budget.
    page.get_by_role("button", name="次へ：予算").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("予算")
    expect(page.locator(".messages").filter(has_text="保存しました")).to_be_visible()
    assert stored_answers(application) == PROJECT_TEXTS

    # Budget: the empty first line, then one more; full-width digits are accepted.
    rows = page.locator("#budget-rows .budget-row")
    expect(rows).to_have_count(1)
    first = rows.nth(0)
    fill_budget_line(first, "謝金", "講師謝金（全12回）", "１０，０００", "１２")
    expect(first.locator(".budget-amount")).to_have_text("120,000円")
    page.get_by_role("button", name="経費内訳を追加する").click()
    expect(rows).to_have_count(2)
    second = rows.nth(1)
    expect(second.get_by_label("費目")).to_be_focused()
    fill_budget_line(second, "消耗品費", "文具・コピー用紙", "3000", "5")
    expect(page.get_by_test_id("budget-total")).to_have_text("135,000円")

    # Autosave after 1.5 s of quiet.
    expect(status).to_have_text(SAVED)
    wait_for(lambda: Application.objects.get(pk=application.pk).requested_amount == 135_000, page)
    expect(status).to_have_text(SAVED)
    cap_warning = page.locator("#budget-warning")
    expect(cap_warning).to_be_hidden()

    # Over the cap: the server's autosave answer shows the warning; back under it, it goes.
    first.get_by_label("数量").fill("300")
    expect(cap_warning).to_be_visible(timeout=10_000)
    first.get_by_label("数量").fill("12")
    expect(cap_warning).to_be_hidden(timeout=10_000)
    wait_for(lambda: Application.objects.get(pk=application.pk).requested_amount == 135_000, page)
    expect(status).to_have_text(SAVED)

    # Reload: everything came back from the server.
    page.reload()
    expect(rows.nth(0).get_by_label("単価（円）")).to_have_value("10000")
    expect(page.get_by_test_id("budget-total")).to_have_text("135,000円")
    page.get_by_role("button", name="前へ：事業の内容").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("事業の内容")
    for label, text in TEXTS.items():
        expect(page.get_by_label(project_label(label))).to_have_value(text)
    page.get_by_role("button", name="前へ：申請内容").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("申請内容")
    expect(page.get_by_label("事業名", exact=True)).to_have_value("多世代の居場所づくり事業")
    expect(summary).to_have_value(summary_text)
    expect(counter).to_have_text(f"{len(summary_text)} / 400")
    expect(page.get_by_label("事業開始日")).to_have_value("2027-04-01")
    expect(page.get_by_label("事業終了日")).to_have_value("2028-03-31")
    expect(page.get_by_label("東京都", exact=True)).to_be_checked()
    expect(page.get_by_label("テーマ")).not_to_have_value("")
    page.get_by_role("button", name="次へ：事業の内容").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("事業の内容")
    page.get_by_role("button", name="次へ：予算").click()
    expect(rows.nth(0).get_by_label("単価（円）")).to_have_value("10000")
    expect(rows.nth(0).get_by_label("数量")).to_have_value("12")
    expect(rows.nth(1).get_by_label("内容", exact=True)).to_have_value("文具・コピー用紙")
    expect(page.get_by_test_id("budget-total")).to_have_text("135,000円")

    # The task list: every section completed; 確認 may start.
    page.get_by_role("button", name="タスク一覧へ戻る").click()
    expect(page).to_have_url(f"{base}/applications/{application.pk}/")
    for key in ("organisation", "content", "form-project", "budget"):
        expect(task_state(page, key)).to_have_text("完了")
    expect(task_state(page, "check")).to_have_text("未着手")

    # Attach a PDF.
    page.get_by_role("link", name="添付書類").click()
    pdf = tmp_path / "定款.pdf"
    pdf.write_bytes(MINIMAL_PDF)
    page.get_by_label(re.compile(r"^\s*書類の種類\*?\s*$")).select_option(label="定款")
    page.get_by_label(re.compile(r"^\s*ファイル（PDF・Word・Excel）\*?\s*$")).set_input_files(pdf)
    page.get_by_role("button", name="添付する").click()
    expect(page.get_by_role("status").filter(has_text="「定款.pdf」を添付しました。")).to_be_visible()
    expect(page.get_by_test_id("attachments")).to_contain_text("定款: 定款.pdf")

    # Preview: nothing missing.
    page.get_by_role("link", name="次へ：確認").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("確認して提出する")
    expect(page.get_by_text("入力漏れはありません。以下の内容を確認してから提出してください。")).to_be_visible()
    expect(page.get_by_test_id("problems")).to_have_count(0)
    expect(page.get_by_test_id("requested-amount")).to_have_text("135,000円")
    expect(page.get_by_test_id("attachments")).to_contain_text("定款.pdf")

    # Submit: a receipt number, the receipt PDF, the mail with the PDF.
    page.get_by_role("button", name="申請書を提出する").click()
    expect(page.get_by_test_id("receipt-number")).to_have_text(number)
    expect(page.get_by_test_id("status")).to_have_text("提出済")
    expect(page.get_by_role("status").filter(has_text=f"申請を受け付けました（受付番号：{number}）。")).to_be_visible()
    with page.expect_download() as download_info:
        page.get_by_role("link", name="受付票（PDF）をダウンロード").click()
    download = download_info.value
    assert download.suggested_filename == f"受付票_{number}.pdf"
    assert Path(download.path()).read_bytes().startswith(b"%PDF-")

    receipt_mails = [m for m in mail.outbox if number in m.subject]
    assert len(receipt_mails) == 1
    receipt_mail = receipt_mails[0]
    assert receipt_mail.subject == f"申請受付のお知らせ（{number}）"
    assert APPLICANT in receipt_mail.to
    assert f"{base}/applications/{application.pk}/" in receipt_mail.body
    [(name, content, mimetype)] = receipt_mail.attachments
    assert (name, mimetype) == (f"{number}.pdf", "application/pdf")
    assert content.startswith(b"%PDF-")

    application.refresh_from_db()
    assert application.status == ApplicationStatus.SUBMITTED
    assert application.requested_amount == 135_000
    assert Receipt.objects.filter(application=application).count() == 1


def test_invitation_email_field_has_its_own_label(page: Page, live_server):
    seed_demo()
    organisation = Organisation.objects.get(name=ORGANISATION)
    log_in(page, live_server.url, APPLICANT, f"/organisations/{organisation.pk}/")
    invite = page.get_by_role("region", name="メンバー").locator("input[name=email]")
    expect(invite).to_have_accessible_name(re.compile(r"^\s*招待する方のメールアドレス\*?\s*$"), timeout=2_000)


def test_double_click_on_submit_sends_one_request_and_issues_one_receipt(page: Page, live_server):
    seed_demo()
    number = next_receipt_number()  # the demo data has already used some on the practice call
    base = live_server.url
    application = complete_draft()
    log_in(page, base, APPLICANT, f"/applications/{application.pk}/preview/")
    submits = []
    page.on("request", lambda r: submits.append(r.url) if r.method == "POST" and r.url.endswith("/submit/") else None)

    page.get_by_role("button", name="申請書を提出する").dblclick()
    expect(page.get_by_test_id("receipt-number")).to_have_text(number)

    assert len(submits) == 1
    assert Receipt.objects.filter(application=application).count() == 1
    assert ReceiptCounter.objects.get(call=application.call).last == int(number[-4:])
    assert len([m for m in mail.outbox if m.attachments]) == 1


# --- 2. English -----------------------------------------------------------------------------------


def test_english_labels_on_the_draft_preview_and_submitted_application(page: Page, live_server):
    seed_demo()
    number = next_receipt_number()  # the demo data has already used some on the practice call
    base = live_server.url
    application = complete_draft()
    log_in(page, base, APPLICANT, f"/applications/{application.pk}/")

    page.get_by_label("言語").select_option("en")
    page.get_by_role("button", name="切替").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page).to_have_url(f"{base}/applications/{application.pk}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Edit your application")
    expect(task_state(page, "content")).to_have_text("Completed")
    page.get_by_role("link", name="Application details").click()
    expect(page.get_by_label(re.compile(r"^\s*Project name"))).to_have_value("多世代の居場所づくり事業")
    expect(page.get_by_label("Language")).to_have_value("en")

    page.get_by_role("button", name="Next: About the project").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("About the project")
    page.get_by_label(re.compile(r"^\s*Purpose(\s*Required)?\s*$")).fill("An English purpose.")
    expect(page.get_by_test_id("save-status")).to_have_text(re.compile(r"Saved at \d{1,2}:\d{2}:\d{2}\."))
    wait_for(lambda: stored_answers(application)["purpose"] == "An English purpose.", page)
    page.get_by_role("button", name="Next: Project budget").click()
    expect(page.get_by_role("button", name="Add a budget line")).to_be_visible()

    page.get_by_role("button", name="Back to the task list").click()
    page.get_by_role("link", name="Check your answers").click()
    expect(page.get_by_text("Nothing is missing. Check the contents below, then submit.")).to_be_visible()
    page.get_by_role("button", name="Submit the application").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Application")
    expect(page.locator("main")).to_contain_text(f"Receipt number: {number}")
    expect(page.get_by_test_id("status")).to_have_text("Submitted")
    expect(page.get_by_test_id("requested-amount")).to_have_text("¥120,000")
    expect(page.get_by_role("link", name="Download the receipt (PDF)")).to_be_visible()
    expect(page.get_by_role("button", name="Withdraw this application")).to_be_visible()


def test_english_budget_total_keeps_the_yen_sign(page: Page, live_server):
    seed_demo()
    base = live_server.url
    application = complete_draft()
    log_in(page, base, APPLICANT, f"/applications/{application.pk}/section/budget/")
    page.get_by_label("言語").select_option("en")
    page.get_by_role("button", name="切替").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_test_id("budget-total")).to_have_text("¥120,000", timeout=2_000)


# --- 3. a page left open across the deadline ---------------------------------------------------------


def test_page_left_open_across_the_deadline_keeps_what_was_typed(page: Page, live_server):
    seed_demo()
    base = live_server.url
    application = complete_draft(title="居場所づくり事業")
    log_in(page, base, APPLICANT, f"/applications/{application.pk}/section/content/")
    title = page.get_by_label("事業名", exact=True)
    expect(title).to_have_value("居場所づくり事業")

    # The deadline passes while the page stays open.
    closes_at = timezone.now() - dt.timedelta(seconds=1)
    Call.objects.filter(pk=application.call_id).update(closes_at=closes_at)
    with translation.override("ja"):
        deadline = format_datetime(closes_at)

    title.press("End")
    title.press_sequentially("（締切後の追記）")
    typed = "居場所づくり事業（締切後の追記）"
    status = page.get_by_test_id("save-status")
    expect(status).to_contain_text(f"この公募は{deadline}（日本時間）に締め切りました。申請の変更・提出はできません。")
    expect(status.get_by_role("link", name="両方の内容を比べる")).to_be_visible()
    expect(title).to_have_value(typed)

    refused = RefusedSave.objects.get(application=application)
    assert refused.reason == RefusedSaveReason.CLOSED
    assert refused.user == demo_user(APPLICANT)
    assert refused.data["title"] == [typed]
    application.refresh_from_db()
    assert application.title == "居場所づくり事業"
    assert application.status == ApplicationStatus.DRAFT

    # The preview says the call has closed and offers no submit button.
    page.goto(f"{base}/applications/{application.pk}/preview/")
    expect(page.get_by_role("heading", level=1)).to_have_text("確認して提出する")
    expect(page.get_by_role("alert")).to_have_text("この公募は締め切りました。この下書きは提出できません。")
    expect(page.get_by_role("button", name="申請書を提出する")).to_have_count(0)
    expect(page.get_by_test_id("time-left")).to_have_count(0)

    # A submission POSTed anyway is refused.
    token = page.locator("input[name=csrfmiddlewaretoken]").first.input_value()
    response = page.request.post(f"{base}/applications/{application.pk}/submit/", form={"csrfmiddlewaretoken": token})
    assert response.ok
    assert response.url == f"{base}/applications/{application.pk}/preview/"
    assert f"この公募は{deadline}（日本時間）に締め切りました。" in response.text()
    application.refresh_from_db()
    assert application.status == ApplicationStatus.DRAFT
    assert application.receipt_number is None
    assert not Receipt.objects.filter(application=application).exists()

    # The application page is read-only now and links to the text that was kept.
    page.goto(f"{base}/applications/{application.pk}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("申請内容")
    expect(page.get_by_text("この公募は締め切りました。この下書きは提出されていません。")).to_be_visible()
    expect(page.get_by_label("事業名", exact=True)).to_have_count(0)
    kept = page.get_by_role("alert").filter(has_text="入力内容の一部を保存できませんでした")
    kept.get_by_role("link", name=re.compile("公募が締め切られていたため")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("保存されなかった入力内容")
    row = page.get_by_role("row").filter(has=page.get_by_role("rowheader", name=re.compile("^事業名")))
    expect(row.get_by_role("cell")).to_have_text(["居場所づくり事業", typed])


# --- 4. two members save the same draft ---------------------------------------------------------------


def test_conflicting_saves_are_refused_and_both_texts_can_be_compared(page: Page, live_server, new_page):
    seed_demo()
    base = live_server.url
    application = complete_draft(title="元の事業名")
    Membership.objects.create(organisation=application.organisation, user=demo_user(COLLEAGUE), role=MemberRole.EDITOR)
    path = f"/applications/{application.pk}/section/content/"
    log_in(page, base, APPLICANT, path)
    colleague = new_page()
    log_in(colleague, base, COLLEAGUE, path)
    expect(colleague.get_by_label("事業名", exact=True)).to_have_value("元の事業名")

    page.get_by_label("事業名", exact=True).fill("申請者が直した事業名")
    expect(page.get_by_test_id("save-status")).to_have_text(SAVED)
    wait_for(lambda: Application.objects.get(pk=application.pk).title == "申請者が直した事業名", page)

    colleague_title = colleague.get_by_label("事業名", exact=True)
    colleague_title.fill("同僚が直した事業名")
    status = colleague.get_by_test_id("save-status")
    expect(status).to_contain_text(CONFLICT)
    expect(colleague_title).to_have_value("同僚が直した事業名")

    refused = RefusedSave.objects.get(application=application)
    assert refused.reason == RefusedSaveReason.CONFLICT
    assert refused.user == demo_user(COLLEAGUE)
    assert Application.objects.get(pk=application.pk).title == "申請者が直した事業名"

    status.get_by_role("link", name="両方の内容を比べる").click()
    expect(colleague).to_have_url(f"{base}/applications/{application.pk}/unsaved/{refused.pk}/")
    expect(colleague.get_by_role("heading", level=1)).to_have_text("保存されなかった入力内容")
    table = colleague.get_by_role("table")
    expect(table.get_by_role("columnheader")).to_have_text(
        ["項目", "現在保存されている内容", "保存されなかった入力内容"]
    )
    row = table.get_by_role("row").filter(has=colleague.get_by_role("rowheader", name=re.compile("^事業名")))
    expect(row.get_by_role("cell")).to_have_text(["申請者が直した事業名", "同僚が直した事業名"])
    expect(row).to_contain_text("相違あり")
