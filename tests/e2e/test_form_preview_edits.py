"""The live preview of unsaved changes in the admin (issue 16), in Chromium: an administrator edits
a label of a draft form version, clicks "Preview the changes" and sees the form with the new label in
the panel below (static/js/admin-form-preview.js), refreshed as another label changes; conditional
fields follow the answers there as for applicants; nothing is saved; axe passes on the admin page
and on the preview, and no policy is broken (the preview is framed by its own origin only)."""

import pytest
from django.contrib.admin.models import LogEntry
from playwright.sync_api import Page, expect

from accounts.models import Role
from calls.models import FormField
from kodoku_portal.models import AuditEntry
from tests.e2e.axe import assert_accessible
from tests.e2e.test_review_flow import log_in
from tests.factories import PASSWORD, CallFactory, UserFactory, enable_totp
from tests.support.forms import build_version

pytestmark = pytest.mark.django_db(transaction=True)


def label_box(page: Page, key: str):
    """The "label (Japanese)" box of the admin's inline row whose key is ``key``."""
    name = page.locator(f"input[name$='-key'][value='{key}']").get_attribute("name")
    return page.locator(f"input[name='{name.removesuffix('-key')}-label']")


def test_an_unsaved_label_is_previewed_in_the_admin_without_saving(page: Page, live_server):
    version = build_version(CallFactory(), publish=False)
    administrator = UserFactory(role=Role.ADMINISTRATOR, email="forms-admin@example.jp")
    enable_totp(administrator)
    audited = AuditEntry.objects.count()
    problems: list[str] = []
    page.on("console", lambda message: message.type == "error" and problems.append(message.text))
    log_in(page, live_server.url, administrator.email, "/", password=PASSWORD)
    page.goto(f"{live_server.url}/admin/calls/formversion/{version.pk}/change/")

    label_box(page, "plan").fill("事業の計画（改）")
    button = page.get_by_role("button", name="変更をプレビューする")
    expect(button).to_have_accessible_description(
        "変更を反映した様式を、申請者に表示されるとおりに下に表示します。編集すると更新されます。何も保存されません。"
    )
    button.click()
    expect(page.get_by_role("heading", name="保存前の変更のプレビュー")).to_be_visible()
    preview = page.frame_locator(f"iframe[name='form-preview-{version.pk}']")
    expect(preview.locator("label[for='id_answer1-activity-plan']")).to_contain_text("事業の計画（改）")
    expect(preview.get_by_test_id("unsaved-note")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("プレビューを更新しました。")

    # Once open, the panel follows the form: another label, changed and left, is drawn without a click.
    label_box(page, "project_name").fill("事業の名称")
    label_box(page, "project_name").press("Tab")
    expect(preview.locator("label[for='id_answer0-basic-project_name']")).to_contain_text("事業の名称")
    expect(preview.locator("label[for='id_answer1-activity-plan']")).to_contain_text("事業の計画（改）")

    # Conditional fields behave as for applicants (static/js/schema-form.js in the frame).
    other_venue = preview.locator("#schema-field-venue_other")
    expect(other_venue).to_be_hidden()
    preview.get_by_label("その他", exact=True).check()
    expect(other_venue).to_be_visible()

    assert problems == []  # no script error, nothing the policy refused (framing included)
    assert_accessible(page)
    frame = page.frame(name=f"form-preview-{version.pk}")
    assert frame is not None
    assert_accessible(frame)

    saved = {item.key: item.label for item in FormField.objects.filter(version=version)}
    assert (saved["plan"], saved["project_name"]) == ("事業計画", "事業名")
    assert LogEntry.objects.count() == 0 and AuditEntry.objects.count() == audited
