"""Rubric, phases, assignment with conflicts, declarations, score validation, reopening."""

import pytest

from applications.models import Application, ApplicationStatus, Membership
from kodoku_portal.workflow import Refused
from reviews import services
from reviews.models import Assignment, AssignmentStatus, Criterion, Review, ReviewPhase, ReviewStatus
from reviews.services import CriterionInput

from .conftest import make_reviewer

pytestmark = pytest.mark.django_db


def test_the_default_rubric_follows_the_calls_purpose(review_round, call):
    names = list(Criterion.objects.filter(call=call).values_list("name", flat=True))
    assert names == [
        "先駆性",
        "地域の多様な主体との連携",
        "実現可能性・実施体制",
        "継続性・波及性（全国展開）",
        "予算の妥当性",
    ]


def test_the_rubric_is_editable_only_before_the_review_starts(review_round, call, staff):
    services.rubric_replace(call=call, criteria=[CriterionInput("先駆性", "", "", 10, 2)])
    assert call.criteria.get().max_score == 10
    services.phase_set(call=call, phase=ReviewPhase.REVIEWING, by=staff)
    with pytest.raises(Refused):
        services.rubric_replace(call=call, criteria=[CriterionInput("別の項目", "", "", 5, 1)])
    assert call.criteria.get().name == "先駆性"


def test_phase_transitions_follow_the_table(review_round, call, staff):
    with pytest.raises(Refused):
        services.phase_set(call=call, phase=ReviewPhase.LOCKED, by=staff)  # setup → locked is not allowed
    services.phase_set(call=call, phase=ReviewPhase.REVIEWING, by=staff)
    services.phase_set(call=call, phase=ReviewPhase.SHARED, by=staff)
    services.phase_set(call=call, phase=ReviewPhase.LOCKED, by=staff)


def test_a_declared_conflict_blocks_manual_assignment(review_round, applications, reviewers, staff):
    reviewer = reviewers[0]
    services.conflict_declare(
        reviewer=reviewer, organisation=applications[0].organisation, reason="理事を兼務", by=staff
    )
    with pytest.raises(Refused) as refused:
        services.assignment_create(application=applications[0], reviewer=reviewer, due_at=None, assigned_by=staff)
    assert refused.value.code == "conflict"
    services.assignment_create(application=applications[1], reviewer=reviewer, due_at=None, assigned_by=staff)


def test_a_member_of_the_organisation_is_a_known_conflict(review_round, applications, staff):
    reviewer = make_reviewer()
    Membership.objects.create(organisation=applications[0].organisation, user=reviewer, role="editor")
    with pytest.raises(Refused):
        services.assignment_create(application=applications[0], reviewer=reviewer, due_at=None, assigned_by=staff)


def test_automatic_assignment_gives_k_each_and_avoids_conflicts(call, review_round, applications, reviewers, staff):
    services.conflict_declare(reviewer=reviewers[0], organisation=applications[0].organisation, by=staff)
    created = services.assignments_auto(call=call, reviewers=reviewers, due_at=None, assigned_by=staff)
    assert created == len(applications) * review_round.reviewers_per_application
    for application in applications:
        assert application.assignments.count() == 2
    assert not Assignment.objects.filter(application=applications[0], reviewer=reviewers[0]).exists()
    loads = [Assignment.objects.filter(reviewer=r).count() for r in reviewers]
    assert max(loads) - min(loads) <= 1
    # Running it again adds nothing.
    assert services.assignments_auto(call=call, reviewers=reviewers, due_at=None, assigned_by=staff) == 0


def test_declaring_a_conflict_returns_the_assignment_and_it_is_not_reassigned(
    call, review_round, applications, reviewers, staff
):
    assignment = services.assignment_create(
        application=applications[0], reviewer=reviewers[0], due_at=None, assigned_by=staff
    )
    services.assignment_declare(assignment=assignment, has_conflict=True, reason="家族が職員")
    assignment.refresh_from_db()
    assert assignment.status == AssignmentStatus.CONFLICT
    services.assignments_auto(call=call, reviewers=reviewers, due_at=None, assigned_by=staff)
    assert not Assignment.objects.filter(
        application=applications[0], reviewer=reviewers[0], status=AssignmentStatus.ACCEPTED
    ).exists()
    assert applications[0].assignments.exclude(status=AssignmentStatus.CONFLICT).count() == 2


@pytest.fixture
def accepted(reviewing, applications, reviewers, staff):
    assignment = services.assignment_create(
        application=applications[0], reviewer=reviewers[0], due_at=None, assigned_by=staff
    )
    return services.assignment_declare(assignment=assignment, has_conflict=False)


def scores_for(call, value):
    return {c.pk: value for c in call.criteria.all()}


@pytest.mark.parametrize("bad", [-1, 6, 100])
def test_scores_outside_the_range_are_refused(accepted, call, bad):
    scores = scores_for(call, 3)
    scores[call.criteria.first().pk] = bad
    with pytest.raises(Refused) as refused:
        services.review_save(
            assignment=accepted, scores=scores, comment_to_staff="", comment_to_applicant="", submit=True
        )
    assert refused.value.code == "invalid"


def test_an_unknown_criterion_is_refused(accepted, call):
    with pytest.raises(Refused):
        services.review_save(
            assignment=accepted, scores={999999: 3}, comment_to_staff="", comment_to_applicant="", submit=False
        )


def test_a_draft_may_be_incomplete_but_a_submission_may_not(accepted, call):
    first = call.criteria.first()
    review = services.review_save(
        assignment=accepted, scores={first.pk: 4}, comment_to_staff="", comment_to_applicant="", submit=False
    )
    assert review.status == ReviewStatus.DRAFT
    with pytest.raises(Refused) as refused:
        services.review_save(
            assignment=accepted, scores={first.pk: 4}, comment_to_staff="", comment_to_applicant="", submit=True
        )
    assert refused.value.code == "incomplete"


def test_submit_reopen_and_lock(accepted, call, staff):
    review = services.review_save(
        assignment=accepted, scores=scores_for(call, 4), comment_to_staff="良い", comment_to_applicant="", submit=True
    )
    assert review.status == ReviewStatus.SUBMITTED
    with pytest.raises(Refused):  # a submitted review is changed only after reopening
        services.review_save(
            assignment=accepted, scores=scores_for(call, 1), comment_to_staff="", comment_to_applicant="", submit=True
        )
    assert services.review_reopen(assignment=accepted).status == ReviewStatus.DRAFT
    services.review_save(
        assignment=accepted, scores=scores_for(call, 5), comment_to_staff="", comment_to_applicant="", submit=True
    )
    services.phase_set(call=call, phase=ReviewPhase.LOCKED, by=staff)
    with pytest.raises(Refused):
        services.review_reopen(assignment=accepted)


def test_no_scoring_before_declaring(reviewing, applications, reviewers, staff, call):
    assignment = services.assignment_create(
        application=applications[0], reviewer=reviewers[0], due_at=None, assigned_by=staff
    )
    with pytest.raises(Refused) as refused:
        services.review_save(
            assignment=assignment,
            scores=scores_for(call, 3),
            comment_to_staff="",
            comment_to_applicant="",
            submit=False,
        )
    assert refused.value.code == "not_accepted"


def test_auto_assignment_with_only_a_new_reviewer_fills_gaps_but_never_exceeds_k(
    call, review_round, applications, reviewers, staff
):
    services.assignments_auto(call=call, reviewers=reviewers, due_at=None, assigned_by=staff)
    newcomer = make_reviewer()
    assert services.assignments_auto(call=call, reviewers=[newcomer], due_at=None, assigned_by=staff) == 0
    for application in applications:
        assert application.assignments.count() == review_round.reviewers_per_application
    # A returned assignment leaves a gap that the newcomer fills.
    assignment = applications[0].assignments.first()
    services.assignment_declare(assignment=assignment, has_conflict=True)
    assert services.assignments_auto(call=call, reviewers=[newcomer], due_at=None, assigned_by=staff) == 1
    assert applications[0].assignments.filter(reviewer=newcomer).exists()


def test_a_reviewer_may_declare_a_conflict_after_accepting(accepted, client):
    client.force_login(accepted.reviewer)
    response = client.post(
        f"/reviews/assignments/{accepted.pk}/declare/", {"has_conflict": "yes", "reason": "後で判明"}
    )
    assert response.status_code == 302
    accepted.refresh_from_db()
    assert accepted.status == AssignmentStatus.CONFLICT
    assert client.get(f"/reviews/assignments/{accepted.pk}/").status_code == 404


def test_a_conflict_recorded_after_assignment_takes_the_application_away(accepted, call, client, staff):
    services.review_save(
        assignment=accepted, scores=scores_for(call, 4), comment_to_staff="", comment_to_applicant="", submit=True
    )
    services.conflict_declare(
        reviewer=accepted.reviewer, organisation=accepted.application.organisation, reason="判明", by=staff
    )
    accepted.refresh_from_db()
    assert accepted.status == AssignmentStatus.CONFLICT
    assert not Review.objects.filter(assignment=accepted).exists()
    client.force_login(accepted.reviewer)
    assert client.get(f"/reviews/assignments/{accepted.pk}/").status_code == 404


def test_no_declaration_changes_once_the_round_is_locked(accepted, call, staff):
    services.review_save(
        assignment=accepted, scores=scores_for(call, 4), comment_to_staff="", comment_to_applicant="", submit=True
    )
    services.phase_set(call=call, phase=ReviewPhase.LOCKED, by=staff)
    with pytest.raises(Refused) as refused:
        services.assignment_declare(assignment=accepted, has_conflict=True, reason="後で")
    assert refused.value.code == "locked"
    accepted.refresh_from_db()
    assert accepted.status == AssignmentStatus.ACCEPTED and accepted.review.status == ReviewStatus.SUBMITTED


def test_no_scoring_once_the_application_is_decided(accepted, call):
    Application.objects.filter(pk=accepted.application_id).update(status=ApplicationStatus.ADOPTED)
    with pytest.raises(Refused) as refused:
        services.review_save(
            assignment=accepted, scores=scores_for(call, 4), comment_to_staff="", comment_to_applicant="", submit=True
        )
    assert refused.value.code == "decided"
    assert not Review.objects.filter(assignment=accepted).exists()


def test_the_reviewer_load_counts_live_assignments_only(call, review_round, applications, reviewers, staff):
    services.assignments_bulk(applications=applications[:3], reviewers=reviewers[:1], due_at=None, assigned_by=staff)
    services.assignment_declare(assignment=applications[0].assignments.get(), has_conflict=True)
    assert Assignment.objects.filter(application__call=call).load_by_reviewer() == {reviewers[0].pk: 2}
