"""交付申請 (article 5): filing it, its rules at their boundaries, 差戻し and filing again (every
filing kept), acceptance (once, whoever is second is told), and the audit entries."""

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.models import Role
from applications.models import MemberRole, Membership
from grants import grant_steps
from grants.grant_steps import DocumentInput, FilingInput, LineInput
from grants.models import (
    AwardDocument,
    AwardStatus,
    BudgetVersion,
    GrantApplication,
    GrantApplicationStatus,
)
from kodoku_portal.jp import format_yen
from kodoku_portal.models import AuditEntry
from kodoku_portal.workflow import Refused
from tests.factories import UserFactory, enable_totp
from tests.grants.lifecycle import award_at

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"

# The lines filed (lifecycle.LINES with valid categories: its "rental" is no BudgetCategory), ¥1,500,000.
LINES = [
    ("honoraria", "講師謝金", 300_000),
    ("travel", "交通費", 200_000),
    ("rental", "会場借料", 400_000),
    ("supplies", "消耗品", 600_000),
]


def filing_of(total: int = 1_500_000, **overrides) -> FilingInput:
    """A filing whose lines are the application's, the last one adjusted to make ``total``."""
    lines = [LineInput(category, description, amount) for category, description, amount in LINES]
    lines[-1] = LineInput(lines[-1].category, lines[-1].description, lines[-1].amount + total - 1_500_000)
    data = {
        "project_start": dt.date(2025, 7, 1),
        "project_end": dt.date(2026, 2, 28),
        "lines": lines,
        "responsible_title": "事務局長",
        "responsible_name": "山田 花子",
        "responsible_phone": "03-1234-5678",
        "responsible_email": "yamada@example.jp",
        "bank_name": "みずほ銀行",
        "bank_code": "０００１",
        "branch_name": "本店",
        "branch_code": "１００",
        "account_type": "ordinary",
        "account_number": "１２３４５",
        "account_holder_kana": "とくていひえいりかつどうほうじん　がっこう",
    }
    data.update(overrides)
    return FilingInput(**data)


def file(case, total: int = 1_500_000, **overrides) -> GrantApplication:
    return grant_steps.grant_application_file(award=case.award, filing=filing_of(total, **overrides), by=case.member)


def actions(obj) -> list[str]:
    return list(
        AuditEntry.objects.filter(object_type=obj._meta.label, object_id=str(obj.pk))
        .order_by("id")
        .values_list("action", flat=True)
    )


def test_filing_makes_a_budget_version_and_moves_the_award_to_applied():
    case = award_at(AwardStatus.ADOPTED)
    filing = file(case)
    case.award.refresh_from_db()
    assert case.award.status == AwardStatus.APPLIED
    assert (filing.number, filing.status, filing.amount) == (1, GrantApplicationStatus.SUBMITTED, 1_500_000)
    version = filing.budget
    assert (version.number, version.in_force_from) == (1, None)
    assert [(line.category, line.amount) for line in version.lines.all()] == [(c, a) for c, _d, a in LINES]
    assert case.award.budget_in_force() is None  # not in force until the grant decision
    # Bank details as the banks' transfer data has them.
    assert (filing.bank_code, filing.branch_code, filing.account_number) == ("0001", "100", "0012345")
    assert filing.account_holder_kana == "ﾄｸﾃｲﾋｴｲﾘｶﾂﾄﾞｳﾎｳｼﾞﾝ ｶﾞﾂｺｳ"
    entry = AuditEntry.objects.get(action="grant_application_filed")
    assert entry.actor == case.member
    assert (entry.before["status"], entry.after["status"], entry.after["amount"]) == ("adopted", "applied", 1_500_000)
    assert entry.call_id == case.call.pk


def test_the_total_may_equal_the_award_amount_but_not_one_yen_more():
    case = award_at(AwardStatus.ADOPTED, award_amount=1_500_000)
    with pytest.raises(Refused) as refused:
        file(case, total=1_500_001)
    message = refused.value.messages[0]
    assert format_yen(1_500_001) in message and format_yen(1_500_000) in message
    assert not GrantApplication.objects.exists() and not BudgetVersion.objects.exists()
    assert file(case, total=1_500_000).amount == 1_500_000


def test_a_total_of_nothing_is_refused():
    case = award_at(AwardStatus.ADOPTED)
    with pytest.raises(Refused):
        file(case, lines=[LineInput("honoraria", "謝金", 0)])
    with pytest.raises(Refused):
        file(case, lines=[])


def test_bad_bank_details_are_refused_by_the_service_too():
    case = award_at(AwardStatus.ADOPTED)
    with pytest.raises(Refused) as refused:
        file(case, bank_code="12", account_holder_kana="山田")
    assert len(refused.value.messages) == 2


def test_the_period_must_run_forwards():
    case = award_at(AwardStatus.ADOPTED)
    with pytest.raises(Refused):
        file(case, project_start=dt.date(2026, 3, 1))


def test_only_a_member_files_and_only_while_adopted():
    case = award_at(AwardStatus.ADOPTED)
    stranger = UserFactory(role=Role.APPLICANT)
    with pytest.raises(Refused):
        grant_steps.grant_application_file(award=case.award, filing=filing_of(), by=stranger)
    file(case)
    with pytest.raises(Refused) as refused:
        file(case)  # a second filing while the first is being checked
    assert refused.value.code == "state"
    assert GrantApplication.objects.count() == 1


def test_a_call_without_the_step_takes_no_filing():
    case = award_at(AwardStatus.ADOPTED, grant_application_step=False)
    with pytest.raises(Refused) as refused:
        file(case)
    assert refused.value.code == "no_step"


def test_attachments_are_kept_with_the_filing():
    case = award_at(AwardStatus.ADOPTED)
    upload = SimpleUploadedFile("事業計画書.pdf", PDF)
    filing = file(case, documents=[DocumentInput("事業計画書", upload, "pdf")])
    [document] = AwardDocument.objects.all()
    assert (document.grant_application, document.purpose, document.original_name) == (
        filing,
        "grant_application",
        "事業計画書.pdf",
    )
    assert "事業計画書" not in document.file.name


def test_return_keeps_the_filing_and_the_organisation_files_again():
    case = award_at(AwardStatus.ADOPTED)
    first = file(case)
    with pytest.raises(Refused):
        grant_steps.grant_application_return(filing=first, reason="  ", by=case.staff)
    grant_steps.grant_application_return(filing=first, reason="口座名義を通帳どおりに", by=case.staff)
    first.refresh_from_db()
    case.award.refresh_from_db()
    assert case.award.status == AwardStatus.ADOPTED
    assert (first.status, first.return_reason, first.reviewed_by) == (
        GrantApplicationStatus.RETURNED,
        "口座名義を通帳どおりに",
        case.staff,
    )
    assert first.reviewed_at is not None
    assert grant_steps.filing_to_prefill(case.award) == first
    second = file(case, total=1_400_000)
    assert second.number == 2 and second.budget.number == 2
    assert list(case.award.grant_applications.values_list("number", "status")) == [
        (1, "returned"),
        (2, "submitted"),
    ]
    assert actions(first) == ["grant_application_returned"]
    assert actions(case.award) == ["grant_application_filed", "grant_application_returned", "grant_application_filed"]


def test_accept_moves_the_award_on_and_a_second_accept_is_told():
    case = award_at(AwardStatus.ADOPTED)
    other = UserFactory(role=Role.STAFF)
    enable_totp(other)
    filing = file(case)
    grant_steps.grant_application_accept(filing=filing, by=case.staff)
    with pytest.raises(Refused) as refused:
        grant_steps.grant_application_accept(filing=filing, by=other)
    assert refused.value.code == "done"
    assert case.staff.email in refused.value.messages[0]
    with pytest.raises(Refused):
        grant_steps.grant_application_return(filing=filing, reason="遅い", by=other)
    filing.refresh_from_db()
    case.award.refresh_from_db()
    assert (filing.status, filing.reviewed_by) == (GrantApplicationStatus.ACCEPTED, case.staff)
    assert case.award.status == AwardStatus.ACCEPTED
    assert actions(filing) == ["grant_application_accepted"]
    assert actions(case.award) == ["grant_application_filed", "grant_application_accepted"]


def test_only_staff_return_or_accept():
    case = award_at(AwardStatus.ADOPTED)
    filing = file(case)
    reviewer = UserFactory(role=Role.REVIEWER)
    for user in (case.member, reviewer):
        with pytest.raises(Refused):
            grant_steps.grant_application_accept(filing=filing, by=user)
        with pytest.raises(Refused):
            grant_steps.grant_application_return(filing=filing, reason="x", by=user)
    filing.refresh_from_db()
    assert filing.status == GrantApplicationStatus.SUBMITTED


def test_a_second_member_of_the_organisation_may_file():
    case = award_at(AwardStatus.ADOPTED)
    colleague = UserFactory(role=Role.APPLICANT)
    Membership.objects.create(organisation=case.application.organisation, user=colleague, role=MemberRole.EDITOR)
    filing = grant_steps.grant_application_file(award=case.award, filing=filing_of(), by=colleague)
    assert filing.submitted_by == colleague
