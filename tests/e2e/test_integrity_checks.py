"""The integrity checks in the browser, on a phone-width screen (390 px): staff read why each flag
fired and dismiss a false one with a reason; the page never scrolls sideways."""

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from accounts.models import Role
from applications.models import ApplicationStatus
from reviews.models import IntegrityFlag, IntegrityFlagStatus
from tests.e2e.axe import assert_accessible
from tests.e2e.test_review_flow import log_in
from tests.factories import PASSWORD as FACTORY_PASSWORD
from tests.factories import (
    ApplicationFactory,
    CallFactory,
    OrganisationFactory,
    ReviewerAffiliationFactory,
    UserFactory,
    enable_totp,
)

pytestmark = pytest.mark.django_db(transaction=True)


def no_sideways_scroll(page: Page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")


def test_staff_read_and_dismiss_integrity_flags_on_a_phone(page: Page, live_server):
    call = CallFactory(slug="integrity-e2e", title="整合性テスト公募", receipt_prefix="INT")
    first = ApplicationFactory(
        call=call,
        organisation=OrganisationFactory(
            name="特定非営利活動法人 みなとの縁側",
            representative_name="山田 太郎",
            address="東京都港区芝公園１－２－３",
        ),
        status=ApplicationStatus.SUBMITTED,
        receipt_number="INT-0001",
    )
    ApplicationFactory(
        call=call,
        organisation=OrganisationFactory(
            name="一般社団法人 みなと会", representative_name="山田太郎", address="東京都 港区 芝公園1ー2ー3"
        ),
        status=ApplicationStatus.SUBMITTED,
        receipt_number="INT-0002",
    )
    reviewer = UserFactory(role=Role.REVIEWER, full_name="審査 花子")
    enable_totp(reviewer)
    ReviewerAffiliationFactory(
        reviewer=reviewer, organisation_name="NPO法人みなとの縁側", year_from=timezone.localdate().year - 2
    )
    staff = UserFactory(role=Role.STAFF, email="integrity-staff@example.jp")
    enable_totp(staff)

    base = live_server.url
    log_in(page, base, staff.email, f"/staff/calls/{call.slug}/review/integrity/", password=FACTORY_PASSWORD)
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    expect(page.get_by_role("heading", level=1)).to_have_text("整合性チェック")
    flags = page.get_by_test_id("integrity-flag")
    expect(flags).to_have_count(2)
    expect(flags.first.get_by_role("heading", level=3)).to_contain_text("未対応")
    duplicate = flags.filter(has_text="重複申請の可能性")
    expect(duplicate).to_contain_text("代表者名と所在地が同一です")
    expect(duplicate).to_contain_text("東京都 港区 芝公園1ー2ー3")
    conflict = flags.filter(has_text="利害関係の可能性")
    expect(conflict).to_contain_text("NPO法人みなとの縁側")
    expect(conflict).to_contain_text("審査 花子")
    assert no_sideways_scroll(page)
    assert_accessible(page)

    duplicate.get_by_text("誤った指摘として解除する").click()
    duplicate.get_by_label("誤った指摘と判断する理由").fill("同姓同名の別人（電話で確認済み）")
    assert no_sideways_scroll(page)
    assert_accessible(page)
    duplicate.get_by_role("button", name="解除").click()
    expect(page.get_by_role("status").filter(has_text="指摘を解除しました。")).to_be_visible()
    dismissed = page.get_by_test_id("integrity-flag").filter(has_text="同姓同名の別人（電話で確認済み）")
    expect(dismissed).to_have_attribute("data-status", "dismissed")
    assert_accessible(page)
    assert no_sideways_scroll(page)
    flag = IntegrityFlag.objects.get(kind="duplicate")
    assert flag.status == IntegrityFlagStatus.DISMISSED and flag.dismissed_by == staff

    # The ranking of the call marks the flagged application in words, not by colour alone.
    page.goto(f"{base}/staff/calls/{call.slug}/review/ranking/")
    row = page.get_by_test_id("ranking-row").filter(has_text=first.receipt_number)
    expect(row.get_by_test_id("flag-marker")).to_have_text("⚑ 整合性の指摘 1件")
    assert_accessible(page)
