"""Benchmark: the ranking of a call with 10,000 applications and 20,000 reviews (issue 14, item 2).

Builds the call in a throwaway test database (100 reviewers, two on each application, five
criteria with decimal weights, every review submitted), then times, each the median of RUNS:

- today's exact computation (reviews/ranking_exact.py, Fractions; what every ranking and
  decisions request ran until issue 14), once: the scores query and ``rank``;
- ``ranking.round_figures``: the one pass over the 20,000 (application, reviewer, total) tuples;
- ``ranking_store.compute``: the query of the round's assignments and totals plus that pass;
- ``ranking_store.refresh`` after one review's total changed (what a submission adds to its
  transaction: every application's calibrated mean moves, so every row is written), and after
  a change that moves nothing (an assignment-only change writes no row);
- the read: ``selectors.ranking_rows`` (the ranking and decisions pages' one query and sort) and
  ``selectors.reviewer_calibration`` (the calibration page).

It checks that the stored figures are the exact implementation's, bit for bit.

Run: DATABASE_URL=postgres://postgres@127.0.0.1:5432/kodoku .venv/bin/python bench/ranking.py [APPLICATIONS] [RUNS]
"""

import datetime as dt
import os
import random
import statistics
import sys
import time

from _setup import machine, test_database
from django.db import transaction

from accounts.models import Role, User
from applications.models import Application, ApplicationStatus, Organisation
from calls.models import ApplicantType, Call, Programme
from kodoku_portal.jp import JST
from reviews import ranking, ranking_exact, ranking_store, selectors
from reviews.models import (
    Assignment,
    AssignmentStatus,
    Criterion,
    RankedApplication,
    Review,
    ReviewRound,
    ReviewStage,
    ReviewStatus,
    Score,
)

N = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
RUNS = int(sys.argv[2]) if len(sys.argv) > 2 else 7
REVIEWERS = 100
DOCUMENT = ReviewStage.DOCUMENT


def build() -> Call:
    rng = random.Random(14)
    npo = ApplicantType.objects.create(code="npo", name="NPO法人")
    call = Call.objects.create(
        programme=Programme.objects.create(name="bench"),
        slug="ranking",
        title="審査",
        opens_at=dt.datetime(2025, 4, 21, tzinfo=JST),
        closes_at=dt.datetime(2025, 5, 30, 12, tzinfo=JST),
        cap_amount=2_000_000,
        receipt_prefix="RANK",
    )
    ReviewRound.objects.create(call=call, stage=DOCUMENT, phase="reviewing")
    criteria = Criterion.objects.bulk_create(
        Criterion(call=call, stage=DOCUMENT, order=i, name=f"項目{i}", max_score=m, weight=w)
        for i, (m, w) in enumerate([(5, "1.50"), (5, "1.00"), (10, "0.75"), (5, "2.25"), (3, "1.00")], start=1)
    )
    reviewers = User.objects.bulk_create(
        User(email=f"r{i}@example.jp", full_name=f"審査員 {i}", role=Role.REVIEWER) for i in range(REVIEWERS)
    )
    organisations = Organisation.objects.bulk_create(
        Organisation(name=f"団体{i}", applicant_type=npo, prefecture="13") for i in range(N)
    )
    applications = Application.objects.bulk_create(
        Application(
            call=call,
            organisation=o,
            title=f"事業{i}",
            status=ApplicationStatus.SUBMITTED,
            receipt_number=f"RANK-{i + 1:05d}",
        )
        for i, o in enumerate(organisations)
    )
    # Each reviewer harsher or milder than the others: calibration has something to do.
    mood = {r.pk: rng.uniform(-1.5, 1.5) for r in reviewers}
    assignments = Assignment.objects.bulk_create(
        Assignment(application=a, reviewer=r, stage=DOCUMENT, status=AssignmentStatus.ACCEPTED)
        for a in applications
        for r in rng.sample(reviewers, 2)
    )
    reviews = Review.objects.bulk_create(Review(assignment=a, status=ReviewStatus.SUBMITTED) for a in assignments)
    Score.objects.bulk_create(
        (
            Score(
                review=review,
                criterion=c,
                value=max(0, min(c.max_score, round(rng.gauss(c.max_score * 0.6, 1) + mood[a.reviewer_id]))),
            )
            for review, a in zip(reviews, assignments, strict=True)
            for c in criteria
        ),
        batch_size=5000,
    )
    with transaction.atomic():
        ranking_store.refresh_totals(call.pk, DOCUMENT)
    return call


def timed(fn, runs=RUNS):
    """Median wall and CPU time of ``runs`` calls of ``fn`` (ms)."""
    walls, cpus = [], []
    for _ in range(runs):
        wall, cpu = time.perf_counter(), time.process_time()
        fn()
        walls.append((time.perf_counter() - wall) * 1000)
        cpus.append((time.process_time() - cpu) * 1000)
    return statistics.median(walls), statistics.median(cpus)


def exact_today(call):
    criteria = [ranking_exact.Criterion(c.pk, c.max_score, c.weight) for c in selectors.criteria_of(call)]
    reviews = [
        ranking_exact.ReviewScores(r.application_id, r.reviewer_id, r.scores) for r in selectors.submitted_scores(call)
    ]
    return ranking_exact.rank(criteria, reviews, calibrate=True)


def main():
    started = time.perf_counter()
    call = build()
    n_reviews = Review.objects.filter(assignment__application__call=call).count()
    print(f"machine: {machine()}; load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    built = time.perf_counter() - started
    print(f"built {N} applications, {n_reviews} submitted reviews, {REVIEWERS} reviewers in {built:.1f} s")

    wall, cpu = timed(lambda: exact_today(call), runs=1)
    print(f"today's exact ranking (scores query + Fractions), once:    {wall:8.1f} ms wall {cpu:8.1f} ms CPU")

    totals = list(
        Review.objects.filter(assignment__application__call=call).values_list(
            "assignment__application_id", "assignment__reviewer_id", "total"
        )
    )
    wall, cpu = timed(lambda: ranking.round_figures(totals, checked=True))
    print(f"ranking.round_figures over {len(totals)} totals:            {wall:8.1f} ms wall {cpu:8.1f} ms CPU")
    wall, cpu = timed(lambda: ranking_store.compute(call.pk, DOCUMENT))
    print(f"ranking_store.compute (query + one pass):                  {wall:8.1f} ms wall {cpu:8.1f} ms CPU")

    with transaction.atomic():
        ranking_store.refresh(call.pk, DOCUMENT)  # the first fill
    review_ids = list(Review.objects.filter(assignment__application__call=call).values_list("pk", flat=True))
    rng = random.Random(1)

    def one_review_changed():
        with transaction.atomic():
            Review.objects.filter(pk=rng.choice(review_ids)).update(total=rng.uniform(0, 100))
            ranking_store.refresh(call.pk, DOCUMENT)

    def nothing_changed():
        with transaction.atomic():
            ranking_store.refresh(call.pk, DOCUMENT)

    wall, cpu = timed(one_review_changed)
    print(f"refresh after one review changed (all rows rewritten):     {wall:8.1f} ms wall {cpu:8.1f} ms CPU")
    wall, cpu = timed(nothing_changed)
    print(f"refresh when nothing moved (no row written):               {wall:8.1f} ms wall {cpu:8.1f} ms CPU")

    applications = selectors.reviewable_applications(call)
    wall, cpu = timed(lambda: selectors.ranking_rows(call, applications, calibrate=True))
    print(f"read: selectors.ranking_rows ({N} rows, one query, sort):  {wall:8.1f} ms wall {cpu:8.1f} ms CPU")
    wall, cpu = timed(lambda: selectors.reviewer_calibration(call))
    print(f"read: selectors.reviewer_calibration:                      {wall:8.1f} ms wall {cpu:8.1f} ms CPU")

    # The stored figures are the exact implementation's, bit for bit.
    with transaction.atomic():
        ranking_store.refresh_totals(call.pk, DOCUMENT)
        ranking_store.refresh(call.pk, DOCUMENT)
    exact = {line.application_id: line for line in exact_today(call)}
    rows = RankedApplication.objects.filter(call=call, stage=DOCUMENT).values_list(
        "application_id", "n_reviews", "mean", "spread", "calibrated_mean"
    )
    mismatches = sum(
        1
        for a, n, mean, spread, calibrated in rows
        if (n, mean, spread, calibrated)
        != (exact[a].n_reviews, exact[a].mean, exact[a].spread, exact[a].calibrated_mean)
    )
    print(f"stored figures equal to the exact implementation: {len(exact) - mismatches} of {len(exact)}")


if __name__ == "__main__":
    teardown = test_database()
    try:
        main()
    finally:
        teardown()
