"""Issue 11, item 1: reviewers with an accepted, conflict-free assignment and staff open an
application's attachments in the browser; everyone else is told "not found"; every opening is
audited. Also the role × page matrix of the staff page of an application (item 2)."""

from urllib.parse import urlsplit

import pytest
from django.urls import reverse
from django.utils import translation

from accounts.models import Role
from applications.models import Attachment, MemberRole, Membership
from kodoku_portal.audit import describe
from kodoku_portal.models import AuditEntry
from reviews import services
from tests.factories import MINIMAL_PDF, AttachmentFactory, UserFactory, enable_totp

from .conftest import make_reviewer, submitted

pytestmark = pytest.mark.django_db

DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
OK, LOGIN, NOT_FOUND = "ok", "login", "not found"


@pytest.fixture(autouse=True)
def _private_files(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "private"


@pytest.fixture
def case(call, reviewing, staff):
    """One submitted application with a PDF and a Word file, and a reviewer in every situation."""
    application, other_application = submitted(call, 2)
    pdf = AttachmentFactory(application=application, original_name="定款.pdf")
    docx = AttachmentFactory(
        application=application, original_name="事業計画書.docx", file_type="docx", kind="other", file__data=b"PK.."
    )
    other_file = AttachmentFactory(application=other_application, original_name="他の団体の定款.pdf")
    people = {
        "assigned": make_reviewer(),
        "conflicted": make_reviewer(),
        "returned": make_reviewer(),
        "pending": make_reviewer(),
        "unassigned": make_reviewer(),
    }
    assignments = {
        name: services.assignment_create(application=application, reviewer=people[name], due_at=None, assigned_by=staff)
        for name in ("assigned", "conflicted", "returned", "pending")
    }
    services.assignment_declare(assignment=assignments["assigned"], has_conflict=False)
    services.assignment_declare(assignment=assignments["conflicted"], has_conflict=True, reason="理事")
    services.assignment_declare(assignment=assignments["returned"], has_conflict=False)
    services.conflict_declare(
        reviewer=people["returned"], organisation=application.organisation, reason="元職員", by=staff
    )
    # The unassigned reviewer holds an accepted assignment, but on the other application.
    elsewhere = services.assignment_create(
        application=other_application, reviewer=people["unassigned"], due_at=None, assigned_by=staff
    )
    services.assignment_declare(assignment=elsewhere, has_conflict=False)
    member = UserFactory(role=Role.APPLICANT)
    Membership.objects.create(organisation=application.organisation, user=member, role=MemberRole.OWNER)
    administrator = UserFactory(role=Role.ADMINISTRATOR)
    enable_totp(administrator)
    people |= {
        "staff": staff,
        "administrator": administrator,
        "applicant_itself": member,
        "other_applicant": UserFactory(role=Role.APPLICANT),
        "anonymous": None,
    }
    return {
        "application": application,
        "pdf": pdf,
        "docx": docx,
        "other_file": other_file,
        "people": people,
        "assignments": assignments | {"elsewhere": elsewhere},
    }


def fetch(client, url: str):
    """GET ``url``, its file (if any) read to the end, which closes it (the test client closes a
    streamed response once its content is consumed; closing it again would end the request twice)."""
    response = client.get(url)
    if response.streaming:
        response.content_bytes = b"".join(response.streaming_content)
    return response


def outcome(client, url: str) -> str:
    response = fetch(client, url)
    if response.status_code == 200:
        return OK
    if response.status_code == 404:
        return NOT_FOUND
    assert response.status_code == 302, (url, response.status_code)
    assert urlsplit(response["Location"]).path == reverse("account_login"), response["Location"]
    return LOGIN


def log_in(client, user):
    client.logout()
    if user is not None:
        client.force_login(user)


# Each reviewer tries their own assignment's URL; the unassigned one (and every other role) tries
# the URL of the assigned reviewer's assignment.
REVIEWER_URL = {
    "assigned": OK,
    "conflicted": NOT_FOUND,
    "returned": NOT_FOUND,
    "pending": NOT_FOUND,
    "unassigned": NOT_FOUND,
    "staff": NOT_FOUND,
    "administrator": NOT_FOUND,
    "applicant_itself": NOT_FOUND,
    "other_applicant": NOT_FOUND,
    "anonymous": LOGIN,
}
STAFF_URL = dict.fromkeys(REVIEWER_URL, NOT_FOUND) | {"staff": OK, "administrator": OK, "anonymous": LOGIN}


@pytest.mark.parametrize("who", list(REVIEWER_URL))
def test_reviewer_attachment_url_matrix(client, case, who):
    own = case["assignments"].get(who, case["assignments"]["assigned"])
    log_in(client, case["people"][who])
    for attachment in (case["pdf"], case["docx"]):
        assert outcome(client, f"/reviews/assignments/{own.pk}/attachments/{attachment.pk}/") == REVIEWER_URL[who]


@pytest.mark.parametrize("who", list(STAFF_URL))
@pytest.mark.parametrize("page", ["/staff/applications/{app}/", "/staff/applications/{app}/attachments/{file}/"])
def test_staff_application_urls_matrix(client, case, who, page):
    log_in(client, case["people"][who])
    url = page.format(app=case["application"].pk, file=case["pdf"].pk)
    assert outcome(client, url) == STAFF_URL[who]


def test_an_attachment_of_another_application_is_not_found_through_an_assignment(client, case):
    log_in(client, case["people"]["assigned"])
    assignment = case["assignments"]["assigned"]
    url = f"/reviews/assignments/{assignment.pk}/attachments/{case['other_file'].pk}/"
    assert fetch(client, url).status_code == 404
    # Nor through another reviewer's assignment to the same application.
    others = case["assignments"]["pending"]
    assert fetch(client, f"/reviews/assignments/{others.pk}/attachments/{case['pdf'].pk}/").status_code == 404
    log_in(client, case["people"]["staff"])
    url = f"/staff/applications/{case['application'].pk}/attachments/{case['other_file'].pk}/"
    assert fetch(client, url).status_code == 404


def test_a_pdf_opens_in_the_browser_with_restrictive_headers_and_office_files_download(client, case):
    log_in(client, case["people"]["assigned"])
    assignment = case["assignments"]["assigned"]
    pdf = fetch(client, f"/reviews/assignments/{assignment.pk}/attachments/{case['pdf'].pk}/")
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf["Content-Disposition"].startswith("inline;")
    assert pdf["X-Content-Type-Options"] == "nosniff"
    csp = pdf["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp and "script-src" not in csp
    assert "sandbox" not in csp  # Chrome refuses to draw a PDF in a sandboxed document
    assert pdf.content_bytes == MINIMAL_PDF
    docx = fetch(client, f"/reviews/assignments/{assignment.pk}/attachments/{case['docx'].pk}/")
    assert docx["Content-Type"] == DOCX_MIME
    assert docx["Content-Disposition"].startswith("attachment;")
    assert docx["X-Content-Type-Options"] == "nosniff"
    log_in(client, case["people"]["staff"])
    staff_pdf = fetch(client, f"/staff/applications/{case['application'].pk}/attachments/{case['pdf'].pk}/")
    assert staff_pdf["Content-Disposition"].startswith("inline;")
    # The organisation's own members still download their files, with the same protective headers.
    log_in(client, case["people"]["applicant_itself"])
    own = fetch(client, f"/applications/{case['application'].pk}/attachments/{case['pdf'].pk}/")
    assert own["Content-Disposition"].startswith("attachment;")
    assert own["X-Content-Type-Options"] == "nosniff"


def test_every_opening_is_audited_with_who_which_file_and_when(client, case):
    application, pdf = case["application"], case["pdf"]
    reviewer, staff = case["people"]["assigned"], case["people"]["staff"]
    assignment = case["assignments"]["assigned"]
    opened = AuditEntry.objects.filter(action="attachment_opened")
    log_in(client, reviewer)
    for _ in range(2):
        fetch(client, f"/reviews/assignments/{assignment.pk}/attachments/{pdf.pk}/")
    log_in(client, staff)
    fetch(client, f"/staff/applications/{application.pk}/attachments/{case['docx'].pk}/")
    # Refused openings are not openings.
    log_in(client, case["people"]["unassigned"])
    fetch(client, f"/reviews/assignments/{assignment.pk}/attachments/{pdf.pk}/")
    entries = list(opened.order_by("id"))
    assert [(e.actor, e.object_type, e.object_id) for e in entries] == [
        (reviewer, "applications.Attachment", str(pdf.pk)),
        (reviewer, "applications.Attachment", str(pdf.pk)),
        (staff, "applications.Attachment", str(case["docx"].pk)),
    ]
    assert all(e.call_id == application.call_id and e.created_at for e in entries)
    assert entries[0].after == {"file": "定款.pdf", "kind": "articles", "role": "reviewer"}
    assert entries[0].object_repr == f"{application.receipt_number}: 定款.pdf"
    with translation.override("en"):
        assert describe(entries[2]) == (
            f"{staff.email} opened the attachment {application.receipt_number}: 事業計画書.docx"
        )


def test_a_conflict_recorded_by_staff_takes_the_files_away_at_once(client, case, staff):
    reviewer = case["people"]["assigned"]
    assignment = case["assignments"]["assigned"]
    url = f"/reviews/assignments/{assignment.pk}/attachments/{case['pdf'].pk}/"
    log_in(client, reviewer)
    assert fetch(client, url).status_code == 200
    services.conflict_declare(reviewer=reviewer, organisation=case["application"].organisation, by=staff)
    assert fetch(client, url).status_code == 404


def test_reviewers_see_the_attachments_beside_the_scoring_form(client, case):
    reviewer = case["people"]["assigned"]
    assignment = case["assignments"]["assigned"]
    log_in(client, reviewer)
    page = client.get(f"/reviews/assignments/{assignment.pk}/").content.decode()
    assert f'href="/reviews/assignments/{assignment.pk}/attachments/{case["pdf"].pk}/"' in page
    assert f'href="/reviews/assignments/{assignment.pk}/attachments/{case["docx"].pk}/"' in page
    assert page.index('data-testid="attachment-list"') < page.index('name="submit"')
    assert 'class="col-lg-7"' in page and 'class="col-lg-5"' in page  # two columns from lg, stacked below


@pytest.mark.parametrize("scan_status", ["pending", "error", "quarantined"])
def test_a_file_the_virus_check_has_not_cleared_is_not_opened_by_reviewers_or_staff(client, case, scan_status):
    """Issue 13's scan: only a clean (or unscanned) file is served to reviewers and staff."""
    Attachment.objects.filter(pk=case["pdf"].pk).update(scan_status=scan_status)
    reviewer_url = f"/reviews/assignments/{case['assignments']['assigned'].pk}/attachments/{case['pdf'].pk}/"
    staff_url = f"/staff/applications/{case['application'].pk}/attachments/{case['pdf'].pk}/"
    log_in(client, case["people"]["assigned"])
    assert fetch(client, reviewer_url).status_code == 404
    log_in(client, case["people"]["staff"])
    assert fetch(client, staff_url).status_code == 404
    Attachment.objects.filter(pk=case["pdf"].pk).update(scan_status="clean")
    assert fetch(client, staff_url).status_code == 200
