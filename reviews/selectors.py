"""Reads of the review pages: a reviewer's assignments, the ranking, the scores export.

Each page's rows come from a fixed number of queries, however many applications and reviews."""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import rules
from django.db.models import Count, F, FilteredRelation, Prefetch, Q, QuerySet, Value
from django.db.models.functions import Coalesce
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _

from accounts.models import Role, User
from applications.models import Application, ApplicationStatus, Attachment, BudgetLine, Organisation
from calls.models import Call, FinalRanking
from kodoku_portal.normalise import normalise_code

from . import integrity, ranking
from .models import (
    Assignment,
    AssignmentStatus,
    Criterion,
    IntegrityFlag,
    IntegrityFlagStatus,
    InterviewSlot,
    RankingPanel,
    Review,
    ReviewerAffiliation,
    ReviewerStanding,
    ReviewRound,
    ReviewStage,
    ReviewStatus,
    Score,
    Shortlisting,
)


def assignments_for_reviewer(user: User) -> QuerySet[Assignment]:
    """A reviewer's live assignments (returned ones are gone from their list): the list form of
    rules.can_see_assignment for a reviewer."""
    return (
        Assignment.objects.filter(reviewer=user)
        .live()
        .select_related("application__call", "application__organisation", "review")
        .order_by("due_at", "id")
    )


REVIEWER_HOME_SORTS = {"due": ("due_at", "id")}


def reviewer_home_rows(user: User) -> QuerySet[Assignment]:
    """The reviewer's list: their live assignments with only the columns it shows (no long texts;
    paged by kodoku_portal.paging, index ``assignment_reviewer_due``)."""
    return assignments_for_reviewer(user).only(
        "id",
        "stage",
        "status",
        "due_at",
        "application_id",
        "application__title",
        "application__call_id",
        "application__call__title",
        "application__call__title_en",
        "application__organisation_id",
        "application__organisation__name",
        "review__id",
        "review__status",
    )


def assignment_for_reviewer(user: User, pk: int) -> Assignment:
    """The assignment, or 404 unless rules.can_see_assignment (a reviewer: their own, not returned
    for a conflict)."""
    assignment = get_object_or_404(
        Assignment.objects.select_related("application__call", "application__organisation", "review"), pk=pk
    )
    if not rules.test_rule("can_see_assignment", user, assignment):
        raise Http404
    return assignment


def application_for_reviewer(assignment: Assignment) -> Application:
    return (
        Application.objects.select_related("call", "organisation__applicant_type", "theme")
        .prefetch_related(Prefetch("budget_lines", queryset=BudgetLine.objects.order_by("position")), "attachments")
        .get(pk=assignment.application_id)
    )


def attachment_for_reader(user: User, application: Application, pk: int) -> Attachment:
    """One attachment of ``application`` for someone who may read its files
    (rules.can_read_application_files: staff, or a reviewer with an accepted assignment), or 404."""
    if not rules.test_rule("can_read_application_files", user, application):
        raise Http404
    # A file the virus check has not cleared (being checked, failed, quarantined) is not opened.
    attachment = get_object_or_404(
        Attachment.objects.filter(application_id=application.pk, scan_status__in=Attachment.OPENABLE), pk=pk
    )
    attachment.application = application  # the audit entry names it by the receipt number
    return attachment


def disclosed_comments(application: Application) -> list[str]:
    """The reviewers' comments marked 「申請者に開示可」 on counted reviews of ``application``: text
    only, never who wrote them, sorted by their text (a stable order that says nothing of the
    reviewer or of the order of the reviews)."""
    comments = (
        Review.objects.counted()
        .filter(assignment__application_id=application.pk, disclose_to_applicant=True)
        .exclude(comment_to_applicant="")
        .values_list("comment_to_applicant", flat=True)
    )
    return sorted(comment.strip() for comment in comments if comment.strip())


def criteria_of(call: Call, stage: str = ReviewStage.DOCUMENT) -> list[Criterion]:
    """The rubric of ``stage`` (the document review's unless told)."""
    return list(Criterion.objects.filter(call=call, stage=stage).order_by("order", "id"))


def other_reviews(assignment: Assignment) -> list[Review]:
    return list(
        Review.objects.filter(
            assignment__application_id=assignment.application_id,
            assignment__stage=assignment.stage,
            status=ReviewStatus.SUBMITTED,
        )
        .exclude(assignment=assignment)
        .select_related("assignment__reviewer")
        .prefetch_related("scores__criterion")
    )


def submitted_scores(call: Call, stage: str = ReviewStage.DOCUMENT) -> list[ranking.ReviewScores]:
    """Every counted review of the call at ``stage`` with its scores (one query)."""
    rows = Score.objects.filter(
        review__in=Review.objects.counted().filter(assignment__application__call=call, assignment__stage=stage)
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
    # Which score orders the list (the round's use_calibration): ``used`` is that score.
    by_calibrated: bool = False

    @property
    def score(self) -> float | None:
        return None if self.rank is None else self.rank.mean

    @property
    def used(self) -> float | None:
        """The score the list is ordered by: the calibrated mean or the raw mean."""
        return self.calibrated if self.by_calibrated else self.score

    @property
    def calibrated(self) -> float | None:
        return None if self.rank is None else self.rank.calibrated_mean


def ranked_applications(
    applications: QuerySet[Application], *, calibrate: bool, stage: str = ReviewStage.DOCUMENT
) -> QuerySet[Application]:
    """``applications`` with their stored line of ``stage`` (reviews/ranking_store.py) joined and
    ordered as the ranking is — the score in use descending, the unscored last, then by receipt
    number — in the database, so that a paginated list reads one page (``rows_of`` makes the rows).
    Annotations: ``n_assigned``, ``n_done``, ``ranked_n_reviews``, ``ranked_mean``,
    ``ranked_spread``, ``ranked_calibrated_mean``."""
    score = "ranked__calibrated_mean" if calibrate else "ranked__mean"
    return (
        applications.select_related("organisation", "theme")
        .annotate(
            ranked=FilteredRelation("rankings", condition=Q(rankings__stage=stage)),
            n_assigned=Coalesce("ranked__n_assigned", 0),
            n_done=Coalesce("ranked__n_done", 0),
            ranked_n_reviews=Coalesce("ranked__n_reviews", 0),
            ranked_mean=F("ranked__mean"),
            ranked_spread=F("ranked__spread"),
            ranked_calibrated_mean=F("ranked__calibrated_mean"),
        )
        .order_by(F(score).desc(nulls_last=True), Coalesce("receipt_number", Value("")), "pk")
    )


def rows_of(applications: Iterable[Application], *, calibrate: bool, first_position: int = 1) -> list[RankingRow]:
    """RankingRows of applications from :func:`ranked_applications` (all, or one page of them: the
    scored come first, so a page starting at offset ``o`` passes ``first_position = o + 1``)."""
    rows = []
    position = first_position
    for a in applications:
        rank = (
            ranking.ApplicationRank(a.pk, a.ranked_n_reviews, a.ranked_mean, a.ranked_spread, a.ranked_calibrated_mean)
            if a.ranked_n_reviews
            else None
        )
        rows.append(RankingRow(position if rank else None, a, a.n_assigned, a.n_done, rank, calibrate))
        position += bool(rank)
    return rows


def ranking_rows(
    call: Call, applications: QuerySet[Application], *, calibrate: bool, stage: str = ReviewStage.DOCUMENT
) -> list[RankingRow]:
    """The ranking of ``applications`` (already filtered) at ``stage``: scores, spread and progress,
    read from the stored ranking in one query (:func:`ranked_applications`); ordered by the score in
    use, then by receipt number (as Python compares them), the unscored last; positions count the
    scored rows shown."""
    rows = rows_of(ranked_applications(applications, calibrate=calibrate, stage=stage), calibrate=calibrate)

    def key(row: RankingRow) -> tuple[bool, float, str]:
        value = (row.calibrated if calibrate else row.score) if row.rank else None
        return (value is None, -(value or 0), row.application.receipt_number or "")

    rows.sort(key=key)  # already so in the database's collation; this makes it Python's
    for position, row in enumerate((r for r in rows if r.rank), start=1):
        row.position = position
    return rows


def submitted_applications(call: Call) -> QuerySet[Application]:
    return Application.objects.filter(call=call, status=ApplicationStatus.SUBMITTED)


def reviewable_applications(call: Call) -> QuerySet[Application]:
    """What the ranking lists: every application past the draft stage except withdrawn ones."""
    return Application.objects.filter(call=call).exclude(
        status__in=[ApplicationStatus.DRAFT, ApplicationStatus.WITHDRAWN]
    )


def scores_export(call: Call, stage: str = ReviewStage.DOCUMENT) -> Iterator[list]:
    """Rows of the scores CSV: one per counted review, criteria in rubric order, with the weighted
    total stored at submission (two queries)."""
    criteria = criteria_of(call, stage)
    reviews = (
        Review.objects.counted()
        .filter(assignment__application__call=call, assignment__stage=stage)
        .select_related("assignment__application__organisation", "assignment__reviewer")
        .prefetch_related("scores")
        .order_by("assignment__application__receipt_number", "assignment__reviewer__email")
    )
    for review in reviews.iterator(chunk_size=500):
        scores = {s.criterion_id: s.value for s in review.scores.all()}
        application = review.assignment.application
        total = review.total if len(scores) == len(criteria) else None  # stored at submission
        yield [
            application.receipt_number,
            application.organisation.name,
            application.title,
            review.assignment.reviewer.email,
            *[scores.get(c.pk, "") for c in criteria],
            "" if total is None else f"{total:.1f}",
            review.comment_to_staff,
        ]


def review_round(call: Call, stage: str = ReviewStage.DOCUMENT) -> ReviewRound:
    from .services import review_round_for

    return review_round_for(call=call, stage=stage)


def review_progress(call: Call, stage: str = ReviewStage.DOCUMENT) -> dict[str, int]:
    """Assignments of the call at ``stage`` (not returned for a conflict) and how many have a
    submitted review."""
    live = Assignment.objects.filter(application__call=call, stage=stage).live()
    counts = live.aggregate(
        assigned=Count("id"),
        done=Count("id", filter=Q(review__status=ReviewStatus.SUBMITTED)),
        undeclared=Count("id", filter=Q(status=AssignmentStatus.PENDING)),
    )
    counts["returned"] = Assignment.objects.filter(
        application__call=call, stage=stage, status=AssignmentStatus.CONFLICT
    ).count()
    counts["percent"] = round(100 * counts["done"] / counts["assigned"]) if counts["assigned"] else 0
    return counts


def reviewer_loads(call: Call, stage: str = ReviewStage.DOCUMENT) -> list[tuple[User, int]]:
    """Every active reviewer with their load on the call at ``stage`` (live assignments), for the staff page."""
    load = Assignment.objects.filter(application__call=call, stage=stage).load_by_reviewer()
    return [(reviewer, load.get(reviewer.pk, 0)) for reviewer in active_reviewers()]


ASSIGNMENT_PAGE_SORTS = {"receipt": ("receipt_number", "id"), "organisation": ("organisation__name", "id")}


def assignment_page_applications(call: Call) -> QuerySet[Application]:
    """The assignment page's rows: submitted applications with their assignments (three queries a
    page: count, rows, assignments with reviewer and review status; no long texts)."""
    assignments = Assignment.objects.select_related("reviewer", "review").only(
        "id",
        "application_id",
        "status",
        "due_at",
        "reviewer__id",
        "reviewer__full_name",
        "reviewer__email",
        "review__id",
        "review__status",
    )
    return (
        submitted_applications(call)
        .select_related("organisation")
        .only("id", "receipt_number", "title", "organisation__id", "organisation__name")
        .prefetch_related(Prefetch("assignments", queryset=assignments.order_by("due_at", "id")))
        .order_by("receipt_number", "id")
    )


def search_submitted_applications(call: Call, query: str) -> QuerySet[Application]:
    """Submitted applications of ``call`` whose receipt number, project name or organisation holds
    ``query`` (the assignment page's search; the JSON view pages it, 20 a page)."""
    found = submitted_applications(call)
    query = query.strip()
    if query:
        code = normalise_code(query)
        found = found.filter(
            Q(receipt_number__icontains=code) | Q(title__icontains=query) | Q(organisation__name__icontains=query)
        )
    return (
        found.select_related("organisation")
        .only("id", "receipt_number", "title", "organisation__id", "organisation__name")
        .order_by("receipt_number", "id")
    )


def organisation_by_pick(call: Call, value: str) -> Organisation:
    """The organisation named on the assignment page's conflict form: by its id, or by the receipt
    number of its application to ``call``; 404 otherwise."""
    value = normalise_code(value or "")
    if value.isdecimal() and len(value) < 19:
        # An id only names an organisation that applied to this call (a typed "0001" is no receipt).
        return get_object_or_404(Organisation.objects.filter(applications__call=call).distinct(), pk=int(value))
    return get_object_or_404(Organisation, applications__call=call, applications__receipt_number=value or None)


def shortlisted_ids(call: Call) -> set[int]:
    """The ids of the call's applications on the interview shortlist."""
    return set(Shortlisting.objects.filter(application__call=call).values_list("application_id", flat=True))


def search_reviewers(query: str) -> QuerySet[User]:
    """Active reviewers whose name or e-mail address holds ``query`` (the assignment page's search)."""
    found = active_reviewers()
    query = query.strip()
    if query:
        found = found.filter(Q(full_name__icontains=query) | Q(email__icontains=query))
    return found.only("id", "full_name", "email")


def active_reviewers() -> QuerySet[User]:
    """Reviewers who may be chosen for assignments, by name."""
    return User.objects.filter(role=Role.REVIEWER, is_active=True).order_by("full_name", "email")


# --- integrity checks and calibration (issue 11, items 5 and 6) ---------------------------------


@dataclass
class FlagView:
    """A flag as the staff pages show it: the flag, why it fired (sentences), and the other side."""

    flag: IntegrityFlag
    reasons: list[str]

    @property
    def is_open(self) -> bool:
        return self.flag.status == IntegrityFlagStatus.OPEN


def _flag_views(flags: QuerySet[IntegrityFlag]) -> list[FlagView]:
    return flag_views(_flag_rows(flags))


def flag_views(flags: Iterable[IntegrityFlag]) -> list[FlagView]:
    """FlagView rows of flags already read (a page of ``integrity_flags_page_query``)."""
    return [FlagView(flag, integrity.explain_matched(flag.matched)) for flag in flags]


def _flag_rows(flags: QuerySet[IntegrityFlag]) -> QuerySet[IntegrityFlag]:
    return flags.select_related(
        "application__call",
        "application__organisation",
        "other_application__call",
        "other_application__organisation",
        "reviewer",
        "dismissed_by",
        "overridden_by",
    ).order_by("status", "kind", "application__receipt_number", "id")


def integrity_flags_of_call(call: Call) -> list[FlagView]:
    """Every flag touching the call's applications, open ones first (one query)."""
    on_call = Application.objects.filter(call=call).values("id")
    flags = IntegrityFlag.objects.filter(Q(application_id__in=on_call) | Q(other_application_id__in=on_call))
    return _flag_views(flags)


def integrity_flags_page_query(call: Call, *, is_open: bool) -> QuerySet[IntegrityFlag]:
    """The call's open (or dismissed) flags, for the integrity page to page in the database."""
    on_call = Application.objects.filter(call=call).values("id")
    flags = IntegrityFlag.objects.filter(Q(application_id__in=on_call) | Q(other_application_id__in=on_call))
    open_q = Q(status=IntegrityFlagStatus.OPEN)
    return _flag_rows(flags.filter(open_q if is_open else ~open_q))


def integrity_flags_for(application: Application) -> list[FlagView]:
    """The flags of one application (either side of a duplicate), for its staff page (one query)."""
    return _flag_views(IntegrityFlag.objects.filter(Q(application=application) | Q(other_application=application)))


def flagged_application_ids(call: Call) -> dict[int, int]:
    """Application id → number of open flags, for the marker on the call's lists (one query)."""
    counts: dict[int, int] = {}
    rows = IntegrityFlag.objects.filter(status=IntegrityFlagStatus.OPEN).filter(
        Q(application__call=call) | Q(other_application__call=call)
    )
    for application_id, other_id in rows.values_list("application_id", "other_application_id"):
        for pk in (application_id, other_id):
            if pk is not None:
                counts[pk] = counts.get(pk, 0) + 1
    return counts


def affiliations_of(user: User) -> QuerySet[ReviewerAffiliation]:
    return ReviewerAffiliation.objects.filter(reviewer=user).order_by("-year_from", "id")


@dataclass
class CalibrationRow:
    reviewer: User
    line: ranking.ReviewerCalibration


def reviewer_calibration(call: Call) -> tuple[list[CalibrationRow], dict[str, float] | None]:
    """Each reviewer of the call against the panel (the totals the ranking's calibration uses),
    and the panel's own figures (count, mean, spread): the stored standings, two queries."""
    standings = ReviewerStanding.objects.filter(call=call, stage=ReviewStage.DOCUMENT).select_related("reviewer")
    rows = [
        CalibrationRow(
            s.reviewer,
            ranking.ReviewerCalibration(
                s.reviewer_id, s.n_reviews, s.mean, s.spread, s.difference, s.standing, s.verdict
            ),
        )
        for s in standings
    ]
    if not rows:
        return [], None
    stored = RankingPanel.objects.get(call=call, stage=ReviewStage.DOCUMENT)
    panel = {"n": stored.n_reviews, "mean": stored.mean, "spread": stored.spread}
    rows.sort(key=lambda row: (row.line.difference, row.reviewer.full_name, row.reviewer.email))
    return rows, panel


# --- rv-stages: the final ranking of a two-stage call (書類審査 → ヒアリング) -----------------------


@dataclass
class FinalRankingRow(RankingRow):
    """A line of the final ranking of a two-stage call: ``rank`` holds the final score (its ``mean``
    raw, its ``calibrated_mean`` calibrated), ``document`` and ``interview`` the two stages' own."""

    shortlisted: bool = False
    document: ranking.ApplicationRank | None = None
    interview: ranking.ApplicationRank | None = None


def _combined(
    call: Call, document: ranking.ApplicationRank | None, interview: ranking.ApplicationRank
) -> tuple[float | None, float | None]:
    """(raw, calibrated) final score of a shortlisted application: the interview's, or the weighted
    sum ``w * document + (1 − w) * interview`` with ``w = document_weight_percent / 100``."""
    if call.final_ranking != FinalRanking.WEIGHTED:
        return interview.mean, interview.calibrated_mean
    if document is None:
        return None, None
    w = call.document_weight_percent / 100
    raw = w * document.mean + (1 - w) * interview.mean
    calibrated = None
    if document.calibrated_mean is not None and interview.calibrated_mean is not None:
        calibrated = w * document.calibrated_mean + (1 - w) * interview.calibrated_mean
    return raw, calibrated


def ranking_basis(call: Call) -> str:
    """What the decisions page orders by, in words (its column header says so)."""
    if not call.two_stage_review:
        return ""
    if call.final_ranking == FinalRanking.WEIGHTED:
        return _("Final score: document review %(document)d%% + interview %(interview)d%%") % {
            "document": call.document_weight_percent,
            "interview": 100 - call.document_weight_percent,
        }
    return _("Final score: interview scores")


def final_ranking_rows(call: Call, applications: QuerySet[Application], *, calibrate: bool) -> list[RankingRow]:
    """The ranking the decisions use. A one-stage call: the document ranking (ranking_rows). A
    two-stage call: the shortlisted applications with an interview score first, by the final score
    (call.final_ranking); then the shortlisted still without one; then the applications not
    shortlisted, by their document score, without a position or a final score (so the adoption
    proposal leaves them out; staff may still decide them by hand)."""
    if not call.two_stage_review:
        return ranking_rows(call, applications, calibrate=calibrate)
    document_rows = ranking_rows(call, applications, calibrate=calibrate, stage=ReviewStage.DOCUMENT)
    interview = {
        row.application.pk: row.rank
        for row in ranking_rows(call, applications, calibrate=calibrate, stage=ReviewStage.INTERVIEW)
        if row.rank
    }
    shortlisted = set(Application.objects.filter(call=call, shortlisting__isnull=False).values_list("pk", flat=True))
    rows = []
    for row in document_rows:
        pk = row.application.pk
        final = None
        if pk in shortlisted and pk in interview:
            raw, calibrated = _combined(call, row.rank, interview[pk])
            if raw is not None:
                i = interview[pk]
                final = ranking.ApplicationRank(
                    pk, i.n_reviews, raw, i.spread, calibrated, i.reviewer_totals, i.calibrated_totals
                )
        rows.append(
            FinalRankingRow(
                None,
                row.application,
                row.assigned,
                row.done,
                final,
                by_calibrated=calibrate,
                shortlisted=pk in shortlisted,
                document=row.rank,
                interview=interview.get(pk),
            )
        )

    def key(row: FinalRankingRow) -> tuple:
        if row.rank is not None:
            value = (row.rank.calibrated_mean if calibrate else row.rank.mean) or 0
            return (0, -value, row.application.receipt_number or "")
        document = (
            row.document.calibrated_mean
            if (row.document and calibrate)
            else (row.document.mean if row.document else None)
        )
        return (1 if row.shortlisted else 2, -(document or 0), row.application.receipt_number or "")

    rows.sort(key=key)
    for position, row in enumerate((r for r in rows if r.rank), start=1):
        row.position = position
    return rows


def stage_summary(application: Application) -> dict:
    """One application's part in a two-stage review, for the staff page of the application: the
    shortlisting, the slot and each interview review's weighted total (a fixed number of queries)."""
    call = application.call
    if not call.two_stage_review:
        return {"two_stage": False}
    shortlisting = Shortlisting.objects.filter(application=application).first()
    slot = InterviewSlot.objects.filter(application=application).first()
    criteria = [ranking.Criterion(c.pk, c.max_score, c.weight) for c in criteria_of(call, ReviewStage.INTERVIEW)]
    reviews = []
    for assignment in (
        Assignment.objects.filter(application=application, stage=ReviewStage.INTERVIEW)
        .select_related("reviewer", "review")
        .prefetch_related("review__scores")
        .order_by("id")
    ):
        review = getattr(assignment, "review", None)
        scores = {s.criterion_id: s.value for s in review.scores.all()} if review else {}
        counted = (
            review is not None
            and review.status == ReviewStatus.SUBMITTED
            and assignment.status == AssignmentStatus.ACCEPTED
            and criteria
            and len(scores) == len(criteria)
        )
        reviews.append(
            {"assignment": assignment, "total": ranking.weighted_total(criteria, scores) if counted else None}
        )
    totals = [r["total"] for r in reviews if r["total"] is not None]
    return {
        "two_stage": True,
        "shortlisting": shortlisting,
        "slot": slot,
        "reviews": reviews,
        "mean": sum(totals) / len(totals) if totals else None,
    }
