"""Every state change of the review goes through the workflow and writes its audit entry: who,
which action, which object, the state before and after, and the call."""

import pytest
from django.utils import translation

from kodoku_portal.audit import describe
from kodoku_portal.models import AuditEntry
from kodoku_portal.workflow import Refused
from reviews import services
from reviews.models import Assignment, AssignmentStatus, ConflictDeclaration, Review, ReviewPhase, ReviewRound

pytestmark = pytest.mark.django_db


def entries(action: str) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action=action).order_by("id"))


def the_entry(action: str) -> AuditEntry:
    (entry,) = entries(action)
    return entry


def names(entry: AuditEntry, obj) -> bool:
    return entry.object_type == obj._meta.label and entry.object_id == str(obj.pk)


def scores_for(call, value):
    return {c.pk: value for c in call.criteria.all()}


@pytest.fixture
def pending(reviewing, applications, reviewers, staff):
    return services.assignment_create(
        application=applications[0], reviewer=reviewers[0], due_at=None, assigned_by=staff
    )


@pytest.fixture
def accepted(pending):
    return services.assignment_declare(assignment=pending, has_conflict=False)


@pytest.fixture
def submitted_review(accepted, call):
    return services.review_save(
        assignment=accepted, scores=scores_for(call, 4), comment_to_staff="", comment_to_applicant="", submit=True
    )


def test_a_phase_change_is_audited(review_round, call, staff):
    services.phase_set(call=call, phase=ReviewPhase.REVIEWING, by=staff)
    entry = the_entry("phase_changed")
    assert entry.actor == staff and names(entry, ReviewRound.objects.get(call=call))
    assert entry.before == {"phase": "setup"} and entry.after == {"phase": "reviewing"}
    assert entry.call_id == call.pk
    assert entry.object_repr == str(call)  # the phase is told by the entry, not twice


def test_a_refused_phase_change_writes_nothing(review_round, call, staff):
    with pytest.raises(Refused) as refused:
        services.phase_set(call=call, phase=ReviewPhase.LOCKED, by=staff)
    assert refused.value.code == "transition"
    assert entries("phase_changed") == []
    assert ReviewRound.objects.get(call=call).phase == ReviewPhase.SETUP


def test_only_staff_change_the_phase(review_round, call, reviewers):
    with pytest.raises(Refused) as refused:
        services.phase_set(call=call, phase=ReviewPhase.REVIEWING, by=reviewers[0])
    assert refused.value.code == "forbidden"
    assert ReviewRound.objects.get(call=call).phase == ReviewPhase.SETUP


def test_an_assignment_made_by_hand_is_audited(pending, staff, call):
    entry = the_entry("assignment_created")
    assert entry.actor == staff and names(entry, pending)
    assert entry.after["reviewer"] == pending.reviewer.email and entry.call_id == call.pk


def test_every_assignment_made_in_bulk_or_automatically_is_audited(call, review_round, applications, reviewers, staff):
    result = services.assignments_bulk(
        applications=applications[:2], reviewers=reviewers[:1], due_at=None, assigned_by=staff
    )
    created = services.assignments_auto(call=call, reviewers=reviewers, due_at=None, assigned_by=staff)
    made = entries("assignment_created")
    assert len(made) == result.created + created == Assignment.objects.count()
    assert {e.object_id for e in made} == {str(pk) for pk in Assignment.objects.values_list("pk", flat=True)}
    assert {e.actor for e in made} == {staff} and {e.call_id for e in made} == {call.pk}
    # Created in their initial state: creation is not a transition.
    assert set(Assignment.objects.values_list("status", flat=True)) == {AssignmentStatus.PENDING}


def test_accepting_an_assignment_is_audited(accepted):
    entry = the_entry("assignment_accepted")
    assert entry.actor == accepted.reviewer and names(entry, accepted)
    assert entry.before == {"status": "pending"} and entry.after == {"status": "accepted"}
    assert entry.call_id == accepted.application.call_id
    # Named by receipt number and reviewer, as the office reads it.
    assert entry.object_repr == f"{accepted.application.receipt_number} → {accepted.reviewer}"


def test_declaring_a_conflict_is_audited(accepted):
    services.assignment_declare(assignment=accepted, has_conflict=True, reason="家族が職員")
    entry = the_entry("conflict_declared")
    assert entry.actor == accepted.reviewer and names(entry, accepted)
    assert entry.before == {"status": "accepted"}
    assert entry.after == {"status": "conflict", "conflict_reason": "家族が職員"}


def test_a_returned_assignment_cannot_be_accepted_again(pending):
    services.assignment_declare(assignment=pending, has_conflict=True, reason="理事")
    with pytest.raises(Refused) as refused:
        services.assignment_declare(assignment=pending, has_conflict=False)
    assert refused.value.code == "transition"
    pending.refresh_from_db()
    assert pending.status == AssignmentStatus.CONFLICT
    assert entries("assignment_accepted") == []


def test_a_conflict_recorded_by_staff_returns_live_assignments_through_the_table(accepted, staff, reviewers):
    other = services.assignment_create(
        application=accepted.application, reviewer=reviewers[1], due_at=None, assigned_by=staff
    )
    services.conflict_declare(
        reviewer=accepted.reviewer, organisation=accepted.application.organisation, reason="判明", by=staff
    )
    declaration = ConflictDeclaration.objects.get()
    recorded = the_entry("conflict_recorded")
    assert recorded.actor == staff and names(recorded, declaration)
    returned = the_entry("assignment_returned")
    assert returned.actor == staff and names(returned, accepted)
    assert returned.before == {"status": "accepted"} and returned.after == {
        "status": "conflict",
        "conflict_reason": "判明",
    }
    other.refresh_from_db()
    assert other.status == AssignmentStatus.PENDING  # another reviewer's assignment is untouched


def test_recording_the_same_conflict_again_changes_nothing(accepted, staff):
    for _ in range(2):
        services.conflict_declare(
            reviewer=accepted.reviewer, organisation=accepted.application.organisation, reason="判明", by=staff
        )
    assert len(entries("conflict_recorded")) == 1 and len(entries("assignment_returned")) == 1


def test_submitting_a_review_is_audited(submitted_review, accepted):
    entry = the_entry("review_submitted")
    assert entry.actor == accepted.reviewer and names(entry, submitted_review)
    assert entry.before == {"status": "draft"} and entry.after == {"status": "submitted"}
    assert entry.call_id == accepted.application.call_id


def test_a_draft_save_is_not_a_state_change(accepted, call):
    services.review_save(
        assignment=accepted, scores=scores_for(call, 2), comment_to_staff="", comment_to_applicant="", submit=False
    )
    assert entries("review_submitted") == [] and entries("review_reopened") == []


def test_an_incomplete_submission_is_refused_and_writes_nothing(accepted, call):
    first = call.criteria.first()
    services.review_save(
        assignment=accepted, scores={first.pk: 3}, comment_to_staff="", comment_to_applicant="", submit=False
    )
    with pytest.raises(Refused) as refused:
        services.review_submit(assignment=accepted)
    assert refused.value.code == "incomplete"
    assert Review.objects.get(assignment=accepted).status == "draft"
    assert entries("review_submitted") == []


def test_reopening_a_review_is_audited(submitted_review, accepted):
    services.review_reopen(assignment=accepted)
    entry = the_entry("review_reopened")
    assert entry.actor == accepted.reviewer and names(entry, submitted_review)
    assert entry.before == {"status": "submitted"} and entry.after == {"status": "draft"}


def test_removing_an_assignment_is_audited(pending, staff):
    pk = pending.pk
    services.assignment_remove(assignment=pending, by=staff)
    entry = the_entry("assignment_removed")
    assert entry.actor == staff and entry.object_id == str(pk) and entry.object_type == "reviews.Assignment"
    assert entry.before["status"] == "pending"
    assert not Assignment.objects.filter(pk=pk).exists()


def test_the_audit_page_words_the_reviews_entries(submitted_review, accepted):
    entry = the_entry("review_submitted")
    with translation.override("en"):
        assert describe(entry) == f"{accepted.reviewer.email} submitted the review of {entry.object_repr}"
