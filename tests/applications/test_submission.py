"""Submission: the deadline by the server clock, the cap, double submission, receipts, withdrawal."""

import datetime as dt
import subprocess
import threading

import pytest
from django.core import mail
from django.db import connection
from django.utils import timezone

from applications import mails, services
from applications.models import Application, ApplicationStatus, Receipt
from kodoku_portal import outbox
from kodoku_portal.models import OutboxMessage, OutboxStatus
from kodoku_portal.workflow import Refused
from tests.factories import ApplicationFactory
from tests.support import worker

from .conftest import DEADLINE, INSIDE, save_complete

pytestmark = pytest.mark.django_db


@pytest.fixture
def seed_draft(seed_window_call, organisation, member):
    application = ApplicationFactory(call=seed_window_call, organisation=organisation)
    return save_complete(application, member, now=INSIDE)


def test_submission_at_the_last_microsecond_is_accepted(seed_draft, member):
    last = DEADLINE - dt.timedelta(microseconds=1)
    application = services.application_submit(application_id=seed_draft.pk, user=member, now=last)
    assert application.status == ApplicationStatus.SUBMITTED
    assert application.submitted_at == last
    assert application.receipt_number == f"{seed_draft.call.receipt_prefix}-0001"


def test_submission_at_noon_is_refused_and_the_draft_kept(seed_draft, member):
    with pytest.raises(Refused) as refused:
        services.application_submit(application_id=seed_draft.pk, user=member, now=DEADLINE)
    assert refused.value.code == "closed"
    assert "2025年5月30日（金）12:00" in refused.value.messages[0]
    seed_draft.refresh_from_db()
    assert seed_draft.status == ApplicationStatus.DRAFT
    assert seed_draft.title == "まちの縁側カフェ"
    assert seed_draft.receipt_number is None


def test_a_draft_saved_after_the_close_is_refused_with_a_message_and_kept(seed_draft, member):
    outcome = services.application_save_draft(
        application_id=seed_draft.pk,
        user=member,
        fields={"title": "締切後に直した事業名"},
        budget_lines=[],
        base_version=seed_draft.version,
        raw={"title": ["締切後に直した事業名"]},
        now=DEADLINE,
    )
    assert not outcome.saved
    assert outcome.reason == "closed"
    assert "2025年5月30日（金）12:00" in outcome.message
    seed_draft.refresh_from_db()
    assert seed_draft.title == "まちの縁側カフェ"  # the saved draft is untouched …
    assert seed_draft.budget_lines.count() == 1
    assert outcome.refused.data == {"title": ["締切後に直した事業名"]}  # … and what was typed is kept


def test_cap_exactly_is_accepted(seed_window_call, organisation, member):
    application = save_complete(
        ApplicationFactory(call=seed_window_call, organisation=organisation), member, amount=2_000_000, now=INSIDE
    )
    services.application_submit(application_id=application.pk, user=member, now=INSIDE)
    application.refresh_from_db()
    assert application.requested_amount == 2_000_000
    assert application.status == ApplicationStatus.SUBMITTED


def test_one_yen_over_the_cap_is_refused_with_the_amounts(seed_window_call, organisation, member):
    application = save_complete(
        ApplicationFactory(call=seed_window_call, organisation=organisation), member, amount=2_000_001, now=INSIDE
    )
    with pytest.raises(Refused) as refused:
        services.application_submit(application_id=application.pk, user=member, now=INSIDE)
    assert any("2,000,001円" in m and "2,000,000円" in m and "1円" in m for m in refused.value.messages)
    application.refresh_from_db()
    assert application.status == ApplicationStatus.DRAFT


def test_an_incomplete_draft_is_refused_with_everything_missing(draft, member):
    from tests.support.forms import project_version

    project_version(draft.call)  # the call asks the project questions (事業の内容)
    with pytest.raises(Refused) as refused:
        services.application_submit(application_id=draft.pk, user=member)
    assert refused.value.code == "incomplete"
    assert len(refused.value.messages) >= 7
    assert any(
        message.startswith("「事業の内容」の") and "目的" in message and "実施スケジュール" in message
        for message in refused.value.messages
    )
    draft.refresh_from_db()
    assert draft.status == ApplicationStatus.DRAFT and draft.receipt_number is None


def receipt_messages(application) -> list[OutboxMessage]:
    return list(
        OutboxMessage.objects.filter(
            kind="receipt", subject_type="applications.Application", subject_id=application.pk
        ).order_by("to_email")
    )


def test_double_submission_gives_one_receipt(complete_draft, member, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        first = services.application_submit(application_id=complete_draft.pk, user=member)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        second = services.application_submit(application_id=complete_draft.pk, user=member)
    assert callbacks == []  # the second click queues no second receipt
    assert first.receipt_number == second.receipt_number
    assert first.submitted_at == second.submitted_at
    assert Receipt.objects.filter(application=complete_draft).count() == 1
    assert len(receipt_messages(complete_draft)) == 2  # one per address
    assert sorted(address for m in mail.outbox for address in m.to) == sorted(["office@example.jp", member.email])


def test_receipt_numbers_follow_each_other_per_call(open_call, npo_type, member):
    from applications.models import MemberRole, Membership

    from .conftest import complete_organisation, corporate_number

    numbers = []
    for index in range(3):
        org = complete_organisation(applicant_type=npo_type, corporate_number=corporate_number(f"80011000590{index}"))
        Membership.objects.create(organisation=org, user=member, role=MemberRole.OWNER)
        application = save_complete(ApplicationFactory(call=open_call, organisation=org), member)
        numbers.append(services.application_submit(application_id=application.pk, user=member).receipt_number)
    prefix = open_call.receipt_prefix
    assert numbers == [f"{prefix}-0001", f"{prefix}-0002", f"{prefix}-0003"]


@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_submissions_give_one_receipt(complete_draft, member):
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL (CI runs this on PostgreSQL)")
    barrier = threading.Barrier(2)
    results, errors = [], []

    def submit():
        try:
            barrier.wait()
            results.append(services.application_submit(application_id=complete_draft.pk, user=member).receipt_number)
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(set(results)) == 1
    assert Application.objects.get(pk=complete_draft.pk).status == ApplicationStatus.SUBMITTED
    assert Receipt.objects.filter(application=complete_draft).count() == 1


def test_receipt_pdf_is_made_once_and_each_address_mailed_once_even_if_delivered_again(
    complete_draft, member, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.application_submit(application_id=complete_draft.pk, user=member)
    receipt = Receipt.objects.get(application=complete_draft)
    assert receipt.pdf and receipt.generated_at
    first_pdf = receipt.pdf.name
    messages = receipt_messages(complete_draft)
    assert [m.to_email for m in messages] == sorted([member.email, "office@example.jp"])
    assert {m.status for m in messages} == {OutboxStatus.SENT}
    for message in messages:  # a duplicate delivery of the task
        assert outbox.deliver(message.pk) == OutboxStatus.SENT
    receipt.refresh_from_db()
    assert receipt.pdf.name == first_pdf
    assert len(mail.outbox) == 2
    assert sorted(m.to[0] for m in mail.outbox) == sorted([member.email, "office@example.jp"])
    for sent in mail.outbox:
        assert len(sent.to) == 1
        assert sent.attachments[0][0].endswith(".pdf")
        assert sent.attachments[0][1].startswith(b"%PDF-")


def test_receipt_pdf_has_the_japanese_text_and_an_embedded_japanese_font(
    complete_draft, member, tmp_path, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.application_submit(application_id=complete_draft.pk, user=member)
    receipt = Receipt.objects.get(application=complete_draft)
    path = tmp_path / "receipt.pdf"
    with receipt.pdf.open("rb") as handle:
        path.write_bytes(handle.read())
    layout = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True)
    text = "".join(layout.stdout.split())  # the title is letter-spaced: compare without whitespace
    assert "受付票" in text
    application = Application.objects.get(pk=complete_draft.pk)
    assert application.receipt_number in text
    assert "まちの縁側カフェ" in text
    assert "1,000,000円" in text
    assert "令和" in text
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout
    rows = fonts.splitlines()[2:]
    assert rows, fonts
    assert any("IPAex" in row for row in rows)
    assert all(" yes " in row for row in rows), fonts  # every font embedded


def test_with_the_broker_down_the_submission_succeeds_and_its_receipt_waits_for_the_sweep(
    client, complete_draft, member, django_capture_on_commit_callbacks, settings
):
    """Redis stopped while an applicant presses 提出: the applicant gets the application's page,
    not a server error; the receipt mails wait in the outbox, queued, and the sweep sends them
    once tasks can be handed over again."""
    client.force_login(member)
    # Nothing listens on port 1: handing the delivery task to the broker fails after commit.
    with (
        worker.tasks_go_to("kodoku-broker-down", broker_url="redis://127.0.0.1:1/0"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = client.post(f"/applications/{complete_draft.pk}/submit/")
    assert response.status_code == 302
    complete_draft.refresh_from_db()
    assert complete_draft.status == ApplicationStatus.SUBMITTED and complete_draft.receipt_number
    messages = receipt_messages(complete_draft)
    assert messages and all(message.status == OutboxStatus.QUEUED for message in messages)
    assert mail.outbox == []
    later = timezone.now() + dt.timedelta(seconds=settings.OUTBOX_DISPATCH_GRACE_SECONDS + 1)
    with django_capture_on_commit_callbacks(execute=True):
        assert outbox.sweep(now=later) == len(messages)
    assert {message.status for message in receipt_messages(complete_draft)} == {OutboxStatus.SENT}
    assert len(mail.outbox) == len(messages)


def test_a_failed_receipt_mail_is_recorded_and_sent_by_the_sweep_later(
    complete_draft, member, django_capture_on_commit_callbacks
):
    """A broken builder (the mail server down, a PDF that would not render) leaves the message
    failed with its error; the outbox's sweep sends it once its back-off has passed."""
    calls = {"n": 0}

    def broken_then_mended(message):
        calls["n"] += 1
        if calls["n"] == 1:
            raise ConnectionError("mail server down")
        return mails.build_receipt_mail(message)

    outbox.register("receipt", broken_then_mended)
    try:
        complete_draft.organisation.email = member.email  # one address: one message
        complete_draft.organisation.save()
        with django_capture_on_commit_callbacks(execute=True):
            services.application_submit(application_id=complete_draft.pk, user=member)
        [message] = receipt_messages(complete_draft)
        assert message.status == OutboxStatus.FAILED
        assert message.attempts == 1
        assert "mail server down" in message.last_error
        assert mail.outbox == []

        with django_capture_on_commit_callbacks(execute=True):
            assert outbox.sweep(now=timezone.now()) == 0  # not due yet: the back-off
        with django_capture_on_commit_callbacks(execute=True):
            assert outbox.sweep(now=message.next_attempt_at + dt.timedelta(seconds=1)) == 1
        message.refresh_from_db()
        assert message.status == OutboxStatus.SENT
        assert message.attempts == 2
        assert calls["n"] == 2
        assert len(mail.outbox) == 1
        assert mail.outbox[0].to == [member.email]
    finally:
        outbox.register("receipt", mails.build_receipt_mail)


def test_withdrawal_before_the_deadline(seed_draft, member):
    services.application_submit(application_id=seed_draft.pk, user=member, now=INSIDE)
    application = services.application_withdraw(application_id=seed_draft.pk, user=member, now=INSIDE)
    assert application.status == ApplicationStatus.WITHDRAWN
    assert application.receipt_number  # the receipt number stays on record


def test_no_withdrawal_after_the_deadline(seed_draft, member):
    services.application_submit(application_id=seed_draft.pk, user=member, now=INSIDE)
    with pytest.raises(Refused):
        services.application_withdraw(application_id=seed_draft.pk, user=member, now=DEADLINE)
    assert Application.objects.get(pk=seed_draft.pk).status == ApplicationStatus.SUBMITTED


def test_a_submitted_application_cannot_be_edited(complete_draft, member):
    services.application_submit(application_id=complete_draft.pk, user=member)
    application = Application.objects.get(pk=complete_draft.pk)
    outcome = services.application_save_draft(
        application_id=application.pk,
        user=member,
        fields={"title": "提出後の変更"},
        budget_lines=[],
        base_version=application.version,
        raw={"title": ["提出後の変更"]},
    )
    assert not outcome.saved and outcome.reason == "not_draft"
    assert Application.objects.get(pk=application.pk).title == "まちの縁側カフェ"
