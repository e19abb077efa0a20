"""Decisions: amount bounds, the budget, the proposal, the audit trail, notices exactly once
(through the outbox), and an audit entry for every state change."""

import pytest
from django.core import mail
from hypothesis import given, settings
from hypothesis import strategies as st

from accounts.models import Role
from applications.models import ApplicationStatus
from grants import services
from grants.models import Award, Notice, NoticeKind
from grants.services import Candidate
from kodoku_portal.models import AuditEntry, OutboxMessage, OutboxStatus
from kodoku_portal.tasks import deliver_message
from kodoku_portal.workflow import Refused
from tests.factories import ApplicationFactory, CallFactory, OrganisationFactory, UserFactory, enable_totp

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(db):
    user = UserFactory(role=Role.STAFF)
    enable_totp(user)
    return user


@pytest.fixture
def call(db):
    return CallFactory(cap_amount=2_000_000, budget_total=5_000_000)


def submitted(call, amount, n=1, start=1):
    return [
        ApplicationFactory(
            call=call,
            organisation=OrganisationFactory(email=f"org{start + i}@example.jp"),
            status=ApplicationStatus.SUBMITTED,
            receipt_number=f"{call.receipt_prefix}-{start + i:04d}",
            requested_amount=amount,
        )
        for i in range(n)
    ]


def adopt(application, amount, staff):
    return services.decision_record(
        application=application, outcome=ApplicationStatus.ADOPTED, award_amount=amount, decided_by=staff
    )


@pytest.mark.parametrize(("amount", "ok"), [(1, True), (1_500_000, True), (1_500_001, False), (0, False)])
def test_the_award_is_at_most_the_request(call, staff, amount, ok):
    [application] = submitted(call, 1_500_000)
    if ok:
        assert adopt(application, amount, staff).status == ApplicationStatus.ADOPTED
    else:
        with pytest.raises(Refused):
            adopt(application, amount, staff)


def test_the_award_is_at_most_the_cap(staff):
    call = CallFactory(cap_amount=2_000_000, budget_total=None)
    [application] = submitted(call, 2_500_000)  # an old request above the cap (imported)
    with pytest.raises(Refused) as refused:
        adopt(application, 2_000_001, staff)
    assert refused.value.code == "amount"
    adopt(application, 2_000_000, staff)


def test_a_decision_beyond_the_budget_is_refused_with_the_figures(call, staff):
    applications = submitted(call, 2_000_000, n=3)
    adopt(applications[0], 2_000_000, staff)
    adopt(applications[1], 2_000_000, staff)
    with pytest.raises(Refused) as refused:
        adopt(applications[2], 2_000_000, staff)
    assert refused.value.code == "budget"
    assert "1,000,000円" in refused.value.message  # what is left
    applications[2].refresh_from_db()
    assert applications[2].status == ApplicationStatus.SUBMITTED
    adopt(applications[2], 1_000_000, staff)  # within what is left
    assert services.committed_amount(call) == 5_000_000


def test_every_decision_is_in_the_audit_trail(call, staff):
    [application] = submitted(call, 1_000_000)
    adopt(application, 900_000, staff)
    services.decision_record(
        application=application, outcome=ApplicationStatus.RESERVE, award_amount=None, decided_by=staff
    )
    entries = list(AuditEntry.objects.filter(object_id=str(application.pk)).order_by("id"))
    assert [(e.before["status"], e.after["status"]) for e in entries] == [
        ("submitted", "adopted"),
        ("adopted", "reserve"),
    ]
    assert entries[0].after["award_amount"] == 900_000 and entries[0].actor == staff
    with pytest.raises(ValueError):
        entries[0].delete()


@given(
    st.lists(st.tuples(st.floats(0, 100), st.integers(1, 2_000_000), st.integers(1, 4)), min_size=0, max_size=40),
    st.integers(0, 20_000_000),
    st.sampled_from(["", "theme", "region"]),
)
@settings(max_examples=200, deadline=None)
def test_the_proposal_stays_within_the_budget(rows, budget, balance):
    candidates = [
        Candidate(i, score, amount, theme, f"{theme * 11:02d}") for i, (score, amount, theme) in enumerate(rows)
    ]
    chosen = services.propose(candidates, budget=budget, balance_by=balance)
    by_id = {c.application_id: c for c in candidates}
    assert len(set(chosen)) == len(chosen)
    assert sum(by_id[i].amount for i in chosen) <= budget
    # Nothing left out would still fit.
    left = budget - sum(by_id[i].amount for i in chosen)
    assert all(c.amount > left for c in candidates if c.application_id not in chosen)


def test_the_proposal_takes_the_best_first():
    candidates = [
        Candidate(1, 90, 1_000_000, 1, "13"),
        Candidate(2, 80, 1_500_000, 1, "13"),
        Candidate(3, 70, 500_000, 2, "13"),
    ]
    assert services.propose(candidates, budget=2_000_000) == [1, 3]
    assert services.propose(candidates, budget=2_000_000, balance_by="theme") == [1, 3]


def test_regions_take_turns():
    # Two strong Tokyo projects and a weaker one in Osaka: with regions taking turns, Osaka's gets in.
    candidates = [
        Candidate(1, 95, 1_000_000, 1, "13"),
        Candidate(2, 90, 1_000_000, 1, "13"),
        Candidate(3, 60, 1_000_000, 1, "27"),
    ]
    assert services.propose(candidates, budget=2_000_000) == [1, 2]
    assert services.propose(candidates, budget=2_000_000, balance_by="region") == [1, 3]


def test_notices_are_made_and_sent_exactly_once(call, staff, django_capture_on_commit_callbacks, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    adopted, rejected = submitted(call, 1_000_000, n=2)
    adopt(adopted, 1_000_000, staff)
    services.decision_record(
        application=rejected, outcome=ApplicationStatus.NOT_ADOPTED, award_amount=None, decided_by=staff
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.notices_prepare(call=call, created_by=staff)
    assert len(mail.outbox) == 2
    kinds = dict(Notice.objects.values_list("application_id", "kind"))
    assert kinds == {adopted.pk: NoticeKind.ADOPTED, rejected.pk: NoticeKind.NOT_ADOPTED}
    numbers = list(Notice.objects.order_by("document_number").values_list("document_number", flat=True))
    assert all(n.startswith("府孤第") and n.endswith("号") for n in numbers) and len(set(numbers)) == 2
    assert Award.objects.get().application == adopted
    assert set(OutboxMessage.objects.values_list("kind", "status")) == {("notice", OutboxStatus.SENT)}
    assert all(notice.emailed_at is not None for notice in Notice.objects.all())
    # The batch again, and a duplicate task delivery: nothing is sent twice.
    with django_capture_on_commit_callbacks(execute=True):
        services.notices_prepare(call=call, created_by=staff)
    for message in OutboxMessage.objects.all():
        deliver_message.delay(message_id=message.pk)
    assert len(mail.outbox) == 2 and OutboxMessage.objects.count() == 2
    # After the notice, the decision is final.
    with pytest.raises(Refused):
        services.decision_record(
            application=adopted, outcome=ApplicationStatus.NOT_ADOPTED, award_amount=None, decided_by=staff
        )


def test_a_sent_notice_that_was_not_recorded_is_recorded_by_the_repair(
    call, staff, django_capture_on_commit_callbacks, settings, tmp_path
):
    """The worker stopped between the mail server's answer and the record: the outbox row is sent,
    the notice not marked, the decision hidden and the list unpublishable — until the repair."""
    settings.MEDIA_ROOT = tmp_path
    [adopted] = submitted(call, 1_000_000)
    adopt(adopted, 1_000_000, staff)
    with django_capture_on_commit_callbacks(execute=True):
        services.notices_prepare(call=call, created_by=staff)
    sent_at = OutboxMessage.objects.get(kind="notice").sent_at
    # What a worker killed after sending leaves behind (set up directly: no service undoes a record).
    Notice.objects.update(emailed_at=None)
    adopted.__class__.objects.filter(pk=adopted.pk).update(decision_disclosed_at=None)
    adopted.refresh_from_db()
    assert adopted.status_for_applicant == ApplicationStatus.SUBMITTED.label
    assert services.notices_record_sent() == 1
    adopted.refresh_from_db()
    assert Notice.objects.get().emailed_at == sent_at
    assert adopted.decision_disclosed_at == sent_at
    assert adopted.status_for_applicant == ApplicationStatus.ADOPTED.label
    assert services.notices_record_sent() == 0  # nothing left to repair
    assert len(mail.outbox) == 1  # and no mail was sent again
    services.adoptions_publish(call=call, publish=True, by=staff)


def test_a_notice_goes_to_each_address_once_with_the_pdf_rendered_once(
    call, staff, django_capture_on_commit_callbacks, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    submitter = UserFactory(role=Role.APPLICANT, email="Submitter@Example.jp")
    [application] = submitted(call, 1_000_000)
    application.submitted_by = submitter
    application.save()
    adopt(application, 1_000_000, staff)
    with django_capture_on_commit_callbacks(execute=True):
        services.notices_prepare(call=call, created_by=staff)
    notice = Notice.objects.get()
    assert sorted(message.to[0] for message in mail.outbox) == ["org1@example.jp", "submitter@example.jp"]
    assert all(message.to == [message.to[0]] for message in mail.outbox)  # one address per mail
    with notice.pdf.open("rb") as stored:
        pdf = stored.read()
    assert [message.attachments[0][1] for message in mail.outbox] == [pdf, pdf]  # the very file on record
    assert len(list((tmp_path / "notices").iterdir())) == 1


def test_a_failed_notice_is_shown_and_retried(call, staff, django_capture_on_commit_callbacks, settings, tmp_path):
    from grants import selectors

    settings.MEDIA_ROOT = tmp_path
    [application] = submitted(call, 1_000_000)
    adopt(application, 1_000_000, staff)
    settings.EMAIL_BACKEND = "tests.grants.mail_backends.UnreachableBackend"
    with django_capture_on_commit_callbacks(execute=True):
        services.notices_prepare(call=call, created_by=staff)
    notice = Notice.objects.get()
    message = OutboxMessage.objects.get()
    assert notice.emailed_at is None and message.status == OutboxStatus.FAILED
    assert "SMTP server unreachable" in message.last_error
    assert selectors.notice_progress(call) == {"total": 1, "sent": 0, "failed": 1, "percent": 0}
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    with django_capture_on_commit_callbacks(execute=True):  # "send the notices" again retries it
        services.notices_prepare(call=call, created_by=staff)
    notice.refresh_from_db()
    message.refresh_from_db()
    assert notice.emailed_at is not None and (message.status, message.attempts) == (OutboxStatus.SENT, 2)
    assert len(mail.outbox) == 1
    assert selectors.notice_progress(call) == {"total": 1, "sent": 1, "failed": 0, "percent": 100}


def test_only_staff_decide_send_notices_and_publish(call):
    """The services check the rule themselves, not only the staff pages in front of them."""
    [application] = submitted(call, 1_000_000)
    for role in (Role.APPLICANT, Role.REVIEWER):
        outsider = UserFactory(role=role)
        with pytest.raises(Refused) as refused:
            adopt(application, 1_000_000, outsider)
        assert refused.value.code == "forbidden"
        with pytest.raises(Refused):
            services.notices_prepare(call=call, created_by=outsider)
        with pytest.raises(Refused):
            services.adoptions_publish(call=call, publish=True, by=outsider)
    application.refresh_from_db()
    assert application.status == ApplicationStatus.SUBMITTED
    assert not Notice.objects.exists()
