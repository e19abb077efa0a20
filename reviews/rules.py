"""Who may do what in a review: named predicates (the ``rules`` package), each rule written once.

Views, services and templates (``{% load rules %}{% test_rule "can_review" user assignment as ok %}``)
ask these by name. The module is imported by ``ReviewsConfig.ready`` so the names are registered.

- ``can_review(user, assignment)``: the assignment is the user's, accepted (declared free of any
  conflict of interest), its call's round is open for reviews (reviewing or shared, not set-up or
  locked) and no decision has been taken on the application (adopted, not adopted or reserve: the
  application's own status, so this floor never asks ``grants``).
- ``can_declare_conflict(user, assignment)``: the assignment is the user's and live (not already
  returned for a conflict), and the round is not locked.
- ``can_see_assignment(user, assignment)``: the reviewer of a live assignment, or staff.
- ``can_manage_review_round(user[, call])``: programme staff and administrators.
- ``can_read_application_files(user, application)``: staff, or a reviewer holding an accepted
  assignment on the application (declared free of any conflict of interest): the same reviewers
  who may open the application's page. A returned or conflicted assignment loses it at once.
"""

from __future__ import annotations

import rules
from django.contrib.auth.models import AnonymousUser

from accounts.models import Role, User
from accounts.permissions import STAFF_ROLES
from applications.models import DECIDED_STATUSES, Application

from .models import OPEN_PHASES, Assignment, AssignmentStatus, ReviewPhase, ReviewRound

Viewer = User | AnonymousUser


def _phase_of(assignment: Assignment) -> str | None:
    """The phase of the round of the assignment's stage, read afresh (None before the round exists)."""
    return (
        ReviewRound.objects.filter(call_id=assignment.application.call_id, stage=assignment.stage)
        .values_list("phase", flat=True)
        .first()
    )


@rules.predicate
def is_staff_member(user: Viewer) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and user.role in STAFF_ROLES


@rules.predicate
def is_reviewer(user: Viewer) -> bool:
    """A reviewer (審査委員) account: the only kind that may be assigned applications."""
    return bool(getattr(user, "is_authenticated", False)) and user.role == Role.REVIEWER


@rules.predicate
def is_assigned_reviewer(user: Viewer, assignment: Assignment) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and assignment.reviewer_id == user.pk


@rules.predicate
def assignment_is_live(user: Viewer, assignment: Assignment) -> bool:
    return assignment.status != AssignmentStatus.CONFLICT


@rules.predicate
def assignment_is_accepted(user: Viewer, assignment: Assignment) -> bool:
    return assignment.status == AssignmentStatus.ACCEPTED


@rules.predicate
def round_is_open(user: Viewer, assignment: Assignment) -> bool:
    return _phase_of(assignment) in OPEN_PHASES


@rules.predicate
def round_is_locked(user: Viewer, assignment: Assignment) -> bool:
    return _phase_of(assignment) == ReviewPhase.LOCKED


@rules.predicate
def application_is_undecided(user: Viewer, assignment: Assignment) -> bool:
    return assignment.application.status not in DECIDED_STATUSES


@rules.predicate
def holds_accepted_assignment(user: Viewer, application: Application | None) -> bool:
    """The user is a reviewer with an accepted assignment on ``application`` (read afresh)."""
    if not getattr(user, "is_authenticated", False) or application is None:
        return False
    return Assignment.objects.filter(
        application_id=application.pk, reviewer_id=user.pk, status=AssignmentStatus.ACCEPTED
    ).exists()


can_review = is_assigned_reviewer & assignment_is_accepted & round_is_open & application_is_undecided
can_declare_conflict = is_assigned_reviewer & assignment_is_live & ~round_is_locked
can_see_assignment = (is_assigned_reviewer & assignment_is_live) | is_staff_member
can_manage_review_round = is_staff_member

rules.add_rule("can_review", can_review)
rules.add_rule("can_declare_conflict", can_declare_conflict)
rules.add_rule("can_see_assignment", can_see_assignment)
rules.add_rule("can_manage_review_round", can_manage_review_round)
can_read_application_files = is_staff_member | (is_reviewer & holds_accepted_assignment)
rules.add_rule("can_read_application_files", can_read_application_files)
