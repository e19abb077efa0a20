"""The pages of a two-stage review: role × page for the new URLs, the staff flow through the forms,
the slot on the organisation's page (its own only) and the reviewer's interview assignments."""

import pytest
from django.urls import reverse

from accounts.models import Role
from applications.models import Membership
from reviews import services, stages
from reviews.models import Assignment, AssignmentStatus, ReviewPhase, ReviewStage, Shortlisting
from tests.factories import OrganisationFactory, UserFactory, enable_totp

from .conftest import make_reviewer
from .test_stages import SLOT_AT, documents_scored, two_stage  # noqa: F401  (fixtures)

pytestmark = pytest.mark.django_db

INTERVIEW = ReviewStage.INTERVIEW


def login(client, role, totp=True):
    user = UserFactory(role=role)
    if totp:
        enable_totp(user)
    client.force_login(user)
    return user


def staff_urls(call, application):
    slug = call.slug
    return {
        "get": [
            reverse("review_staff:interview", args=[slug]),
            reverse("review_staff:interview_settings", args=[slug]),
        ],
        "post": [
            reverse("review_staff:interview_phase", args=[slug]),
            reverse("review_staff:shortlist_top", args=[slug]),
            reverse("review_staff:shortlist_set", args=[slug]),
            reverse("review_staff:interview_slot", args=[slug, application.pk]),
            reverse("review_staff:interview_assign_auto", args=[slug]),
            reverse("review_staff:interview_assign_manual", args=[slug]),
        ],
    }


@pytest.mark.parametrize("role", [Role.APPLICANT, Role.REVIEWER])
def test_the_interview_pages_are_for_staff_only(client, documents_scored, two_stage, role):  # noqa: F811
    login(client, role)
    urls = staff_urls(two_stage, documents_scored[0])
    for url in urls["get"]:
        assert client.get(url).status_code == 403
    for url in urls["post"]:
        assert client.post(url).status_code == 403


def test_anonymous_visitors_are_sent_to_log_in(client, documents_scored, two_stage):  # noqa: F811
    urls = staff_urls(two_stage, documents_scored[0])
    for url in urls["get"] + urls["post"]:
        response = client.post(url) if url in urls["post"] else client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("account_login"))


@pytest.mark.parametrize("role", [Role.STAFF, Role.ADMINISTRATOR])
def test_staff_and_administrators_open_the_interview_pages(client, documents_scored, two_stage, role):  # noqa: F811
    login(client, role)
    for url in staff_urls(two_stage, documents_scored[0])["get"]:
        assert client.get(url).status_code == 200


def test_a_one_stage_call_has_no_interview_pages(client, call, review_round, staff):
    client.force_login(staff)
    assert client.get(reverse("review_staff:interview", args=[call.slug])).status_code == 404
    assert client.get(reverse("review_staff:interview_settings", args=[call.slug])).status_code == 404


def test_staff_shortlist_schedule_and_assign_through_the_page(client, documents_scored, two_stage, staff):  # noqa: F811
    a, b, c, _d = documents_scored
    client.force_login(staff)
    page = reverse("review_staff:interview", args=[two_stage.slug])
    assert client.post(reverse("review_staff:shortlist_top", args=[two_stage.slug]), {"top-n": "2"}).status_code == 302
    assert set(Shortlisting.objects.values_list("application_id", flat=True)) == {a.pk, b.pk}
    client.post(reverse("review_staff:shortlist_set", args=[two_stage.slug]), {"application": [a.pk, c.pk]})
    assert set(Shortlisting.objects.values_list("application_id", flat=True)) == {a.pk, c.pk}
    response = client.post(
        reverse("review_staff:interview_slot", args=[two_stage.slug, a.pk]),
        {f"s{a.pk}-starts_at": "2025-05-30T14:00", f"s{a.pk}-duration_minutes": "30", f"s{a.pk}-place": "会議室A"},
    )
    assert response.status_code == 302
    reviewer = make_reviewer()
    client.post(
        reverse("review_staff:interview_assign_manual", args=[two_stage.slug]),
        {"application": a.pk, "reviewer": reviewer.pk},
    )
    assert Assignment.objects.filter(application=a, reviewer=reviewer, stage=INTERVIEW).exists()
    content = client.get(page).content.decode()
    assert "2025年5月30日（金）14:00" in content
    assert "会議室A" in content
    client.post(reverse("review_staff:interview_phase", args=[two_stage.slug]), {"phase": ReviewPhase.REVIEWING})
    assert services.review_round_for(call=two_stage, stage=INTERVIEW).phase == ReviewPhase.REVIEWING


def test_the_organisation_sees_its_slot_and_another_organisation_cannot(client, documents_scored, two_stage, staff):  # noqa: F811
    a = documents_scored[0]
    stages.shortlist_top(call=two_stage, n=1, by=staff)
    stages.slot_schedule(application=a, starts_at=SLOT_AT, duration_minutes=45, place="中央合同庁舎8号館", by=staff)
    member = login(client, Role.APPLICANT, totp=False)
    Membership.objects.create(organisation=a.organisation, user=member, role="editor")
    content = client.get(reverse("applications:detail", args=[a.pk])).content.decode()
    assert "2025年5月30日（金）14:00" in content
    assert "中央合同庁舎8号館" in content

    stranger = login(client, Role.APPLICANT, totp=False)
    Membership.objects.create(organisation=OrganisationFactory(), user=stranger, role="editor")
    assert client.get(reverse("applications:detail", args=[a.pk])).status_code == 404
    # Their own application, not shortlisted, shows no slot.
    b = documents_scored[1]
    Membership.objects.create(organisation=b.organisation, user=stranger, role="editor")
    content = client.get(reverse("applications:detail", args=[b.pk])).content.decode()
    assert "applicant-interview" not in content


def test_reviewers_see_only_their_interview_assignments(client, documents_scored, two_stage, staff):  # noqa: F811
    a, b = documents_scored[:2]
    stages.shortlist_top(call=two_stage, n=2, by=staff)
    services.phase_set(call=two_stage, phase=ReviewPhase.REVIEWING, by=staff, stage=INTERVIEW)
    assigned, unassigned, conflicted = make_reviewer(), make_reviewer(), make_reviewer()
    mine = services.assignment_create(application=a, reviewer=assigned, due_at=None, assigned_by=staff, stage=INTERVIEW)
    returned = services.assignment_create(
        application=b, reviewer=conflicted, due_at=None, assigned_by=staff, stage=INTERVIEW
    )
    services.assignment_declare(assignment=returned, has_conflict=True, reason="役員")
    assert Assignment.objects.get(pk=returned.pk).status == AssignmentStatus.CONFLICT

    client.force_login(assigned)
    home = client.get(reverse("reviews:home")).content.decode()
    assert "interview-badge" in home
    assert client.get(reverse("reviews:declare", args=[mine.pk])).status_code == 200
    services.assignment_declare(assignment=mine, has_conflict=False)
    page = client.get(reverse("reviews:assignment", args=[mine.pk])).content.decode()
    assert "事業の理解・熱意" not in page  # the two_stage fixture's rubric, not the default one
    assert 'data-testid="stage"' in page
    assert client.get(reverse("reviews:assignment", args=[returned.pk])).status_code == 404

    client.force_login(unassigned)
    assert client.get(reverse("reviews:assignment", args=[mine.pk])).status_code == 404
    assert client.get(reverse("reviews:declare", args=[mine.pk])).status_code == 404

    client.force_login(conflicted)
    assert client.get(reverse("reviews:assignment", args=[returned.pk])).status_code == 404
    assert client.get(reverse("reviews:declare", args=[returned.pk])).status_code == 404


def test_the_staff_stages_include_shows_shortlist_slot_and_scores(documents_scored, two_stage, staff):  # noqa: F811
    from django.template.loader import render_to_string

    a = documents_scored[0]
    stages.shortlist_top(call=two_stage, n=1, by=staff)
    stages.slot_schedule(application=a, starts_at=SLOT_AT, duration_minutes=30, place="会議室", by=staff)
    html = render_to_string("reviews/staff/_stages.html", {"application": a})
    assert "review-stages" in html
    assert "2025年5月30日（金）14:00" in html
    html = render_to_string("reviews/staff/_stages.html", {"application": documents_scored[3]})
    assert "review-stages" in html and "interview-slot" not in html


def test_the_interview_page_does_not_grow_in_queries(client, documents_scored, two_stage, staff):  # noqa: F811
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(staff)
    url = reverse("review_staff:interview", args=[two_stage.slug])
    reviewer = make_reviewer()

    def shortlist(n):
        stages.shortlist_top(call=two_stage, n=n, by=staff)
        for application in documents_scored[:n]:
            stages.slot_schedule(application=application, starts_at=SLOT_AT, duration_minutes=30, place="A", by=staff)
            if not Assignment.objects.filter(application=application, stage=INTERVIEW).exists():
                services.assignment_create(
                    application=application, reviewer=reviewer, due_at=None, assigned_by=staff, stage=INTERVIEW
                )
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        return len(queries)

    assert shortlist(1) == shortlist(3)
