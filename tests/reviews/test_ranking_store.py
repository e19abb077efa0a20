"""The stored ranking (reviews/ranking_store.py): refreshed in the transaction of every change of
its inputs, equal to the exact implementation (reviews/ranking_exact.py) over the scores after
each change, read by the pages without recomputing; the migration fills it for existing rounds."""

import io
import random
import re
import statistics
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.template.defaultfilters import floatformat
from django.test.utils import CaptureQueriesContext

from reviews import ranking, ranking_exact, ranking_store, selectors, services
from reviews.models import (
    Assignment,
    AssignmentStatus,
    RankedApplication,
    RankingPanel,
    Review,
    ReviewerStanding,
    ReviewPhase,
    ReviewStage,
    ReviewStatus,
)
from reviews.services import CriterionInput

from .conftest import make_reviewer, submitted

pytestmark = pytest.mark.django_db

DOCUMENT = ReviewStage.DOCUMENT


def oracle(call, stage=DOCUMENT):
    """What the exact implementation makes of the scores as they are now: per application
    (n_assigned, n_done, n_reviews, mean, spread, calibrated mean), per reviewer their line, and
    the panel (n, mean, spread)."""
    criteria = [ranking_exact.Criterion(c.pk, c.max_score, c.weight) for c in selectors.criteria_of(call, stage)]
    reviews = [
        ranking_exact.ReviewScores(r.application_id, r.reviewer_id, r.scores)
        for r in selectors.submitted_scores(call, stage)
        if len(r.scores) == len(criteria)
    ]
    lines = {line.application_id: line for line in ranking_exact.rank(criteria, reviews, calibrate=True)}
    totals = [(r.application_id, r.reviewer_id, ranking_exact.weighted_total(criteria, r.scores)) for r in reviews]
    live = Assignment.objects.filter(application__call=call, stage=stage).exclude(status=AssignmentStatus.CONFLICT)
    counted = live.filter(status=AssignmentStatus.ACCEPTED, review__status=ReviewStatus.SUBMITTED)
    applications = {}
    for application_id in set(live.values_list("application_id", flat=True)):
        line = lines.get(application_id)
        applications[application_id] = (
            live.filter(application_id=application_id).count(),
            counted.filter(application_id=application_id).count(),
            *((line.n_reviews, line.mean, line.spread, line.calibrated_mean) if line else (0, None, None, None)),
        )
    reviewers = {
        c.reviewer_id: (c.n_reviews, c.mean, c.spread, c.difference, c.standing, c.verdict)
        for c in ranking_exact.reviewer_calibration(totals)
    }
    values = [t for _a, _r, t in totals]
    panel = (len(values), statistics.mean(values), statistics.pstdev(values)) if values else (0, None, None)
    return applications, reviewers, panel


def stored(call, stage=DOCUMENT):
    applications = {
        row[0]: row[1:]
        for row in RankedApplication.objects.filter(call=call, stage=stage).values_list(
            "application_id", "n_assigned", "n_done", "n_reviews", "mean", "spread", "calibrated_mean"
        )
    }
    reviewers = {
        row[0]: row[1:]
        for row in ReviewerStanding.objects.filter(call=call, stage=stage).values_list(
            "reviewer_id", "n_reviews", "mean", "spread", "difference", "standing", "verdict"
        )
    }
    panel = RankingPanel.objects.filter(call=call, stage=stage).values_list("n_reviews", "mean", "spread").first()
    return applications, reviewers, panel


def assert_as_the_oracle(call, stage=DOCUMENT):
    assert stored(call, stage) == oracle(call, stage)


def score(assignment, rng, submit=True):
    services.review_save(
        assignment=assignment,
        scores={c.pk: rng.randint(0, c.max_score) for c in selectors.criteria_of(assignment.application.call)},
        comment_to_staff="",
        comment_to_applicant="",
        submit=submit,
    )


@pytest.fixture
def scored(call, review_round, staff):
    """Eight applications, four reviewers, three on each application, a rubric with decimal weights,
    random scores (seeded) all submitted."""
    services.rubric_replace(
        call=call,
        criteria=[
            CriterionInput("必要性", "", "", 5, Decimal("1.50")),
            CriterionInput("実現性", "", "", 7, Decimal("0.30")),
            CriterionInput("継続性", "", "", 3, Decimal("2.25")),
        ],
    )
    services.round_configure(call=call, reviewers_per_application=3, use_calibration=False, default_due_at=None)
    services.phase_set(call=call, phase=ReviewPhase.REVIEWING, by=staff)
    applications = submitted(call, 8)
    reviewers = [make_reviewer() for _ in range(4)]
    services.assignments_auto(call=call, reviewers=reviewers, due_at=None, assigned_by=staff)
    rng = random.Random(14)
    for assignment in Assignment.objects.filter(application__call=call).order_by("id"):
        services.assignment_declare(assignment=assignment, has_conflict=False)
        score(assignment, rng)
    return applications, reviewers


def test_every_change_of_the_inputs_refreshes_the_stored_ranking_in_its_transaction(call, scored, staff):
    applications, _reviewers = scored
    assert_as_the_oracle(call)
    assert RankedApplication.objects.filter(call=call).count() == 8
    rng = random.Random(2)
    some = Assignment.objects.filter(application=applications[0]).order_by("id")

    # reopened, then submitted again with other scores
    services.review_reopen(assignment=some[0])
    assert Review.objects.get(assignment=some[0]).total is None
    assert_as_the_oracle(call)
    score(some[0], rng)
    assert Review.objects.get(assignment=some[0]).total is not None
    assert_as_the_oracle(call)

    # a draft saved changes nothing that counts
    services.review_reopen(assignment=some[1])
    score(some[1], rng, submit=False)
    assert_as_the_oracle(call)

    # a conflict declared by the reviewer after scoring, and one recorded by staff
    services.assignment_declare(assignment=some[2], has_conflict=True, reason="元職員")
    assert_as_the_oracle(call)
    victim = Assignment.objects.filter(application=applications[3]).order_by("id").first()
    services.conflict_declare(reviewer=victim.reviewer, organisation=applications[3].organisation, by=staff)
    assert_as_the_oracle(call)

    # an assignment made, then removed
    newcomer = make_reviewer()
    made = services.assignment_create(application=applications[5], reviewer=newcomer, due_at=None, assigned_by=staff)
    assert stored(call)[0][applications[5].pk][0] == 4
    assert_as_the_oracle(call)
    services.assignment_remove(assignment=made, by=staff)
    assert_as_the_oracle(call)

    # the stored rows equal a recomputation from scratch
    before = stored(call)
    out = io.StringIO()
    call_command("refresh_rankings", stdout=out)
    assert "refreshed" in out.getvalue()
    assert stored(call) == before


def test_a_failed_change_leaves_the_stored_ranking_as_it_was(call, scored, staff):
    applications, _reviewers = scored
    before = stored(call)
    assignment = Assignment.objects.filter(application=applications[1]).order_by("id").first()
    with pytest.raises(services.Refused):
        services.assignment_remove(assignment=assignment, by=staff)  # a submitted review: refused
    assert stored(call) == before


def test_a_round_without_reviews_is_stored_empty(call, review_round, staff):
    services.phase_set(call=call, phase=ReviewPhase.REVIEWING, by=staff)
    applications = submitted(call, 2)
    reviewer = make_reviewer()
    services.assignments_bulk(applications=applications, reviewers=[reviewer], due_at=None, assigned_by=staff)
    assert stored(call) == ({a.pk: (1, 0, 0, None, None, None) for a in applications}, {}, (0, None, None))
    assert selectors.reviewer_calibration(call) == ([], None)


def test_the_rubric_replaced_recomputes_every_total(call, review_round, staff):
    services.rubric_replace(call=call, criteria=[CriterionInput("総合", "", "", 4, Decimal("1"))])
    assert_as_the_oracle(call)


def order_by_oracle(call, *, calibrate):
    applications, _reviewers, _panel = oracle(call)
    receipts = dict(selectors.reviewable_applications(call).values_list("pk", "receipt_number"))
    scored = [(a, line) for a, line in applications.items() if line[2]]
    scored.sort(key=lambda item: (-(item[1][5] if calibrate else item[1][3]), receipts[item[0]]))
    return [receipts[a] for a, _line in scored]


@pytest.mark.parametrize("calibrate", [False, True])
def test_the_ranking_rows_are_in_the_oracle_order_with_its_displayed_values(call, scored, calibrate):
    rows = selectors.ranking_rows(call, selectors.reviewable_applications(call), calibrate=calibrate)
    expected = order_by_oracle(call, calibrate=calibrate)
    assert [r.application.receipt_number for r in rows if r.rank] == expected
    assert [r.position for r in rows if r.rank] == list(range(1, len(expected) + 1))
    applications, _reviewers, _panel = oracle(call)
    for row in rows:
        line = applications[row.application.pk]
        assert (row.assigned, row.done) == line[:2]
        assert floatformat(row.score, 1) == floatformat(line[3], 1)
        assert floatformat(row.calibrated, 1) == floatformat(line[5], 1)
        assert floatformat(row.rank.spread, 1) == floatformat(line[4], 1)


def test_the_ranking_page_lists_the_oracle_order(client, call, scored, staff):
    client.force_login(staff)
    page = client.get(f"/staff/calls/{call.slug}/review/ranking/?sort=receipt").content.decode()
    assert page.count('data-testid="ranking-row"') == 8
    page = client.get(f"/staff/calls/{call.slug}/review/ranking/").content.decode()
    shown = re.findall(rf"({call.receipt_prefix}-\d{{4}})", page)
    assert list(dict.fromkeys(shown)) == order_by_oracle(call, calibrate=False)


def test_the_pages_read_the_stored_ranking_without_recomputing_it(client, call, scored, staff, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the ranking was recomputed while a page was read")

    for module in (ranking, ranking_exact):
        for name in ("round_figures", "rank", "calibrate_totals", "reviewer_calibration", "weighted_total"):
            if hasattr(module, name):
                monkeypatch.setattr(module, name, refuse)
    monkeypatch.setattr(ranking.Rubric, "total", refuse)
    monkeypatch.setattr(ranking_store, "refresh", refuse)
    client.force_login(staff)
    for url in (
        f"/staff/calls/{call.slug}/review/ranking/",
        f"/staff/calls/{call.slug}/review/ranking/scores.csv",
        f"/staff/calls/{call.slug}/review/calibration/",
        f"/staff/calls/{call.slug}/decisions/",
        f"/staff/calls/{call.slug}/decisions/?propose=1",
        f"/staff/calls/{call.slug}/reserve/",
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        if response.streaming:
            assert b"".join(response.streaming_content)


def calibration_queries(client, call) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(f"/staff/calls/{call.slug}/review/calibration/")
    assert response.status_code == 200
    return len(captured)


def test_the_calibration_page_does_not_grow_in_queries(client, call, scored, staff):
    client.force_login(staff)
    small = calibration_queries(client, call)
    more = submitted(call, 10, start=20)
    extra = [make_reviewer() for _ in range(5)]
    services.assignments_bulk(applications=more, reviewers=extra, due_at=None, assigned_by=staff)
    rng = random.Random(3)
    for assignment in Assignment.objects.filter(application__in=more):
        services.assignment_declare(assignment=assignment, has_conflict=False)
        score(assignment, rng)
    assert ReviewerStanding.objects.filter(call=call).count() == 9
    assert calibration_queries(client, call) == small


@pytest.mark.django_db(transaction=True)
def test_the_migration_fills_the_stored_ranking_of_the_demo_data():
    from calls.models import Call
    from grants.demo.loader import seed_demo

    seed_demo()
    calls = [c for c in Call.objects.all() if Assignment.objects.filter(application__call=c).exists()]
    assert calls and Review.objects.filter(status=ReviewStatus.SUBMITTED).exists()
    before = {c.pk: stored(c) for c in calls}
    totals = dict(Review.objects.values_list("pk", "total"))
    assert all(before[c.pk] == oracle(c) for c in calls)

    executor = MigrationExecutor(connection)
    try:
        executor.migrate([("reviews", "0007_list_indexes")])
        assert "reviews_rankedapplication" not in connection.introspection.table_names()
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())

    assert dict(Review.objects.values_list("pk", "total")) == totals
    for c in calls:
        assert stored(c) == before[c.pk]


@pytest.mark.parametrize("calibrate", [False, True])
def test_a_page_of_the_ranking_is_ordered_and_numbered_in_the_database(call, scored, calibrate):
    applications = selectors.reviewable_applications(call)
    everything = selectors.ranking_rows(call, applications, calibrate=calibrate)
    ranked = selectors.ranked_applications(applications, calibrate=calibrate)
    with CaptureQueriesContext(connection) as captured:
        page = selectors.rows_of(ranked[3:6], calibrate=calibrate, first_position=4)
    assert len(captured) == 1
    assert [(r.position, r.application.pk) for r in page] == [(r.position, r.application.pk) for r in everything[3:6]]


@pytest.mark.parametrize("calibrate", [False, True])
@pytest.mark.parametrize("page", ["review/ranking", "decisions"])
def test_the_default_ranking_and_decisions_pages_read_one_page_of_the_stored_ranking(
    client, call, scored, staff, monkeypatch, calibrate, page
):
    """In the default order (no lower bound, no proposal, one stage) the ranking and decisions pages
    order and slice the stored ranking in the database: page 2 shows the ranking's rows 4 to 6 with
    their positions, and the whole ranking is never built (issue 14)."""
    import functools

    import grants.staff_views
    import reviews.staff_views
    from kodoku_portal.paging import paginate

    services.round_configure(call=call, reviewers_per_application=3, use_calibration=calibrate, default_due_at=None)
    whole = selectors.ranking_rows(call, selectors.reviewable_applications(call), calibrate=calibrate)
    expected = [(row.position, row.application.receipt_number) for row in whole[3:6]]

    def refuse(*args, **kwargs):
        raise AssertionError("the whole ranking was built for one page")

    monkeypatch.setattr(selectors, "ranking_rows", refuse)
    monkeypatch.setattr(grants.staff_views, "final_ranking_rows", refuse)
    for module in (reviews.staff_views, grants.staff_views):
        monkeypatch.setattr(module, "paginate", functools.partial(paginate, per_page=3))
    client.force_login(staff)
    html = client.get(f"/staff/calls/{call.slug}/{page}/?page=2").content.decode()
    shown = re.findall(rf"{call.receipt_prefix}-\d{{4}}", html)
    assert list(dict.fromkeys(shown)) == [receipt for _position, receipt in expected]
    for position, receipt in expected:
        assert position is not None and re.search(rf">\s*{position}\s*<", html), (position, receipt)
