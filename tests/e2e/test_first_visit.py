"""A newcomer's first visit: the top page, a call page, sign up, confirm the e-mail, log in."""

import re

import pytest
from django.core import mail
from playwright.sync_api import Page, expect

from grants.demo.loader import seed_demo

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "tsunagari-2025-demo"


def test_top_page_call_page_signup_confirm_and_login(page: Page, live_server):
    seed_demo()
    page.goto(live_server.url + "/")
    expect(page).to_have_title(re.compile("孤独・孤立対策 助成ポータル"))
    expect(page.get_by_role("heading", level=1)).to_have_text("孤独・孤立対策 助成ポータル")
    expect(page.get_by_test_id("server-time")).to_contain_text("年")

    # The skip link is the first thing a keyboard reaches.
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="本文へ移動")).to_be_focused()

    page.get_by_role("link", name="過去の公募を含むすべての公募").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("公募一覧")
    page.get_by_role("link", name="地域における孤独・孤立対策に関するNPO等の取組モデル調査", exact=True).click()
    expect(page.locator("main")).to_contain_text("2025年5月30日（金）12:00 締切")
    expect(page.get_by_test_id("cap")).to_have_text("2,000,000円")
    expect(page.locator("main")).to_contain_text("自然に足が向く地域の居場所の提供")

    page.goto(live_server.url + "/calls/practice/")
    expect(page.get_by_test_id("time-left")).to_contain_text("締切まであと")
    page.get_by_role("link", name="アカウントを作成して申請する").click()

    page.get_by_label("メールアドレス").fill("newcomer@example.jp")
    page.get_by_label(re.compile(r"^\s*パスワード\*?\s*$")).fill(PASSWORD)
    page.get_by_label(re.compile(r"パスワード \(再入力\)")).fill(PASSWORD)
    page.get_by_role("button", name="ユーザー登録").click()
    expect(page.locator("main")).to_contain_text("確認")

    assert len(mail.outbox) == 1
    link = re.search(r"http://[^\s]+/accounts/confirm-email/[^\s]+/", mail.outbox[0].body).group(0)
    page.goto(link)
    page.get_by_role("button", name="確認する").click()

    page.get_by_label("メールアドレス").fill("newcomer@example.jp")
    page.get_by_label(re.compile(r"^\s*パスワード\*?\s*$")).fill(PASSWORD)
    page.get_by_role("button", name="ログイン").click()
    expect(page.get_by_role("button", name="ログアウト")).to_be_visible()
    expect(page).to_have_url(live_server.url + "/applications/")  # the applicant's home (nc-nav)


def test_english_switch(page: Page, live_server):
    seed_demo()
    page.goto(live_server.url + "/calls/")
    page.get_by_label("言語").select_option("en")
    page.get_by_role("button", name="切替").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Calls for applications")
    expect(page.locator("html")).to_have_attribute("lang", "en")
