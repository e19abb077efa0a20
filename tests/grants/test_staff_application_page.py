"""Issue 11, items 2 and 4: the staff page of one application (the whole file, links from every
staff list, the notice PDF for staff), and the review comments disclosed to the organisation
(「申請者に開示可」): on its page once the notice is out, and on the 不採択 notice when the call says so,
never with a reviewer's name."""

import subprocess
from pathlib import Path

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from accounts.models import Role
from applications.models import ApplicationStatus, BudgetLine, MemberRole, Membership
from calls.models import AreaRule
from grants import services as grant_services
from grants.documents import notice_pdf
from grants.models import Notice
from kodoku_portal import outbox
from reviews import services as review_services
from reviews.models import ReviewPhase
from tests.factories import (
    ApplicationFactory,
    AttachmentFactory,
    CallFactory,
    OrganisationFactory,
    UserFactory,
    enable_totp,
)
from tests.support.forms import answer_project, project_version

pytestmark = pytest.mark.django_db

DISCLOSED = ["連携先の具体性が高く評価できます。", "予算の積算根拠をより明確にしてください。"]
WITHHELD = "この所見は開示しません。"
TO_STAFF = "事務局のみへの所見です。"


@pytest.fixture(autouse=True)
def _private_files(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "private"
    settings.PRIVATE_ROOT = tmp_path / "private"
    settings.PORTAL_BASE_URL = "https://portal.example.jp"


def _user(role, **kwargs):
    user = UserFactory(role=role, **kwargs)
    if role != Role.APPLICANT:
        enable_totp(user)
    return user


@pytest.fixture
def staff():
    return _user(Role.STAFF)


def reviewed_application(staff, *, n_reviews=3, n_files=2, call=None, receipt="F-0001", disclose_in_notice=False):
    """A submitted application below the call's area rule, with budget lines and files, reviewed
    by ``n_reviews`` reviewers (the first two disclose their comment, the third does not), and one
    more reviewer who returned it for a conflict of interest."""
    call = call or CallFactory(
        area_rule=AreaRule.WIDER_THAN_ONE_PREFECTURE,
        cap_amount=2_000_000,
        budget_total=None,
        disclose_comments_in_notice=disclose_in_notice,
    )
    review_round = review_services.review_round_for(call=call)
    if review_round.phase == ReviewPhase.SETUP:
        review_services.phase_set(call=call, phase=ReviewPhase.REVIEWING, by=staff)
    organisation = OrganisationFactory(email="office@example.jp", representative_name="代表 花子")
    member = _user(Role.APPLICANT)
    Membership.objects.create(organisation=organisation, user=member, role=MemberRole.OWNER)
    application = ApplicationFactory(
        call=call,
        organisation=organisation,
        status=ApplicationStatus.SUBMITTED,
        receipt_number=receipt,
        title="縁側カフェ事業",
        summary="商店街の空き店舗で縁側カフェを開く。",
        area_prefectures=["13"],
        area_reason="区内の商店街に密着して行うため。",
        requested_amount=300_000,
    )
    answer_project(application, project_version(call), partners="商店街振興組合")
    BudgetLine.objects.create(
        application=application,
        position=0,
        category="rental",
        description="空き店舗の借料",
        quantity=6,
        unit_price=50_000,
        amount=300_000,
    )
    for i in range(n_files):
        AttachmentFactory(application=application, original_name=f"添付{i + 1}.pdf")
    criteria = list(call.criteria.all())
    reviewers = []
    for i in range(n_reviews):
        reviewer = _user(Role.REVIEWER, full_name=f"審査 委員{i + 1}")
        assignment = review_services.assignment_create(
            application=application, reviewer=reviewer, due_at=None, assigned_by=staff
        )
        review_services.assignment_declare(assignment=assignment, has_conflict=False)
        review_services.review_save(
            assignment=assignment,
            scores={c.pk: 3 for c in criteria},
            comment_to_staff=TO_STAFF,
            comment_to_applicant=DISCLOSED[i % 2] if i < 2 else WITHHELD,
            disclose_to_applicant=i < 2,
            submit=True,
        )
        reviewers.append(reviewer)
    returner = _user(Role.REVIEWER, full_name="審査 返却")
    returned = review_services.assignment_create(
        application=application, reviewer=returner, due_at=None, assigned_by=staff
    )
    review_services.assignment_declare(assignment=returned, has_conflict=True, reason="理事を務めているため")
    return application, member, reviewers


def decide_and_notify(application, staff, capture, outcome=ApplicationStatus.NOT_ADOPTED):
    grant_services.decision_record(
        application=application,
        outcome=outcome,
        award_amount=application.requested_amount if outcome == ApplicationStatus.ADOPTED else None,
        decided_by=staff,
    )
    with capture(execute=True):
        grant_services.notices_prepare(call=application.call, created_by=staff)
    application.refresh_from_db()


def pdf_text(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "notice.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True)
    return "".join(out.stdout.split())


# --- the staff page -----------------------------------------------------------------------------


def test_the_staff_page_shows_the_whole_file(client, staff, django_capture_on_commit_callbacks):
    application, _member, reviewers = reviewed_application(staff)
    decide_and_notify(application, staff, django_capture_on_commit_callbacks)
    client.force_login(staff)
    page = client.get(f"/staff/applications/{application.pk}/").content.decode()
    for text in (
        "縁側カフェ事業",
        "商店街の空き店舗で縁側カフェを開く。",
        "商店街振興組合",
        "空き店舗の借料",
        "区内の商店街に密着して行うため。",  # the area-rule reason
        'data-testid="area-flag"',
        "代表 花子",
        "添付1.pdf",
        f'href="/staff/applications/{application.pk}/attachments/',
        TO_STAFF,
        WITHHELD,
        *DISCLOSED,
        *[reviewer.full_name for reviewer in reviewers],
        "審査 返却",
        "理事を務めているため",
        f'href="/staff/applications/{application.pk}/notice.pdf"',
        application.notice.document_number,
        f'href="/staff/calls/{application.call.slug}/audit/"',
    ):
        assert text in page, text
    assert page.count('data-testid="review-row"') == 3
    assert page.count('data-testid="disclosed"') == 2
    assert page.count('data-testid="not-disclosed"') == 1


def test_staff_open_an_issued_notice_and_the_award_is_linked(client, staff, django_capture_on_commit_callbacks):
    application, member, _reviewers = reviewed_application(staff)
    decide_and_notify(application, staff, django_capture_on_commit_callbacks, outcome=ApplicationStatus.ADOPTED)
    client.force_login(staff)
    response = client.get(f"/staff/applications/{application.pk}/notice.pdf")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("inline;")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content).startswith(b"%PDF-")
    page = client.get(f"/staff/applications/{application.pk}/").content.decode()
    assert f'href="/staff/awards/{application.award.pk}/"' in page
    # On this URL, the notice is staff's only (the organisation has its own download).
    url = f"/staff/applications/{application.pk}/notice.pdf"
    for user, status in (
        (_user(Role.ADMINISTRATOR), 200),
        (member, 404),
        (_user(Role.REVIEWER), 404),
        (_user(Role.APPLICANT), 404),
    ):
        client.force_login(user)
        response = client.get(url)
        assert response.status_code == status
        if response.streaming:
            b"".join(response.streaming_content)  # read to the end: the test client closes the file
    client.logout()
    assert client.get(url)["Location"].startswith("/accounts/login/")


def test_a_draft_has_no_staff_page(client, staff):
    draft = ApplicationFactory(status=ApplicationStatus.DRAFT)
    client.force_login(staff)
    assert client.get(f"/staff/applications/{draft.pk}/").status_code == 404
    assert client.get(f"/staff/applications/{draft.pk}/notice.pdf").status_code == 404


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_the_staff_page_does_not_grow_in_queries_with_reviews_and_files(client, staff):
    small, _m, _r = reviewed_application(staff, n_reviews=1, n_files=1, receipt="Q-0001")
    large, _m, _r = reviewed_application(staff, n_reviews=5, n_files=6, call=small.call, receipt="Q-0002")
    client.force_login(staff)
    client.get(f"/staff/applications/{small.pk}/")
    assert _queries(client, f"/staff/applications/{small.pk}/") == _queries(client, f"/staff/applications/{large.pk}/")


def test_receipt_numbers_on_staff_lists_link_to_the_staff_page(client, staff, django_capture_on_commit_callbacks):
    application, _member, _reviewers = reviewed_application(staff)
    link = f'href="/staff/applications/{application.pk}/"'
    slug = application.call.slug
    client.force_login(staff)
    for url in (
        f"/staff/calls/{slug}/applications/",
        f"/staff/calls/{slug}/review/assignments/",
        f"/staff/calls/{slug}/review/ranking/",
        f"/staff/calls/{slug}/decisions/",
    ):
        assert link in client.get(url).content.decode(), url
    decide_and_notify(application, staff, django_capture_on_commit_callbacks, outcome=ApplicationStatus.ADOPTED)
    with transaction.atomic():  # a mail about the application itself (its receipt), not yet sent
        outbox.enqueue(outbox.Mail("receipt", application, "office@example.jp"))
    for url in (f"/staff/calls/{slug}/notices/", "/staff/awards/", "/staff/outbox/", f"/staff/calls/{slug}/audit/"):
        assert link in client.get(url).content.decode(), url
    # The awards board still leads to the award, from its step.
    assert f'href="/staff/awards/{application.award.pk}/"' in client.get("/staff/awards/").content.decode()


# --- feedback to the organisation ---------------------------------------------------------------


def test_disclosed_comments_appear_only_after_the_notice_and_never_with_names(
    client, staff, django_capture_on_commit_callbacks
):
    application, member, reviewers = reviewed_application(staff)
    client.force_login(member)
    url = f"/applications/{application.pk}/"
    for comment in DISCLOSED:
        assert comment not in client.get(url).content.decode()
    grant_services.decision_record(
        application=application, outcome=ApplicationStatus.NOT_ADOPTED, award_amount=None, decided_by=staff
    )
    assert DISCLOSED[0] not in client.get(url).content.decode()  # decided, but the notice is not out
    with django_capture_on_commit_callbacks(execute=True):
        grant_services.notices_prepare(call=application.call, created_by=staff)
    page = client.get(url).content.decode()
    assert 'data-testid="review-feedback"' in page
    shown = [page.index(comment) for comment in sorted(DISCLOSED)]
    assert shown == sorted(shown)  # in the order of their text, which says nothing of who wrote them
    for hidden in (WITHHELD, TO_STAFF, *[r.full_name for r in reviewers], *[r.email for r in reviewers]):
        assert hidden not in page, hidden


def test_the_not_adopted_notice_prints_the_disclosed_comments_when_the_call_says_so(
    staff, tmp_path, django_capture_on_commit_callbacks
):
    with_comments, _m, reviewers = reviewed_application(staff, disclose_in_notice=True, receipt="N-0001")
    without, _m2, _r2 = reviewed_application(staff, disclose_in_notice=False, receipt="N-0002")
    for application in (with_comments, without):
        grant_services.decision_record(
            application=application, outcome=ApplicationStatus.NOT_ADOPTED, award_amount=None, decided_by=staff
        )
        grant_services.notices_prepare(call=application.call, created_by=staff)
    text = pdf_text(notice_pdf(Notice.objects.get(application=with_comments)), tmp_path)
    assert "不採択" in text and "審査の所見" in text
    for comment in DISCLOSED:
        assert comment in text
    for hidden in (WITHHELD, TO_STAFF, *[r.full_name.replace(" ", "") for r in reviewers]):
        assert hidden not in text
    plain = pdf_text(notice_pdf(Notice.objects.get(application=without)), tmp_path)
    assert "審査の所見" not in plain and DISCLOSED[0] not in plain


def test_an_adoption_notice_never_prints_review_comments(staff, tmp_path, django_capture_on_commit_callbacks):
    application, _m, _r = reviewed_application(staff, disclose_in_notice=True)
    grant_services.decision_record(
        application=application, outcome=ApplicationStatus.ADOPTED, award_amount=300_000, decided_by=staff
    )
    grant_services.notices_prepare(call=application.call, created_by=staff)
    text = pdf_text(notice_pdf(Notice.objects.get(application=application)), tmp_path)
    assert "採択について（通知）" in text and "審査の所見" not in text and DISCLOSED[0] not in text


def test_a_reviewer_marks_the_comment_disclosable_on_the_form(client, staff):
    application, _member, _reviewers = reviewed_application(staff, n_reviews=0)
    reviewer = _user(Role.REVIEWER)
    assignment = review_services.assignment_create(
        application=application, reviewer=reviewer, due_at=None, assigned_by=staff
    )
    review_services.assignment_declare(assignment=assignment, has_conflict=False)
    client.force_login(reviewer)
    data = {f"score_{c.pk}": "4" for c in application.call.criteria.all()}
    data |= {"comment_to_applicant": "地域との連携が明確です。", "disclose_to_applicant": "on", "save": "1"}
    assert client.post(f"/reviews/assignments/{assignment.pk}/", data).status_code == 302
    assignment.review.refresh_from_db()
    assert assignment.review.disclose_to_applicant is True
    page = client.get(f"/reviews/assignments/{assignment.pk}/").content.decode()
    assert 'name="disclose_to_applicant"' in page and "checked" in page
