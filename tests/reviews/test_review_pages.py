"""Review pages: who sees what, conflicts by any URL, the phase rule, ranking and CSV."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Role
from applications.models import Application
from kodoku_portal.paging import PER_PAGE
from reviews import services
from reviews.models import AssignmentStatus, ReviewPhase, ReviewStatus
from tests.factories import UserFactory, enable_totp

from .conftest import make_reviewer, submitted

pytestmark = pytest.mark.django_db


def score_all(assignment, call, value, submit=True):
    services.review_save(
        assignment=assignment,
        scores={c.pk: value for c in call.criteria.all()},
        comment_to_staff="",
        comment_to_applicant="",
        submit=submit,
    )


@pytest.fixture
def pair(reviewing, applications, reviewers, staff):
    """Two reviewers on the same application."""
    a = services.assignment_create(application=applications[0], reviewer=reviewers[0], due_at=None, assigned_by=staff)
    b = services.assignment_create(application=applications[0], reviewer=reviewers[1], due_at=None, assigned_by=staff)
    return a, b


def test_the_reviewer_declares_then_sees_and_scores(client, pair, call):
    assignment, _other = pair
    assignment.application.summary = "非公開の概要"
    assignment.application.save()
    client.force_login(assignment.reviewer)
    home = client.get("/reviews/").content.decode()
    assert assignment.application.title in home
    # Before declaring, the application itself is not shown.
    response = client.get(f"/reviews/assignments/{assignment.pk}/")
    assert response.status_code == 302 and response["Location"].endswith("/declare/")
    declare = client.get(f"/reviews/assignments/{assignment.pk}/declare/").content.decode()
    assert assignment.application.organisation.name in declare
    assert "非公開の概要" not in declare  # the application itself is not shown before the declaration
    client.post(f"/reviews/assignments/{assignment.pk}/declare/", {"has_conflict": "no"})
    page = client.get(f"/reviews/assignments/{assignment.pk}/")
    assert page.status_code == 200
    assert "非公開の概要" in page.content.decode()
    data = {f"score_{c.pk}": "4" for c in call.criteria.all()} | {"comment_to_staff": "堅実", "submit": "1"}
    client.post(f"/reviews/assignments/{assignment.pk}/", data)
    assignment.refresh_from_db()
    assert assignment.review.status == "submitted"


def test_a_conflicted_reviewer_cannot_reach_the_application_by_any_url(client, pair):
    assignment, _other = pair
    client.force_login(assignment.reviewer)
    client.post(f"/reviews/assignments/{assignment.pk}/declare/", {"has_conflict": "yes", "reason": "元職員"})
    assignment.refresh_from_db()
    assert assignment.status == AssignmentStatus.CONFLICT
    for url in (
        f"/reviews/assignments/{assignment.pk}/",
        f"/reviews/assignments/{assignment.pk}/declare/",
    ):
        assert client.get(url).status_code == 404
    assert client.post(f"/reviews/assignments/{assignment.pk}/reopen/").status_code == 404
    assert assignment.application.title not in client.get("/reviews/").content.decode()
    # Nor through the applicant's or staff's pages.
    assert client.get(f"/applications/{assignment.application.pk}/").status_code == 403
    assert client.get(f"/staff/calls/{assignment.application.call.slug}/applications/").status_code == 403


def test_a_reviewer_never_reaches_an_application_not_assigned_to_them(client, pair, applications):
    assignment, other = pair
    stranger = make_reviewer()
    client.force_login(stranger)
    for target in (assignment, other):
        assert client.get(f"/reviews/assignments/{target.pk}/").status_code == 404
        assert client.get(f"/reviews/assignments/{target.pk}/declare/").status_code == 404


def test_other_reviewers_scores_are_hidden_until_staff_share_them(client, pair, call, staff):
    mine, theirs = pair
    for assignment in pair:
        services.assignment_declare(assignment=assignment, has_conflict=False)
    score_all(theirs, call, 1)
    client.force_login(mine.reviewer)
    page = client.get(f"/reviews/assignments/{mine.pk}/").content.decode()
    assert str(theirs.reviewer) not in page
    services.phase_set(call=call, phase=ReviewPhase.SHARED, by=staff)
    page = client.get(f"/reviews/assignments/{mine.pk}/").content.decode()
    assert str(theirs.reviewer) in page


@pytest.mark.parametrize("role", [Role.APPLICANT, Role.REVIEWER])
def test_staff_review_pages_are_for_staff_only(client, call, review_round, role):
    user = UserFactory(role=role)
    enable_totp(user)
    client.force_login(user)
    for url in ("", "assignments/", "ranking/", "ranking/scores.csv"):
        assert client.get(f"/staff/calls/{call.slug}/review/{url}").status_code == 403


def test_staff_assign_automatically_from_the_page(client, call, review_round, applications, reviewers, staff):
    client.force_login(staff)
    response = client.post(
        f"/staff/calls/{call.slug}/review/assignments/auto/", {"auto-reviewers": [r.pk for r in reviewers]}
    )
    assert response.status_code == 302
    assert all(a.assignments.count() == 2 for a in applications)


def ranking_queries(client, call) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(f"/staff/calls/{call.slug}/review/ranking/")
    assert response.status_code == 200
    return len(captured)


def assignment_queries(client, call) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(f"/staff/calls/{call.slug}/review/assignments/")
    assert response.status_code == 200
    return len(captured)


def populate(call, reviewers, staff, start, n):
    applications = submitted(call, n, start=start)
    services.assignments_bulk(applications=applications, reviewers=reviewers[:2], due_at=None, assigned_by=staff)
    for application in applications:
        for assignment in application.assignments.all():
            services.assignment_declare(assignment=assignment, has_conflict=False)
            score_all(assignment, call, (application.pk + assignment.reviewer_id) % 6)


def test_ranking_and_assignment_pages_do_not_grow_in_queries(client, reviewing, reviewers, staff, call):
    """10 applications, then 70: more than a page (PER_PAGE, 50 rows shown) and a second page. Each
    review goes through the services, which refresh the stored ranking, so a larger round only
    makes the test slower (it took 2.5 minutes on PostgreSQL at 300); bench/pages.py measures 10,000."""
    client.force_login(staff)
    populate(call, reviewers, staff, 1, 10)
    small_ranking, small_assignments = ranking_queries(client, call), assignment_queries(client, call)
    populate(call, reviewers, staff, 11, 60)
    assert Application.objects.filter(call=call).count() > PER_PAGE
    shown = client.get(f"/staff/calls/{call.slug}/review/ranking/").content.decode()
    assert shown.count('data-testid="ranking-row"') == PER_PAGE
    assert ranking_queries(client, call) == small_ranking
    assert assignment_queries(client, call) == small_assignments


def test_ranking_shows_both_scores_and_which_is_used(client, reviewing, reviewers, staff, call, review_round):
    populate(call, reviewers, staff, 1, 3)
    client.force_login(staff)
    page = client.get(f"/staff/calls/{call.slug}/review/ranking/").content.decode()
    assert 'data-testid="ranking-basis"' in page
    assert page.count('data-testid="ranking-row"') == 3
    services.round_configure(call=call, reviewers_per_application=2, use_calibration=True, default_due_at=None)
    calibrated = client.get(f"/staff/calls/{call.slug}/review/ranking/").content.decode()
    assert calibrated != page


def test_ranking_filters_by_prefecture_and_theme(client, reviewing, reviewers, staff, call):
    populate(call, reviewers, staff, 1, 6)
    client.force_login(staff)
    page = client.get(f"/staff/calls/{call.slug}/review/ranking/?prefecture=27").content.decode()
    assert page.count('data-testid="ranking-row"') == 3
    theme = call.themes.get(number=1)
    page = client.get(f"/staff/calls/{call.slug}/review/ranking/?theme={theme.pk}").content.decode()
    assert page.count('data-testid="ranking-row"') == 3


def test_scores_csv_has_a_bom_and_a_row_per_review(client, reviewing, reviewers, staff, call):
    populate(call, reviewers, staff, 1, 3)
    client.force_login(staff)
    response = client.get(f"/staff/calls/{call.slug}/review/ranking/scores.csv")
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff")
    lines = [line for line in body.lstrip("\ufeff").splitlines() if line]
    assert len(lines) == 1 + 3 * 2
    assert "先駆性" in lines[0]


def test_the_scores_csv_cannot_carry_a_formula(client, reviewing, reviewers, staff, call):
    applications = submitted(call, 1, title='=HYPERLINK("http://evil.example")')
    services.assignments_bulk(applications=applications, reviewers=reviewers[:1], due_at=None, assigned_by=staff)
    assignment = applications[0].assignments.get()
    services.assignment_declare(assignment=assignment, has_conflict=False)
    score_all(assignment, call, 3)
    client.force_login(staff)
    body = b"".join(client.get(f"/staff/calls/{call.slug}/review/ranking/scores.csv").streaming_content).decode()
    assert "'=HYPERLINK" in body
    assert ",=HYPERLINK" not in body


def test_a_refused_submission_keeps_the_scores_as_a_draft_and_says_why(client, pair, call):
    assignment, _other = pair
    services.assignment_declare(assignment=assignment, has_conflict=False)
    client.force_login(assignment.reviewer)
    first = call.criteria.order_by("order").first()
    response = client.post(
        f"/reviews/assignments/{assignment.pk}/",
        {f"score_{first.pk}": "3", "comment_to_staff": "途中", "submit": "1"},
        follow=True,
    )
    assert response.redirect_chain == [(f"/reviews/assignments/{assignment.pk}/", 302)]
    assert [m.tags for m in response.context["messages"]] == ["error"]
    assignment.refresh_from_db()
    assert assignment.review.status == ReviewStatus.DRAFT
    assert assignment.review.comment_to_staff == "途中"
    assert list(assignment.review.scores.values_list("criterion_id", "value")) == [(first.pk, 3)]


def test_reopening_after_the_lock_is_refused_with_a_message(client, pair, call, staff):
    assignment, _other = pair
    services.assignment_declare(assignment=assignment, has_conflict=False)
    score_all(assignment, call, 4)
    services.phase_set(call=call, phase=ReviewPhase.LOCKED, by=staff)
    client.force_login(assignment.reviewer)
    response = client.post(f"/reviews/assignments/{assignment.pk}/reopen/", follow=True)
    assert response.redirect_chain == [(f"/reviews/assignments/{assignment.pk}/", 302)]
    assert [m.tags for m in response.context["messages"]] == ["error"]
    assignment.refresh_from_db()
    assert assignment.review.status == ReviewStatus.SUBMITTED
    assert "reopen/" not in response.content.decode()  # can_review is false: no reopen button


def test_an_unknown_phase_is_refused_with_a_message(client, call, review_round, staff):
    client.force_login(staff)
    response = client.post(f"/staff/calls/{call.slug}/review/phase/", {"phase": "closed"}, follow=True)
    assert response.redirect_chain == [(f"/staff/calls/{call.slug}/review/", 302)]
    assert [m.tags for m in response.context["messages"]] == ["error"]
    review_round.refresh_from_db()
    assert review_round.phase == ReviewPhase.SETUP
