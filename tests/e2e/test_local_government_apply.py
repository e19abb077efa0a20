"""A local government applies to the practice 交付金 call in the browser (issue 16): a newcomer signs
up and confirms the e-mail, registers the organisation as 地方公共団体 with its 団体コード, starts an
application, fills every section — the fixed ones and the sections of the call's own form (the
project questions, the menu with two items chosen, the plan) — submits and sees the receipt
number; staff then read the answers on the application's staff page. axe checks the form's section
pages at 1280 and 390 px."""

import re

import pytest
from django.core import mail
from playwright.sync_api import Page, expect

from applications.models import Answer, Application, ApplicationStatus, Organisation
from grants.demo import data
from grants.demo.loader import seed_demo
from tests.e2e.axe import assert_accessible
from tests.e2e.helpers import fill_budget_line
from tests.e2e.test_apply_flow import PROJECT_TEXTS, SAVED, TEXTS, project_label, task_state, wait_for
from tests.e2e.test_award_flow import log_in as staff_log_in

pytestmark = pytest.mark.django_db(transaction=True)

EMAIL = "fukushi@example.lg.jp"
PASSWORD = "machi-no-tsunagari-2025"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
FIRST, SECOND = data.KOFUKIN_MENU[0], data.KOFUKIN_MENU[2]


def checked_at_both_widths(page: Page) -> None:
    page.set_viewport_size(PHONE)
    assert_accessible(page)
    assert page.evaluate("document.documentElement.scrollWidth <= 390"), page.url
    page.set_viewport_size(DESKTOP)
    assert_accessible(page)


def test_a_local_government_signs_up_applies_to_the_practice_kofukin_and_staff_read_the_answers(
    page: Page, live_server, new_page
):
    seed_demo()
    base = live_server.url
    page.set_viewport_size(DESKTOP)

    # Sign up and confirm the e-mail.
    page.goto(base + "/accounts/signup/")
    page.get_by_label("メールアドレス").fill(EMAIL)
    page.get_by_label(re.compile(r"^\s*パスワード\*?\s*$")).fill(PASSWORD)
    page.get_by_label(re.compile(r"パスワード \(再入力\)")).fill(PASSWORD)
    page.get_by_role("button", name="ユーザー登録").click()
    expect(page.locator("main")).to_contain_text("確認")
    [confirmation] = [m for m in mail.outbox if EMAIL in m.to]
    page.goto(re.search(r"http://[^\s]+/accounts/confirm-email/[^\s]+/", confirmation.body).group(0))
    page.get_by_role("button", name="確認する").click()
    page.get_by_label("メールアドレス").fill(EMAIL)
    page.get_by_label(re.compile(r"^\s*パスワード\*?\s*$")).fill(PASSWORD)
    page.get_by_role("button", name="ログイン").click()
    expect(page.get_by_role("button", name="ログアウト")).to_be_visible()

    # Register the organisation as a local government with its 団体コード.
    page.goto(base + "/organisations/new/")
    page.get_by_label("法人種別").select_option(label="地方公共団体")
    page.get_by_label("団体名").fill("札幌市")
    page.get_by_label(re.compile("フリガナ")).fill("サッポロシ")
    page.get_by_label("団体コード").fill("０１１００２")
    page.get_by_label("担当部署").fill("保健福祉局総務部")
    page.get_by_label("郵便番号").fill("060-8611")
    page.get_by_label("所在地").fill("北海道札幌市中央区北1条西2丁目")
    page.get_by_label("担当者").fill("担当 一郎")
    page.get_by_label("電話番号").fill("011-211-2111")
    page.get_by_label("メールアドレス").fill("fukushi@example.lg.jp")
    page.get_by_role("button", name="登録する").click()
    expect(page.get_by_text("団体情報を登録しました。")).to_be_visible()
    organisation = Organisation.objects.get(name="札幌市")
    assert organisation.local_government_code == "011002"

    # Start an application on the practice 交付金 call: the form's sections follow 申請内容.
    page.goto(base + "/calls/practice-kofukin/")
    page.get_by_role("button", name="申請書を作成する").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("申請書の作成・編集")
    application = Application.objects.get(call__slug="practice-kofukin", organisation=organisation)
    expect(task_state(page, "form-menu")).to_have_text("未着手")
    expect(task_state(page, "form-plan")).to_have_text("対象外")

    # 申請内容, as the apply tests fill it.
    page.get_by_test_id("task-list").get_by_role("link", name="申請内容").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("申請内容")
    theme = page.get_by_label("テーマ")
    if theme.count():
        theme.select_option(index=1)
    page.get_by_label("事業名", exact=True).fill("札幌市つながり基盤整備事業")
    page.get_by_label("概要", exact=True).fill("官民連携プラットフォームをつくり、地域資源を調べる。")
    page.get_by_label("事業開始日").fill("2027-04-01")
    page.get_by_label("事業終了日").fill("2028-03-31")
    page.get_by_label("北海道", exact=True).check()
    page.get_by_label("青森県", exact=True).check()
    page.get_by_role("button", name="次へ：事業の内容").click()

    # The call's own form, first the project questions, as the apply tests answer them.
    expect(page.get_by_role("heading", level=1)).to_have_text("事業の内容")
    for label, text in TEXTS.items():
        page.get_by_label(project_label(label)).fill(text)
    # The plan is 対象外 until the menu is answered: 次へ names no section.
    page.get_by_role("button", name="次へ", exact=True).click()

    # The call's own form: the menu, two items chosen.
    expect(page.get_by_role("heading", level=1)).to_have_text("実施するメニュー")
    checked_at_both_widths(page)
    page.get_by_label(FIRST, exact=True).check()
    page.get_by_label(SECOND, exact=True).check()
    # The plan was 対象外 when the page was drawn: 次へ names no section; the save makes the plan
    # needed, and 次へ goes there.
    page.get_by_role("button", name="次へ", exact=True).click()

    # The plan: the two chosen items' fields are shown, the others hidden.
    expect(page.get_by_role("heading", level=1)).to_have_text("メニューごとの計画")
    expect(page.get_by_label(f"【{FIRST}】実施内容")).to_be_visible()
    expect(page.get_by_label(f"【{SECOND}】実施内容")).to_be_visible()
    expect(page.get_by_label(f"【{data.KOFUKIN_MENU[1]}】実施内容")).to_be_hidden()
    checked_at_both_widths(page)
    for item, activity, total, requested in (
        (FIRST, "庁内と NPO 等の連絡会を年4回開きます。", "1,000,000", "１，０００，０００"),
        (SECOND, "相談窓口の利用実態を調べます。", "600000", "600000円"),
    ):
        page.get_by_label(f"【{item}】実施内容").fill(activity)
        page.get_by_label(f"【{item}】連携先（NPO等その他）").fill("市社会福祉協議会、NPO法人まちの縁側")
        page.get_by_label(f"【{item}】総事業費（円）").fill(total)
        page.get_by_label(f"【{item}】交付申請額（円）").fill(requested)
    # Autosave: the section is saved after a pause in typing (JSON from the section's own URL).
    expect(page.get_by_test_id("save-status")).to_have_text(SAVED, timeout=10_000)
    wait_for(lambda: Answer.objects.filter(application=application, field_key="m3_requested").exists(), page)
    page.get_by_role("button", name="次へ：予算").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("予算")
    answers = {a.field_key: a for a in Answer.objects.filter(application=application)}
    assert {key: answers[key].text for key in PROJECT_TEXTS} == PROJECT_TEXTS
    assert answers["menu"].choices == ["m1", "m3"]
    assert answers["m1_requested"].number == 1_000_000 and answers["m3_total"].number == 600_000

    # 予算: it sets out the 1,600,000円 the plan requests (the page says so), in two lines.
    expect(page.get_by_test_id("form-requested-total")).to_contain_text("1,600,000円")
    rows = page.locator("#budget-rows .budget-row")
    fill_budget_line(rows.nth(0), "謝金", "連絡会の講師謝金", "50000", "4")
    expect(page.get_by_test_id("budget-total")).to_have_text("200,000円")
    page.get_by_role("button", name="経費内訳を追加する").click()
    fill_budget_line(rows.nth(1), "委託費", "相談窓口の利用実態調査の委託", "1400000", "1")
    expect(page.get_by_test_id("budget-total")).to_have_text("1,600,000円")
    page.get_by_role("button", name="タスク一覧へ戻る").click()
    for key in ("content", "form-project", "form-menu", "form-plan", "budget"):
        expect(task_state(page, key)).to_have_text("完了")
    expect(task_state(page, "check")).to_have_text("未着手")

    # 確認: the answers are shown; submit; the receipt number.
    page.get_by_test_id("task-list").get_by_role("link", name="確認").click()
    expect(page.get_by_test_id("problems")).to_have_count(0)
    expect(page.locator("main")).to_contain_text(f"{FIRST}、{SECOND}")
    expect(page.locator("main")).to_contain_text("相談窓口の利用実態を調べます。")
    page.get_by_role("button", name="申請書を提出する").click()
    expect(page.get_by_test_id("status")).to_have_text("提出済")
    application.refresh_from_db()
    assert application.status == ApplicationStatus.SUBMITTED
    expect(page.get_by_test_id("receipt-number")).to_have_text(application.receipt_number)
    assert application.receipt_number.startswith("PRACTICEKOFU-")
    expect(page.locator("main")).to_contain_text("庁内と NPO 等の連絡会を年4回開きます。")

    # Staff read every answer on the application's staff page.
    staff = new_page()
    staff_log_in(staff, base, "staff@example.jp", f"/staff/applications/{application.pk}/")
    main = staff.locator("main")
    expect(main).to_contain_text("実施するメニュー")
    expect(main).to_contain_text(f"{FIRST}、{SECOND}")
    expect(main).to_contain_text("庁内と NPO 等の連絡会を年4回開きます。")
    expect(main).to_contain_text("1,000,000円")
    assert_accessible(staff)
