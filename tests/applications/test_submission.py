"""Submission: the deadline by the server clock, the cap, double submission, receipts, withdrawal."""

import datetime as dt
import subprocess
import threading

import pytest
from django.core import mail
from django.db import connection

from applications import services
from applications.models import Application, ApplicationStatus, Receipt
from applications.services import ApplicationRefused
from tests.factories import ApplicationFactory

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
    with pytest.raises(ApplicationRefused) as refused:
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
    with pytest.raises(ApplicationRefused) as refused:
        services.application_submit(application_id=application.pk, user=member, now=INSIDE)
    assert any("2,000,001円" in m and "2,000,000円" in m and "1円" in m for m in refused.value.messages)
    application.refresh_from_db()
    assert application.status == ApplicationStatus.DRAFT


def test_an_incomplete_draft_is_refused_with_everything_missing(draft, member):
    with pytest.raises(ApplicationRefused) as refused:
        services.application_submit(application_id=draft.pk, user=member)
    assert refused.value.code == "incomplete"
    assert len(refused.value.messages) >= 8
    draft.refresh_from_db()
    assert draft.status == ApplicationStatus.DRAFT and draft.receipt_number is None


def test_double_submission_gives_one_receipt(complete_draft, member, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        first = services.application_submit(application_id=complete_draft.pk, user=member)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        second = services.application_submit(application_id=complete_draft.pk, user=member)
    assert callbacks == []  # the second click schedules no second receipt
    assert first.receipt_number == second.receipt_number
    assert first.submitted_at == second.submitted_at
    assert Receipt.objects.filter(application=complete_draft).count() == 1
    assert len(mail.outbox) == 1


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


def test_receipt_pdf_is_made_and_emailed_once_even_if_the_task_runs_again(
    complete_draft, member, tmp_path, django_capture_on_commit_callbacks
):
    from applications.tasks import issue_receipt

    with django_capture_on_commit_callbacks(execute=True):
        services.application_submit(application_id=complete_draft.pk, user=member)
    receipt = Receipt.objects.get(application=complete_draft)
    assert receipt.pdf and receipt.generated_at and receipt.emailed_at
    first_pdf = receipt.pdf.name
    issue_receipt.delay(application_id=complete_draft.pk)  # a retry or a duplicate delivery
    receipt.refresh_from_db()
    assert receipt.pdf.name == first_pdf
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert set(message.to) == {member.email, "office@example.jp"}
    assert message.attachments[0][0].endswith(".pdf")
    assert message.attachments[0][1].startswith(b"%PDF-")


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


def test_a_failed_receipt_mail_is_retried_and_recorded(
    complete_draft, member, monkeypatch, django_capture_on_commit_callbacks
):
    from applications import documents

    calls = {"n": 0}
    real = documents.receipt_email

    def flaky(receipt):
        calls["n"] += 1
        if calls["n"] == 1:
            raise ConnectionError("mail server down")
        return real(receipt)

    monkeypatch.setattr(documents, "receipt_email", flaky)
    with django_capture_on_commit_callbacks(execute=True):
        services.application_submit(application_id=complete_draft.pk, user=member)
    receipt = Receipt.objects.get(application=complete_draft)
    assert receipt.emailed_at is not None
    assert receipt.attempts == 2  # one failed (recorded), one sent
    assert receipt.last_error == ""
    assert calls["n"] == 2
    assert len(mail.outbox) == 1


def test_withdrawal_before_the_deadline(seed_draft, member):
    services.application_submit(application_id=seed_draft.pk, user=member, now=INSIDE)
    application = services.application_withdraw(application_id=seed_draft.pk, user=member, now=INSIDE)
    assert application.status == ApplicationStatus.WITHDRAWN
    assert application.receipt_number  # the receipt number stays on record


def test_no_withdrawal_after_the_deadline(seed_draft, member):
    services.application_submit(application_id=seed_draft.pk, user=member, now=INSIDE)
    with pytest.raises(ApplicationRefused):
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
