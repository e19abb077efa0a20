"""The applicant's whole walk by keyboard alone (issue 12, items 1 and 11): log in, the task list,
every section filled (the call's project questions, 事業の内容, among them) and saved, 確認, 提出
and the receipt number — only Tab, Shift+Tab, Enter, Space, arrow keys and typing, no click.
axe-core checks the task list and each section page at 1280 and 390 px, and nothing scrolls
sideways at 390 px."""

import re

import pytest
from playwright.sync_api import Locator, Page, expect

from applications import services
from applications.models import Application, ApplicationStatus, Organisation
from calls.models import Call
from grants.demo.loader import seed_demo
from tests.e2e.axe import assert_accessible
from tests.e2e.test_apply_flow import (
    APPLICANT,
    MINIMAL_PDF,
    ORGANISATION,
    PASSWORD,
    PROJECT_TEXTS,
    SAVED,
    TEXTS,
    demo_user,
    next_receipt_number,
    project_label,
    stored_answers,
    task_state,
    wait_for,
)

pytestmark = pytest.mark.django_db(transaction=True)

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


def tab_to(page: Page, target: Locator, *, backwards: bool = False, limit: int = 250) -> None:
    """Press Tab (or Shift+Tab) until ``target`` has the focus: it is reachable by keyboard."""
    key = "Shift+Tab" if backwards else "Tab"
    for _press in range(limit):
        if target.evaluate("e => e === document.activeElement"):
            return
        page.keyboard.press(key)
    raise AssertionError(f"{target} was not reached with {key} in {limit} presses")


def type_into(page: Page, target: Locator, text: str) -> None:
    tab_to(page, target)
    page.keyboard.type(text)


def date_order(page: Page) -> str:
    """The order of a date input's parts as this browser shows them (its UI language decides:
    mm/dd/yyyy in an English Chromium, yyyy/mm/dd in a Japanese one), found by typing into a
    throwaway input outside the page's forms."""
    page.evaluate(
        """() => { const i = document.createElement('input'); i.type = 'date'; i.id = 'date-order-probe';
                   i.setAttribute('aria-label', 'probe'); document.body.appendChild(i); i.focus(); }"""
    )
    page.keyboard.type("11122000")
    value = page.evaluate(
        "() => { const i = document.getElementById('date-order-probe'); i.remove(); return i.value; }"
    )
    return {"2000-11-12": "mdy", "2000-12-11": "dmy"}.get(value, "ymd")


def type_date(page: Page, target: Locator, iso: str, order: str) -> None:
    """A date typed into a date input, part by part in the order the browser shows them."""
    year, month, day = iso.split("-")
    tab_to(page, target)
    if order == "mdy":
        page.keyboard.type(month + day + year)
    elif order == "dmy":
        page.keyboard.type(day + month + year)
    else:  # the year takes up to six digits: → moves on to the month
        page.keyboard.type(year)
        page.keyboard.press("ArrowRight")
        page.keyboard.type(month + day)


def press_on(page: Page, target: Locator, key: str = "Enter") -> None:
    tab_to(page, target)
    page.keyboard.press(key)


def checked_at_both_widths(page: Page) -> None:
    """axe at 1280 and at 390 px; at 390 px the page is no wider than the window."""
    page.set_viewport_size(PHONE)
    assert_accessible(page)
    assert page.evaluate("document.documentElement.scrollWidth <= 390"), page.url
    page.set_viewport_size(DESKTOP)
    assert_accessible(page)


def test_an_applicant_fills_saves_and_submits_an_application_by_keyboard_only(page: Page, live_server, tmp_path):
    seed_demo()
    base = live_server.url
    call = Call.objects.get(slug="practice")
    organisation = Organisation.objects.get(name=ORGANISATION)
    application = services.application_start(call=call, organisation=organisation, user=demo_user(APPLICANT))
    number = next_receipt_number()
    page.set_viewport_size(DESKTOP)

    # Log in.
    page.goto(f"{base}/accounts/login/?next=/applications/{application.pk}/")
    type_into(page, page.get_by_label("メールアドレス"), APPLICANT)
    type_into(page, page.get_by_label(re.compile(r"^\s*パスワード\*?\s*$")), PASSWORD)
    page.keyboard.press("Enter")

    # The task list.
    expect(page).to_have_url(f"{base}/applications/{application.pk}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("申請書の作成・編集")
    expect(task_state(page, "organisation")).to_have_text("完了")
    expect(task_state(page, "content")).to_have_text("未着手")
    expect(task_state(page, "submit")).to_have_text("まだ開始できません")
    checked_at_both_widths(page)

    # 団体情報: a summary of the profile; 次へ.
    press_on(page, page.get_by_test_id("task-list").get_by_role("link", name="団体情報"))
    expect(page.get_by_role("heading", level=1)).to_have_text("団体情報")
    expect(page.get_by_test_id("organisation-summary")).to_contain_text(ORGANISATION)
    checked_at_both_widths(page)
    press_on(page, page.get_by_role("link", name="次へ：申請内容"))

    # 申請内容.
    expect(page.get_by_role("heading", level=1)).to_have_text("申請内容")
    checked_at_both_widths(page)
    theme = page.get_by_label("テーマ")
    press_on(page, theme, "ArrowDown")
    expect(theme).not_to_have_value("")
    type_into(page, page.get_by_label("事業名", exact=True), "キーボードでつくる居場所事業")
    type_into(page, page.get_by_label("概要", exact=True), "誰もが気軽に立ち寄れる居場所をつくる。")
    order = date_order(page)
    start = page.get_by_label("事業開始日")
    type_date(page, start, "2027-04-01", order)
    expect(start).to_have_value("2027-04-01")
    end = page.get_by_label("事業終了日")
    type_date(page, end, "2028-03-31", order)
    expect(end).to_have_value("2028-03-31")
    tokyo = page.get_by_label("東京都", exact=True)
    press_on(page, tokyo, "Space")
    expect(tokyo).to_be_checked()
    # Back up to the title with Shift+Tab: what was typed is there.
    title = page.get_by_label("事業名", exact=True)
    tab_to(page, title, backwards=True)
    expect(title).to_have_value("キーボードでつくる居場所事業")
    # 次へ saves the section, then opens the call's project questions.
    press_on(page, page.get_by_role("button", name="次へ：事業の内容"))

    # 事業の内容 (a section of the call's form).
    expect(page.get_by_role("heading", level=1)).to_have_text("事業の内容")
    saved = Application.objects.get(pk=application.pk)
    assert (saved.title, saved.area_prefectures) == ("キーボードでつくる居場所事業", ["13"])
    assert str(saved.period_end) == "2028-03-31"
    checked_at_both_widths(page)
    for label, text in TEXTS.items():
        type_into(page, page.get_by_label(project_label(label)), text)
    # Back up to the first question with Shift+Tab: what was typed is there.
    purpose = page.get_by_label(project_label("目的"))
    tab_to(page, purpose, backwards=True)
    expect(purpose).to_have_value(TEXTS["目的"])
    # 次へ saves the answers, then opens the budget.
    press_on(page, page.get_by_role("button", name="次へ：予算"))

    # 予算.
    expect(page.get_by_role("heading", level=1)).to_have_text("予算")
    assert stored_answers(application) == PROJECT_TEXTS
    checked_at_both_widths(page)
    row = page.locator("#budget-rows .budget-row").first
    category = row.get_by_label("費目")
    press_on(page, category, "ArrowDown")
    expect(category).not_to_have_value("")
    type_into(page, row.get_by_label("内容", exact=True), "講師謝金（全12回）")
    type_into(page, row.get_by_label("単価（円）"), "１０，０００")
    type_into(page, row.get_by_label("数量"), "12")
    expect(page.get_by_test_id("budget-total")).to_have_text("120,000円")
    expect(page.get_by_test_id("save-status")).to_have_text(SAVED)
    wait_for(lambda: Application.objects.get(pk=application.pk).requested_amount == 120_000, page)
    press_on(page, page.get_by_role("button", name="次へ：添付書類"))

    # 添付書類: the file chooser opens with Space, the upload is sent with Enter.
    expect(page.get_by_role("heading", level=1)).to_have_text("添付書類")
    checked_at_both_widths(page)
    kind = page.get_by_label(re.compile(r"^\s*書類の種類\*?\s*$"))
    press_on(page, kind, "ArrowDown")
    expect(kind).not_to_have_value("")
    pdf = tmp_path / "定款.pdf"
    pdf.write_bytes(MINIMAL_PDF)
    file_input = page.get_by_label(re.compile(r"^\s*ファイル（PDF・Word・Excel）\*?\s*$"))
    tab_to(page, file_input)
    with page.expect_file_chooser() as chooser:
        page.keyboard.press("Space")
    chooser.value.set_files(pdf)
    press_on(page, page.get_by_role("button", name="添付する"))
    expect(page.get_by_role("status").filter(has_text="「定款.pdf」を添付しました。")).to_be_visible()
    expect(page.get_by_test_id("attachments")).to_contain_text("定款.pdf")
    checked_at_both_widths(page)

    # Back to the task list: every section completed, 確認 may start.
    press_on(page, page.get_by_role("link", name="タスク一覧へ戻る"))
    expect(page).to_have_url(f"{base}/applications/{application.pk}/")
    for key in ("organisation", "content", "form-project", "budget", "attachments"):
        expect(task_state(page, key)).to_have_text("完了")
    expect(task_state(page, "check")).to_have_text("未着手")
    expect(page.get_by_test_id("task-progress")).to_contain_text("5 項目中 5 項目が完了しています。")
    checked_at_both_widths(page)

    # 確認, then 提出: the receipt number.
    press_on(page, page.get_by_test_id("task-list").get_by_role("link", name="確認", exact=True))
    expect(page.get_by_role("heading", level=1)).to_have_text("確認して提出する")
    expect(page.get_by_test_id("problems")).to_have_count(0)
    expect(page.get_by_test_id("requested-amount")).to_have_text("120,000円")
    assert_accessible(page)
    press_on(page, page.get_by_role("button", name="申請書を提出する"))
    expect(page.get_by_test_id("receipt-number")).to_have_text(number)
    expect(page.get_by_role("status").filter(has_text=f"申請を受け付けました（受付番号：{number}）。")).to_be_visible()
    assert_accessible(page)
    application.refresh_from_db()
    assert application.status == ApplicationStatus.SUBMITTED
    assert application.receipt_number == number
