"""Every state change of the review: rubric, phase, assignments, conflict declarations, reviews.

Each function is one transaction and the only writer of what it changes. States (the round's phase,
an assignment's and a review's status) change only through kodoku_portal.workflow.change_state,
which checks the model's TRANSITIONS and writes the audit entry; creating and removing assignments
and recording a conflict are audited with kodoku_portal.workflow.record. Who may act is asked of
reviews/rules.py. Every refusal is a kodoku_portal.workflow.Refused.
"""

import datetime as dt
from dataclasses import dataclass

from django.db import models, transaction
from django.db.models import OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Role, User
from applications.models import Answer, Application, ApplicationStatus, Attachment, Membership, Organisation
from calls.models import Call
from calls.standard_form import PARTNERS_KEY
from kodoku_portal.jp import join_list
from kodoku_portal.workflow import Refused, change_state, record

from . import allocation, integrity, ranking_store
from . import rules as permissions
from .models import (
    Assignment,
    AssignmentStatus,
    ConflictDeclaration,
    Criterion,
    IntegrityFlag,
    IntegrityFlagKind,
    IntegrityFlagStatus,
    Review,
    ReviewerAffiliation,
    ReviewPhase,
    ReviewRound,
    ReviewStage,
    ReviewStatus,
    Score,
    Shortlisting,
)

# 審査項目 for the NPO model calls, from the call's purpose in the seed: pioneering initiatives,
# partnership of diverse local actors, feasibility, continuity and nationwide roll-out, budget.
DEFAULT_RUBRIC = [
    ("先駆性", "Pioneering", "日常生活環境での緩やかなつながりや居場所づくりに関する先駆的な取組であるか。"),
    (
        "地域の多様な主体との連携",
        "Partnership with diverse local actors",
        "地域の多様な主体との水平的な連携を通じた取組であるか。",
    ),
    ("実現可能性・実施体制", "Feasibility and organisation", "計画・スケジュール・実施体制が実現可能なものであるか。"),
    (
        "継続性・波及性（全国展開）",
        "Continuity and spread (nationwide roll-out)",
        "事業終了後も継続が見込まれ、取組モデルとして全国展開が期待できるか。",
    ),
    ("予算の妥当性", "Appropriateness of the budget", "経費の内容・積算が事業内容に照らして妥当であるか。"),
]


# 評価項目 of the interview (ヒアリング) of a two-stage call, until staff change them.
INTERVIEW_RUBRIC = [
    ("事業の理解・熱意", "Understanding and commitment", "事業の目的と内容を十分に理解し、実施への意欲が明確か。"),
    ("質疑への対応", "Answers to questions", "質問に対して具体的かつ的確に回答できているか。"),
    ("実施体制の確実性", "Reliability of the organisation", "計画を確実に実施できる体制・人員が確保されているか。"),
]


@transaction.atomic
def review_round_for(*, call: Call, stage: str = ReviewStage.DOCUMENT) -> ReviewRound:
    """The call's review round of ``stage``, created with the default rubric of that stage the first
    time it is needed."""
    review_round, created = ReviewRound.objects.get_or_create(call=call, stage=stage)
    if created and not call.criteria.filter(stage=stage).exists():
        rubric = INTERVIEW_RUBRIC if stage == ReviewStage.INTERVIEW else DEFAULT_RUBRIC
        Criterion.objects.bulk_create(
            Criterion(
                call=call,
                stage=stage,
                order=i,
                name=name,
                name_en=name_en,
                description=description,
                max_score=5,
                weight=1,
            )
            for i, (name, name_en, description) in enumerate(rubric, start=1)
        )
    return review_round


@dataclass(frozen=True)
class CriterionInput:
    name: str
    name_en: str
    description: str
    max_score: int
    weight: float


@transaction.atomic
def rubric_replace(*, call: Call, criteria: list[CriterionInput], stage: str = ReviewStage.DOCUMENT) -> None:
    """Replace the rubric of ``stage``; only while its round is being prepared (no score refers to it yet)."""
    review_round = ReviewRound.objects.select_for_update().get(call=call, stage=stage)
    if not review_round.rubric_editable:
        raise Refused(_("The rubric can only be changed before the review starts."), code="locked")
    if not criteria:
        raise Refused(_("The rubric needs at least one criterion."), code="empty")
    call.criteria.filter(stage=stage).delete()
    Criterion.objects.bulk_create(
        Criterion(
            call=call,
            stage=stage,
            order=i,
            name=c.name,
            name_en=c.name_en,
            description=c.description,
            max_score=c.max_score,
            weight=c.weight,
        )
        for i, c in enumerate(criteria, start=1)
    )
    ranking_store.refresh_totals(call.pk, stage)
    ranking_store.refresh(call.pk, stage)


@transaction.atomic
def round_configure(
    *,
    call: Call,
    reviewers_per_application: int,
    use_calibration: bool,
    default_due_at: dt.datetime | None,
    stage: str = ReviewStage.DOCUMENT,
) -> ReviewRound:
    review_round = ReviewRound.objects.select_for_update().get(call=call, stage=stage)
    if reviewers_per_application < 1:
        raise Refused(_("At least one reviewer per application."), code="invalid")
    review_round.reviewers_per_application = reviewers_per_application
    review_round.use_calibration = use_calibration
    review_round.default_due_at = default_due_at
    review_round.save()
    return review_round


def _refuse_unless_staff(user: User | None) -> None:
    if not permissions.can_manage_review_round.test(user):
        raise Refused(_("Only programme staff may do this."), code="forbidden")


@transaction.atomic
def phase_set(*, call: Call, phase: ReviewPhase, by: User, stage: str = ReviewStage.DOCUMENT) -> ReviewRound:
    """Move the round of ``stage`` to another phase (ReviewRound.TRANSITIONS); in a two-stage call
    the stages follow each other (reviews/stages.py: refuse_phase_change)."""
    _refuse_unless_staff(by)
    review_round = ReviewRound.objects.select_for_update().get(call=call, stage=stage)
    _refuse_out_of_stage_order(review_round, phase)
    change_state(review_round, phase, by=by, action="phase_changed", field="phase")
    return review_round


def _refuse_out_of_stage_order(review_round: ReviewRound, phase: str) -> None:
    """rv-stages: in a two-stage call the interview opens only once the document review is locked
    and someone is shortlisted; the document review stays locked once the interview has opened."""
    call = review_round.call
    others = dict(ReviewRound.objects.filter(call=call).values_list("stage", "phase"))
    if review_round.stage == ReviewStage.INTERVIEW and review_round.phase == ReviewPhase.SETUP:
        if not call.two_stage_review:
            raise Refused(_("This call is reviewed in one stage."), code="one_stage")
        if others.get(ReviewStage.DOCUMENT) != ReviewPhase.LOCKED:
            raise Refused(_("Lock the document review before the interview opens."), code="order")
        if not Shortlisting.objects.filter(application__call=call).exists():
            raise Refused(_("Shortlist at least one application before the interview opens."), code="empty")
    if (
        review_round.stage == ReviewStage.DOCUMENT
        and review_round.phase == ReviewPhase.LOCKED
        and others.get(ReviewStage.INTERVIEW, ReviewPhase.SETUP) != ReviewPhase.SETUP
    ):
        raise Refused(_("The document review cannot reopen once the interview has opened."), code="order")


# --- conflicts and assignments ----------------------------------------------------------------


def conflicted_pairs(*, call: Call) -> set[tuple[int, int]]:
    """(application id, reviewer id) pairs that must never be assigned: the reviewer declared a
    conflict with the organisation beforehand, belongs to it, or returned that application."""
    applications = dict(
        Application.objects.filter(call=call, status=ApplicationStatus.SUBMITTED).values_list("id", "organisation_id")
    )
    by_organisation: dict[int, list[int]] = {}
    for application_id, organisation_id in applications.items():
        by_organisation.setdefault(organisation_id, []).append(application_id)
    pairs = set()
    rows = list(
        ConflictDeclaration.objects.filter(organisation_id__in=by_organisation).values_list(
            "organisation_id", "reviewer_id"
        )
    ) + list(Membership.objects.filter(organisation_id__in=by_organisation).values_list("organisation_id", "user_id"))
    for organisation_id, reviewer_id in rows:
        for application_id in by_organisation[organisation_id]:
            pairs.add((application_id, reviewer_id))
    pairs.update(
        Assignment.objects.filter(application__call=call, status=AssignmentStatus.CONFLICT).values_list(
            "application_id", "reviewer_id"
        )
    )
    return pairs


def _check_assignable(
    application: Application, reviewer: User, conflicts: set[tuple[int, int]], shortlist: set[int] | None = None
) -> None:
    """``shortlist``: for an interview assignment, the ids of the shortlisted applications."""
    if application.status != ApplicationStatus.SUBMITTED:
        raise Refused(_("Only submitted applications can be reviewed."), code="not_submitted")
    if shortlist is not None and application.pk not in shortlist:
        raise Refused(
            _("%(application)s is not shortlisted for the interview.") % {"application": application.audit_label},
            code="not_shortlisted",
        )
    if not permissions.is_reviewer.test(reviewer):
        raise Refused(_("%(user)s is not a reviewer.") % {"user": reviewer}, code="not_reviewer")
    if (application.pk, reviewer.pk) in conflicts:
        raise Refused(
            _("%(user)s has a conflict of interest with %(organisation)s.")
            % {"user": reviewer, "organisation": application.organisation.name},
            code="conflict",
        )


@transaction.atomic
def assignment_create(
    *,
    application: Application,
    reviewer: User,
    due_at: dt.datetime | None,
    assigned_by: User,
    override_reason: str = "",
    stage: str = ReviewStage.DOCUMENT,
) -> Assignment:
    """Assign one reviewer by hand; refused for a conflict of interest (declared at either stage),
    and for a pair the integrity checks flagged unless ``override_reason`` says why it is assigned
    anyway (audited)."""
    _refuse_unless_staff(assigned_by)
    _check_assignable(
        application, reviewer, conflicted_pairs(call=application.call), _shortlist_of(application.call_id, stage)
    )
    # Assignments of a round and stage are made one at a time (see assignments_bulk).
    ReviewRound.objects.select_for_update().filter(call_id=application.call_id, stage=stage).first()
    integrity_refresh(call=application.call)
    flags = _open_conflict_flags(application.call, {(application.pk, reviewer.pk)})
    flag = flags.get((application.pk, reviewer.pk))
    if flag is not None and not override_reason.strip():
        raise Refused(_flagged_message(flag), code="flagged")
    assignment, created = Assignment.objects.get_or_create(
        application=application,
        reviewer=reviewer,
        stage=stage,
        defaults={"due_at": due_at, "assigned_by": assigned_by},
    )
    if not created:
        raise Refused(_("This reviewer is already assigned to this application."), code="duplicate")
    _record_created([assignment], by=assigned_by)
    if flag is not None:
        _record_override(flag, override_reason, by=assigned_by)
    ranking_store.refresh(application.call_id, stage)
    return assignment


def _shortlist_of(call_id: int, stage: str) -> set[int] | None:
    """The applications an interview assignment may be about (None for the document stage)."""
    if stage != ReviewStage.INTERVIEW:
        return None
    return set(Shortlisting.objects.filter(application__call_id=call_id).values_list("application_id", flat=True))


def _record_created(assignments: list[Assignment], *, by: User) -> None:
    """One audit entry per assignment made (a new assignment starts PENDING: not a transition).
    Each needs its application and reviewer loaded: the entry keeps str(assignment)."""
    for assignment in assignments:
        record(
            assignment,
            by=by,
            action="assignment_created",
            after={"reviewer": assignment.reviewer.email, "due_at": assignment.due_at, "stage": assignment.stage},
            call_id=assignment.application.call_id,
        )


@dataclass
class BulkResult:
    created: int
    skipped: list[str]


@transaction.atomic
def assignments_bulk(
    *,
    applications: list[Application],
    reviewers: list[User],
    due_at: dt.datetime | None,
    assigned_by: User,
    override_reason: str = "",
    stage: str = ReviewStage.DOCUMENT,
) -> BulkResult:
    """Assign every chosen reviewer to every chosen application, skipping conflicts and duplicates,
    and pairs the integrity checks flagged unless ``override_reason`` is given (then audited)."""
    _refuse_unless_staff(assigned_by)
    if not applications:
        return BulkResult(0, [])
    # One bulk assignment at a time per round and stage (as the automatic one): two at once on the
    # same pair would meet the unique (application, reviewer, stage) constraint.
    ReviewRound.objects.select_for_update().filter(call_id=applications[0].call_id, stage=stage).first()
    conflicts = conflicted_pairs(call=applications[0].call)
    integrity_refresh(call=applications[0].call)
    flags = _open_conflict_flags(applications[0].call, {(a.pk, r.pk) for a in applications for r in reviewers})
    shortlist = _shortlist_of(applications[0].call_id, stage)
    existing = set(
        Assignment.objects.filter(application__in=applications, reviewer__in=reviewers, stage=stage).values_list(
            "application_id", "reviewer_id"
        )
    )
    skipped, new, overridden = [], [], []
    for application in applications:
        for reviewer in reviewers:
            if (application.pk, reviewer.pk) in existing:
                continue
            try:
                _check_assignable(application, reviewer, conflicts, shortlist)
            except Refused as refused:
                skipped.append(refused.message)
                continue
            flag = flags.get((application.pk, reviewer.pk))
            if flag is not None:
                if not override_reason.strip():
                    skipped.append(_flagged_message(flag))
                    continue
                overridden.append(flag)
            new.append(
                Assignment(
                    application=application, reviewer=reviewer, stage=stage, due_at=due_at, assigned_by=assigned_by
                )
            )
    _record_created(Assignment.objects.bulk_create(new), by=assigned_by)
    for flag in overridden:
        _record_override(flag, override_reason, by=assigned_by)
    if new:
        ranking_store.refresh(applications[0].call_id, stage)
    return BulkResult(len(new), skipped)


@transaction.atomic
def assignments_auto(
    *,
    call: Call,
    reviewers: list[User],
    due_at: dt.datetime | None,
    assigned_by: User,
    stage: str = ReviewStage.DOCUMENT,
) -> int:
    """Give every submitted application (at the interview stage: every shortlisted one) k reviewers,
    loads as even as possible, never a conflict (declared at either stage) and never a pair the
    integrity checks flagged (allocation.exclude_flagged)."""
    _refuse_unless_staff(assigned_by)
    review_round = ReviewRound.objects.select_for_update().get(call=call, stage=stage)
    candidates = Application.objects.filter(call=call, status=ApplicationStatus.SUBMITTED)
    shortlist = _shortlist_of(call.pk, stage)
    if shortlist is not None:
        candidates = candidates.filter(pk__in=shortlist)
    application_ids = list(candidates.order_by("id").values_list("id", flat=True))
    chosen = sorted(r.pk for r in reviewers if permissions.is_reviewer.test(r))
    if not application_ids or not chosen:
        return 0
    on_call = Assignment.objects.filter(application__call=call, stage=stage)
    existing = set(on_call.live().values_list("application_id", "reviewer_id"))
    load = on_call.load_by_reviewer()
    # Reviewers already on the call but not chosen this time still count towards each
    # application's k; a conflict on every other application keeps new work away from them.
    others = sorted(set(load) - set(chosen))
    conflicts = conflicted_pairs(call=call) | {
        (a, r) for a in application_ids for r in others if (a, r) not in existing
    }
    integrity_refresh(call=call)
    conflicts = allocation.exclude_flagged(conflicts, flagged_pairs(call=call) - existing)
    pairs = allocation.allocate(
        application_ids,
        chosen + others,
        review_round.reviewers_per_application,
        conflicts=conflicts,
        existing=existing,
        existing_load={r: load.get(r, 0) for r in chosen + others},
    )
    applications = Application.objects.in_bulk({a for a, _r in pairs})
    users = User.objects.in_bulk({r for _a, r in pairs})
    created = Assignment.objects.bulk_create(
        Assignment(application=applications[a], reviewer=users[r], stage=stage, due_at=due_at, assigned_by=assigned_by)
        for a, r in pairs
    )
    _record_created(created, by=assigned_by)
    if created:
        ranking_store.refresh(call.pk, stage)
    return len(created)


@transaction.atomic
def assignment_remove(*, assignment: Assignment, by: User) -> None:
    _refuse_unless_staff(by)
    locked = (
        Assignment.objects.select_for_update(of=("self",))
        .select_related("application", "reviewer")
        .get(pk=assignment.pk)
    )
    if Review.objects.filter(assignment=locked, status=ReviewStatus.SUBMITTED).exists():
        raise Refused(_("A submitted review cannot be removed; reopen it first."), code="has_review")
    record(
        locked,
        by=by,
        action="assignment_removed",
        before={"reviewer": locked.reviewer.email, "status": locked.status},
        call_id=locked.application.call_id,
    )
    locked.delete()
    ranking_store.refresh(locked.application.call_id, locked.stage)


def _reason(text: str) -> str:
    """A conflict's reason cut to what the assignment and the declaration keep."""
    return text[: Assignment._meta.get_field("conflict_reason").max_length]


@transaction.atomic
def assignment_declare(*, assignment: Assignment, has_conflict: bool, reason: str = "") -> Assignment:
    """利害関係の申告, by the assignment's reviewer. With a conflict the assignment goes back to staff
    and the application is hidden from the reviewer from then on; without, the reviewer may open
    and score it. Refused once the round is locked (rules.can_declare_conflict)."""
    locked = (
        Assignment.objects.select_for_update(of=("self",))
        .select_related("application", "reviewer")
        .get(pk=assignment.pk)
    )
    target = AssignmentStatus.CONFLICT if has_conflict else AssignmentStatus.ACCEPTED
    if locked.status == target:
        return locked
    if permissions.round_is_locked.test(locked.reviewer, locked):
        raise Refused(
            _("The review round is locked. Please tell the programme staff about the conflict of interest."),
            code="locked",
        )
    locked.conflict_reason = _reason(reason) if has_conflict else ""
    locked.declared_at = timezone.now()
    change_state(
        locked,
        target,
        by=locked.reviewer,
        action="conflict_declared" if has_conflict else "assignment_accepted",
        update_fields=["conflict_reason", "declared_at"],
        after={"conflict_reason": locked.conflict_reason} if has_conflict else None,
        call_id=locked.application.call_id,
    )
    if has_conflict:
        Review.objects.filter(assignment=locked).delete()
        ranking_store.refresh(locked.application.call_id, locked.stage)
    return locked


@transaction.atomic
def conflict_declare(*, reviewer: User, organisation: Organisation, reason: str = "", by: User) -> ConflictDeclaration:
    """A conflict declared beforehand, recorded by staff: the automatic and manual assignment will
    avoid it, and the reviewer's live assignments to the organisation go back to staff."""
    _refuse_unless_staff(by)
    declaration, created = ConflictDeclaration.objects.get_or_create(
        reviewer=reviewer, organisation=organisation, defaults={"reason": _reason(reason)}
    )
    if created:
        record(
            declaration,
            by=by,
            action="conflict_recorded",
            after={"reviewer": reviewer.email, "organisation": organisation.name, "reason": declaration.reason},
        )
    # Assignments made before the declaration go back to staff as well: the reviewer loses access
    # at once and any review they wrote no longer counts.
    live = (
        Assignment.objects.select_for_update(of=("self",))
        .select_related("application", "reviewer")
        .filter(reviewer=reviewer, application__organisation=organisation)
        .live()
    )
    rounds = set()
    for assignment in live:
        rounds.add((assignment.application.call_id, assignment.stage))
        Review.objects.filter(assignment=assignment).delete()
        assignment.conflict_reason = _reason(reason)
        assignment.declared_at = timezone.now()
        change_state(
            assignment,
            AssignmentStatus.CONFLICT,
            by=by,
            action="assignment_returned",
            update_fields=["conflict_reason", "declared_at"],
            after={"conflict_reason": assignment.conflict_reason},
            call_id=assignment.application.call_id,
        )
    for call_id, stage in sorted(rounds):
        ranking_store.refresh(call_id, stage)
    return declaration


# --- reviews ----------------------------------------------------------------------------------


def _refuse_unless_reviewable(assignment: Assignment, *, closed_message: str, closed_code: str) -> None:
    """Refuse unless the assignment's reviewer may review it now (rules.can_review), saying why."""
    reviewer = assignment.reviewer
    if permissions.can_review.test(reviewer, assignment):
        return
    if not permissions.assignment_is_accepted.test(reviewer, assignment):
        raise Refused(_("Declare that you have no conflict of interest before scoring."), code="not_accepted")
    if not permissions.application_is_undecided.test(reviewer, assignment):
        raise Refused(
            _("A decision has been taken on this application; its reviews can no longer be changed."),
            code="decided",
        )
    raise Refused(closed_message, code=closed_code)


@transaction.atomic
def review_save(
    *,
    assignment: Assignment,
    scores: dict[int, int | None],
    comment_to_staff: str,
    comment_to_applicant: str,
    submit: bool,
    disclose_to_applicant: bool = False,
) -> Review:
    """Save scores as a draft by the assignment's reviewer (rules.can_review), and with ``submit``
    submit them in the same transaction (review_submit); every score must lie in 0..max of its
    criterion."""
    locked = (
        Assignment.objects.select_for_update(of=("self",))
        .select_related("application", "reviewer")
        .get(pk=assignment.pk)
    )
    _refuse_unless_reviewable(locked, closed_message=_("Reviews are not open for this call."), closed_code="closed")
    criteria = {c.pk: c for c in Criterion.objects.filter(call_id=locked.application.call_id, stage=locked.stage)}
    unknown = set(scores) - set(criteria)
    if unknown:
        raise Refused(_("Unknown criterion."), code="invalid")
    for criterion_id, value in scores.items():
        if value is not None and not 0 <= value <= criteria[criterion_id].max_score:
            raise Refused(
                _("%(criterion)s: give a score from 0 to %(max)d.")
                % {"criterion": criteria[criterion_id], "max": criteria[criterion_id].max_score},
                code="invalid",
            )
    review, _created = Review.objects.get_or_create(assignment=locked)
    if review.status == ReviewStatus.SUBMITTED:
        raise Refused(_("This review has been submitted; reopen it to change it."), code="submitted")
    review.scores.all().delete()
    Score.objects.bulk_create(Score(review=review, criterion_id=c, value=v) for c, v in scores.items() if v is not None)
    review.comment_to_staff = comment_to_staff
    review.comment_to_applicant = comment_to_applicant
    review.disclose_to_applicant = disclose_to_applicant
    review.save(update_fields=["comment_to_staff", "comment_to_applicant", "disclose_to_applicant", "updated_at"])
    if submit:
        review = review_submit(assignment=locked)
    return review


@transaction.atomic
def review_submit(*, assignment: Assignment) -> Review:
    """Submit the saved draft, by the assignment's reviewer (rules.can_review): every criterion
    needs a score."""
    locked = (
        Assignment.objects.select_for_update(of=("self",))
        .select_related("application", "reviewer")
        .get(pk=assignment.pk)
    )
    _refuse_unless_reviewable(locked, closed_message=_("Reviews are not open for this call."), closed_code="closed")
    review = Review.objects.select_for_update().filter(assignment=locked).first()
    if review is None or review.status == ReviewStatus.SUBMITTED:
        raise Refused(_("There is no draft review to submit."), code="transition")
    missing = [
        str(c)
        for c in Criterion.objects.filter(call_id=locked.application.call_id, stage=locked.stage).exclude(
            scores__review=review
        )
    ]
    if missing:
        raise Refused(
            _("Give a score for every criterion: %(missing)s.") % {"missing": join_list(missing)}, code="incomplete"
        )
    review.assignment = locked
    review.submitted_at = timezone.now()
    rubric = ranking_store.rubric_of(locked.application.call_id, locked.stage)
    scores = dict(review.scores.values_list("criterion_id", "value"))
    review.total = ranking_store.totals_of(rubric, {review.pk: scores})[review.pk] if rubric else None
    change_state(
        review,
        ReviewStatus.SUBMITTED,
        by=locked.reviewer,
        action="review_submitted",
        update_fields=["submitted_at", "total"],
        call_id=locked.application.call_id,
    )
    ranking_store.refresh(locked.application.call_id, locked.stage)
    return review


@transaction.atomic
def review_reopen(*, assignment: Assignment) -> Review:
    """Reopen a submitted review, by its reviewer, while they may review (rules.can_review)."""
    review = (
        Review.objects.select_for_update(of=("self",))
        .select_related("assignment__application", "assignment__reviewer")
        .filter(assignment=assignment)
        .first()
    )
    if review is None:
        raise Refused(_("There is no submitted review to reopen."), code="transition")
    _refuse_unless_reviewable(review.assignment, closed_message=_("The review round is locked."), closed_code="locked")
    review.submitted_at = None
    review.total = None
    change_state(
        review,
        ReviewStatus.DRAFT,
        by=review.assignment.reviewer,
        action="review_reopened",
        update_fields=["submitted_at", "total"],
        call_id=review.assignment.application.call_id,
    )
    ranking_store.refresh(review.assignment.application.call_id, review.assignment.stage)
    return review


# --- reading the file ---------------------------------------------------------------------------


@transaction.atomic
def attachment_opened(*, attachment: Attachment, by: User) -> None:
    """Audit that ``by`` opened ``attachment`` (who, which file, when), after asking
    rules.can_read_application_files: staff, or a reviewer with an accepted assignment on it."""
    application = attachment.application
    if not permissions.can_read_application_files.test(by, application):
        raise Refused(_("You may not open the files of this application."), code="forbidden")
    record(
        attachment,
        by=by,
        action="attachment_opened",
        after={"file": attachment.original_name, "kind": attachment.kind, "role": by.role},
        call_id=application.call_id,
    )


# --- integrity checks (issue 11, item 5; the rules are in reviews/integrity.py) -----------------

# Applications the checks read: every one past the draft stage, except those withdrawn.
_UNCHECKED_STATUSES = (ApplicationStatus.DRAFT, ApplicationStatus.WITHDRAWN)


def _application_rows(applications: QuerySet[Application]) -> list[integrity.ApplicationRow]:
    """The checks' view of applications, in one query."""
    fields = (
        "id",
        "call_id",
        "organisation_id",
        "organisation__name",
        "organisation__corporate_number",
        "organisation__representative_name",
        "organisation__address",
        "organisation__phone",
        "partners_written",
    )
    # The partners are an answer to the call's form (calls/standard_form.py), read in the same query.
    partners = Answer.objects.filter(application=OuterRef("pk"), field_key=PARTNERS_KEY).values("text")[:1]
    applications = applications.annotate(
        partners_written=Coalesce(Subquery(partners), Value(""), output_field=models.TextField())
    )
    return [integrity.ApplicationRow(*row) for row in applications.order_by("id").values_list(*fields)]


def _affiliation_rows() -> list[integrity.AffiliationRow]:
    """Every active reviewer's affiliations, in one query (which count is the rules' business)."""
    return [
        integrity.AffiliationRow(*row)
        for row in ReviewerAffiliation.objects.filter(reviewer__role=Role.REVIEWER, reviewer__is_active=True)
        .order_by("id")
        .values_list("id", "reviewer_id", "organisation_name", "corporate_number", "year_from", "year_to")
    ]


def _same_year_calls(call: Call) -> QuerySet[Call]:
    """The calls whose applications may duplicate this call's: the calls of the same programme and
    fiscal year (only the call itself when it names no fiscal year)."""
    if not call.fiscal_year:
        return Call.objects.filter(pk=call.pk)
    return Call.objects.filter(programme_id=call.programme_id, fiscal_year=call.fiscal_year)


def _reasons(matched: list[dict]) -> list[tuple[str, str]]:
    """What a dismissal is about: the rules that fired (and for a conflict, which affiliation)."""
    return sorted({(m.get("rule", ""), m.get("affiliation", "")) for m in matched})


@transaction.atomic
def integrity_refresh(*, call: Call) -> None:
    """Run the integrity checks for the call's applications and bring its flags up to date.

    Idempotent, and a fixed number of queries however many applications: new findings become OPEN
    flags; an open flag whose finding is gone is deleted; a dismissed one is kept (its dismissal
    stays on record) and opens again, audited, when the check now fires for other reasons than
    those dismissed. Run when staff open the pages that show flags, press 「再検査」, before every
    assignment, and when a reviewer changes their affiliations.
    """
    rows = _application_rows(
        Application.objects.filter(call__in=_same_year_calls(call)).exclude(status__in=_UNCHECKED_STATUSES)
    )
    concerning = {row.id for row in rows if row.call_id == call.pk}
    this_year = timezone.localdate().year
    findings = integrity.duplicate_findings(rows, concerning=concerning) + integrity.conflict_findings(
        [row for row in rows if row.id in concerning], _affiliation_rows(), this_year=this_year
    )
    wanted = {finding.key: finding for finding in findings}
    on_call = Application.objects.filter(call=call).values("id")
    have = {
        flag.key: flag
        for flag in IntegrityFlag.objects.select_for_update().filter(
            models.Q(application_id__in=on_call) | models.Q(other_application_id__in=on_call)
        )
    }
    IntegrityFlag.objects.bulk_create(
        [
            IntegrityFlag(
                kind=f.kind,
                application_id=f.application_id,
                other_application_id=f.other_application_id,
                reviewer_id=f.reviewer_id,
                matched=f.matched,
            )
            for key, f in wanted.items()
            if key not in have
        ],
        ignore_conflicts=True,  # two pages refreshing at once make the same flag once
    )
    # An open flag whose finding is gone is deleted, unless staff assigned its pair anyway: the
    # reason they gave stays with it (as a dismissed flag's does).
    gone = [
        flag.pk
        for key, flag in have.items()
        if key not in wanted and flag.status == IntegrityFlagStatus.OPEN and flag.overridden_at is None
    ]
    if gone:
        IntegrityFlag.objects.filter(pk__in=gone).delete()
    changed = [flag for key, flag in have.items() if key in wanted and flag.matched != wanted[key].matched]
    quiet = []
    for flag in changed:
        new_matched = wanted[flag.key].matched
        reopen = flag.status == IntegrityFlagStatus.DISMISSED and _reasons(new_matched) != _reasons(flag.matched)
        flag.matched = new_matched
        if not reopen:
            quiet.append(flag)
            continue
        flag.dismissed_by, flag.dismissed_at, flag.reason = None, None, ""
        change_state(
            flag,
            IntegrityFlagStatus.OPEN,
            by=None,
            action="integrity_flag_reopened",
            update_fields=["matched", "dismissed_by", "dismissed_at", "reason"],
            call_id=call.pk,
        )
    if quiet:
        IntegrityFlag.objects.bulk_update(quiet, ["matched"])


def integrity_refresh_open_calls() -> None:
    """Refresh every call that has applications awaiting a decision (after an affiliation changes)."""
    for call in Call.objects.filter(applications__status=ApplicationStatus.SUBMITTED).distinct().order_by("id"):
        integrity_refresh(call=call)


def flagged_pairs(*, call: Call) -> set[tuple[int, int]]:
    """(application id, reviewer id) of the call's open conflict-of-interest flags: pairs the
    automatic assignment never places and a manual one places only with a reason."""
    return set(
        IntegrityFlag.objects.filter(
            kind=IntegrityFlagKind.CONFLICT, status=IntegrityFlagStatus.OPEN, application__call=call
        ).values_list("application_id", "reviewer_id")
    )


def _open_conflict_flags(call: Call, pairs: set[tuple[int, int]]) -> dict[tuple[int, int], IntegrityFlag]:
    flags = IntegrityFlag.objects.filter(
        kind=IntegrityFlagKind.CONFLICT,
        status=IntegrityFlagStatus.OPEN,
        application__call=call,
        application_id__in={a for a, _r in pairs},
        reviewer_id__in={r for _a, r in pairs},
    ).select_related("application__organisation", "reviewer")
    return {(f.application_id, f.reviewer_id): f for f in flags if (f.application_id, f.reviewer_id) in pairs}


def _flagged_message(flag: IntegrityFlag) -> str:
    return _(
        "%(user)s may have a conflict of interest with %(number)s (%(organisation)s): %(why)s. "
        "Give a reason to assign anyway, or dismiss the flag on the integrity page."
    ) % {
        "user": flag.reviewer,
        "number": flag.application.receipt_number or flag.application,
        "organisation": flag.application.organisation.name,
        "why": join_list(integrity.explain_matched(flag.matched)),
    }


def _record_override(flag: IntegrityFlag, reason: str, *, by: User) -> None:
    """A flagged pair assigned anyway: the reason is kept on the flag and audited."""
    flag.override_reason = reason.strip()[: IntegrityFlag._meta.get_field("override_reason").max_length]
    flag.overridden_by = by
    flag.overridden_at = timezone.now()
    flag.save(update_fields=["override_reason", "overridden_by", "overridden_at"])
    record(
        flag,
        by=by,
        action="integrity_flag_overridden",
        after={"reviewer": flag.reviewer.email, "reason": flag.override_reason},
        call_id=flag.application.call_id,
    )


@transaction.atomic
def integrity_flag_dismiss(*, flag: IntegrityFlag, reason: str, by: User) -> IntegrityFlag:
    """Staff dismiss a false flag, saying why (audited); a flagged pair may then be assigned."""
    _refuse_unless_staff(by)
    reason = reason.strip()
    if not reason:
        raise Refused(_("Say why this flag is false before dismissing it."), code="reason_required")
    locked = (
        IntegrityFlag.objects.select_for_update(of=("self",))
        .select_related("application", "other_application", "reviewer")
        .get(pk=flag.pk)
    )
    locked.reason = reason[: IntegrityFlag._meta.get_field("reason").max_length]
    locked.dismissed_by = by
    locked.dismissed_at = timezone.now()
    change_state(
        locked,
        IntegrityFlagStatus.DISMISSED,
        by=by,
        action="integrity_flag_dismissed",
        update_fields=["reason", "dismissed_by", "dismissed_at"],
        after={"reason": locked.reason},
        call_id=locked.application.call_id,
    )
    return locked


# --- the reviewer's affiliations ----------------------------------------------------------------


@dataclass(frozen=True)
class AffiliationInput:
    organisation_name: str
    corporate_number: str
    year_from: int
    year_to: int | None


@transaction.atomic
def affiliation_add(*, reviewer: User, data: AffiliationInput) -> ReviewerAffiliation:
    """A reviewer records an organisation they belong or belonged to (audited); the checks run again."""
    if not permissions.is_reviewer.test(reviewer):
        raise Refused(_("Only reviewers record affiliations."), code="forbidden")
    if data.year_to is not None and data.year_to < data.year_from:
        raise Refused(_("The year until cannot be before the year from."), code="invalid")
    affiliation = ReviewerAffiliation.objects.create(
        reviewer=reviewer,
        organisation_name=data.organisation_name.strip(),
        corporate_number=data.corporate_number,
        year_from=data.year_from,
        year_to=data.year_to,
    )
    record(
        affiliation,
        by=reviewer,
        action="affiliation_added",
        after={
            "organisation": affiliation.organisation_name,
            "corporate_number": affiliation.corporate_number,
            "years": integrity.years_text([affiliation.year_from, affiliation.year_to]),
        },
    )
    integrity_refresh_open_calls()
    return affiliation


@transaction.atomic
def affiliation_remove(*, affiliation: ReviewerAffiliation, by: User) -> None:
    """The reviewer removes one of their affiliations (audited); the checks run again."""
    if affiliation.reviewer_id != getattr(by, "pk", None):
        raise Refused(_("Only the reviewer may change their affiliations."), code="forbidden")
    record(
        affiliation,
        by=by,
        action="affiliation_removed",
        before={"organisation": affiliation.organisation_name, "corporate_number": affiliation.corporate_number},
    )
    affiliation.delete()
    integrity_refresh_open_calls()
