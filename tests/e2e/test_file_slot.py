"""A file uploaded into a file slot of a call's own form, in the browser (issue 16): a file of a
wrong type is refused with the message, the typed text still on the page; the autosave never sends
a file chosen in the slot (a notice says the buttons do); the slot's own button uploads it with the
section's text in one POST and comes back to the slot, which shows the file and its virus check
(the stub scanner's verdict); the autosave then saves as before. axe checks the page."""

import datetime as dt
import re
import sys
import time
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from accounts.models import Role
from applications.models import Answer, ApplicationStatus, Attachment, MemberRole, Membership, ScanStatus
from calls.models import ApplicantType
from tests.e2e.axe import assert_accessible
from tests.e2e.test_apply_flow import SAVED, wait_for
from tests.factories import ApplicationFactory, CallFactory, OrganisationFactory, UserFactory
from tests.support.forms import build_version

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "slot-upload-2025"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
STUB = Path(__file__).resolve().parents[1] / "support" / "stub_scanner.py"
FORM = [
    (
        "documents",
        "提出書類",
        [
            {"key": "summary", "kind": "long_text", "label": "事業の概要", "max_length": 400},
            {"key": "plan_file", "kind": "file", "label": "事業計画書", "required": True},
        ],
    )
]


def test_a_file_is_uploaded_into_its_slot_with_the_text_of_the_section(page: Page, live_server, settings, tmp_path):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Scanning on (the stub scanner; its job runs in-process once the upload commits).
    settings.ATTACHMENT_SCAN_COMMAND = f"{sys.executable} {STUB} {{path}}"
    npo = ApplicantType.objects.get_or_create(code="npo", defaults={"name": "特定非営利活動法人（NPO法人）"})[0]
    now = timezone.now()
    call = CallFactory(opens_at=now - dt.timedelta(days=1), closes_at=now + dt.timedelta(days=10), eligible=[npo])
    build_version(call, FORM)
    user = UserFactory(role=Role.APPLICANT, password=PASSWORD)
    organisation = OrganisationFactory(applicant_type=npo)
    Membership.objects.create(organisation=organisation, user=user, role=MemberRole.OWNER)
    application = ApplicationFactory(call=call, organisation=organisation, status=ApplicationStatus.DRAFT)
    section = f"/applications/{application.pk}/section/form-documents/"
    page.goto(f"{live_server.url}/accounts/login/?next={section}")
    page.get_by_label("メールアドレス").fill(user.email)
    page.get_by_label(re.compile(r"^\s*パスワード\*?\s*$")).fill(PASSWORD)
    page.get_by_role("button", name="ログイン").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("提出書類")

    slot = page.get_by_role("group", name=re.compile("事業計画書"))
    expect(slot).to_contain_text("この欄にはまだファイルがありません。")
    expect(slot).to_contain_text("PDF、Word、Excelのファイルを10 MBまで添付できます。")

    # A file of a wrong type: refused with the message, the typed text still on the page.
    page.get_by_label("事業の概要").fill("まちの縁側の運営計画")
    wrong = tmp_path / "計画書.pdf"
    wrong.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 100)
    slot.get_by_label("ファイルをアップロードする").set_input_files(str(wrong))
    slot.get_by_role("button", name="アップロードして保存する").click()
    expect(page.locator("#schema-field-plan_file .invalid-feedback")).to_contain_text(
        "この形式のファイルは添付できません。"
    )
    expect(page.get_by_label("事業の概要")).to_have_value("まちの縁側の運営計画")
    assert not Attachment.objects.exists()

    # The autosave saves the text; a file chosen meanwhile is not sent by it (a notice says so).
    page.get_by_label("事業の概要").fill("まちの縁側の運営計画（改訂）")
    plan = tmp_path / "事業計画書.pdf"
    plan.write_bytes(PDF)
    page.get_by_label("ファイルをアップロードする").set_input_files(str(plan))
    expect(page.get_by_test_id("save-status")).to_contain_text("自動保存ではファイルは送信されません。")
    # The slot is required, yet a draft's autosave of the text alone is saved (the task list asks for the file).
    expect(page.get_by_test_id("save-status")).to_contain_text("保存しました", timeout=10_000)
    time.sleep(1)
    assert not Attachment.objects.exists()

    # The slot's own button: the file and the text are saved by one POST; back at the slot.
    page.get_by_role("button", name="アップロードして保存する").click()
    expect(page).to_have_url(re.compile(r"#schema-field-plan_file$"))
    expect(page.get_by_role("status").filter(has_text="「事業計画書.pdf」を添付しました。")).to_be_visible()
    current = page.get_by_test_id("file-slot-current")
    expect(current).to_contain_text("事業計画書.pdf")
    expect(current.get_by_test_id("scan-status")).to_have_text("問題なし")
    expect(page.get_by_label("事業の概要")).to_have_value("まちの縁側の運営計画（改訂）")
    wait_for(lambda: Answer.objects.filter(application=application, field_key="plan_file").exists(), page)
    attachment = Attachment.objects.get(application=application)
    assert attachment.scan_status == ScanStatus.CLEAN
    answers = {a.field_key: a for a in Answer.objects.filter(application=application)}
    assert answers["plan_file"].attachment_id == attachment.pk
    assert answers["summary"].text == "まちの縁側の運営計画（改訂）"
    assert_accessible(page)

    # Typing afterwards autosaves as before, with the file in the slot.
    page.get_by_label("事業の概要").fill("まちの縁側の運営計画（第3版）")
    expect(page.get_by_test_id("save-status")).to_have_text(SAVED, timeout=10_000)
    assert Attachment.objects.count() == 1
