"""Decision, notice, award and publication pages: who may use them, and what they do."""

import pytest

from accounts.models import Role
from applications.models import ApplicationStatus, MemberRole, Membership
from grants import services
from grants.models import Award
from kodoku_portal.workflow import Refused
from tests.factories import ApplicationFactory, CallFactory, OrganisationFactory, UserFactory, enable_totp

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _private(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def staff(db):
    user = UserFactory(role=Role.STAFF)
    enable_totp(user)
    return user


@pytest.fixture
def decided(staff, django_capture_on_commit_callbacks):
    """An adopted application whose notice was sent, with a member of its organisation."""
    call = CallFactory(cap_amount=2_000_000, budget_total=10_000_000)
    organisation = OrganisationFactory(email="office@example.jp")
    member = UserFactory(role=Role.APPLICANT)
    Membership.objects.create(organisation=organisation, user=member, role=MemberRole.OWNER)
    application = ApplicationFactory(
        call=call,
        organisation=organisation,
        status=ApplicationStatus.SUBMITTED,
        receipt_number="D-0001",
        requested_amount=1_500_000,
        summary="多世代の居場所",
    )
    services.decision_record(
        application=application, outcome=ApplicationStatus.ADOPTED, award_amount=1_500_000, decided_by=staff
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.notices_prepare(call=call, created_by=staff)
    return application, member


def test_staff_decide_from_the_page(client, staff):
    call = CallFactory(cap_amount=2_000_000, budget_total=3_000_000)
    application = ApplicationFactory(
        call=call, status=ApplicationStatus.SUBMITTED, receipt_number="P-0001", requested_amount=1_200_000
    )
    client.force_login(staff)
    assert client.get(f"/staff/calls/{call.slug}/decisions/").status_code == 200
    client.post(
        f"/staff/calls/{call.slug}/decisions/decide/",
        {
            "application": application.pk,
            f"d{application.pk}-application": application.pk,
            f"d{application.pk}-outcome": "adopted",
            f"d{application.pk}-award_amount": "１，２００，０００",
        },
    )
    application.refresh_from_db()
    assert application.status == ApplicationStatus.ADOPTED
    assert application.decision.award_amount == 1_200_000
    page = client.get(f"/staff/calls/{call.slug}/decisions/").content.decode()
    assert "1,800,000円" in page  # left of the budget


def test_the_proposal_page_suggests_and_staff_accept(client, staff):
    from reviews import services as review_services
    from reviews.models import ReviewPhase

    call = CallFactory(cap_amount=2_000_000, budget_total=2_000_000)
    review_services.review_round_for(call=call)
    review_services.phase_set(call=call, phase=ReviewPhase.REVIEWING, by=staff)
    reviewer = UserFactory(role=Role.REVIEWER)
    applications = []
    for i, amount in enumerate((1_500_000, 1_000_000, 500_000), start=1):
        application = ApplicationFactory(
            call=call, status=ApplicationStatus.SUBMITTED, receipt_number=f"Q-{i:04d}", requested_amount=amount
        )
        assignment = review_services.assignment_create(
            application=application, reviewer=reviewer, due_at=None, assigned_by=staff
        )
        review_services.assignment_declare(assignment=assignment, has_conflict=False)
        review_services.review_save(
            assignment=assignment,
            scores={c.pk: 5 - i for c in call.criteria.all()},
            comment_to_staff="",
            comment_to_applicant="",
            submit=True,
        )
        applications.append(application)
    client.force_login(staff)
    page = client.get(f"/staff/calls/{call.slug}/decisions/?propose=1").content.decode()
    assert f'value="{applications[0].pk}" checked' in page
    assert f'value="{applications[2].pk}" checked' in page
    assert f'value="{applications[1].pk}" checked' not in page  # 1.5M + 1.0M would exceed 2.0M
    client.post(
        f"/staff/calls/{call.slug}/decisions/proposal/", {"application": [applications[0].pk, applications[2].pk]}
    )
    statuses = [a.__class__.objects.get(pk=a.pk).status for a in applications]
    assert statuses == [ApplicationStatus.ADOPTED, ApplicationStatus.SUBMITTED, ApplicationStatus.ADOPTED]


def test_others_cannot_reach_the_notice_or_the_award(client, decided):
    application, _member = decided
    outsider = UserFactory(role=Role.APPLICANT)
    client.force_login(outsider)
    assert client.get(f"/applications/{application.pk}/notice.pdf").status_code == 404
    assert client.get(f"/applications/{application.pk}/award/").status_code == 404
    reviewer = UserFactory(role=Role.REVIEWER)
    enable_totp(reviewer)
    client.force_login(reviewer)
    assert client.get(f"/applications/{application.pk}/notice.pdf").status_code == 403


@pytest.mark.parametrize("role", [Role.APPLICANT, Role.REVIEWER])
def test_staff_pages_are_for_staff(client, decided, role):
    application, _member = decided
    user = UserFactory(role=role)
    enable_totp(user)
    client.force_login(user)
    slug = application.call.slug
    award = Award.objects.get(application=application)
    for url in (
        f"/staff/calls/{slug}/decisions/",
        f"/staff/calls/{slug}/notices/",
        f"/staff/calls/{slug}/notices/progress/",
        f"/staff/calls/{slug}/audit/",
        "/staff/awards/",
        f"/staff/awards/{award.pk}/",
        "/staff/outbox/",
        "/staff/reminders/",
    ):
        assert client.get(url).status_code == 403, url


def test_staff_see_progress_awards_and_the_audit_trail(client, decided, staff):
    application, _member = decided
    client.force_login(staff)
    slug = application.call.slug
    assert client.get(f"/staff/calls/{slug}/notices/progress/").json() == {
        "total": 1,
        "sent": 1,
        "failed": 0,
        "percent": 100,
    }
    assert 'data-testid="award-row"' in client.get("/staff/awards/").content.decode()
    page = client.get(f"/staff/calls/{slug}/audit/").content.decode()
    # The decision, the notices made, and the decision disclosed to the organisation once e-mailed.
    assert staff.email in page and page.count('data-testid="audit-row"') == 3


def test_the_public_list_appears_only_when_published(client, decided, staff):
    application, _member = decided
    call = application.call
    assert client.get(f"/calls/{call.slug}/adopted/").status_code == 404
    services.adoptions_publish(call=call, publish=True, by=staff)
    page = client.get(f"/calls/{call.slug}/adopted/").content.decode()
    assert "多世代の居場所" in page and page.count('data-testid="adopted-row"') == 1
    services.adoptions_publish(call=call, publish=False, by=staff)
    assert client.get(f"/calls/{call.slug}/adopted/").status_code == 404


def test_staff_download_the_adoption_list(client, decided, staff):
    import io

    from openpyxl import load_workbook

    application, _member = decided
    client.force_login(staff)
    slug = application.call.slug
    csv_body = b"".join(client.get(f"/staff/calls/{slug}/adoptions.csv").streaming_content).decode("utf-8")
    assert csv_body.startswith("\ufeff団体名（所在都道府県）")
    assert "1500000" in csv_body
    response = client.get(f"/staff/calls/{slug}/adoptions.xlsx")
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "団体名（所在都道府県）"
    assert rows[1][4] == 1_500_000
    assert client.get(f"/staff/calls/{slug}/adoptions.pdf").status_code == 404
    client.force_login(_member)
    assert client.get(f"/staff/calls/{slug}/adoptions.csv").status_code == 403


def _queries(client, url) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_decision_and_award_pages_do_not_grow_in_queries(client, staff, django_capture_on_commit_callbacks):
    call = CallFactory(cap_amount=2_000_000, budget_total=None)

    def add(start, n):
        for i in range(start, start + n):
            application = ApplicationFactory(
                call=call, status=ApplicationStatus.SUBMITTED, receipt_number=f"Z-{i:04d}", requested_amount=1_000_000
            )
            services.decision_record(
                application=application, outcome=ApplicationStatus.ADOPTED, award_amount=1_000_000, decided_by=staff
            )
        with django_capture_on_commit_callbacks(execute=True):
            services.notices_prepare(call=call, created_by=staff)

    client.force_login(staff)
    add(1, 3)
    urls = [f"/staff/calls/{call.slug}/decisions/", f"/staff/calls/{call.slug}/notices/", "/staff/awards/"]
    for url in urls:  # the first visit creates the call's review round and rubric
        client.get(url)
    small = [_queries(client, url) for url in urls]
    add(4, 20)
    assert [_queries(client, url) for url in urls] == small


def test_applicants_see_a_decision_only_once_notified(client, staff):
    call = CallFactory(cap_amount=2_000_000, budget_total=None)
    organisation = OrganisationFactory()
    member = UserFactory(role=Role.APPLICANT)
    Membership.objects.create(organisation=organisation, user=member, role=MemberRole.OWNER)
    application = ApplicationFactory(
        call=call,
        organisation=organisation,
        status=ApplicationStatus.SUBMITTED,
        receipt_number="H-0001",
        requested_amount=1_000_000,
    )
    services.decision_record(
        application=application, outcome=ApplicationStatus.RESERVE, award_amount=None, decided_by=staff
    )
    client.force_login(member)
    page = client.get("/applications/").content.decode()
    assert "補欠" not in page and "提出済" in page
    services.decision_record(
        application=application, outcome=ApplicationStatus.ADOPTED, award_amount=1_000_000, decided_by=staff
    )
    with pytest.raises(Refused) as refused:  # nor is an unnotified adoption published
        services.adoptions_publish(call=call, publish=True, by=staff)
    assert refused.value.code == "unnotified"


def test_imported_adoptions_without_a_decision_get_notices(client, staff, django_capture_on_commit_callbacks):
    from applications.services import application_import_decided
    from grants.models import Notice

    call = CallFactory(opens_at=None, closes_at=None, closed_manually=True)
    application_import_decided(
        call=call,
        organisation=OrganisationFactory(email="past@example.jp"),
        title="事業",
        summary="概要",
        area_prefectures=[],
        area_nationwide=True,
        submitted_at=None,
        outcome=ApplicationStatus.ADOPTED,
    )
    client.force_login(staff)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/staff/calls/{call.slug}/notices/send/", {"confirm": "1"})
    assert response.status_code == 302
    assert Notice.objects.filter(application__call=call).count() == 1


def test_the_demos_r6_ninaite_gets_no_notice_from_the_portal(client, staff, django_capture_on_commit_callbacks):
    """Its notices are recorded as sent outside the portal (nc-record): sending makes none."""
    from grants.demo.loader import seed_demo
    from grants.models import Notice

    seed_demo()
    client.force_login(staff)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/staff/calls/r6-ninaite/notices/send/", {"confirm": "1"})
    assert response.status_code == 302
    assert not Notice.objects.filter(application__call__slug="r6-ninaite").exists()


def test_bad_ids_in_staff_forms_are_not_found(client, staff):
    call = CallFactory()
    client.force_login(staff)
    assert client.post(f"/staff/calls/{call.slug}/decisions/decide/", {"application": "abc"}).status_code == 404
    assert (
        client.post(f"/staff/calls/{call.slug}/review/conflicts/", {"reviewer": "x", "organisation": "y"}).status_code
        == 404
    )
