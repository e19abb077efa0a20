"""A call's application form in the browser: staff open the preview of a version; a field shown
only for one answer appears and disappears as that answer changes (static/js/schema-form.js,
no inline script), the page passes axe and does not scroll sideways on a phone."""

import pytest
from playwright.sync_api import Page, expect

from accounts.models import Role
from tests.e2e.axe import assert_accessible
from tests.e2e.test_review_flow import log_in
from tests.factories import PASSWORD, CallFactory, UserFactory, enable_totp
from tests.support.forms import build_version

pytestmark = pytest.mark.django_db(transaction=True)


def test_conditional_fields_follow_the_answers_in_the_preview(page: Page, live_server):
    version = build_version(CallFactory(), publish=False)
    staff = UserFactory(role=Role.STAFF, email="forms-staff@example.jp")
    enable_totp(staff)
    log_in(page, live_server.url, staff.email, f"/staff/forms/{version.pk}/preview/", password=PASSWORD)
    page.set_viewport_size({"width": 390, "height": 844})
    expect(page.get_by_role("heading", level=1)).to_have_text("申請様式のプレビュー")
    other_venue = page.locator("#schema-field-venue_other")
    tokyo_note = page.locator("#schema-field-tokyo_note")
    expect(other_venue).to_be_hidden()
    expect(tokyo_note).to_be_hidden()
    page.get_by_label("その他", exact=True).check()
    expect(other_venue).to_be_visible()
    page.get_by_label("東京都", exact=True).check()
    expect(tokyo_note).to_be_visible()
    page.get_by_label("自団体の施設").check()
    expect(other_venue).to_be_hidden()
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    assert_accessible(page)
    # The server decides: with the venue "other" again and its field left empty, the check says so.
    page.get_by_label("その他", exact=True).check()
    page.get_by_role("button", name="入力内容を確認する").click()
    expect(page.locator("#schema-field-venue_other .invalid-feedback")).to_have_text("この項目は必須です。")
