"""辞退 / 申請の取下げ (article 9): from each step that allows it, until decline_by inclusive (JST),
the budget released; what the call's budget counts (granted amounts, not declined awards)."""

import datetime as dt

import pytest

from accounts.models import Role
from grants import grant_steps
from grants.models import AwardStatus
from grants.services import committed_amount
from kodoku_portal.jp import JST, format_date
from kodoku_portal.models import AuditEntry
from kodoku_portal.workflow import Refused
from tests.factories import UserFactory
from tests.grants.lifecycle import award_at

pytestmark = pytest.mark.django_db


def at_jst(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=JST)


@pytest.mark.parametrize(
    "status", [AwardStatus.ADOPTED, AwardStatus.APPLIED, AwardStatus.ACCEPTED, AwardStatus.GRANTED]
)
def test_the_organisation_declines_from_each_step_before_the_work(status):
    case = award_at(status)
    award = grant_steps.award_decline(award=case.award, reason="体制が整わないため", by=case.member)
    award.refresh_from_db()
    assert award.status == AwardStatus.DECLINED
    assert award.decline_reason == "体制が整わないため"
    assert award.declined_at is not None
    entry = AuditEntry.objects.get(action="award_declined")
    assert (entry.actor, entry.before["status"], entry.after["status"]) == (case.member, status.value, "declined")


@pytest.mark.parametrize("status", [AwardStatus.REPORTED, AwardStatus.CONFIRMED, AwardStatus.DECLINED])
def test_not_once_the_work_is_reported(status):
    case = award_at(status)
    with pytest.raises(Refused) as refused:
        grant_steps.award_decline(award=case.award, reason="x", by=case.member)
    assert refused.value.code == "state"


def test_declining_is_allowed_on_the_last_day_and_refused_the_next():
    case = award_at(AwardStatus.GRANTED)
    last = case.award.decline_by
    with pytest.raises(Refused) as refused:
        grant_steps.award_decline(
            award=case.award, reason="x", by=case.member, now=at_jst(last + dt.timedelta(days=1), 0)
        )
    assert refused.value.code == "late"
    assert format_date(last) in refused.value.messages[0]
    award = grant_steps.award_decline(award=case.award, reason="x", by=case.member, now=at_jst(last, 23, 59))
    assert award.status == AwardStatus.DECLINED


def test_a_reason_is_required_and_only_a_member_declines():
    case = award_at(AwardStatus.ADOPTED)
    with pytest.raises(Refused) as refused:
        grant_steps.award_decline(award=case.award, reason=" ", by=case.member)
    assert refused.value.code == "reason"
    for user in (case.staff, UserFactory(role=Role.APPLICANT)):
        with pytest.raises(Refused):
            grant_steps.award_decline(award=case.award, reason="x", by=user)
    case.award.refresh_from_db()
    assert case.award.status == AwardStatus.ADOPTED


def test_a_second_decline_is_refused():
    case = award_at(AwardStatus.ADOPTED)
    grant_steps.award_decline(award=case.award, reason="x", by=case.member)
    with pytest.raises(Refused):
        grant_steps.award_decline(award=case.award, reason="x", by=case.member)
    assert AuditEntry.objects.filter(action="award_declined").count() == 1


def test_a_declined_award_no_longer_holds_its_budget():
    case = award_at(AwardStatus.ADOPTED, award_amount=1_500_000)
    award_at(AwardStatus.ADOPTED, call=case.call, staff=case.staff, award_amount=1_000_000)
    assert committed_amount(case.call) == 2_500_000
    grant_steps.award_decline(award=case.award, reason="x", by=case.member)
    assert committed_amount(case.call) == 1_000_000


def test_a_granted_award_holds_its_granted_amount():
    case = award_at(AwardStatus.GRANTED, award_amount=1_500_000, granted_amount=1_200_000)
    award_at(AwardStatus.ADOPTED, call=case.call, staff=case.staff, award_amount=1_000_000)
    assert committed_amount(case.call) == 2_200_000
    assert committed_amount(case.call, excluding=case.application) == 1_000_000
    grant_steps.award_decline(award=case.award, reason="x", by=case.member)
    assert committed_amount(case.call) == 1_000_000


def test_a_declined_project_leaves_the_published_list(client):
    from django.utils import timezone

    from grants import grant_steps
    from grants.models import AwardStatus
    from tests.grants.lifecycle import award_at

    kept = award_at(AwardStatus.ADOPTED)
    declined = award_at(AwardStatus.ADOPTED, staff=kept.staff, call=kept.call)
    call = kept.call
    call.adoptions_published_at = timezone.now()
    call.save(update_fields=["adoptions_published_at"])
    page = client.get(f"/calls/{call.slug}/adopted/").content.decode()
    assert kept.application.title in page and declined.application.title in page
    grant_steps.award_decline(award=declined.award, reason="事業の実施体制が整わないため", by=declined.member)
    page = client.get(f"/calls/{call.slug}/adopted/").content.decode()
    assert kept.application.title in page and declined.application.title not in page
