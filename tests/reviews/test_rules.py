"""The named permissions of the review (reviews/rules.py) as a matrix: who × phase → allowed."""

import pytest
import rules
from django.contrib.auth.models import AnonymousUser

from accounts.models import Role
from applications.models import Application, ApplicationStatus
from reviews import services
from reviews.models import ReviewPhase
from tests.factories import UserFactory

from .conftest import make_reviewer

pytestmark = pytest.mark.django_db

RULES = ("can_review", "can_declare_conflict", "can_see_assignment", "can_manage_review_round")

# who → the rules they pass, on the assigned reviewer's assignment (the conflicted reviewer: on
# their own assignment, returned for a conflict).
OPEN = {
    "assigned reviewer": {"can_review", "can_declare_conflict", "can_see_assignment"},
    "other reviewer": set(),
    "reviewer with a conflict": set(),
    "staff": {"can_see_assignment", "can_manage_review_round"},
    "applicant": set(),
}
LOCKED = OPEN | {"assigned reviewer": {"can_see_assignment"}}


@pytest.fixture
def people(reviewing, applications, staff):
    """An application with two assignments: one accepted, one returned for a conflict."""
    assigned, conflicted = make_reviewer(), make_reviewer()
    mine = services.assignment_create(application=applications[0], reviewer=assigned, due_at=None, assigned_by=staff)
    services.assignment_declare(assignment=mine, has_conflict=False)
    theirs = services.assignment_create(
        application=applications[0], reviewer=conflicted, due_at=None, assigned_by=staff
    )
    services.assignment_declare(assignment=theirs, has_conflict=True, reason="理事")
    return {
        "assigned reviewer": (assigned, mine),
        "other reviewer": (make_reviewer(), mine),
        "reviewer with a conflict": (conflicted, theirs),
        "staff": (staff, mine),
        "applicant": (UserFactory(role=Role.APPLICANT), mine),
    }


def passed(user, assignment) -> set[str]:
    assignment.refresh_from_db()
    return {name for name in RULES if rules.test_rule(name, user, assignment)}


@pytest.mark.parametrize("who", list(OPEN))
def test_while_the_round_is_open(people, who):
    user, assignment = people[who]
    assert passed(user, assignment) == OPEN[who]


@pytest.mark.parametrize("who", list(LOCKED))
def test_once_the_round_is_locked(people, who, call, staff):
    services.phase_set(call=call, phase=ReviewPhase.LOCKED, by=staff)
    user, assignment = people[who]
    assert passed(user, assignment) == LOCKED[who]


@pytest.mark.parametrize(
    "decision", [ApplicationStatus.ADOPTED, ApplicationStatus.NOT_ADOPTED, ApplicationStatus.RESERVE]
)
def test_no_reviewing_once_the_application_is_decided(people, decision):
    user, assignment = people["assigned reviewer"]
    Application.objects.filter(pk=assignment.application_id).update(status=decision)
    assert not rules.test_rule("can_review", user, assignment)
    assert rules.test_rule("can_see_assignment", user, assignment)


def test_before_the_declaration_the_reviewer_may_declare_but_not_review(reviewing, applications, staff):
    reviewer = make_reviewer()
    assignment = services.assignment_create(
        application=applications[0], reviewer=reviewer, due_at=None, assigned_by=staff
    )
    assert rules.test_rule("can_declare_conflict", reviewer, assignment)
    assert rules.test_rule("can_see_assignment", reviewer, assignment)
    assert not rules.test_rule("can_review", reviewer, assignment)


def test_an_anonymous_visitor_passes_no_rule(people):
    _user, assignment = people["assigned reviewer"]
    assert passed(AnonymousUser(), assignment) == set()
