"""Every state change of an application goes through the workflow and leaves one audit entry:
who, which action, the application, its status before and after."""

import datetime as dt

import pytest
from django.utils import translation

from applications import services
from applications.models import Application, ApplicationStatus
from calls.models import ApplicantType
from kodoku_portal.audit import describe
from kodoku_portal.models import AuditEntry
from kodoku_portal.workflow import Refused
from tests.factories import ApplicationFactory, CallFactory, OrganisationFactory

from .conftest import INSIDE, save_complete

pytestmark = pytest.mark.django_db


def entries_of(application: Application) -> list[AuditEntry]:
    return list(
        AuditEntry.objects.filter(object_type="applications.Application", object_id=str(application.pk)).order_by("id")
    )


@pytest.fixture
def seed_draft(seed_window_call, organisation, member):
    return save_complete(ApplicationFactory(call=seed_window_call, organisation=organisation), member, now=INSIDE)


def test_submitting_writes_one_entry_with_the_submitter_and_the_receipt_number(seed_draft, member):
    application = services.application_submit(application_id=seed_draft.pk, user=member, now=INSIDE)
    [entry] = entries_of(application)
    assert entry.actor == member
    assert entry.action == "application_submitted"
    assert entry.before == {"status": ApplicationStatus.DRAFT}
    assert entry.after == {"status": ApplicationStatus.SUBMITTED, "receipt_number": application.receipt_number}
    assert entry.call_id == application.call_id
    with translation.override("en"):
        assert describe(entry) == f"{member.email} submitted application {application.receipt_number}"


def test_a_second_submission_writes_no_second_entry(seed_draft, member):
    services.application_submit(application_id=seed_draft.pk, user=member, now=INSIDE)
    services.application_submit(application_id=seed_draft.pk, user=member, now=INSIDE)
    assert len(entries_of(seed_draft)) == 1


def test_a_refused_submission_writes_no_entry(draft, member):
    with pytest.raises(Refused):
        services.application_submit(application_id=draft.pk, user=member)
    assert entries_of(draft) == []


def test_withdrawing_writes_one_entry(seed_draft, member):
    services.application_submit(application_id=seed_draft.pk, user=member, now=INSIDE)
    services.application_withdraw(application_id=seed_draft.pk, user=member, now=INSIDE)
    entry = entries_of(seed_draft)[-1]
    assert entry.actor == member
    assert entry.action == "application_withdrawn"
    assert entry.before == {"status": ApplicationStatus.SUBMITTED}
    assert entry.after == {"status": ApplicationStatus.WITHDRAWN}
    assert len(entries_of(seed_draft)) == 2


def test_importing_a_past_decision_writes_both_transitions_as_the_system(db):
    npo = ApplicantType.objects.get_or_create(code="npo", defaults={"name": "NPO法人"})[0]
    call = CallFactory(eligible=[npo], receipt_prefix="R6")
    application = services.application_import_decided(
        call=call,
        organisation=OrganisationFactory(applicant_type=npo),
        title="担い手育成",
        summary="要約",
        area_prefectures=["13", "14"],
        area_nationwide=False,
        submitted_at=None,
        outcome=ApplicationStatus.ADOPTED,
    )
    imported, outcome = entries_of(application)
    assert (imported.actor, imported.action) == (None, "application_imported")
    assert imported.before == {"status": ApplicationStatus.DRAFT}
    assert imported.after == {"status": ApplicationStatus.SUBMITTED, "receipt_number": "R6-0001"}
    assert (outcome.actor, outcome.action) == (None, "application_imported_outcome")
    assert outcome.before == {"status": ApplicationStatus.SUBMITTED}
    assert outcome.after == {"status": ApplicationStatus.ADOPTED}


def test_disclosing_a_decision_is_recorded_once(seed_window_call, organisation):
    adopted = ApplicationFactory(call=seed_window_call, organisation=organisation, status=ApplicationStatus.ADOPTED)
    at = dt.datetime(2025, 8, 1, 10, 0, tzinfo=dt.UTC)
    services.application_disclose_decision(application_id=adopted.pk, at=at)
    services.application_disclose_decision(application_id=adopted.pk, at=at + dt.timedelta(hours=1))
    adopted.refresh_from_db()
    assert adopted.decision_disclosed_at == at  # the first disclosure stands
    disclosed = entries_of(adopted)
    assert [e.action for e in disclosed] == ["application_decision_disclosed"]
    assert disclosed[0].actor is None
    assert disclosed[0].before == {"decision_disclosed_at": None}
    assert disclosed[0].after == {"decision_disclosed_at": at.isoformat()}
