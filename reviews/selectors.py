"""Reads of the review pages: a reviewer's assignments, the ranking, the scores export.

Each page's rows come from a fixed number of queries, however many applications and reviews."""

from dataclasses import dataclass

from django.db.models import Count, Prefetch, Q, QuerySet
from django.shortcuts import get_object_or_404

from applications.models import Application, ApplicationStatus, BudgetLine

from . import ranking
from .models import Assignment, AssignmentStatus, Criterion, Review, ReviewRound, ReviewStatus, Score


def assignments_for_reviewer(user) -> QuerySet[Assignment]:
    """A reviewer's live assignments (returned ones are gone from their list)."""
    return (
        Assignment.objects.filter(reviewer=user)
        .exclude(status=AssignmentStatus.CONFLICT)
        .select_related("application__call", "application__organisation", "review")
        .order_by("due_at", "id")
    )


def assignment_for_reviewer(user, pk: int) -> Assignment:
    """404 unless the assignment is this reviewer's and not returned for a conflict."""
    return get_object_or_404(assignments_for_reviewer(user), pk=pk)


def application_for_reviewer(assignment: Assignment) -> Application:
    return (
        Application.objects.select_related("call", "organisation__applicant_type", "theme")
        .prefetch_related(Prefetch("budget_lines", queryset=BudgetLine.objects.order_by("position")), "attachments")
        .get(pk=assignment.application_id)
    )


def criteria_of(call) -> list[Criterion]:
    return list(Criterion.objects.filter(call=call).order_by("order", "id"))


def other_reviews(assignment: Assignment) -> list[Review]:
    return list(
        Review.objects.filter(assignment__application_id=assignment.application_id, status=ReviewStatus.SUBMITTED)
        .exclude(assignment=assignment)
        .select_related("assignment__reviewer")
        .prefetch_related("scores__criterion")
    )


def submitted_scores(call) -> list[ranking.ReviewScores]:
    """Every submitted review of the call with its scores (one query)."""
    rows = Score.objects.filter(
        review__status=ReviewStatus.SUBMITTED,
        review__assignment__application__call=call,
        review__assignment__status=AssignmentStatus.ACCEPTED,
    ).values_list("review__assignment__application_id", "review__assignment__reviewer_id", "criterion_id", "value")
    reviews: dict[tuple[int, int], dict[int, int]] = {}
    for application_id, reviewer_id, criterion_id, value in rows:
        reviews.setdefault((application_id, reviewer_id), {})[criterion_id] = value
    return [ranking.ReviewScores(a, r, scores) for (a, r), scores in sorted(reviews.items())]


@dataclass
class RankingRow:
    position: int | None
    application: Application
    assigned: int
    done: int
    rank: ranking.ApplicationRank | None

    @property
    def score(self) -> float | None:
        return None if self.rank is None else self.rank.mean

    @property
    def calibrated(self) -> float | None:
        return None if self.rank is None else self.rank.calibrated_mean


def ranking_rows(call, applications: QuerySet[Application], *, calibrate: bool) -> list[RankingRow]:
    """The ranking of ``applications`` (already filtered): scores, spread and progress."""
    criteria = [ranking.Criterion(c.pk, c.max_score, c.weight) for c in criteria_of(call)]
    reviews = submitted_scores(call)
    complete = [r for r in reviews if len(r.scores) == len(criteria)]
    ranks = {r.application_id: r for r in ranking.rank(criteria, complete, calibrate=True)} if criteria else {}
    annotated = applications.select_related("organisation", "theme").annotate(
        n_assigned=Count("assignments", filter=~Q(assignments__status=AssignmentStatus.CONFLICT), distinct=True),
        n_done=Count(
            "assignments",
            filter=Q(assignments__review__status=ReviewStatus.SUBMITTED)
            & Q(assignments__status=AssignmentStatus.ACCEPTED),
            distinct=True,
        ),
    )
    rows = [RankingRow(None, a, a.n_assigned, a.n_done, ranks.get(a.pk)) for a in annotated]

    def key(row: RankingRow):
        value = (row.calibrated if calibrate else row.score) if row.rank else None
        return (value is None, -(value or 0), row.application.receipt_number or "")

    rows.sort(key=key)
    for position, row in enumerate((r for r in rows if r.rank), start=1):
        row.position = position
    return rows


def submitted_applications(call) -> QuerySet[Application]:
    return Application.objects.filter(call=call, status=ApplicationStatus.SUBMITTED)


def reviewable_applications(call) -> QuerySet[Application]:
    """What the ranking lists: every application past the draft stage except withdrawn ones."""
    return Application.objects.filter(call=call).exclude(
        status__in=[ApplicationStatus.DRAFT, ApplicationStatus.WITHDRAWN]
    )


def scores_export(call):
    """Rows of the scores CSV: one per submitted review, criteria in rubric order (two queries)."""
    criteria = criteria_of(call)
    weights = [ranking.Criterion(c.pk, c.max_score, c.weight) for c in criteria]
    reviews = (
        Review.objects.filter(
            status=ReviewStatus.SUBMITTED,
            assignment__application__call=call,
            assignment__status=AssignmentStatus.ACCEPTED,
        )
        .select_related("assignment__application__organisation", "assignment__reviewer")
        .prefetch_related("scores")
        .order_by("assignment__application__receipt_number", "assignment__reviewer__email")
    )
    for review in reviews.iterator(chunk_size=500):
        scores = {s.criterion_id: s.value for s in review.scores.all()}
        application = review.assignment.application
        total = ranking.weighted_total(weights, scores) if len(scores) == len(criteria) else None
        yield [
            application.receipt_number,
            application.organisation.name,
            application.title,
            review.assignment.reviewer.email,
            *[scores.get(c.pk, "") for c in criteria],
            "" if total is None else f"{total:.1f}",
            review.comment_to_staff,
        ]


def review_round(call) -> ReviewRound:
    from .services import review_round_for

    return review_round_for(call=call)


def review_progress(call) -> dict[str, int]:
    """Assignments of the call (not returned for a conflict) and how many have a submitted review."""
    live = Assignment.objects.filter(application__call=call).exclude(status=AssignmentStatus.CONFLICT)
    counts = live.aggregate(
        assigned=Count("id"),
        done=Count("id", filter=Q(review__status=ReviewStatus.SUBMITTED)),
        undeclared=Count("id", filter=Q(status=AssignmentStatus.PENDING)),
    )
    counts["returned"] = Assignment.objects.filter(application__call=call, status=AssignmentStatus.CONFLICT).count()
    counts["percent"] = round(100 * counts["done"] / counts["assigned"]) if counts["assigned"] else 0
    return counts
