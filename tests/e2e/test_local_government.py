"""A local government registers in the browser: choosing 地方公共団体 asks for the 団体コード and the
department in place of the prefecture, 法人番号 and representative; the code typed in full-width
digits is stored normalised, with the prefecture and 法人番号 that follow from it."""

import re

import pytest
from playwright.sync_api import Page, expect

from accounts.models import Role
from applications.models import Organisation
from calls.models import ApplicantType
from tests.e2e.axe import assert_accessible
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_local_government_registers_with_its_code(page: Page, live_server):
    ApplicantType.objects.get_or_create(code="npo", defaults={"name": "特定非営利活動法人（NPO法人）", "order": 1})
    ApplicantType.objects.get_or_create(
        code="local-government", defaults={"name": "地方公共団体", "is_local_government": True, "order": 2}
    )
    UserFactory(email="city@example.lg.jp", role=Role.APPLICANT)
    base = live_server.url
    page.goto(f"{base}/accounts/login/?next=/organisations/new/")
    page.get_by_label("メールアドレス").fill("city@example.lg.jp")
    page.get_by_label(re.compile(r"^\s*パスワード\*?\s*$")).fill(PASSWORD)
    page.get_by_role("button", name="ログイン").click()
    expect(page.get_by_role("heading", name="団体情報を登録する")).to_be_visible()

    # An NPO's fields first; choosing 地方公共団体 swaps them for the code and the department.
    expect(page.get_by_label("団体コード")).to_be_hidden()
    page.get_by_label("法人種別").select_option(label="地方公共団体")
    expect(page.get_by_label("団体コード")).to_be_visible()
    expect(page.get_by_label("担当部署")).to_be_visible()
    expect(page.get_by_label(re.compile("法人番号"))).to_be_hidden()
    expect(page.get_by_label("代表者氏名")).to_be_hidden()
    assert_accessible(page)

    page.get_by_label("団体名").fill("札幌市")
    page.get_by_label(re.compile("フリガナ")).fill("さっぽろし")
    page.get_by_label("団体コード").fill("０１１００３")  # one digit mistyped
    page.get_by_label("担当部署").fill("保健福祉局総務部")
    page.get_by_label("郵便番号").fill("060-8611")
    page.get_by_label("所在地").fill("北海道札幌市中央区北1条西2丁目")
    page.get_by_label("担当者").fill("担当 一郎")
    page.get_by_label("電話番号").fill("011-211-2111")
    page.get_by_label("メールアドレス").fill("fukushi@example.lg.jp")
    page.get_by_role("button", name="登録する").click()
    expect(page.get_by_text(re.compile("検査数字"))).to_be_visible()
    assert not Organisation.objects.exists()
    # The refused page keeps the choice and its fields.
    expect(page.get_by_label("団体コード")).to_be_visible()
    page.get_by_label("団体コード").fill("０１１００２")
    page.get_by_role("button", name="登録する").click()
    expect(page.get_by_text("団体情報を登録しました。")).to_be_visible()
    organisation = Organisation.objects.get()
    assert (organisation.local_government_code, organisation.prefecture) == ("011002", "01")
    assert organisation.corporate_number == "9000020011002"
