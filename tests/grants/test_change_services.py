"""変更承認申請, 軽微な変更 and 中止・廃止: the services, their refusals, letters and audit entries."""

import datetime as dt
import threading

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.utils import timezone

from accounts.models import Role
from grants import change_steps
from grants.models import (
    Award,
    AwardDocument,
    AwardStatus,
    BudgetVersion,
    ChangeKind,
    ChangeRequest,
    ChangeStatus,
    Letter,
    LetterKind,
)
from kodoku_portal.models import AuditEntry, OutboxMessage
from kodoku_portal.workflow import Refused
from tests.factories import UserFactory
from tests.grants.lifecycle import LINES, award_at

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _private_files(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "private"


PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def lines_with(**amounts) -> list[tuple[str, str, int]]:
    """The lines in force (lifecycle.LINES) with some categories' amounts replaced."""
    return [(category, details, amounts.get(category, amount)) for category, details, amount in LINES]


def entries(obj, action):
    return AuditEntry.objects.filter(object_type=obj._meta.label, object_id=str(obj.pk), action=action)


def letter_mails(letter):
    return OutboxMessage.objects.filter(kind="letter", subject_id=letter.pk)


# --- minor changes -------------------------------------------------------------------------------


def test_a_minor_change_is_recorded_without_approval_and_in_force_at_once():
    case = award_at(AwardStatus.GRANTED)
    # travel 200,000 is the smaller: 40,000 (20%) moved to supplies.
    change = change_steps.change_request(
        award=case.award, by=case.member, reason="会場の変更のため", lines=lines_with(travel=160_000, supplies=640_000)
    )
    assert change.status == ChangeStatus.MINOR
    assert change.number == 1
    in_force = case.award.budget_in_force()
    assert in_force == change.budget and in_force.number == 2
    assert in_force.by_category()["supplies"] == 640_000
    assert BudgetVersion.objects.filter(award=case.award).count() == 2  # version 1 is kept
    [entry] = entries(change, "change_minor")
    assert entry.actor == case.member
    assert entry.after["budget_version"] == 2 and entry.after["status"] == "minor"
    assert entry.call_id == case.call.pk
    assert not Letter.objects.filter(change=change).exists()


def test_one_yen_over_the_threshold_waits_for_approval():
    case = award_at(AwardStatus.GRANTED)
    change = change_steps.change_request(
        award=case.award, by=case.member, reason="理由", lines=lines_with(travel=159_999, supplies=640_001)
    )
    assert change.status == ChangeStatus.PENDING
    assert case.award.budget_in_force().number == 1
    assert change.budget.in_force_from is None
    [entry] = entries(change, "change_requested")
    assert entry.after["status"] == "pending"


def test_the_call_threshold_decides():
    case = award_at(AwardStatus.GRANTED, minor_change_percent=30)
    change = change_steps.change_request(
        award=case.award, by=case.member, reason="理由", lines=lines_with(travel=140_000, supplies=660_000)
    )
    assert change.status == ChangeStatus.MINOR


def test_a_plan_change_always_waits_for_approval():
    case = award_at(AwardStatus.GRANTED)
    change = change_steps.change_request(
        award=case.award,
        by=case.member,
        plan_before="講座を3回開催する",
        plan_after="講座を2回とし、オンライン配信を加える",
        reason="理由",
        lines=lines_with(travel=190_000, supplies=610_000),
    )
    assert change.status == ChangeStatus.PENDING


def test_a_plan_change_without_a_budget_change_makes_no_version():
    case = award_at(AwardStatus.GRANTED)
    change = change_steps.change_request(
        award=case.award, by=case.member, plan_after="オンライン配信を加える", reason="理由", lines=lines_with()
    )
    assert change.status == ChangeStatus.PENDING and change.budget is None
    assert BudgetVersion.objects.filter(award=case.award).count() == 1


def test_nothing_changing_is_refused():
    case = award_at(AwardStatus.GRANTED)
    with pytest.raises(Refused) as refused:
        change_steps.change_request(award=case.award, by=case.member, reason="理由", lines=lines_with())
    assert refused.value.code == "unchanged"


def test_a_reason_is_required():
    case = award_at(AwardStatus.GRANTED)
    with pytest.raises(Refused) as refused:
        change_steps.change_request(award=case.award, by=case.member, reason="  ", lines=lines_with(travel=190_000))
    assert refused.value.code == "reason"


def test_a_total_above_the_granted_amount_is_refused_with_the_figures():
    case = award_at(AwardStatus.GRANTED)  # granted 1,500,000
    with pytest.raises(Refused) as refused:
        change_steps.change_request(award=case.award, by=case.member, reason="理由", lines=lines_with(supplies=600_001))
    assert refused.value.code == "amount"
    assert "1,500,001" in str(refused.value.messages[0]) and "1,500,000" in str(refused.value.messages[0])
    assert not ChangeRequest.objects.filter(award=case.award).exists()
    assert BudgetVersion.objects.filter(award=case.award).count() == 1


def test_the_granted_amount_exactly_is_accepted():
    case = award_at(AwardStatus.GRANTED, granted_amount=1_600_000)
    change = change_steps.change_request(
        award=case.award, by=case.member, reason="理由", lines=lines_with(supplies=700_000)
    )
    assert change.budget.total == 1_600_000 and change.status == ChangeStatus.PENDING  # the total rises


def test_a_second_request_while_one_is_pending_is_refused():
    case = award_at(AwardStatus.GRANTED)
    first = change_steps.change_request(
        award=case.award, by=case.member, plan_after="計画変更", reason="理由", lines=lines_with()
    )
    with pytest.raises(Refused) as refused:
        change_steps.change_request(
            award=case.award, by=case.member, reason="理由", lines=lines_with(travel=190_000, supplies=610_000)
        )
    assert refused.value.code == "not_open"
    assert str(first.number) in str(refused.value.messages[0])
    with pytest.raises(Refused):
        change_steps.discontinue_request(
            award=case.award, by=case.member, kind=ChangeKind.ABOLISH, effective_on=dt.date(2025, 12, 31), reason="r"
        )
    assert ChangeRequest.objects.filter(award=case.award).count() == 1


@pytest.mark.parametrize("status", [s for s in AwardStatus if s != AwardStatus.GRANTED], ids=lambda s: s.value)
def test_changes_only_while_the_grant_is_decided(status):
    case = award_at(status)
    with pytest.raises(Refused) as refused:
        change_steps.change_request(award=case.award, by=case.member, plan_after="計画変更", reason="理由", lines=[])
    assert refused.value.code == "not_open"


def test_only_a_member_of_the_organisation_files():
    case = award_at(AwardStatus.GRANTED)
    other = award_at(AwardStatus.GRANTED)
    for user in (other.member, case.staff, UserFactory(role=Role.REVIEWER)):
        with pytest.raises(Refused) as refused:
            change_steps.change_request(
                award=case.award, by=user, plan_after="計画変更", reason="理由", lines=lines_with()
            )
        assert refused.value.code == "forbidden"


def test_attachments_are_kept_with_the_request():
    case = award_at(AwardStatus.GRANTED)
    upload = SimpleUploadedFile("見積書.pdf", PDF, content_type="application/pdf")
    change = change_steps.change_request(
        award=case.award,
        by=case.member,
        plan_after="計画変更",
        reason="理由",
        lines=lines_with(),
        documents=[(upload, "pdf")],
    )
    [document] = AwardDocument.objects.filter(change=change)
    assert (document.purpose, document.original_name, document.file_type) == ("change", "見積書.pdf", "pdf")
    with document.file.open("rb") as handle:
        assert handle.read() == PDF


def test_a_refused_request_keeps_no_file():
    case = award_at(AwardStatus.GRANTED)
    upload = SimpleUploadedFile("見積書.pdf", PDF, content_type="application/pdf")
    with pytest.raises(Refused):
        change_steps.change_request(
            award=case.award, by=case.member, reason="理由", lines=lines_with(), documents=[(upload, "pdf")]
        )
    assert not AwardDocument.objects.exists()


# --- decisions -----------------------------------------------------------------------------------


def pending(case, **amounts):
    return change_steps.change_request(
        award=case.award, by=case.member, reason="講師の変更", lines=lines_with(**amounts)
    )


def test_approval_puts_the_budget_in_force_with_a_letter_and_its_mails():
    case = award_at(AwardStatus.GRANTED)
    change = pending(case, travel=100_000, supplies=700_000)
    decided = change_steps.change_decide(change=change, by=case.staff, approve=True, note="承認します")
    assert decided.status == ChangeStatus.APPROVED
    assert (decided.decided_by, decided.decision_note) == (case.staff, "承認します")
    assert case.award.budget_in_force() == change.budget
    [letter] = Letter.objects.filter(change=change)
    assert letter.kind == LetterKind.CHANGE_APPROVED and letter.award == case.award
    assert set(letter.details) == {
        "change_number",
        "change_kind",
        "requested_on",
        "note",
        "budget_before",
        "budget_after",
    }
    assert letter.details["change_number"] == 1
    assert letter.details["note"] == "承認します"
    assert [amount for _label, amount in letter.details["budget_before"]] == [300_000, 200_000, 400_000, 600_000]
    assert [amount for _label, amount in letter.details["budget_after"]] == [300_000, 100_000, 400_000, 700_000]
    assert letter.details["requested_on"] == timezone.localdate(change.requested_at).isoformat()
    assert letter_mails(letter).count() == 2  # the organisation's address and the submitter's
    [entry] = entries(change, "change_approved")
    assert entry.before["status"] == "pending" and entry.after["status"] == "approved"
    assert entry.after["budget_version"] == 2 and entry.actor == case.staff


def test_refusal_keeps_the_budget_and_issues_its_letter():
    case = award_at(AwardStatus.GRANTED)
    change = pending(case, travel=100_000, supplies=700_000)
    decided = change_steps.change_decide(change=change, by=case.staff, approve=False, note="必要性が認められません")
    assert decided.status == ChangeStatus.REFUSED
    assert case.award.budget_in_force().number == 1
    assert BudgetVersion.objects.get(pk=change.budget_id).in_force_from is None  # kept, never in force
    [letter] = Letter.objects.filter(change=change)
    assert letter.kind == LetterKind.CHANGE_REFUSED
    assert letter.details["note"] == "必要性が認められません"
    assert letter_mails(letter).count() == 2
    [entry] = entries(change, "change_refused")
    assert entry.after["status"] == "refused" and entry.after["decision_note"] == "必要性が認められません"


def test_a_refusal_needs_a_note():
    case = award_at(AwardStatus.GRANTED)
    change = pending(case, travel=100_000, supplies=700_000)
    with pytest.raises(Refused) as refused:
        change_steps.change_decide(change=change, by=case.staff, approve=False, note=" ")
    assert refused.value.code == "note"
    change.refresh_from_db()
    assert change.status == ChangeStatus.PENDING


def test_a_contract_call_issues_no_letter():
    case = award_at(AwardStatus.GRANTED, funding_kind="contract")
    change = pending(case, travel=100_000, supplies=700_000)
    change_steps.change_decide(change=change, by=case.staff, approve=True)
    other = pending(case, travel=50_000, supplies=750_000)
    change_steps.change_decide(change=other, by=case.staff, approve=False, note="不可")
    assert not Letter.objects.exists()
    assert not OutboxMessage.objects.filter(kind="letter").exists()
    assert case.award.budget_in_force() == change.budget


def test_only_staff_decide():
    case = award_at(AwardStatus.GRANTED)
    change = pending(case, travel=100_000, supplies=700_000)
    for user in (case.member, UserFactory(role=Role.REVIEWER)):
        with pytest.raises(Refused) as refused:
            change_steps.change_decide(change=change, by=user, approve=True)
        assert refused.value.code == "forbidden"


def test_a_second_decision_is_refused_with_what_happened():
    case = award_at(AwardStatus.GRANTED)
    change = pending(case, travel=100_000, supplies=700_000)
    other_staff = UserFactory(role=Role.STAFF, email="second@example.jp")
    stale = ChangeRequest.objects.get(pk=change.pk)  # what the second staff member's page loaded
    change_steps.change_decide(change=change, by=case.staff, approve=True)
    with pytest.raises(Refused) as refused:
        change_steps.change_decide(change=stale, by=other_staff, approve=False, note="不可")
    assert refused.value.code == "decided"
    message = str(refused.value.messages[0])
    assert case.staff.email in message and str(ChangeStatus.APPROVED.label) in message
    assert ChangeRequest.objects.get(pk=change.pk).status == ChangeStatus.APPROVED
    assert Letter.objects.filter(change=change).count() == 1
    assert entries(change, "change_refused").count() == 0


@pytest.mark.django_db(transaction=True)
def test_two_staff_deciding_at_once_give_one_result():
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL (CI runs this on PostgreSQL)")
    case = award_at(AwardStatus.GRANTED)
    change = pending(case, travel=100_000, supplies=700_000)
    other_staff = UserFactory(role=Role.STAFF)
    barrier = threading.Barrier(2)
    results, refusals, errors = [], [], []

    def decide(user, approve):
        try:
            barrier.wait()
            stale = ChangeRequest.objects.get(pk=change.pk)
            results.append(change_steps.change_decide(change=stale, by=user, approve=approve, note="メモ").status)
        except Refused as refused:
            refusals.append(refused)
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=decide, args=(case.staff, True)),
        threading.Thread(target=decide, args=(other_staff, False)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(results) == 1 and len(refusals) == 1
    assert refusals[0].code == "decided"
    assert ChangeRequest.objects.get(pk=change.pk).status == results[0]
    assert Letter.objects.filter(change=change).count() == 1


def test_the_organisation_withdraws_its_pending_request():
    case = award_at(AwardStatus.GRANTED)
    change = pending(case, travel=100_000, supplies=700_000)
    withdrawn = change_steps.change_withdraw(change=change, by=case.member)
    assert withdrawn.status == ChangeStatus.WITHDRAWN
    assert entries(change, "change_withdrawn").get().actor == case.member
    assert case.award.budget_in_force().number == 1
    # withdrawn: a new request may be filed, and the withdrawn one cannot be decided.
    with pytest.raises(Refused) as refused:
        change_steps.change_decide(change=change, by=case.staff, approve=True)
    assert refused.value.code == "decided"
    again = pending(case, travel=190_000, supplies=610_000)
    assert again.number == 2 and again.budget.number == 3


def test_only_the_organisation_withdraws_and_only_a_pending_request():
    case = award_at(AwardStatus.GRANTED)
    other = award_at(AwardStatus.GRANTED)
    change = pending(case, travel=100_000, supplies=700_000)
    with pytest.raises(Refused) as refused:
        change_steps.change_withdraw(change=change, by=other.member)
    assert refused.value.code == "forbidden"
    with pytest.raises(Refused):
        change_steps.change_withdraw(change=change, by=case.staff)
    change_steps.change_decide(change=change, by=case.staff, approve=True)
    with pytest.raises(Refused) as refused:
        change_steps.change_withdraw(change=change, by=case.member)
    assert refused.value.code == "decided"


def test_budget_versions_are_all_kept_and_the_last_put_in_force_counts():
    case = award_at(AwardStatus.GRANTED)
    minor = change_steps.change_request(
        award=case.award, by=case.member, reason="軽微", lines=lines_with(travel=190_000, supplies=610_000)
    )
    big = pending(case, travel=100_000, supplies=700_000)
    refused = change_steps.change_decide(change=big, by=case.staff, approve=False, note="不可")
    assert case.award.budget_in_force() == minor.budget
    approved = pending(case, travel=120_000, supplies=680_000)
    change_steps.change_decide(change=approved, by=case.staff, approve=True)
    assert list(case.award.budget_versions.values_list("number", flat=True)) == [1, 2, 3, 4]
    assert case.award.budget_in_force() == approved.budget
    assert change_steps.budget_before(approved) == minor.budget
    assert refused.budget.in_force_from is None


# --- 中止・廃止 --------------------------------------------------------------------------------------


def test_abolition_waits_for_approval_then_moves_the_final_report_forward():
    case = award_at(AwardStatus.GRANTED)  # final report due 2026-03-30; call: 30 days after
    change = change_steps.discontinue_request(
        award=case.award,
        by=case.member,
        kind=ChangeKind.ABOLISH,
        effective_on=dt.date(2025, 12, 31),
        reason="代表者の急病",
    )
    assert change.status == ChangeStatus.PENDING and change.budget is None
    assert entries(change, "change_requested").get().after["effective_on"] == "2025-12-31"
    change_steps.change_decide(change=change, by=case.staff, approve=True, note="やむを得ないと認めます")
    award = Award.objects.get(pk=case.award.pk)
    assert award.abolished_on == dt.date(2025, 12, 31)
    assert award.final_report_due == dt.date(2025, 12, 31) + dt.timedelta(days=case.call.final_report_due_days)
    [letter] = Letter.objects.filter(change=change)
    assert letter.kind == LetterKind.CHANGE_APPROVED
    assert letter.details["budget_before"] == [] and letter.details["budget_after"] == []
    assert letter.details["note"].startswith("やむを得ないと認めます\n")
    assert "令和8年1月30日" in letter.details["note"]
    [entry] = entries(award, "award_discontinued")
    assert entry.before == {"abolished_on": None, "final_report_due": "2026-03-30"}
    assert entry.after["final_report_due"] == "2026-01-30" and entry.after["abolished_on"] == "2025-12-31"
    # nothing more can be requested once the project has stopped
    assert change_steps.change_refusal(award) is not None


def test_abolition_keeps_an_earlier_final_report_due_date():
    case = award_at(AwardStatus.GRANTED, final_report_due_days=90)
    change = change_steps.discontinue_request(
        award=case.award, by=case.member, kind=ChangeKind.ABOLISH, effective_on=dt.date(2026, 2, 1), reason="理由"
    )
    change_steps.change_decide(change=change, by=case.staff, approve=True)
    award = Award.objects.get(pk=case.award.pk)
    assert award.final_report_due == dt.date(2026, 3, 30)  # 2026-05-02 would be later
    assert award.abolished_on == dt.date(2026, 2, 1)
    assert "令和" not in Letter.objects.get(change=change).details["note"]


def test_suspension_records_the_date_and_keeps_the_due_date():
    case = award_at(AwardStatus.GRANTED)
    change = change_steps.discontinue_request(
        award=case.award, by=case.member, kind=ChangeKind.SUSPEND, effective_on=dt.date(2025, 11, 1), reason="理由"
    )
    assert change.status == ChangeStatus.PENDING
    change_steps.change_decide(change=change, by=case.staff, approve=True)
    award = Award.objects.get(pk=case.award.pk)
    assert (award.abolished_on, award.final_report_due) == (dt.date(2025, 11, 1), dt.date(2026, 3, 30))


def test_a_refused_abolition_changes_nothing_on_the_award():
    case = award_at(AwardStatus.GRANTED)
    change = change_steps.discontinue_request(
        award=case.award, by=case.member, kind=ChangeKind.ABOLISH, effective_on=dt.date(2025, 12, 31), reason="理由"
    )
    change_steps.change_decide(change=change, by=case.staff, approve=False, note="継続してください")
    award = Award.objects.get(pk=case.award.pk)
    assert (award.abolished_on, award.final_report_due) == (None, dt.date(2026, 3, 30))
    assert Letter.objects.get(change=change).kind == LetterKind.CHANGE_REFUSED


@pytest.mark.parametrize(
    ("effective_on", "code"),
    [(None, "effective_on"), (dt.date(2025, 6, 30), "effective_on"), (dt.date(2026, 3, 1), "effective_on")],
)
def test_the_stop_date_must_fall_in_the_project(effective_on, code):
    case = award_at(AwardStatus.GRANTED)  # project 2025-07-01 to 2026-02-28
    with pytest.raises(Refused) as refused:
        change_steps.discontinue_request(
            award=case.award, by=case.member, kind=ChangeKind.SUSPEND, effective_on=effective_on, reason="理由"
        )
    assert refused.value.code == code


def test_the_first_and_last_days_of_the_project_are_accepted():
    case = award_at(AwardStatus.GRANTED)
    first = change_steps.discontinue_request(
        award=case.award, by=case.member, kind=ChangeKind.SUSPEND, effective_on=dt.date(2025, 7, 1), reason="理由"
    )
    change_steps.change_withdraw(change=first, by=case.member)
    last = change_steps.discontinue_request(
        award=case.award, by=case.member, kind=ChangeKind.ABOLISH, effective_on=dt.date(2026, 2, 28), reason="理由"
    )
    assert last.number == 2


def test_the_audit_trail_says_what_each_change_entry_records(client):
    from django.utils import translation

    from kodoku_portal.audit import describe

    case = award_at(AwardStatus.GRANTED)
    minor = change_steps.change_request(
        award=case.award, by=case.member, reason="軽微", lines=lines_with(travel=190_000, supplies=610_000)
    )
    change = pending(case, travel=100_000, supplies=700_000)
    change_steps.change_decide(change=change, by=case.staff, approve=False, note="不可")
    with translation.override("en"):
        assert describe(entries(minor, "change_minor").get()) == (
            f"{case.member.email} recorded change request {minor} as a minor change (in force at once)"
        )
        assert (
            describe(entries(change, "change_requested").get())
            == f"{case.member.email} filed change request {change} for approval"
        )
        assert (
            describe(entries(change, "change_refused").get()) == f"{case.staff.email} refused change request {change}"
        )
    client.force_login(case.staff)
    response = client.get(f"/staff/calls/{case.call.slug}/audit/")
    assert response.status_code == 200
    assert str(change) in response.content.decode()
