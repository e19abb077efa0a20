"""nc-nav (issue 12, items 1, 2 and 6) in Chromium: the header per role at 1280 and 390 px, by
keyboard; the draft page's browser copy (no false "unsaved" banner after 保存する, and a real
difference named field by field); an error page in the portal's layout."""

import json
import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.test_apply_flow import APPLICANT, complete_draft, log_in

pytestmark = pytest.mark.django_db(transaction=True)

BANNER_TEXT = "このブラウザーに残っています"


@pytest.fixture
def demo(live_server):
    from grants.demo.loader import seed_demo

    seed_demo()
    return live_server.url


def no_sideways_scroll(page: Page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def header_fits(page: Page) -> None:
    """The header itself is no wider than the window (the pages' own tables are item 4's)."""
    assert page.evaluate("document.querySelector('header').scrollWidth <= window.innerWidth + 1")
    assert page.evaluate("document.querySelector('header').getBoundingClientRect().right <= window.innerWidth + 1")


def test_the_applicant_lands_on_the_applications_list_and_finds_the_account_pages(page: Page, demo):
    page.goto(f"{demo}/accounts/login/")
    page.get_by_label("メールアドレス").fill(APPLICANT)
    page.get_by_label(re.compile(r"^\s*パスワード\*?\s*$")).fill("kodoku-demo-2025")
    page.get_by_role("button", name="ログイン").click()
    expect(page).to_have_url(f"{demo}/applications/")
    menu = page.get_by_role("navigation", name="メインメニュー")
    expect(menu.get_by_role("link", name="申請一覧")).to_have_attribute("aria-current", "page")
    expect(menu.get_by_role("link", name="団体情報")).to_be_visible()
    expect(menu.get_by_role("link", name="事務局")).to_have_count(0)

    # The account menu opens from the keyboard and lists the account pages.
    account = menu.get_by_role("button", name=re.compile("^アカウント"))
    account.focus()
    page.keyboard.press("Enter")
    expect(account).to_have_attribute("aria-expanded", "true")
    for name in ("メールアドレス", "パスワード", "二段階認証", "通知設定"):
        expect(menu.get_by_role("link", name=name)).to_be_visible()
    page.keyboard.press("ArrowDown")
    expect(menu.get_by_role("link", name="メールアドレス")).to_be_focused()
    page.keyboard.press("Escape")
    expect(account).to_have_attribute("aria-expanded", "false")
    menu.get_by_role("link", name="団体情報").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("つながりデモの会")

    # At 390 px the menu folds behind its button and the page does not scroll sideways.
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{demo}/applications/")
    no_sideways_scroll(page)
    expect(menu.get_by_role("link", name="申請一覧")).to_be_hidden()
    toggle = page.get_by_role("button", name="メニューを開く")
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(menu.get_by_role("link", name="申請一覧")).to_be_visible()
    menu.get_by_role("button", name=re.compile("^アカウント")).click()
    expect(menu.get_by_role("link", name="二段階認証")).to_be_visible()
    no_sideways_scroll(page)


def test_no_unsaved_banner_after_saving_and_a_real_difference_is_named(page: Page, demo):
    application = complete_draft(title="居場所づくり事業")
    path = f"/applications/{application.pk}/section/content/"
    log_in(page, demo, APPLICANT, path)
    title = page.get_by_label("事業名", exact=True)
    title.fill("居場所づくり事業（改）")
    page.get_by_label("概要", exact=True).fill("地域の一人暮らしの高齢者が立ち寄れる居場所をつくる。")
    page.get_by_role("button", name="保存する", exact=True).click()
    expect(page.locator(".messages").filter(has_text="保存しました")).to_be_visible()
    expect(page.get_by_label("事業名", exact=True)).to_have_value("居場所づくり事業（改）")
    banner = page.get_by_test_id("restore-local")
    expect(banner).to_be_hidden()
    storage_key = f"kodoku-draft-{application.pk}-content"  # one browser copy per section page
    assert page.evaluate(f"localStorage.getItem('{storage_key}')") is None
    page.reload()
    expect(banner).to_be_hidden()

    # A copy that really differs from the server (typed, then the connection was lost) is offered
    # back, naming the field that differs — and only that one.
    kept = page.evaluate(
        """() => { const p = new URLSearchParams(new FormData(document.getElementById('application-form')));
                   p.set('title', '電波の届かない所で直した事業名'); return p.toString(); }"""
    )
    page.evaluate(
        f"localStorage.setItem('{storage_key}', JSON.stringify({json.dumps({'at': 0, 'version': '1', 'data': kept})}))"
    )
    page.reload()
    expect(banner).to_be_visible()
    expect(banner).to_contain_text(BANNER_TEXT)
    expect(banner.get_by_role("listitem")).to_have_text(["事業名"])
    banner.get_by_role("button", name="入力欄に戻す").click()
    expect(page.get_by_label("事業名", exact=True)).to_have_value("電波の届かない所で直した事業名")
    expect(page.get_by_test_id("save-status")).to_contain_text("保存しました", timeout=10_000)
    page.reload()
    expect(banner).to_be_hidden()


def test_a_missing_page_is_the_portals_error_page_with_a_way_back(page: Page, demo):
    response = page.goto(f"{demo}/no-such-page/")
    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("ページが見つかりません")
    page.get_by_role("link", name="トップページへ").click()
    expect(page).to_have_url(f"{demo}/")


@pytest.mark.parametrize(
    ("email", "home", "link"),
    [("reviewer@example.jp", "/reviews/", "担当する審査"), ("staff@example.jp", "/staff/", "事務局")],
)
def test_reviewers_and_staff_find_their_home_at_390_px(page: Page, demo, email, home, link):
    from tests.e2e.test_csp import Watch, finish
    from tests.e2e.test_csp import log_in as log_in_with_totp

    watch = Watch(page, demo)
    log_in_with_totp(watch, email)
    expect(page).to_have_url(f"{demo}{home}")
    page.set_viewport_size({"width": 390, "height": 844})
    header_fits(page)
    menu = page.get_by_role("navigation", name="メインメニュー")
    page.get_by_role("button", name="メニューを開く").click()
    expect(menu.get_by_role("link", name=link)).to_have_attribute("aria-current", "page")
    expect(menu.get_by_role("link", name="申請一覧")).to_have_count(0)
    menu.get_by_role("button", name=re.compile("^アカウント")).click()
    expect(menu.get_by_role("link", name="二段階認証")).to_be_visible()
    header_fits(page)
    if home == "/reviews/":
        # The reviewer's list is a stack of cards on a phone: nothing scrolls sideways, and each
        # cell says what it is.
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
        expect(page.get_by_test_id("assignments").locator("td[data-label='期限']").first).to_be_visible()
    watch.collect()
    finish(watch)
