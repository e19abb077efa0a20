"""Issue 11 in the browser, in Japanese: the whole file for reviewers and staff, and the feedback the
organisation reads once its notice is out.

A reviewer opens an attachment listed beside the scoring form and scores, marking the comment to
the applicant 「申請者に開示可」; staff open the application from the ranking, read the attachment and
see which comment is disclosed; after the 不採択 notice the organisation reads the comment on its
application page, without the reviewer's name. Every opening of a file is in the audit trail.
"""

import re

import pytest
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value, yield_hotp_counters_from_time
from django.contrib.auth import get_user_model
from django.utils import timezone
from playwright.sync_api import Page, expect

from accounts.models import Role
from applications.models import ApplicationStatus, MemberRole, Membership
from grants import services as grant_services
from kodoku_portal.models import AuditEntry
from reviews import services
from reviews.models import ReviewPhase
from tests.e2e.helpers import totp_secret
from tests.factories import (
    PASSWORD,
    ApplicationFactory,
    AttachmentFactory,
    CallFactory,
    OrganisationFactory,
    UserFactory,
    enable_totp,
)

pytestmark = pytest.mark.django_db(transaction=True)

COMMENT = "地域の多様な主体との連携が具体的で、モデルとしての波及が期待できます。"


def log_in(page: Page, base: str, email: str, next_path: str) -> None:
    """Password, then (for reviewers and staff) the TOTP code of the current 30-second window."""
    user = get_user_model().objects.get(email=email)
    page.goto(f"{base}/accounts/login/?next={next_path}")
    page.get_by_label("メールアドレス").fill(email)
    page.get_by_label(re.compile(r"^\s*パスワード\*?\s*$")).fill(PASSWORD)
    page.get_by_role("button", name="ログイン").click()
    if user.requires_mfa:
        expect(page).to_have_url(f"{base}/accounts/2fa/authenticate/")
        secret = totp_secret(email)
        for _attempt in range(2):
            code = format_hotp_value(hotp_value(secret, next(yield_hotp_counters_from_time())))
            page.get_by_label(re.compile(r"^\s*コード\*?\s*$")).fill(code)
            with page.expect_navigation():
                page.get_by_role("main").get_by_role("button", name="ログイン").click()
            if not page.url.endswith("/accounts/2fa/authenticate/"):
                break
    expect(page).to_have_url(base + next_path)


def open_file(page: Page, link) -> None:
    """Open an attachment link as the browser session does (a PDF shows in the browser: inline)."""
    href = link.get_attribute("href")
    response = page.request.get(re.sub(r"^(https?://[^/]+).*$", r"\1", page.url) + href)
    assert response.status == 200, href
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"].startswith("inline;")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.body().startswith(b"%PDF-")


def test_reviewer_and_staff_read_the_file_and_the_organisation_reads_the_feedback(page: Page, live_server, new_page):
    base = live_server.url
    staff = UserFactory(role=Role.STAFF, email="staff-file@example.jp")
    enable_totp(staff)
    reviewer = UserFactory(role=Role.REVIEWER, email="reviewer-file@example.jp", full_name="審査 冬美")
    enable_totp(reviewer)
    member = UserFactory(role=Role.APPLICANT, email="member-file@example.jp")
    call = CallFactory(
        slug="file-e2e", title="添付書類テスト公募", receipt_prefix="FIL", disclose_comments_in_notice=True
    )
    organisation = OrganisationFactory(name="特定非営利活動法人 ゆきあかり", email="office-file@example.jp")
    Membership.objects.create(organisation=organisation, user=member, role=MemberRole.OWNER)
    application = ApplicationFactory(
        call=call,
        organisation=organisation,
        title="雪あかりの縁側事業",
        summary="冬の夜に集える縁側をつくる。",
        status=ApplicationStatus.SUBMITTED,
        receipt_number="FIL-0001",
        submitted_at=timezone.now(),
        submitted_by=member,
        requested_amount=500_000,
    )
    AttachmentFactory(application=application, original_name="定款.pdf")
    AttachmentFactory(application=application, original_name="事業計画書.docx", file_type="docx", kind="other")
    services.review_round_for(call=call)
    services.phase_set(call=call, phase=ReviewPhase.REVIEWING, by=staff)
    assignment = services.assignment_create(application=application, reviewer=reviewer, due_at=None, assigned_by=staff)
    services.assignment_declare(assignment=assignment, has_conflict=False)
    opened = AuditEntry.objects.filter(action="attachment_opened")

    # 1. The reviewer: the attachments beside the scoring form; opens the PDF, then scores.
    log_in(page, base, reviewer.email, f"/reviews/assignments/{assignment.pk}/")
    files = page.get_by_role("region", name="添付書類")
    form = page.get_by_role("form", name="あなたの採点")
    expect(files.get_by_role("link", name="定款.pdf")).to_be_visible()
    expect(files.get_by_role("link", name="事業計画書.docx")).to_be_visible()
    expect(files).to_contain_text("PDF・新しいタブで開きます")
    files_box, form_box = files.bounding_box(), form.bounding_box()
    assert files_box["x"] + files_box["width"] <= form_box["x"]  # side by side on a wide screen
    pdf_link = files.get_by_role("link", name="定款.pdf")
    assert pdf_link.get_attribute("target") == "_blank"
    open_file(page, pdf_link)
    assert list(opened.values_list("actor__email", flat=True)) == [reviewer.email]
    for select in form.get_by_role("combobox").all():
        select.select_option("4")
    form.get_by_label("申請者への所見").fill(COMMENT)
    form.get_by_role("checkbox", name="申請者に開示可").check()
    form.get_by_role("button", name="審査結果を提出する").click()
    expect(page.get_by_role("status").filter(has_text="審査結果を提出しました。")).to_be_visible()
    expect(page.get_by_test_id("disclosure")).to_contain_text("申請者に開示可")
    # On a phone the two columns stack: the files come first, the form below them.
    page.set_viewport_size({"width": 390, "height": 844})
    files_box, scores_box = files.bounding_box(), page.get_by_test_id("review-status").bounding_box()
    assert files_box["y"] + files_box["height"] <= scores_box["y"]

    # 2. Staff: from the ranking to the application, its attachment and the disclosed comment.
    staff_page = new_page()
    log_in(staff_page, base, staff.email, f"/staff/calls/{call.slug}/review/ranking/")
    ranking = staff_page.get_by_role("table", name="点数順の申請一覧")
    ranking.get_by_role("link", name="FIL-0001").click()
    expect(staff_page).to_have_url(f"{base}/staff/applications/{application.pk}/")
    expect(staff_page.get_by_role("heading", level=1)).to_have_text("雪あかりの縁側事業")
    expect(staff_page.get_by_role("main")).to_contain_text("冬の夜に集える縁側をつくる。")
    open_file(staff_page, staff_page.get_by_role("region", name="添付書類").get_by_role("link", name="定款.pdf"))
    expect(staff_page.get_by_test_id("review-table")).to_contain_text("審査 冬美")
    comments = staff_page.get_by_test_id("review-comments").filter(has_text="審査 冬美")
    expect(comments.get_by_test_id("comment-to-applicant")).to_contain_text(COMMENT)
    expect(comments.get_by_test_id("disclosed")).to_have_text("申請者に開示可")
    assert list(opened.order_by("id").values_list("actor__email", flat=True)) == [reviewer.email, staff.email]

    # 3. 不採択, the notice mailed: the organisation reads the comment, never who wrote it.
    applicant = new_page()
    log_in(applicant, base, member.email, f"/applications/{application.pk}/")
    expect(applicant.get_by_role("main")).not_to_contain_text(COMMENT)
    grant_services.decision_record(
        application=application, outcome=ApplicationStatus.NOT_ADOPTED, award_amount=None, decided_by=staff
    )
    grant_services.notices_prepare(call=call, created_by=staff)
    applicant.reload()
    feedback = applicant.get_by_role("region", name="審査の所見")
    expect(feedback.get_by_role("listitem")).to_have_text([COMMENT])
    expect(applicant.get_by_role("main")).not_to_contain_text("審査 冬美")
    expect(applicant.get_by_role("main")).not_to_contain_text(reviewer.email)

    # Staff open the issued notice from the application's page.
    staff_page.reload()
    notice_link = staff_page.get_by_test_id("notice").get_by_role("link")
    response = staff_page.request.get(base + notice_link.get_attribute("href"))
    assert response.status == 200 and response.headers["content-type"] == "application/pdf"
