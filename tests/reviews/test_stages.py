"""Two-stage review (書類審査 → ヒアリング): the shortlist, the stage order and its locks, interview
assignments and conflicts, the interview slot's mail, and the final ranking in both modes."""

import datetime as dt

import pytest
from django.core import mail
from django.utils import timezone, translation

from applications.models import Application, ApplicationStatus
from calls.models import FinalRanking
from kodoku_portal import outbox
from kodoku_portal.jp import JST
from kodoku_portal.models import AuditEntry, OutboxMessage, OutboxStatus
from kodoku_portal.workflow import Refused
from reviews import selectors, services, stages
from reviews.models import (
    Assignment,
    AssignmentStatus,
    InterviewSlot,
    ReviewPhase,
    ReviewStage,
    Shortlisting,
)
from reviews.services import CriterionInput

from .conftest import make_reviewer, submitted

pytestmark = pytest.mark.django_db

DOCUMENT, INTERVIEW = ReviewStage.DOCUMENT, ReviewStage.INTERVIEW
SLOT_AT = dt.datetime(2025, 5, 30, 14, 0, tzinfo=JST)


def score(assignment: Assignment, value: int) -> None:
    """The reviewer declares no conflict and submits ``value`` on the stage's one criterion."""
    services.assignment_declare(assignment=assignment, has_conflict=False)
    (criterion,) = selectors.criteria_of(assignment.application.call, assignment.stage)
    services.review_save(
        assignment=assignment,
        scores={criterion.pk: value},
        comment_to_staff="",
        comment_to_applicant="",
        submit=True,
    )


@pytest.fixture
def two_stage(call, staff):
    """A two-stage call whose stages each have one criterion scored 0..10 (a total of 10 × score)."""
    call.two_stage_review = True
    call.save()
    for stage in (DOCUMENT, INTERVIEW):
        services.review_round_for(call=call, stage=stage)
        services.rubric_replace(call=call, criteria=[CriterionInput("総合", "", "", 10, 1)], stage=stage)
    return call


@pytest.fixture
def documents_scored(two_stage, staff):
    """Four applications A..D scored 9, 8, 6, 3 in the document review (90, 80, 60, 30), locked."""
    apps = submitted(two_stage, 4)
    reviewer = make_reviewer()
    services.phase_set(call=two_stage, phase=ReviewPhase.REVIEWING, by=staff)
    services.assignments_bulk(applications=apps, reviewers=[reviewer], due_at=None, assigned_by=staff)
    for application, value in zip(apps, (9, 8, 6, 3), strict=True):
        score(Assignment.objects.get(application=application, stage=DOCUMENT), value)
    services.phase_set(call=two_stage, phase=ReviewPhase.LOCKED, by=staff)
    return apps


def open_interview(call, staff):
    services.phase_set(call=call, phase=ReviewPhase.REVIEWING, by=staff, stage=INTERVIEW)


def shortlisted(call) -> list[str]:
    return sorted(
        Shortlisting.objects.filter(application__call=call).values_list("application__receipt_number", flat=True)
    )


# --- the model and the stages ---------------------------------------------------------------


def test_each_stage_has_its_own_round_and_rubric(two_stage):
    assert set(two_stage.review_rounds.values_list("stage", flat=True)) == {DOCUMENT, INTERVIEW}
    assert [str(c) for c in selectors.criteria_of(two_stage, DOCUMENT)] == ["総合"]
    assert [str(c) for c in selectors.criteria_of(two_stage, INTERVIEW)] == ["総合"]


def test_the_interview_round_starts_with_its_own_default_rubric(call):
    call.two_stage_review = True
    call.save()
    services.review_round_for(call=call, stage=INTERVIEW)
    names = [c.name for c in selectors.criteria_of(call, INTERVIEW)]
    assert names == ["事業の理解・熱意", "質疑への対応", "実施体制の確実性"]
    assert selectors.criteria_of(call, DOCUMENT) == []  # the document rubric comes with its own round


# --- shortlisting ---------------------------------------------------------------------------


def test_shortlisting_waits_for_the_document_review_to_be_locked(two_stage, staff):
    submitted(two_stage, 2)
    with pytest.raises(Refused) as refused:
        stages.shortlist_top(call=two_stage, n=1, by=staff)
    assert refused.value.code == "order"


def test_a_one_stage_call_has_no_shortlist(call, staff, applications, review_round):
    with pytest.raises(Refused) as refused:
        stages.shortlist_set(call=call, application_ids=[applications[0].pk], by=staff)
    assert refused.value.code == "one_stage"


def test_the_top_n_of_the_document_ranking_are_shortlisted_and_audited(documents_scored, two_stage, staff):
    result = stages.shortlist_top(call=two_stage, n=3, by=staff)
    assert shortlisted(two_stage) == sorted(a.receipt_number for a in documents_scored[:3])
    assert sorted(s.position for s in result) == [1, 2, 3]
    assert AuditEntry.objects.filter(action="shortlist_added").count() == 3


def test_the_shortlist_by_hand_is_revised_until_the_interview_opens(documents_scored, two_stage, staff):
    a, b, _c, d = documents_scored
    stages.shortlist_set(call=two_stage, application_ids=[a.pk, d.pk], by=staff)
    assert shortlisted(two_stage) == sorted([a.receipt_number, d.receipt_number])
    assert Shortlisting.objects.get(application=d).position == 4  # its place in the document ranking
    stages.slot_schedule(application=d, starts_at=SLOT_AT, duration_minutes=30, place="会議室", by=staff)
    stages.shortlist_set(call=two_stage, application_ids=[a.pk, b.pk], by=staff)
    assert shortlisted(two_stage) == sorted([a.receipt_number, b.receipt_number])
    assert not InterviewSlot.objects.filter(application=d).exists()  # its slot went with it
    assert AuditEntry.objects.filter(action="shortlist_removed").count() == 1
    open_interview(two_stage, staff)
    with pytest.raises(Refused) as refused:
        stages.shortlist_set(call=two_stage, application_ids=[a.pk], by=staff)
    assert refused.value.code == "locked"
    with pytest.raises(Refused):
        stages.shortlist_top(call=two_stage, n=1, by=staff)
    assert shortlisted(two_stage) == sorted([a.receipt_number, b.receipt_number])


def test_only_submitted_applications_of_the_call_are_shortlisted(documents_scored, two_stage, staff):
    other_call_application = submitted(services.review_round_for(call=_another_call()).call, 1, start=7)[0]
    with pytest.raises(Refused) as refused:
        stages.shortlist_set(call=two_stage, application_ids=[other_call_application.pk], by=staff)
    assert refused.value.code == "invalid"


def _another_call():
    from tests.factories import CallFactory, ThemeFactory

    call = CallFactory()
    ThemeFactory(call=call, number=1)
    ThemeFactory(call=call, number=2)
    return call


def test_only_staff_shortlist(documents_scored, two_stage):
    with pytest.raises(Refused) as refused:
        stages.shortlist_top(call=two_stage, n=1, by=make_reviewer())
    assert refused.value.code == "forbidden"


# --- the order of the stages ----------------------------------------------------------------


def test_the_interview_opens_only_after_the_lock_and_with_a_shortlist(two_stage, staff):
    submitted(two_stage, 2)
    with pytest.raises(Refused) as refused:
        open_interview(two_stage, staff)
    assert refused.value.code == "order"
    services.phase_set(call=two_stage, phase=ReviewPhase.REVIEWING, by=staff)
    services.phase_set(call=two_stage, phase=ReviewPhase.LOCKED, by=staff)
    with pytest.raises(Refused) as refused:
        open_interview(two_stage, staff)
    assert refused.value.code == "empty"


def test_the_document_review_stays_locked_once_the_interview_opened(documents_scored, two_stage, staff):
    stages.shortlist_top(call=two_stage, n=2, by=staff)
    open_interview(two_stage, staff)
    with pytest.raises(Refused) as refused:
        services.phase_set(call=two_stage, phase=ReviewPhase.REVIEWING, by=staff)
    assert refused.value.code == "order"


# --- interview assignments ------------------------------------------------------------------


def test_interview_assignments_only_for_shortlisted_applications(documents_scored, two_stage, staff):
    a, b, c, _d = documents_scored
    stages.shortlist_top(call=two_stage, n=2, by=staff)
    reviewers = [make_reviewer(), make_reviewer()]
    with pytest.raises(Refused) as refused:
        services.assignment_create(
            application=c, reviewer=reviewers[0], due_at=None, assigned_by=staff, stage=INTERVIEW
        )
    assert refused.value.code == "not_shortlisted"
    made = services.assignments_auto(
        call=two_stage, reviewers=reviewers, due_at=None, assigned_by=staff, stage=INTERVIEW
    )
    assert made == 4  # two reviewers per application, two shortlisted
    assert set(Assignment.objects.filter(stage=INTERVIEW).values_list("application_id", flat=True)) == {a.pk, b.pk}


def test_the_same_reviewer_reviews_both_stages_separately(documents_scored, two_stage, staff):
    a = documents_scored[0]
    stages.shortlist_top(call=two_stage, n=1, by=staff)
    document = Assignment.objects.get(application=a, stage=DOCUMENT)
    interview = services.assignment_create(
        application=a, reviewer=document.reviewer, due_at=None, assigned_by=staff, stage=INTERVIEW
    )
    assert interview.pk != document.pk


def test_a_conflict_declared_in_the_document_review_excludes_the_interview(two_stage, staff):
    apps = submitted(two_stage, 2)
    conflicted, other = make_reviewer(), make_reviewer()
    services.phase_set(call=two_stage, phase=ReviewPhase.REVIEWING, by=staff)
    services.assignments_bulk(applications=apps, reviewers=[conflicted, other], due_at=None, assigned_by=staff)
    services.assignment_declare(
        assignment=Assignment.objects.get(application=apps[0], reviewer=conflicted), has_conflict=True, reason="役員"
    )
    for assignment in Assignment.objects.filter(status=AssignmentStatus.PENDING):
        score(assignment, 5)
    services.phase_set(call=two_stage, phase=ReviewPhase.LOCKED, by=staff)
    stages.shortlist_set(call=two_stage, application_ids=[a.pk for a in apps], by=staff)
    with pytest.raises(Refused) as refused:
        services.assignment_create(
            application=apps[0], reviewer=conflicted, due_at=None, assigned_by=staff, stage=INTERVIEW
        )
    assert refused.value.code == "conflict"
    services.assignments_auto(
        call=two_stage, reviewers=[conflicted, other], due_at=None, assigned_by=staff, stage=INTERVIEW
    )
    pairs = set(Assignment.objects.filter(stage=INTERVIEW).values_list("application_id", "reviewer_id"))
    assert (apps[0].pk, conflicted.pk) not in pairs
    assert (apps[1].pk, conflicted.pk) in pairs


def test_no_interview_reviewing_after_its_lock_or_once_decided(documents_scored, two_stage, staff):
    a, b = documents_scored[:2]
    stages.shortlist_top(call=two_stage, n=2, by=staff)
    reviewer = make_reviewer()
    first = services.assignment_create(
        application=a, reviewer=reviewer, due_at=None, assigned_by=staff, stage=INTERVIEW
    )
    second = services.assignment_create(
        application=b, reviewer=reviewer, due_at=None, assigned_by=staff, stage=INTERVIEW
    )
    with pytest.raises(Refused) as refused:  # the interview round is still being prepared
        score(first, 5)
    assert refused.value.code == "closed"
    open_interview(two_stage, staff)
    score(first, 5)
    Application.objects.filter(pk=b.pk).update(status=ApplicationStatus.ADOPTED)
    services.assignment_declare(assignment=second, has_conflict=False)
    with pytest.raises(Refused) as refused:
        score(second, 5)
    assert refused.value.code == "decided"
    services.phase_set(call=two_stage, phase=ReviewPhase.LOCKED, by=staff, stage=INTERVIEW)
    with pytest.raises(Refused) as refused:
        services.review_reopen(assignment=first)
    assert refused.value.code == "locked"


# --- the interview slot and its mail --------------------------------------------------------


def _with_address(application: Application) -> Application:
    application.organisation.email = f"info-{application.pk}@npo.example.jp"
    application.organisation.save()
    return application


def _send_all():
    later = timezone.now() + dt.timedelta(hours=1)
    for message in OutboxMessage.objects.filter(kind=stages.INTERVIEW_SLOT_MAIL, status=OutboxStatus.QUEUED):
        outbox.deliver(message.pk, now=later)


def test_the_slot_mail_goes_once_per_version(documents_scored, two_stage, staff):
    a = _with_address(documents_scored[0])
    stages.shortlist_top(call=two_stage, n=1, by=staff)
    addresses = {a.organisation.email.lower()}
    stages.slot_schedule(application=a, starts_at=SLOT_AT, duration_minutes=30, place="中央合同庁舎8号館", by=staff)
    stages.slot_schedule(application=a, starts_at=SLOT_AT, duration_minutes=30, place="中央合同庁舎8号館", by=staff)
    messages = OutboxMessage.objects.filter(kind=stages.INTERVIEW_SLOT_MAIL)
    assert set(messages.values_list("to_email", "slot")) == {(address, "v1") for address in addresses}
    _send_all()
    assert len(mail.outbox) == len(addresses)
    assert "2025年5月30日（金）14:00" in mail.outbox[0].body
    assert "中央合同庁舎8号館" in mail.outbox[0].body

    stages.slot_schedule(
        application=a,
        starts_at=SLOT_AT + dt.timedelta(hours=1),
        duration_minutes=45,
        online_url="https://meet.example.jp/x",
        by=staff,
    )
    assert set(messages.values_list("slot", flat=True)) == {"v1", "v2"}
    _send_all()
    assert len(mail.outbox) == 2 * len(addresses)
    assert "2025年5月30日（金）15:00" in mail.outbox[-1].body
    assert "https://meet.example.jp/x" in mail.outbox[-1].body
    assert AuditEntry.objects.filter(action="interview_slot_changed").count() == 1


def test_a_superseded_slot_mail_is_not_sent(documents_scored, two_stage, staff):
    a = _with_address(documents_scored[0])
    stages.shortlist_top(call=two_stage, n=1, by=staff)
    stages.slot_schedule(application=a, starts_at=SLOT_AT, duration_minutes=30, place="A", by=staff)
    stages.slot_schedule(application=a, starts_at=SLOT_AT, duration_minutes=30, place="B", by=staff)
    _send_all()
    assert len(mail.outbox) == 1  # only version 2 is sent; version 1 is cancelled as no longer needed
    assert "B" in mail.outbox[0].body
    assert OutboxMessage.objects.filter(slot="v1", status=OutboxStatus.CANCELLED).count() == 1


def test_a_slot_only_for_a_shortlisted_application_with_a_place(documents_scored, two_stage, staff):
    a, b = documents_scored[:2]
    stages.shortlist_top(call=two_stage, n=1, by=staff)
    with pytest.raises(Refused) as refused:
        stages.slot_schedule(application=b, starts_at=SLOT_AT, duration_minutes=30, place="A", by=staff)
    assert refused.value.code == "not_shortlisted"
    with pytest.raises(Refused) as refused:
        stages.slot_schedule(application=a, starts_at=SLOT_AT, duration_minutes=30, by=staff)
    assert refused.value.code == "invalid"


# --- the final ranking ----------------------------------------------------------------------


@pytest.fixture
def interviewed(documents_scored, two_stage, staff):
    """A, B, C shortlisted (top 3) and interviewed: 6, 9, 7 (60, 90, 70). D is not shortlisted."""
    a, b, c, _d = documents_scored
    stages.shortlist_top(call=two_stage, n=3, by=staff)
    open_interview(two_stage, staff)
    reviewer = make_reviewer()
    for application, value in ((a, 6), (b, 9), (c, 7)):
        assignment = services.assignment_create(
            application=application, reviewer=reviewer, due_at=None, assigned_by=staff, stage=INTERVIEW
        )
        score(assignment, value)
    return documents_scored


def _final(call):
    return [
        (row.application.receipt_number, row.position, None if row.rank is None else round(row.score, 6))
        for row in selectors.final_ranking_rows(call, selectors.reviewable_applications(call), calibrate=False)
    ]


def test_the_final_ranking_by_interview_scores(interviewed, two_stage):
    a, b, c, d = (x.receipt_number for x in interviewed)
    assert _final(two_stage) == [(b, 1, 90.0), (c, 2, 70.0), (a, 3, 60.0), (d, None, None)]
    with translation.override("en"):
        assert selectors.ranking_basis(two_stage) == "Final score: interview scores"


def test_the_final_ranking_by_the_weighted_sum(interviewed, two_stage):
    two_stage.final_ranking = FinalRanking.WEIGHTED
    two_stage.document_weight_percent = 30
    two_stage.save()
    a, b, c, d = (x.receipt_number for x in interviewed)
    # 0.3 × document + 0.7 × interview: A 0.3×90+0.7×60 = 69, B 0.3×80+0.7×90 = 87, C 0.3×60+0.7×70 = 67
    assert _final(two_stage) == [(b, 1, 87.0), (a, 2, 69.0), (c, 3, 67.0), (d, None, None)]
    with translation.override("en"):
        assert selectors.ranking_basis(two_stage) == "Final score: document review 30% + interview 70%"


def test_a_one_stage_call_ranks_as_before(call, applications, review_round):
    rows = selectors.final_ranking_rows(call, selectors.reviewable_applications(call), calibrate=False)
    assert [r.application.pk for r in rows] == [
        r.application.pk for r in selectors.ranking_rows(call, selectors.reviewable_applications(call), calibrate=False)
    ]
    assert selectors.ranking_basis(call) == ""


# --- the call's review configuration ----------------------------------------------------------


def test_staff_set_the_stages_on_the_settings_page_and_it_is_audited(client, call, review_round, staff):
    client.force_login(staff)
    response = client.post(
        f"/staff/calls/{call.slug}/review/",
        {
            "save_stages": "1",
            "stages-two_stage_review": "on",
            "stages-final_ranking": FinalRanking.WEIGHTED,
            "stages-document_weight_percent": "40",
        },
    )
    assert response.status_code == 302
    call.refresh_from_db()
    assert (call.two_stage_review, call.final_ranking, call.document_weight_percent) == (True, "weighted", 40)
    entry = AuditEntry.objects.get(action="review_stages_configured")
    assert entry.after["document_weight_percent"] == 40
    assert client.get(f"/staff/calls/{call.slug}/review/interview/").status_code == 200


def test_a_call_with_a_shortlist_stays_two_stage(documents_scored, two_stage, staff):
    stages.shortlist_top(call=two_stage, n=1, by=staff)
    with pytest.raises(Refused) as refused:
        stages.stages_configure(
            call=two_stage,
            two_stage_review=False,
            final_ranking=FinalRanking.INTERVIEW,
            document_weight_percent=30,
            by=staff,
        )
    assert refused.value.code == "shortlisted"
    stages.stages_configure(
        call=two_stage, two_stage_review=True, final_ranking=FinalRanking.WEIGHTED, document_weight_percent=50, by=staff
    )
    two_stage.refresh_from_db()
    assert two_stage.final_ranking == FinalRanking.WEIGHTED


def test_leaving_the_shortlist_after_the_slot_mail_tells_the_organisation_once(documents_scored, two_stage, staff):
    """A slot mail went out, then the application left the shortlist: the organisation is told the
    interview will not take place (once per address, with the slot's time); one that never heard
    of a slot hears nothing."""
    a = _with_address(documents_scored[0])
    b = _with_address(documents_scored[1])
    stages.shortlist_set(call=two_stage, application_ids=[a.pk, b.pk], by=staff)
    stages.slot_schedule(application=a, starts_at=SLOT_AT, duration_minutes=30, place="8号館", by=staff)
    _send_all()
    stages.slot_schedule(application=b, starts_at=SLOT_AT, duration_minutes=30, place="8号館", by=staff)
    sent_before = len(mail.outbox)
    stages.shortlist_set(call=two_stage, application_ids=[], by=staff)
    stages.shortlist_set(call=two_stage, application_ids=[], by=staff)  # a repeat changes nothing
    cancelled = OutboxMessage.objects.filter(kind=stages.INTERVIEW_CANCELLED_MAIL)
    assert {m.subject_id for m in cancelled} == {a.pk}
    later = timezone.now() + dt.timedelta(hours=1)
    for message in OutboxMessage.objects.filter(status=OutboxStatus.QUEUED):
        outbox.deliver(message.pk, now=later)
    new = mail.outbox[sent_before:]
    assert [m.to[0] for m in new] == [a.organisation.email.lower()]
    assert "ヒアリング" in new[0].subject
    assert "2025年5月30日（金）14:00" in new[0].body and "実施しない" in new[0].body
