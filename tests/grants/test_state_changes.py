"""Every state change of the grants layer goes through the workflow: the transition table decides,
and each change writes its audit entry (who, the state before and after, the call) — one test per
state change."""

import pytest
from django.utils import translation

from accounts.models import Role
from applications.models import ApplicationStatus
from grants import services
from grants.models import Decision
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
            f"staff@example.jp が 申請 {application.receipt_number} の採否を提出済から採択に変更しました（1,200,000円）"
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
