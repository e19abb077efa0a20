"""Review (審査): a call's rubric, reviewer assignments, conflict declarations, reviews and scores."""

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Count
from django.utils.translation import gettext_lazy as _

from calls.models import localized
from kodoku_portal.limits import NOTE_MAX, REASON_MAX, LimitedTextField, with_length_checks


class ReviewPhase(models.TextChoices):
    SETUP = "setup", _("Preparing (rubric editable)")
    REVIEWING = "reviewing", _("Reviewing")
    SHARED = "shared", _("Reviewing, scores shared among reviewers")
    LOCKED = "locked", _("Locked")


# The one transition table of a call's review phase (ReviewRound.TRANSITIONS, field "phase"); the
# phase is written only through kodoku_portal.workflow.change_state.
PHASE_TRANSITIONS: dict[str, frozenset[str]] = {
    ReviewPhase.SETUP: frozenset({ReviewPhase.REVIEWING}),
    ReviewPhase.REVIEWING: frozenset({ReviewPhase.SHARED, ReviewPhase.LOCKED}),
    ReviewPhase.SHARED: frozenset({ReviewPhase.REVIEWING, ReviewPhase.LOCKED}),
    ReviewPhase.LOCKED: frozenset({ReviewPhase.REVIEWING}),
}

# The phases in which reviewers score (reviews/rules.py: can_review).
OPEN_PHASES = frozenset({ReviewPhase.REVIEWING, ReviewPhase.SHARED})


class ReviewStage(models.TextChoices):
    """The stage a round, a criterion or an assignment belongs to (rv-stages: two-stage review)."""

    DOCUMENT = "document", _("Document review (書類審査)")
    INTERVIEW = "interview", _("Interview (ヒアリング)")


class ReviewRound(models.Model):
    """How a call is reviewed at one stage: reviewers per application, phase, which ranking is in
    use. One round per stage of a call; a one-stage call has only its document round."""

    TRANSITIONS = PHASE_TRANSITIONS

    call = models.ForeignKey("calls.Call", on_delete=models.CASCADE, related_name="review_rounds")
    stage = models.CharField(_("stage"), max_length=12, choices=ReviewStage.choices, default=ReviewStage.DOCUMENT)
    reviewers_per_application = models.PositiveSmallIntegerField(
        _("reviewers per application"), default=2, validators=[MinValueValidator(1)]
    )
    phase = models.CharField(_("phase"), max_length=20, choices=ReviewPhase.choices, default=ReviewPhase.SETUP)
    use_calibration = models.BooleanField(
        _("rank by calibrated scores"),
        default=False,
        help_text=_("Normalise each reviewer's scores (z-score per reviewer) before averaging."),
    )
    default_due_at = models.DateTimeField(_("reviews due"), null=True, blank=True)

    class Meta:
        verbose_name = _("review round")
        verbose_name_plural = _("review rounds")
        constraints = [models.UniqueConstraint(fields=("call", "stage"), name="review_round_once_per_stage")]

    def __str__(self) -> str:
        return f"{self.call} ({self.get_phase_display()})"

    @property
    def audit_label(self) -> str:
        """The audit trail names the round by its call (the phase is in the entry itself), and the
        interview round by its stage as well."""
        if self.stage == ReviewStage.INTERVIEW:
            return f"{self.call} ({self.get_stage_display()})"
        return str(self.call)

    @property
    def rubric_editable(self) -> bool:
        return self.phase == ReviewPhase.SETUP

    @property
    def reviewers_see_others(self) -> bool:
        return self.phase == ReviewPhase.SHARED


@with_length_checks
class Criterion(models.Model):
    """審査項目: one criterion of a call's rubric."""

    call = models.ForeignKey("calls.Call", on_delete=models.CASCADE, related_name="criteria")
    stage = models.CharField(_("stage"), max_length=12, choices=ReviewStage.choices, default=ReviewStage.DOCUMENT)
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    name = models.CharField(_("name (Japanese)"), max_length=100)
    name_en = models.CharField(_("name (English)"), max_length=120, blank=True)
    description = LimitedTextField(_("description"), blank=True, max_length=NOTE_MAX)
    max_score = models.PositiveSmallIntegerField(_("maximum score"), default=5, validators=[MinValueValidator(1)])
    weight = models.DecimalField(_("weight"), max_digits=5, decimal_places=2, default=1)

    class Meta:
        ordering = ("call", "stage", "order", "id")
        verbose_name = _("criterion")
        verbose_name_plural = _("criteria")
        constraints = [
            models.CheckConstraint(condition=models.Q(weight__gt=0), name="criterion_weight_positive"),
            models.CheckConstraint(condition=models.Q(max_score__gte=1), name="criterion_max_score_positive"),
        ]

    def __str__(self) -> str:
        return localized(self, "name")


class ConflictDeclaration(models.Model):
    """A reviewer's declared conflict of interest (利害関係) with an organisation, made beforehand."""

    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="conflicts")
    organisation = models.ForeignKey(
        "applications.Organisation", on_delete=models.CASCADE, related_name="reviewer_conflicts"
    )
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    declared_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("conflict of interest")
        verbose_name_plural = _("conflicts of interest")
        constraints = [
            models.UniqueConstraint(fields=("reviewer", "organisation"), name="conflict_once_per_organisation")
        ]

    def __str__(self) -> str:
        return f"{self.reviewer} × {self.organisation}"


class AssignmentStatus(models.TextChoices):
    PENDING = "pending", _("Conflict of interest not yet declared")
    ACCEPTED = "accepted", _("No conflict declared")
    CONFLICT = "conflict", _("Returned: conflict of interest")


# Assignment.TRANSITIONS. A new assignment starts as PENDING (creation is not a transition); a
# conflict, declared by the reviewer or recorded by staff, is final.
ASSIGNMENT_TRANSITIONS: dict[str, frozenset[str]] = {
    AssignmentStatus.PENDING: frozenset({AssignmentStatus.ACCEPTED, AssignmentStatus.CONFLICT}),
    AssignmentStatus.ACCEPTED: frozenset({AssignmentStatus.CONFLICT}),
    AssignmentStatus.CONFLICT: frozenset(),
}


def live_assignment_q(prefix: str = "") -> models.Q:
    """The rule of a live assignment (not returned for a conflict), for a query through ``prefix``."""
    return ~models.Q(**{f"{prefix}status": AssignmentStatus.CONFLICT})


def counted_review_q(*, review: str = "", assignment: str = "assignment__") -> models.Q:
    """The rule of a review that counts: submitted, on an assignment still accepted. ``review`` and
    ``assignment`` are the paths to the two rows from the model queried."""
    return models.Q(**{f"{review}status": ReviewStatus.SUBMITTED, f"{assignment}status": AssignmentStatus.ACCEPTED})


class AssignmentQuerySet(models.QuerySet):
    def live(self) -> "AssignmentQuerySet":
        """Assignments that count: every one except those returned for a conflict of interest."""
        return self.filter(live_assignment_q())

    def awaiting_review(self) -> "AssignmentQuerySet":
        """Live assignments whose review is not yet submitted (what a review reminder is about)."""
        return self.live().exclude(review__status=ReviewStatus.SUBMITTED)

    def load_by_reviewer(self) -> dict[int, int]:
        """The reviewer load: how many live assignments each reviewer holds among these (one query).
        The automatic assignment evens it out and the staff page shows it; both read it here."""
        return dict(
            self.live().order_by().values("reviewer_id").annotate(n=Count("id")).values_list("reviewer_id", "n")
        )


class Assignment(models.Model):
    """An application given to a reviewer, with a due date. The reviewer declares conflicts first."""

    TRANSITIONS = ASSIGNMENT_TRANSITIONS

    application = models.ForeignKey("applications.Application", on_delete=models.CASCADE, related_name="assignments")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="assignments")
    stage = models.CharField(_("stage"), max_length=12, choices=ReviewStage.choices, default=ReviewStage.DOCUMENT)
    status = models.CharField(
        _("status"), max_length=20, choices=AssignmentStatus.choices, default=AssignmentStatus.PENDING
    )
    due_at = models.DateTimeField(_("due"), null=True, blank=True)
    conflict_reason = models.CharField(_("conflict of interest"), max_length=200, blank=True)
    declared_at = models.DateTimeField(null=True, blank=True)
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    assigned_at = models.DateTimeField(auto_now_add=True)

    objects = AssignmentQuerySet.as_manager()

    class Meta:
        ordering = ("due_at", "id")
        verbose_name = _("assignment")
        verbose_name_plural = _("assignments")
        # The reviewer's paged list, by due date (reviews.selectors.reviewer_home_rows).
        indexes = [models.Index(fields=("reviewer", "due_at", "id"), name="assignment_reviewer_due")]
        constraints = [
            models.UniqueConstraint(fields=("application", "reviewer", "stage"), name="assignment_once_per_stage")
        ]

    def __str__(self) -> str:
        return f"{self.application} → {self.reviewer}"

    @property
    def audit_label(self) -> str:
        """The audit trail names an assignment by receipt number and reviewer (PRACTICE-0004 → …)."""
        return f"{self.application.audit_label} → {self.reviewer}"


class ReviewStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted")


# Review.TRANSITIONS. A review is created as a DRAFT (creation is not a transition).
REVIEW_TRANSITIONS: dict[str, frozenset[str]] = {
    ReviewStatus.DRAFT: frozenset({ReviewStatus.SUBMITTED}),
    ReviewStatus.SUBMITTED: frozenset({ReviewStatus.DRAFT}),  # reopened, until staff lock the round
}


class ReviewQuerySet(models.QuerySet):
    def counted(self) -> "ReviewQuerySet":
        """Reviews that count towards the ranking: submitted, on an assignment still accepted."""
        return self.filter(counted_review_q())


@with_length_checks
class Review(models.Model):
    TRANSITIONS = REVIEW_TRANSITIONS

    assignment = models.OneToOneField(Assignment, on_delete=models.CASCADE, related_name="review")
    status = models.CharField(_("status"), max_length=20, choices=ReviewStatus.choices, default=ReviewStatus.DRAFT)
    comment_to_staff = LimitedTextField(_("comment to staff"), blank=True, max_length=REASON_MAX)
    comment_to_applicant = LimitedTextField(
        _("comment that may be shared with the applicant"), blank=True, max_length=REASON_MAX
    )
    # 申請者に開示可: the reviewer lets the organisation read comment_to_applicant (without the
    # reviewer's name) once its notice is out; reviews/selectors.disclosed_comments reads it.
    disclose_to_applicant = models.BooleanField(_("disclose to the applicant"), default=False)
    submitted_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    # The weighted total (0–100) of the scores as submitted (reviews.ranking.Rubric.total), set by
    # reviews.services.review_submit; None for a draft. The stored ranking is made of these.
    total = models.FloatField(_("weighted total"), null=True, blank=True, editable=False)

    objects = ReviewQuerySet.as_manager()

    class Meta:
        verbose_name = _("review")
        verbose_name_plural = _("reviews")

    def __str__(self) -> str:
        return f"{self.assignment} ({self.get_status_display()})"

    @property
    def audit_label(self) -> str:
        return self.assignment.audit_label


class Score(models.Model):
    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="scores")
    criterion = models.ForeignKey(Criterion, on_delete=models.CASCADE, related_name="scores")
    value = models.PositiveSmallIntegerField(_("score"))

    class Meta:
        verbose_name = _("score")
        verbose_name_plural = _("scores")
        constraints = [models.UniqueConstraint(fields=("review", "criterion"), name="score_once_per_criterion")]

    def __str__(self) -> str:
        return f"{self.criterion}: {self.value}"


# --- integrity checks (issue 11, item 5; reviews/integrity.py) ---------------------------------


class ReviewerAffiliation(models.Model):
    """An organisation a reviewer belongs or belonged to (所属), recorded by the reviewer: the
    integrity checks compare it with applicants and their partners (those of the past
    ``reviews.integrity.AFFILIATION_YEARS`` years count)."""

    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="affiliations")
    organisation_name = models.CharField(_("organisation name"), max_length=200)
    corporate_number = models.CharField(_("corporate number (法人番号)"), max_length=13, blank=True)
    year_from = models.PositiveSmallIntegerField(_("from (year)"))
    year_to = models.PositiveSmallIntegerField(_("until (year)"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("reviewer", "-year_from", "id")
        verbose_name = _("reviewer's affiliation")
        verbose_name_plural = _("reviewers' affiliations")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(year_to__isnull=True) | models.Q(year_to__gte=models.F("year_from")),
                name="affiliation_years_in_order",
            )
        ]

    def __str__(self) -> str:
        return f"{self.reviewer}: {self.organisation_name}"


class IntegrityFlagKind(models.TextChoices):
    DUPLICATE = "duplicate", _("Possible duplicate application")
    CONFLICT = "conflict", _("Possible conflict of interest")


class IntegrityFlagStatus(models.TextChoices):
    OPEN = "open", _("Unresolved")
    DISMISSED = "dismissed", _("Dismissed")


# IntegrityFlag.TRANSITIONS. A flag is created OPEN; staff dismiss a false one with a reason; a
# dismissed flag opens again by itself when the check finds other matching fields than those
# dismissed (reviews.services.integrity_refresh).
INTEGRITY_FLAG_TRANSITIONS: dict[str, frozenset[str]] = {
    IntegrityFlagStatus.OPEN: frozenset({IntegrityFlagStatus.DISMISSED}),
    IntegrityFlagStatus.DISMISSED: frozenset({IntegrityFlagStatus.OPEN}),
}


class IntegrityFlag(models.Model):
    """A finding of the integrity checks: two applications that may be one applicant twice
    (``other_application``), or a reviewer who may have a conflict with an application
    (``reviewer``); ``matched`` keeps the rules that fired with the values as typed."""

    TRANSITIONS = INTEGRITY_FLAG_TRANSITIONS

    kind = models.CharField(_("kind"), max_length=20, choices=IntegrityFlagKind.choices)
    application = models.ForeignKey(
        "applications.Application", on_delete=models.CASCADE, related_name="integrity_flags"
    )
    other_application = models.ForeignKey(
        "applications.Application", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="integrity_flags"
    )
    matched = models.JSONField(_("why it fired"), default=list)
    status = models.CharField(
        _("status"), max_length=20, choices=IntegrityFlagStatus.choices, default=IntegrityFlagStatus.OPEN
    )
    dismissed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    dismissed_at = models.DateTimeField(null=True, blank=True)
    reason = models.CharField(_("reason for dismissing"), max_length=500, blank=True)
    # A conflict flag whose pair staff assigned anyway (reviews.services.assignment_create).
    override_reason = models.CharField(_("reason for assigning anyway"), max_length=500, blank=True)
    overridden_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    overridden_at = models.DateTimeField(null=True, blank=True)
    found_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("kind", "application", "id")
        verbose_name = _("integrity flag")
        verbose_name_plural = _("integrity flags")
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(kind="duplicate", other_application__isnull=False, reviewer__isnull=True)
                    | models.Q(kind="conflict", other_application__isnull=True, reviewer__isnull=False)
                ),
                name="integrity_flag_names_its_pair",
            ),
            models.UniqueConstraint(
                fields=("application", "other_application"),
                condition=models.Q(kind="duplicate"),
                name="integrity_duplicate_once_per_pair",
            ),
            models.UniqueConstraint(
                fields=("application", "reviewer"),
                condition=models.Q(kind="conflict"),
                name="integrity_conflict_once_per_pair",
            ),
        ]

    def __str__(self) -> str:
        other = self.other_application if self.kind == IntegrityFlagKind.DUPLICATE else self.reviewer
        return f"{self.get_kind_display()}: {self.application.audit_label} × {getattr(other, 'audit_label', other)}"

    @property
    def audit_label(self) -> str:
        return str(self)

    @property
    def key(self) -> tuple:
        return (self.kind, self.application_id, self.other_application_id, self.reviewer_id)


# --- rv-stages: two-stage review (書類審査 → ヒアリング): the shortlist and the interview slots ------


class Shortlisting(models.Model):
    """An application shortlisted for the interview (ヒアリング) of a two-stage call. Its existence is
    the fact; staff add and remove it (reviews/stages.py) until the interview round opens."""

    application = models.OneToOneField(
        "applications.Application", on_delete=models.CASCADE, related_name="shortlisting"
    )
    position = models.PositiveSmallIntegerField(_("rank at shortlisting"), null=True, blank=True)
    added_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("position", "application_id")
        verbose_name = _("shortlisted application")
        verbose_name_plural = _("shortlisted applications")

    def __str__(self) -> str:
        return str(self.application)

    @property
    def audit_label(self) -> str:
        return self.application.audit_label


class InterviewSlot(models.Model):
    """The interview slot of a shortlisted application: when, how long, where or at which URL.
    ``version`` grows with every change that the organisation is told of (one mail per version)."""

    application = models.OneToOneField(
        "applications.Application", on_delete=models.CASCADE, related_name="interview_slot"
    )
    starts_at = models.DateTimeField(_("starts at"))
    duration_minutes = models.PositiveSmallIntegerField(
        _("duration (minutes)"), default=30, validators=[MinValueValidator(5)]
    )
    place = models.CharField(_("place"), max_length=200, blank=True)
    online_url = models.URLField(_("online meeting URL"), max_length=500, blank=True)
    version = models.PositiveIntegerField(default=1)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("interview slot")
        verbose_name_plural = _("interview slots")

    def __str__(self) -> str:
        return f"{self.application} @ {self.starts_at:%Y-%m-%d %H:%M}"

    @property
    def audit_label(self) -> str:
        return self.application.audit_label


# --- issue 14: the ranking stored per change (reviews/ranking_store.py refreshes it) ------------


class RankedApplication(models.Model):
    """An application's line of the stored ranking of one stage: progress (live assignments,
    counted reviews), and the figures of reviews.ranking over the counted reviews' totals. Written
    only by reviews.ranking_store.refresh, in the transaction of every change of its inputs."""

    call = models.ForeignKey("calls.Call", on_delete=models.CASCADE, related_name="+")
    application = models.ForeignKey("applications.Application", on_delete=models.CASCADE, related_name="rankings")
    stage = models.CharField(_("stage"), max_length=12, choices=ReviewStage.choices)
    n_assigned = models.PositiveIntegerField(default=0)
    n_done = models.PositiveIntegerField(default=0)
    n_reviews = models.PositiveIntegerField(default=0)
    mean = models.FloatField(null=True, blank=True)
    spread = models.FloatField(null=True, blank=True)
    calibrated_mean = models.FloatField(null=True, blank=True)

    class Meta:
        verbose_name = _("ranked application")
        verbose_name_plural = _("ranked applications")
        constraints = [
            models.UniqueConstraint(fields=("application", "stage"), name="ranked_application_once_per_stage")
        ]
        indexes = [models.Index(fields=("call", "stage"), name="ranked_application_round")]

    def __str__(self) -> str:
        return f"{self.application_id} ({self.stage}): {self.mean}"


class ReviewerStanding(models.Model):
    """A reviewer against the panel in one stage of a call (reviews.ranking.ReviewerCalibration):
    the offset (mean) and scale (spread) the calibration takes away, and the calibration page's
    verdict. Written only by reviews.ranking_store.refresh."""

    call = models.ForeignKey("calls.Call", on_delete=models.CASCADE, related_name="+")
    stage = models.CharField(_("stage"), max_length=12, choices=ReviewStage.choices)
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    n_reviews = models.PositiveIntegerField()
    mean = models.FloatField()
    spread = models.FloatField()
    difference = models.FloatField()
    standing = models.FloatField()
    verdict = models.CharField(max_length=10)

    class Meta:
        verbose_name = _("reviewer's standing")
        verbose_name_plural = _("reviewers' standings")
        constraints = [
            models.UniqueConstraint(fields=("call", "stage", "reviewer"), name="reviewer_standing_once_per_stage")
        ]

    def __str__(self) -> str:
        return f"{self.reviewer_id} ({self.stage}): {self.verdict}"


class RankingPanel(models.Model):
    """Every counted total of one stage of a call: how many, their mean and spread (μ_all, σ_all of
    the calibration), and when the stored ranking was last refreshed."""

    call = models.ForeignKey("calls.Call", on_delete=models.CASCADE, related_name="+")
    stage = models.CharField(_("stage"), max_length=12, choices=ReviewStage.choices)
    n_reviews = models.PositiveIntegerField(default=0)
    mean = models.FloatField(null=True, blank=True)
    spread = models.FloatField(null=True, blank=True)
    refreshed_at = models.DateTimeField()

    class Meta:
        verbose_name = _("ranking panel")
        verbose_name_plural = _("ranking panels")
        constraints = [models.UniqueConstraint(fields=("call", "stage"), name="ranking_panel_once_per_stage")]

    def __str__(self) -> str:
        return f"{self.call_id} ({self.stage}): {self.n_reviews}"
