"""The two-stage migration (reviews 0005, calls 0006) keeps every review round, criterion, assignment, review
and score: the demo data is taken back before it, then forwards again; every existing row comes
back as the document stage (書類審査) and the demo call still reads as before."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from grants.demo.loader import seed_demo
from reviews.models import Assignment, Criterion, Review, ReviewRound, ReviewStage, Score

BEFORE = [("reviews", "0004_integrity_checks"), ("calls", "0005_programme_retention_years")]
TABLES = ["reviews_reviewround", "reviews_criterion", "reviews_assignment", "reviews_review", "reviews_score"]


def _counts() -> dict[str, int]:
    with connection.cursor() as cursor:
        counts = {}
        for table in TABLES:
            cursor.execute(f'SELECT COUNT(*) FROM "{table}"')
            counts[table] = cursor.fetchone()[0]
    return counts


@pytest.mark.django_db(transaction=True)
def test_the_two_stage_migration_keeps_every_round_assignment_and_review():
    seed_demo()
    before = _counts()
    assert all(before[table] > 0 for table in TABLES), before
    rounds = sorted(ReviewRound.objects.values_list("pk", "call_id", "phase"))
    assignments = sorted(Assignment.objects.values_list("pk", "application_id", "reviewer_id", "status"))
    scores = sorted(Score.objects.values_list("review__assignment_id", "criterion_id", "value"))

    executor = MigrationExecutor(connection)
    try:
        executor.migrate(BEFORE)
        executor.loader.build_graph()
        old = executor.loader.project_state(BEFORE).apps
        assert sorted(old.get_model("reviews", "ReviewRound").objects.values_list("pk", "call_id", "phase")) == rounds
        assert _counts() == before
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())

    assert _counts() == before
    assert sorted(ReviewRound.objects.values_list("pk", "call_id", "phase")) == rounds
    assert sorted(Assignment.objects.values_list("pk", "application_id", "reviewer_id", "status")) == assignments
    assert sorted(Score.objects.values_list("review__assignment_id", "criterion_id", "value")) == scores
    for model in (ReviewRound, Criterion, Assignment):
        assert set(model.objects.values_list("stage", flat=True)) == {ReviewStage.DOCUMENT}
    assert Review.objects.count() == before["reviews_review"]
