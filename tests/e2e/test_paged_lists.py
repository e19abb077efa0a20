"""Issue 14 in Chromium: the decisions page's light rows on a phone (390 px, no sideways scroll),
the shared pager, and the assignment page's search picked with the keyboard."""

import pytest
from playwright.sync_api import Page, expect

from accounts.models import Role
from applications.models import ApplicationStatus
from reviews import services as review_services
from reviews.models import Assignment, ReviewPhase
from tests.e2e.axe import assert_accessible
from tests.e2e.test_review_flow import log_in
from tests.factories import PASSWORD as FACTORY_PASSWORD
from tests.factories import ApplicationFactory, CallFactory, OrganisationFactory, UserFactory, enable_totp

pytestmark = pytest.mark.django_db(transaction=True)


def no_sideways_scroll(page: Page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")


def call_with(n: int, slug: str):
    call = CallFactory(slug=slug, title="一覧テスト公募", receipt_prefix="LST", cap_amount=2_000_000, budget_total=None)
    applications = [
        ApplicationFactory(
            call=call,
            organisation=OrganisationFactory(name=f"特定非営利活動法人 つながりの家{i}"),
            status=ApplicationStatus.SUBMITTED,
            receipt_number=f"LST-{i:04d}",
            requested_amount=1_000_000 + i,
            title=f"居場所づくり事業{i}",
        )
        for i in range(1, n + 1)
    ]
    staff = UserFactory(role=Role.STAFF, email="lists-staff@example.jp")
    enable_totp(staff)
    return call, applications, staff


def test_staff_decide_on_a_phone_from_the_second_page(page: Page, live_server):
    call, applications, staff = call_with(53, "lists-decisions")
    base = live_server.url
    log_in(page, base, staff.email, f"/staff/calls/{call.slug}/decisions/", password=FACTORY_PASSWORD)
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    expect(page.get_by_test_id("decision-row")).to_have_count(50)
    assert no_sideways_scroll(page)
    assert_accessible(page)

    pager = page.get_by_role("navigation", name="ページ").first
    pager.get_by_role("link", name="次へ").click()
    expect(page.get_by_test_id("decision-row")).to_have_count(3)
    expect(pager.locator("[aria-current=page]")).to_have_text("ページ 2")
    target = applications[-1]
    row = page.get_by_test_id("decision-row").filter(has_text=target.receipt_number)
    row.get_by_label("採否").select_option("adopted")
    row.get_by_label("採択額（円）").fill("１，０００，０００")
    row.get_by_role("button", name=f"記録する {target.receipt_number}").click()
    expect(page.get_by_role("status").filter(has_text=f"{target.receipt_number}：採否を記録しました。")).to_be_visible()
    expect(page).to_have_url(f"{base}/staff/calls/{call.slug}/decisions/?page=2")
    expect(
        page.get_by_test_id("decision-row").filter(has_text=target.receipt_number).get_by_label("採否")
    ).to_have_value("adopted")
    assert no_sideways_scroll(page)
    target.refresh_from_db()
    assert target.decision.award_amount == 1_000_000


def test_staff_pick_applications_and_reviewers_by_search(page: Page, live_server):
    call, applications, staff = call_with(30, "lists-assign")
    review_services.review_round_for(call=call)
    review_services.phase_set(call=call, phase=ReviewPhase.REVIEWING, by=staff)
    reviewer = UserFactory(role=Role.REVIEWER, full_name="審査 花子", email="hanako@example.jp")
    enable_totp(reviewer)
    base = live_server.url
    log_in(page, base, staff.email, f"/staff/calls/{call.slug}/review/assignments/", password=FACTORY_PASSWORD)
    section = page.get_by_role("region", name="手動で割り当てる")
    field = section.get_by_role("combobox", name="申請")
    field.press_sequentially("家17")
    options = section.get_by_role("option")
    expect(options).to_have_count(1)
    expect(options).to_contain_text("LST-0017")
    assert_accessible(page)
    field.press("ArrowDown")
    field.press("Enter")
    expect(field).to_have_value("LST-0017, ")
    reviewers = section.get_by_role("combobox", name="審査委員")
    reviewers.press_sequentially("花子")
    expect(section.get_by_role("option")).to_have_count(1)
    reviewers.press("ArrowDown")
    reviewers.press("Enter")
    expect(reviewers).to_have_value("hanako@example.jp, ")
    section.get_by_role("button", name="割り当てる").click()
    expect(page.get_by_role("status").filter(has_text="1件の割当てを行いました。")).to_be_visible()
    assert Assignment.objects.filter(application=applications[16], reviewer=reviewer).exists()
