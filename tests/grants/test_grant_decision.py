"""交付決定 (articles 6, 8): on an accepted filing, or straight from 採択 where the call has no
separate grant application; the amount at its bounds, the budget, the dates it sets, the budget
put in force, the letter (none for a contract), and two staff at once."""

import datetime as dt

import pytest
from django.utils import timezone

from accounts.models import Role
from grants import grant_steps
from grants.models import AwardStatus, BudgetVersion, Letter, LetterKind
from grants.services import committed_amount
from kodoku_portal.jp import JST, format_yen
from kodoku_portal.models import AuditEntry, OutboxMessage
from kodoku_portal.workflow import Refused
from tests.factories import UserFactory, enable_totp
from tests.grants.lifecycle import award_at
from tests.grants.test_grant_filing import file

pytestmark = pytest.mark.django_db


def accepted(total=1_500_000, **call_settings):
    case = award_at(AwardStatus.ADOPTED, **call_settings)
    filing = file(case, total=total)
    grant_steps.grant_application_accept(filing=filing, by=case.staff)
    case.award.refresh_from_db()
    return case, filing


def decide(case, amount, progress_report_due=None, conditions=None):
    return grant_steps.grant_decide(
        award=case.award,
        amount=amount,
        conditions=case.call.grant_conditions if conditions is None else conditions,
        progress_report_due=progress_report_due,
        by=case.staff,
    )


def test_the_grant_is_decided_on_the_accepted_filing():
    case, filing = accepted(total=1_400_000)
    award = decide(case, 1_400_000, conditions="条件一\n\n条件二\n")
    today = timezone.now().astimezone(JST).date()
    award.refresh_from_db()
    assert award.status == AwardStatus.GRANTED
    assert (award.granted_on, award.granted_amount) == (today, 1_400_000)
    assert award.decline_by == today + dt.timedelta(days=case.call.decline_days)
    assert (award.project_start, award.project_end) == (filing.project_start, filing.project_end)
    # The filing's budget is the one in force.
    assert award.budget_in_force() == filing.budget
    # 実績報告: 30 days after the end (no fixed date set); 状況報告 at the project's midpoint.
    assert award.final_report_due == dt.date(2026, 2, 28) + dt.timedelta(days=30)
    assert award.progress_report_due == dt.date(2025, 7, 1) + (dt.date(2026, 2, 28) - dt.date(2025, 7, 1)) // 2
    entry = AuditEntry.objects.get(action="grant_decided")
    assert (entry.before["status"], entry.after["status"], entry.after["granted_amount"]) == (
        "accepted",
        "granted",
        1_400_000,
    )
    [letter] = Letter.objects.filter(award=award)
    assert letter.kind == LetterKind.GRANT_DECISION
    assert letter.details["amount"] == 1_400_000
    assert letter.details["conditions"] == ["条件一", "条件二"]
    assert letter.details["applied_on"] == filing.submitted_at.astimezone(JST).date().isoformat()
    assert (letter.details["project_start"], letter.details["project_end"]) == ("2025-07-01", "2026-02-28")
    assert letter.details["budget"][0] == ["謝金", 300_000]
    assert set(letter.details) == {"amount", "applied_on", "project_start", "project_end", "conditions", "budget"}
    assert OutboxMessage.objects.filter(kind="letter", subject_id=letter.pk).count() >= 1


def test_the_fixed_final_report_date_wins_when_earlier_and_staff_give_the_progress_date():
    case, _filing = accepted(final_report_due_date=dt.date(2026, 3, 10))
    award = decide(case, 1_500_000, progress_report_due=dt.date(2025, 11, 15))
    assert award.final_report_due == dt.date(2026, 3, 10)
    assert award.progress_report_due == dt.date(2025, 11, 15)


def test_no_progress_report_date_when_the_call_has_none():
    case, _filing = accepted(progress_report_step=False)
    award = decide(case, 1_500_000, progress_report_due=dt.date(2025, 11, 15))
    assert award.progress_report_due is None


def test_the_amount_is_at_most_the_amount_applied_for():
    case, _filing = accepted(total=1_400_000)
    with pytest.raises(Refused) as refused:
        decide(case, 1_400_001)
    assert format_yen(1_400_001) in refused.value.messages[0] and format_yen(1_400_000) in refused.value.messages[0]
    case.award.refresh_from_db()
    assert case.award.status == AwardStatus.ACCEPTED
    assert decide(case, 1_400_000).granted_amount == 1_400_000


def test_the_amount_is_at_most_the_cap():
    case, _filing = accepted()
    case.call.cap_amount = 1_200_000
    case.call.save(update_fields=["cap_amount"])
    with pytest.raises(Refused) as refused:
        decide(case, 1_200_001)
    assert format_yen(1_200_000) in refused.value.messages[0]
    assert decide(case, 1_200_000).status == AwardStatus.GRANTED


def test_the_grant_stays_within_the_budget():
    case, _filing = accepted()
    # Another adopted project holds 1,500,000 of a budget of 2,500,000: 1,000,000 is left for this one.
    other = award_at(AwardStatus.ADOPTED, call=case.call, staff=case.staff, award_amount=1_500_000)
    case.call.budget_total = 2_500_000
    case.call.save(update_fields=["budget_total"])
    assert committed_amount(case.call, excluding=case.application) == 1_500_000
    with pytest.raises(Refused) as refused:
        decide(case, 1_000_001)
    assert refused.value.code == "budget"
    assert format_yen(1_000_000) in refused.value.messages[0]  # what is left
    assert decide(case, 1_000_000).granted_amount == 1_000_000
    assert committed_amount(case.call) == 2_500_000
    assert other.award.status == AwardStatus.ADOPTED


def test_not_before_the_filing_is_accepted():
    case = award_at(AwardStatus.ADOPTED)
    with pytest.raises(Refused) as refused:
        decide(case, 1_000_000)
    assert refused.value.code == "state"
    file(case)
    case.award.refresh_from_db()
    with pytest.raises(Refused):
        decide(case, 1_000_000)


def test_without_the_step_the_grant_is_decided_straight_from_adoption():
    case = award_at(AwardStatus.ADOPTED, grant_application_step=False)
    award = decide(case, 1_500_000)
    assert award.status == AwardStatus.GRANTED
    version = award.budget_in_force()
    assert version.number == 1
    assert [(line.category, line.amount) for line in version.lines.all()] == list(
        case.application.budget_lines.values_list("category", "amount")
    )
    letter = Letter.objects.get(award=award)
    assert letter.details["applied_on"] == case.application.submitted_at.astimezone(JST).date().isoformat()
    # The ceiling is the award amount there.
    case2 = award_at(AwardStatus.ADOPTED, grant_application_step=False, award_amount=1_000_000)
    with pytest.raises(Refused):
        decide(case2, 1_000_001)


def test_a_contract_call_decides_without_a_letter():
    case = award_at(AwardStatus.ADOPTED, funding_kind="contract")
    award = decide(case, 1_500_000)
    assert award.status == AwardStatus.GRANTED
    assert not Letter.objects.exists()
    assert not OutboxMessage.objects.filter(kind="letter").exists()


def test_two_staff_deciding_give_one_grant():
    case, _filing = accepted()
    other = UserFactory(role=Role.STAFF)
    enable_totp(other)
    decide(case, 1_500_000)
    with pytest.raises(Refused) as refused:
        grant_steps.grant_decide(award=case.award, amount=1_000_000, conditions="", progress_report_due=None, by=other)
    assert refused.value.code == "done"
    assert format_yen(1_500_000) in refused.value.messages[0]
    assert Letter.objects.count() == 1
    assert BudgetVersion.objects.filter(in_force_from__isnull=False).count() == 1


def test_only_staff_decide():
    case, _filing = accepted()
    for user in (case.member, UserFactory(role=Role.REVIEWER)):
        with pytest.raises(Refused):
            grant_steps.grant_decide(award=case.award, amount=1, conditions="", progress_report_due=None, by=user)
