"""補欠 and 繰上げ採択: promoting a reserve application once its notice was sent (within the
budget a decline freed), the letters, the organisation's award page, and closing the list."""

import datetime as dt

import pytest
from django.utils import timezone

from accounts.models import Role
from applications.models import ApplicationStatus, MemberRole, Membership
from grants import grant_steps
from grants.models import Award, AwardStatus, Decision, Letter, LetterKind, Notice, NoticeKind
from kodoku_portal.jp import JST, format_yen
from kodoku_portal.models import AuditEntry, OutboxMessage
from kodoku_portal.workflow import Refused
from tests.factories import ApplicationFactory, OrganisationFactory, UserFactory
from tests.grants.lifecycle import award_at

pytestmark = pytest.mark.django_db

_n = [0]


def reserve(call, staff, amount=1_200_000, *, noticed=True):
    _n[0] += 1
    n = _n[0]
    organisation = OrganisationFactory(email=f"reserve{n}@example.jp")
    member = UserFactory(role=Role.APPLICANT)
    Membership.objects.create(organisation=organisation, user=member, role=MemberRole.OWNER)
    now = timezone.now()
    application = ApplicationFactory(
        call=call,
        organisation=organisation,
        status=ApplicationStatus.RESERVE,
        receipt_number=f"{call.receipt_prefix}-R{n:03d}",
        requested_amount=amount,
        submitted_at=now - dt.timedelta(days=60),
        submitted_by=member,
        decision_disclosed_at=now - dt.timedelta(days=20) if noticed else None,
        period_start=dt.date(2025, 8, 1),
        period_end=dt.date(2026, 1, 31),
    )
    Decision.objects.create(application=application, award_amount=None, decided_by=staff, decided_at=now)
    if noticed:
        Notice.objects.create(
            application=application,
            kind=NoticeKind.RESERVE,
            document_number=f"TEST補欠第{n}号",
            issued_on=(now - dt.timedelta(days=20)).date(),
            emailed_at=now - dt.timedelta(days=20),
        )
    application.member = member
    return application


@pytest.fixture
def full_call():
    """A call whose budget (3,000,000) is held by two adopted awards, with a reserve applicant."""
    first = award_at(AwardStatus.GRANTED, award_amount=1_500_000)
    call = first.call
    call.budget_total = 3_000_000
    call.save(update_fields=["budget_total"])
    second = award_at(AwardStatus.ADOPTED, call=call, staff=first.staff, award_amount=1_500_000)
    return first, second


def test_promotion_waits_for_a_decline_to_free_the_budget(full_call):
    first, second = full_call
    waiting = reserve(first.call, first.staff, 1_200_000)
    with pytest.raises(Refused) as refused:
        grant_steps.reserve_promote(application=waiting, award_amount=1_200_000, by=first.staff)
    assert refused.value.code == "budget"
    assert waiting.receipt_number in refused.value.messages[0]
    grant_steps.award_decline(award=second.award, reason="辞退します", by=second.member)
    award = grant_steps.reserve_promote(application=waiting, award_amount=1_200_000, by=first.staff)
    waiting.refresh_from_db()
    assert waiting.status == ApplicationStatus.ADOPTED
    assert waiting.decision.award_amount == 1_200_000
    today = timezone.now().astimezone(JST).date()
    assert (award.status, award.grant_application_due) == (AwardStatus.ADOPTED, today + dt.timedelta(days=30))
    assert (award.project_start, award.project_end) == (dt.date(2025, 8, 1), dt.date(2026, 1, 31))
    letter = Letter.objects.get(application=waiting)
    assert (letter.kind, letter.award, letter.details) == (LetterKind.PROMOTED, award, {"award_amount": 1_200_000})
    assert OutboxMessage.objects.filter(
        kind="letter", subject_id=letter.pk, to_email=waiting.organisation.email
    ).exists()
    entry = AuditEntry.objects.get(action="promoted")
    assert (entry.before["status"], entry.after["status"], entry.after["award_amount"]) == (
        "reserve",
        "adopted",
        1_200_000,
    )


def test_the_promoted_organisation_sees_its_award_at_once(client, full_call):
    first, second = full_call
    grant_steps.award_decline(award=second.award, reason="x", by=second.member)
    waiting = reserve(first.call, first.staff)
    client.force_login(waiting.member)
    assert client.get(f"/applications/{waiting.pk}/award/").status_code == 404
    grant_steps.reserve_promote(application=waiting, award_amount=1_000_000, by=first.staff)
    waiting.refresh_from_db()
    assert waiting.status_as_shown == ApplicationStatus.ADOPTED
    response = client.get(f"/applications/{waiting.pk}/award/")
    assert response.status_code == 200
    assert response.context["sections"]["grant"]["may_file"] is True


@pytest.mark.parametrize(("amount", "code"), [(0, "amount"), (1_200_001, "amount")])
def test_the_amount_is_at_most_the_request(full_call, amount, code):
    first, second = full_call
    grant_steps.award_decline(award=second.award, reason="x", by=second.member)
    waiting = reserve(first.call, first.staff, 1_200_000)
    with pytest.raises(Refused) as refused:
        grant_steps.reserve_promote(application=waiting, award_amount=amount, by=first.staff)
    assert refused.value.code == code
    if amount:
        assert format_yen(1_200_000) in refused.value.messages[0]


def test_not_before_the_reserve_notice_nor_for_others(full_call):
    first, second = full_call
    grant_steps.award_decline(award=second.award, reason="x", by=second.member)
    unnoticed = reserve(first.call, first.staff, noticed=False)
    with pytest.raises(Refused) as refused:
        grant_steps.reserve_promote(application=unnoticed, award_amount=1_000_000, by=first.staff)
    assert refused.value.code == "unnoticed"
    with pytest.raises(Refused) as refused:
        grant_steps.reserve_promote(application=second.application, award_amount=1_000_000, by=first.staff)
    assert refused.value.code == "state"
    waiting = reserve(first.call, first.staff)
    with pytest.raises(Refused):
        grant_steps.reserve_promote(application=waiting, award_amount=1_000_000, by=first.member)
    grant_steps.reserve_promote(application=waiting, award_amount=1_000_000, by=first.staff)
    with pytest.raises(Refused) as refused:  # a second promotion (two staff at once) is told
        grant_steps.reserve_promote(application=waiting, award_amount=1_000_000, by=first.staff)
    assert refused.value.code == "state"
    assert Award.objects.filter(application=waiting).count() == 1
    assert Letter.objects.filter(application=waiting).count() == 1


def test_closing_the_list_tells_everyone_left_on_it(full_call):
    first, _second = full_call
    left = [reserve(first.call, first.staff), reserve(first.call, first.staff)]
    assert grant_steps.reserve_close(call=first.call, by=first.staff) == 2
    for application in left:
        application.refresh_from_db()
        assert application.status == ApplicationStatus.NOT_ADOPTED
        letter = Letter.objects.get(application=application)
        assert (letter.kind, letter.award, letter.details) == (LetterKind.RESERVE_CLOSED, None, {})
        assert OutboxMessage.objects.filter(kind="letter", subject_id=letter.pk).exists()
    assert AuditEntry.objects.filter(action="reserve_closed").count() == 2
    with pytest.raises(Refused) as refused:
        grant_steps.reserve_close(call=first.call, by=first.staff)
    assert refused.value.code == "empty"


def test_the_list_is_not_closed_before_every_reserve_notice(full_call):
    first, _second = full_call
    reserve(first.call, first.staff)
    unnoticed = reserve(first.call, first.staff, noticed=False)
    with pytest.raises(Refused) as refused:
        grant_steps.reserve_close(call=first.call, by=first.staff)
    assert unnoticed.receipt_number in refused.value.messages[0]
    assert not Letter.objects.exists()
    with pytest.raises(Refused):
        grant_steps.reserve_close(call=first.call, by=first.member)
