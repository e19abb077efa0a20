"""The ranking stored per change (issue 14): computed once when its inputs change, read by the pages.

What is stored, per stage of a call (a review round):

- ``Review.total``: each submitted review's weighted total (set by ``services.review_submit``);
- ``RankedApplication``: per application, its live assignments, counted reviews, and the mean,
  spread and calibrated mean of its counted totals (reviews.ranking.round_figures);
- ``ReviewerStanding``: per reviewer, their mean and spread (the calibration's offset and scale),
  their difference from the panel and the calibration page's verdict;
- ``RankingPanel``: the panel (every counted total: count, mean, spread) and when it was refreshed.

:func:`refresh` recomputes all of one round from one query, in one pass, and writes only the rows
whose figures changed. The services call it *in the same transaction* as every change of its
inputs (see docs/ARCHITECTURE.md, "The stored ranking", for the list and for why not a job), so a
page never shows a ranking older than the data it sits on. ``manage.py refresh_rankings``
rebuilds every round (after a change made outside the services, e.g. in the database by hand).

The data migration reviews 0007 runs the same code on the historical models (``registry``).
"""

from __future__ import annotations

from django.apps import apps as global_apps
from django.db import connections
from django.utils import timezone

from . import ranking
from .models import AssignmentStatus, ReviewStatus

# pg_advisory_xact_lock(class, call id): one refresh of a round at a time (released at commit).
_LOCK_CLASS = {"document": 1_400_001, "interview": 1_400_002}
_APPLICATION_FIELDS = ("n_assigned", "n_done", "n_reviews", "mean", "spread", "calibrated_mean")
_REVIEWER_FIELDS = ("n_reviews", "mean", "spread", "difference", "standing", "verdict")


def _lock(call_id: int, stage: str, using: str) -> None:
    connection = connections[using]
    if not connection.in_atomic_block:
        raise RuntimeError("the stored ranking is refreshed inside the transaction of the change")
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_LOCK_CLASS.get(stage, 1_400_000), call_id])
    # SQLite lets one writer at a time anyway.


def totals_of(rubric: ranking.Rubric, reviews: dict[int, dict[int, int]]) -> dict[int, float | None]:
    """Review id → weighted total of its scores (None unless every criterion has one)."""
    return {pk: rubric.total(scores) if len(scores) == len(rubric) else None for pk, scores in reviews.items()}


def rubric_of(call_id: int, stage: str, *, registry=global_apps, using: str = "default") -> ranking.Rubric | None:
    Criterion = registry.get_model("reviews", "Criterion")
    rows = Criterion.objects.using(using).filter(call_id=call_id, stage=stage).values_list("pk", "max_score", "weight")
    criteria = [ranking.Criterion(pk, max_score, weight) for pk, max_score, weight in rows]
    return ranking.Rubric(criteria) if criteria else None


def refresh_totals(call_id: int, stage: str, *, registry=global_apps, using: str = "default") -> None:
    """Recompute ``Review.total`` of every submitted review of the round (after its rubric changed,
    and in the migration that adds the column)."""
    Review = registry.get_model("reviews", "Review")
    Score = registry.get_model("reviews", "Score")
    submitted = Review.objects.using(using).filter(
        assignment__application__call_id=call_id, assignment__stage=stage, status=ReviewStatus.SUBMITTED
    )
    scores: dict[int, dict[int, int]] = {pk: {} for pk in submitted.values_list("pk", flat=True)}
    if not scores:
        return
    rows = Score.objects.using(using).filter(review__in=submitted, criterion__stage=stage)
    for review_id, criterion_id, value in rows.values_list("review_id", "criterion_id", "value"):
        scores[review_id][criterion_id] = value
    rubric = rubric_of(call_id, stage, registry=registry, using=using)
    totals = totals_of(rubric, scores) if rubric else dict.fromkeys(scores)
    changed = [Review(pk=pk, total=total) for pk, total in totals.items()]
    Review.objects.using(using).bulk_update(changed, ["total"], batch_size=1000)


def compute(call_id: int, stage: str, *, registry=global_apps, using: str = "default"):
    """The round's figures from one query: (per application (n_assigned, n_done, n_reviews, mean,
    spread, calibrated mean), the ``ranking.RoundFigures``)."""
    Assignment = registry.get_model("reviews", "Assignment")
    rows = (
        Assignment.objects.using(using)
        .filter(application__call_id=call_id, stage=stage)
        .exclude(status=AssignmentStatus.CONFLICT)
        .values_list("application_id", "reviewer_id", "status", "review__status", "review__total")
    )
    assigned: dict[int, int] = {}
    done: dict[int, int] = {}
    totals = []
    sql, params = rows.query.sql_with_params()
    with connections[using].cursor() as cursor:  # the plain rows: no per-row work of the ORM
        cursor.execute(sql, params)
        fetched = cursor.fetchall()
    for application_id, reviewer_id, status, review_status, total in fetched:
        assigned[application_id] = assigned.get(application_id, 0) + 1
        if status == AssignmentStatus.ACCEPTED and review_status == ReviewStatus.SUBMITTED:  # counted_review_q
            done[application_id] = done.get(application_id, 0) + 1
            if total is not None:
                totals.append((application_id, reviewer_id, total))
    # One assignment per (application, reviewer, stage) (a constraint): the totals need no check.
    figures = ranking.round_figures(totals, checked=True)
    lines = {}
    for application_id, n_assigned in assigned.items():
        f = figures.applications.get(application_id)
        lines[application_id] = (
            n_assigned,
            done.get(application_id, 0),
            *((f.n_reviews, f.mean, f.spread, f.calibrated_mean) if f else (0, None, None, None)),
        )
    return lines, figures


def refresh(call_id: int, stage: str, *, registry=global_apps, using: str = "default") -> None:
    """Bring the stored ranking of the round (call, stage) up to date with its assignments and
    reviews. Call it inside the transaction of the change; one refresh of a round runs at a time."""
    _lock(call_id, stage, using)
    lines, figures = compute(call_id, stage, registry=registry, using=using)
    RankedApplication = registry.get_model("reviews", "RankedApplication")
    ReviewerStanding = registry.get_model("reviews", "ReviewerStanding")
    RankingPanel = registry.get_model("reviews", "RankingPanel")

    if connections[using].vendor == "postgresql":
        _write_applications_postgresql(RankedApplication._meta.db_table, call_id, stage, lines, using)
    else:
        _write_applications(RankedApplication, call_id, stage, lines, using)

    standings = ReviewerStanding.objects.using(using).filter(call_id=call_id, stage=stage)
    old_standings = {row[0]: row[1:] for row in standings.values_list("reviewer_id", *_REVIEWER_FIELDS)}
    new_standings = {
        line.reviewer_id: (line.n_reviews, line.mean, line.spread, line.difference, line.standing, line.verdict)
        for line in figures.reviewers
    }
    gone = set(old_standings) - set(new_standings)
    if gone:
        standings.filter(reviewer_id__in=gone).delete()
    changed = [
        ReviewerStanding(call_id=call_id, stage=stage, reviewer_id=r, **dict(zip(_REVIEWER_FIELDS, line, strict=True)))
        for r, line in new_standings.items()
        if old_standings.get(r) != line
    ]
    if changed:
        ReviewerStanding.objects.using(using).bulk_create(
            changed,
            batch_size=2000,
            update_conflicts=True,
            unique_fields=["call", "stage", "reviewer"],
            update_fields=list(_REVIEWER_FIELDS),
        )

    panel = figures.panel
    RankingPanel.objects.using(using).update_or_create(
        call_id=call_id,
        stage=stage,
        defaults={
            "n_reviews": panel.n if panel else 0,
            "mean": panel.mean if panel else None,
            "spread": panel.spread if panel else None,
            "refreshed_at": timezone.now(),
        },
    )


def _write_applications(model, call_id: int, stage: str, lines: dict, using: str) -> None:
    """Write the rows whose figures changed, delete those of applications gone (any database)."""
    stored = model.objects.using(using).filter(call_id=call_id, stage=stage)
    old = {row[0]: row[1:] for row in stored.values_list("application_id", *_APPLICATION_FIELDS)}
    changed = [
        model(call_id=call_id, application_id=a, stage=stage, **dict(zip(_APPLICATION_FIELDS, line, strict=True)))
        for a, line in lines.items()
        if old.get(a) != line
    ]
    gone = set(old) - set(lines)
    if gone:
        stored.filter(application_id__in=gone).delete()
    if changed:
        model.objects.using(using).bulk_create(
            changed,
            batch_size=2000,
            update_conflicts=True,
            unique_fields=["application", "stage"],
            update_fields=list(_APPLICATION_FIELDS),
        )


def _array(values) -> str:
    """A PostgreSQL array literal of ints or floats (``repr``: the shortest text that reads back as
    the same float), built in one join rather than one adapted parameter per value."""
    return "{" + ",".join("NULL" if v is None else repr(v) for v in values) + "}"


def _write_applications_postgresql(table: str, call_id: int, stage: str, lines: dict, using: str) -> None:
    """The same in two statements on PostgreSQL: the lines go as arrays, the database upserts the
    rows whose figures differ (an unchanged row is not rewritten) and deletes those gone."""
    columns = list(zip(*lines.values(), strict=True)) if lines else [[] for _ in _APPLICATION_FIELDS]
    assignments = ", ".join(f"{name} = EXCLUDED.{name}" for name in _APPLICATION_FIELDS)
    names = ", ".join(_APPLICATION_FIELDS)
    excluded = ", ".join(f"EXCLUDED.{name}" for name in _APPLICATION_FIELDS)
    with connections[using].cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {table} WHERE call_id = %s AND stage = %s AND NOT (application_id = ANY(%s::bigint[]))",
            [call_id, stage, _array(lines)],
        )
        cursor.execute(
            f"""INSERT INTO {table} AS stored (call_id, stage, application_id, {names})
            SELECT %s, %s, * FROM unnest(%s::bigint[], %s::integer[], %s::integer[], %s::integer[],
                                         %s::float8[], %s::float8[], %s::float8[])
            ON CONFLICT (application_id, stage) DO UPDATE SET {assignments}
            WHERE ({", ".join(f"stored.{name}" for name in _APPLICATION_FIELDS)}) IS DISTINCT FROM ({excluded})""",
            [call_id, stage, _array(lines), *(_array(column) for column in columns)],
        )


def refresh_all(*, registry=global_apps, using: str = "default") -> int:
    """Recompute every review total and every round that has assignments or a stored ranking
    (the data migration and ``manage.py refresh_rankings``); returns how many rounds."""
    Assignment = registry.get_model("reviews", "Assignment")
    RankingPanel = registry.get_model("reviews", "RankingPanel")
    rounds = set(Assignment.objects.using(using).values_list("application__call_id", "stage").distinct())
    rounds |= set(RankingPanel.objects.using(using).values_list("call_id", "stage"))
    for call_id, stage in sorted(rounds):
        refresh_totals(call_id, stage, registry=registry, using=using)
        refresh(call_id, stage, registry=registry, using=using)
    return len(rounds)
