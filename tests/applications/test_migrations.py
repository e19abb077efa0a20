"""The data migrations of applications keep what was true: a decision whose notice was e-mailed
stays disclosed (0004), and every receipt mail keeps its state as an outbox message (0005)."""

import datetime as dt

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from applications.models import Application, ApplicationStatus, Receipt
from kodoku_portal.models import OutboxMessage, OutboxStatus
from tests.factories import ApplicationFactory, OrganisationFactory, UserFactory

BEFORE = [("applications", "0003_call_models_in_calls")]
SENT_AT = dt.datetime(2025, 6, 2, 9, 30, tzinfo=dt.UTC)
NOTIFIED_AT = dt.datetime(2025, 8, 1, 10, 0, tzinfo=dt.UTC)


def _submitted(number: str, submitter, organisation_email: str) -> Application:
    organisation = OrganisationFactory(email=organisation_email)
    return ApplicationFactory(
        organisation=organisation, status=ApplicationStatus.ADOPTED, receipt_number=number, submitted_by=submitter
    )


@pytest.mark.django_db(transaction=True)
def test_notified_decisions_and_receipt_mails_are_carried_forward():
    submitter = UserFactory(email="Member@Example.jp")
    emailed = _submitted("M-0001", submitter, "office@example.jp")
    failed = _submitted("M-0002", submitter, "member@example.jp")  # one address: the same person
    waiting = _submitted("M-0003", None, "waiting@example.jp")
    undisclosed = _submitted("M-0004", None, "quiet@example.jp")
    for application in (emailed, failed, waiting):
        Receipt.objects.create(application=application)

    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    executor.loader.build_graph()
    old = executor.loader.project_state(
        [*BEFORE, ("grants", "0003_documentcounter_call_adoptions_published_at_award_and_more")]
    ).apps
    OldReceipt = old.get_model("applications", "Receipt")
    OldReceipt.objects.filter(application_id=emailed.pk).update(emailed_at=SENT_AT, attempts=1)
    OldReceipt.objects.filter(application_id=failed.pk).update(attempts=3, last_error="SMTP down")
    OldNotice = old.get_model("grants", "Notice")
    OldNotice.objects.create(
        application_id=emailed.pk,
        kind="adopted",
        document_number="府孤第1号",
        issued_on=dt.date(2025, 8, 1),
        emailed_at=NOTIFIED_AT,
    )
    OldNotice.objects.create(
        application_id=undisclosed.pk, kind="adopted", document_number="府孤第2号", issued_on=dt.date(2025, 8, 1)
    )

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    assert Application.objects.get(pk=emailed.pk).decision_disclosed_at == NOTIFIED_AT
    assert Application.objects.get(pk=undisclosed.pk).decision_disclosed_at is None

    def messages(application):
        return {
            m.to_email: m
            for m in OutboxMessage.objects.filter(
                kind="receipt", subject_type="applications.Application", subject_id=application.pk
            )
        }

    sent = messages(emailed)
    assert set(sent) == {"office@example.jp", "member@example.jp"}
    assert {(m.status, m.sent_at, m.attempts) for m in sent.values()} == {(OutboxStatus.SENT, SENT_AT, 1)}
    assert sent["member@example.jp"].recipient_id == submitter.pk
    assert sent["office@example.jp"].recipient_id is None

    [retry] = messages(failed).values()
    assert (retry.to_email, retry.status, retry.attempts, retry.last_error) == (
        "member@example.jp",
        OutboxStatus.FAILED,
        3,
        "SMTP down",
    )
    assert retry.next_attempt_at is not None  # due: the sweep tries it again

    [queued] = messages(waiting).values()
    assert (queued.to_email, queued.status) == ("waiting@example.jp", OutboxStatus.QUEUED)
    assert not messages(undisclosed)  # no receipt, no message
