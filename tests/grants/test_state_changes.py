"""Every state change of the grants layer goes through the workflow: the transition table decides,
and each change writes its audit entry (who, the state before and after, the call) — one test per
state change."""

import datetime as dt

import pytest
from django.utils import translation

from accounts.models import Role
from applications.models import ApplicationStatus, MemberRole, Membership
from grants import services
from grants.models import Award, AwardStatus, Decision, Report, ReportKind
from kodoku_portal.audit import describe
from kodoku_portal.models import AuditEntry
from kodoku_portal.workflow import Refused
from tests.factories import ApplicationFactory, CallFactory, OrganisationFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(db):
    return UserFactory(role=Role.STAFF, email="staff@example.jp")


@pytest.fixture
def call(db):
    return CallFactory(cap_amount=2_000_000, budget_total=5_000_000)


@pytest.fixture
def application(call):
    return ApplicationFactory(
        call=call,
        organisation=OrganisationFactory(email="org@example.jp"),
        status=ApplicationStatus.SUBMITTED,
        receipt_number="PRACTICE-0004",
        requested_amount=1_500_000,
    )


def entries(obj, action=None):
    found = AuditEntry.objects.filter(object_type=obj._meta.label, object_id=str(obj.pk)).order_by("id")
    return list(found.filter(action=action) if action else found)


def decide(application, outcome, staff, amount=None):
    return services.decision_record(application=application, outcome=outcome, award_amount=amount, decided_by=staff)


@pytest.mark.parametrize(
    ("outcome", "amount"),
    [
        (ApplicationStatus.ADOPTED, 1_200_000),
        (ApplicationStatus.NOT_ADOPTED, None),
        (ApplicationStatus.RESERVE, None),
    ],
)
def test_a_decision_is_a_state_change_with_its_audit_entry(application, staff, outcome, amount):
    decide(application, outcome, staff, amount)
    [entry] = entries(application, "decision")
    assert entry.actor == staff and entry.call_id == application.call_id
    assert entry.before == {"status": "submitted", "award_amount": None}
    assert entry.after == {"status": outcome.value, "award_amount": amount}
    with translation.override("en"):
        sentence, label = describe(entry), str(outcome.label)
    assert sentence.startswith("staff@example.jp ") and label in sentence
    assert ("1,200,000" in sentence) == (amount is not None)
    assert entry.object_repr == application.receipt_number  # named by its receipt number
    assert application.receipt_number in sentence


def test_the_decision_reads_as_the_office_writes_it(application, staff):
    decide(application, ApplicationStatus.ADOPTED, staff, 1_200_000)
    [entry] = entries(application, "decision")
    with translation.override("ja"):
        assert describe(entry) == (
            f"staff@example.jp が {application.receipt_number} を提出済から採択（1,200,000円）に変更しました"
        )


def test_back_to_undecided_is_audited_and_drops_the_decision(application, staff):
    decide(application, ApplicationStatus.ADOPTED, staff, 1_000_000)
    decide(application, ApplicationStatus.SUBMITTED, staff)
    application.refresh_from_db()
    assert application.status == ApplicationStatus.SUBMITTED and not Decision.objects.exists()
    assert [(e.before["status"], e.after["status"]) for e in entries(application, "decision")] == [
        ("submitted", "adopted"),
        ("adopted", "submitted"),
    ]


def test_the_same_outcome_with_another_amount_is_audited_as_a_change_not_a_transition(application, staff):
    decide(application, ApplicationStatus.ADOPTED, staff, 1_000_000)
    decide(application, ApplicationStatus.ADOPTED, staff, 900_000)
    second = entries(application, "decision")[1]
    assert second.before == {"status": "adopted", "award_amount": 1_000_000}
    assert second.after == {"status": "adopted", "award_amount": 900_000}
    assert Decision.objects.get().award_amount == 900_000


def test_the_transition_table_refuses_a_withdrawn_application_and_names_it(application, staff):
    application.status = ApplicationStatus.WITHDRAWN
    application.save()
    with pytest.raises(Refused) as refused:
        decide(application, ApplicationStatus.ADOPTED, staff, 1_000_000)
    assert refused.value.code == "transition"
    assert refused.value.message.startswith("PRACTICE-0004")
    assert entries(application) == [] and not Decision.objects.exists()


def test_the_adoption_proposal_writes_one_decision_entry_each(call, staff):
    applications = [
        ApplicationFactory(
            call=call, status=ApplicationStatus.SUBMITTED, receipt_number=f"P-{i}", requested_amount=1_000_000
        )
        for i in range(2)
    ]
    assert services.proposal_accept(call=call, application_ids=[a.pk for a in applications], decided_by=staff) == 2
    for application in applications:
        [entry] = entries(application, "decision")
        assert entry.after == {"status": "adopted", "award_amount": 1_000_000}


def test_a_refused_proposal_adopts_none_of_it(call, staff):
    applications = [
        ApplicationFactory(
            call=call, status=ApplicationStatus.SUBMITTED, receipt_number=f"P-{i}", requested_amount=2_000_000
        )
        for i in range(3)
    ]
    with pytest.raises(Refused) as refused:  # the third would exceed the 5,000,000 budget
        services.proposal_accept(call=call, application_ids=[a.pk for a in applications], decided_by=staff)
    assert refused.value.code == "budget"
    assert not AuditEntry.objects.filter(action="decision").exists()


@pytest.fixture
def award(application, staff):
    decide(application, ApplicationStatus.ADOPTED, staff, 1_000_000)
    return Award.objects.create(application=application)


@pytest.fixture
def member(application):
    user = UserFactory(role=Role.APPLICANT)
    Membership.objects.create(organisation=application.organisation, user=user, role=MemberRole.OWNER)
    return user


def grant(award, staff):
    return services.award_grant(
        award=award,
        granted_on=dt.date(2025, 7, 1),
        granted_amount=800_000,
        progress_report_due=dt.date(2025, 10, 31),
        final_report_due=dt.date(2026, 3, 31),
        by=staff,
    )


def final_report(award, member, costs=(("honoraria", 800_000),)):
    return services.report_submit(
        award=award,
        kind=ReportKind.FINAL,
        activities="カフェ",
        participants=10,
        results="増えた",
        issues="",
        costs=list(costs),
        by=member,
    )


def test_award_grant_is_audited(award, staff):
    grant(award, staff)
    [entry] = entries(award)
    assert (entry.action, entry.before, entry.call_id) == (
        "award_granted",
        {"status": "adopted"},
        award.application.call_id,
    )
    assert entry.after == {"status": "granted", "granted_amount": 800_000, "granted_on": "2025-07-01"}
    with translation.override("en"):
        assert describe(entry) == "staff@example.jp recorded the grant decision for PRACTICE-0004 (¥800,000)"


def test_a_progress_report_is_audited_without_a_state_change(award, staff, member):
    grant(award, staff)
    report = services.report_submit(
        award=award,
        kind=ReportKind.PROGRESS,
        activities="a",
        participants=1,
        results="r",
        issues="",
        costs=[],
        by=member,
    )
    award.refresh_from_db()
    assert award.status == AwardStatus.GRANTED
    [entry] = entries(award, "report_progress")
    assert entry.after == {"report": report.pk} and entry.actor == member


def test_the_final_report_moves_the_award_to_reported(award, staff, member):
    grant(award, staff)
    report = final_report(award, member)
    [entry] = entries(award, "report_final")
    assert (entry.before, entry.after) == ({"status": "granted"}, {"status": "reported", "report": report.pk})


def test_only_a_member_files_a_report_and_only_while_it_is_open(award, staff, member):
    outsider = UserFactory(role=Role.APPLICANT)
    with pytest.raises(Refused):  # not granted yet
        final_report(award, member)
    grant(award, staff)
    with pytest.raises(Refused):
        final_report(award, outsider)
    final_report(award, member)
    with pytest.raises(Refused):  # filed already
        final_report(award, member)


def test_a_returned_report_can_be_filed_again(award, staff, member):
    grant(award, staff)
    first = final_report(award, member)
    services.report_return(award=award, reason="領収書の添付がありません", by=staff)
    award.refresh_from_db()
    assert award.status == AwardStatus.GRANTED and ReportKind.FINAL in award.reports_open()
    [entry] = entries(award, "report_returned")
    assert entry.before == {"status": "reported"}
    assert entry.after == {"status": "granted", "report": first.pk, "reason": "領収書の添付がありません"}
    second = final_report(award, member, costs=[("honoraria", 700_000)])
    assert Report.objects.get(pk=first.pk).returned_at is not None and second.returned_at is None
    # The amount is confirmed against the report that stands, not the returned one.
    with pytest.raises(Refused):
        services.award_confirm(award=award, confirmed_amount=800_000, confirmed_on=dt.date(2026, 4, 20), by=staff)
    services.award_confirm(award=award, confirmed_amount=700_000, confirmed_on=dt.date(2026, 4, 20), by=staff)


def test_confirmation_and_payment_are_audited(award, staff, member):
    grant(award, staff)
    final_report(award, member)
    services.award_confirm(award=award, confirmed_amount=750_000, confirmed_on=dt.date(2026, 4, 20), by=staff)
    services.award_pay(award=award, paid_on=dt.date(2026, 5, 15), by=staff)
    confirmed, paid = entries(award, "award_confirmed") + entries(award, "award_paid")
    assert (confirmed.before, confirmed.after) == (
        {"status": "reported"},
        {"status": "confirmed", "confirmed_amount": 750_000},
    )
    assert (paid.before, paid.after) == ({"status": "confirmed"}, {"status": "paid", "paid_on": "2026-05-15"})


def test_an_award_step_out_of_order_is_refused_by_the_table(award, staff):
    with pytest.raises(Refused) as refused:
        services.award_pay(award=award, paid_on=dt.date(2026, 5, 15), by=staff)
    assert refused.value.code == "transition"
    award.refresh_from_db()
    assert (award.status, award.paid_on) == (AwardStatus.ADOPTED, None)
    assert entries(award) == []


def test_publication_and_withdrawal_are_audited(call, staff):
    services.adoptions_publish(call=call, publish=True, by=staff)
    services.adoptions_publish(call=call, publish=False, by=staff)
    published, withdrawn = entries(call)
    assert (published.action, withdrawn.action) == ("adoptions_published", "adoptions_withdrawn")
    assert published.before == {"adoptions_published_at": None} and published.after["adoptions_published_at"]
    assert withdrawn.after == {"adoptions_published_at": None}
    assert {published.call_id, withdrawn.call_id} == {call.pk}


def test_preparing_the_notices_is_audited(application, staff, django_capture_on_commit_callbacks, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    decide(application, ApplicationStatus.ADOPTED, staff, 1_000_000)
    with django_capture_on_commit_callbacks(execute=True):
        services.notices_prepare(call=application.call, created_by=staff)
    [entry] = entries(application.call, "notices_prepared")
    assert entry.after == {"pending": 1} and entry.call_id == application.call_id


def test_only_staff_record_the_steps_of_an_award(award, member):
    with pytest.raises(Refused) as refused:
        grant(award, member)
    assert refused.value.code == "forbidden"
    award.refresh_from_db()
    assert award.status == AwardStatus.ADOPTED and entries(award) == []
