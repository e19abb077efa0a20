"""Awards at any step, built directly from rows (not through the services), so each step's tests
stand alone. ``award_at(status, ...)`` makes an adopted, disclosed application with a member of
its organisation and its award at ``status`` with what that step implies (a budget in force from
the grant decision on, the granted amount, due dates, the confirmed amount)."""

import datetime as dt
from dataclasses import dataclass

from django.utils import timezone

from accounts.models import Role, User
from applications.models import ApplicationStatus, BudgetLine, MemberRole, Membership
from grants.models import (
    Award,
    AwardStatus,
    BudgetVersion,
    BudgetVersionLine,
    Decision,
    Notice,
    NoticeKind,
)
from tests.factories import ApplicationFactory, CallFactory, OrganisationFactory, UserFactory, enable_totp

GRANTED_OR_LATER = {
    AwardStatus.GRANTED,
    AwardStatus.REPORTED,
    AwardStatus.REPORT_ACCEPTED,
    AwardStatus.CONFIRMED,
    AwardStatus.REFUND_ORDERED,
    AwardStatus.CLOSED,
}

# The budget lines every award starts from (the application's), 1,500,000 yen in all.
LINES = [
    ("honoraria", "講師謝金", 300_000),
    ("travel", "交通費", 200_000),
    ("rental", "会場借料", 400_000),
    ("supplies", "消耗品", 600_000),
]


@dataclass
class AwardCase:
    award: Award
    member: User
    staff: User

    @property
    def application(self):
        return self.award.application

    @property
    def call(self):
        return self.award.application.call


_counter = [0]


def award_at(
    status: AwardStatus = AwardStatus.ADOPTED,
    *,
    staff: User | None = None,
    award_amount: int = 1_500_000,
    granted_amount: int | None = None,
    confirmed_amount: int | None = None,
    call=None,
    **call_settings,
) -> AwardCase:
    _counter[0] += 1
    n = _counter[0]
    if call is None:
        call = CallFactory(cap_amount=2_000_000, budget_total=10_000_000, **call_settings)
    staff = staff or UserFactory(role=Role.STAFF)
    if staff.role == Role.STAFF and not hasattr(staff, "_totp"):
        enable_totp(staff)
        staff._totp = True
    organisation = OrganisationFactory(email=f"office{n}@example.jp", representative_name="山田 花子")
    member = UserFactory(role=Role.APPLICANT)
    Membership.objects.create(organisation=organisation, user=member, role=MemberRole.OWNER)
    now = timezone.now()
    application = ApplicationFactory(
        call=call,
        organisation=organisation,
        status=ApplicationStatus.ADOPTED,
        receipt_number=f"{call.receipt_prefix}-{n:04d}",
        requested_amount=award_amount,
        submitted_at=now - dt.timedelta(days=60),
        submitted_by=member,
        decision_disclosed_at=now - dt.timedelta(days=20),
        period_start=dt.date(2025, 7, 1),
        period_end=dt.date(2026, 2, 28),
    )
    for position, (category, description, amount) in enumerate(LINES):
        BudgetLine.objects.create(
            application=application,
            position=position,
            category=category,
            description=description,
            quantity=1,
            unit_price=amount,
            amount=amount,
        )
    Decision.objects.create(application=application, award_amount=award_amount, decided_by=staff, decided_at=now)
    Notice.objects.create(
        application=application,
        kind=NoticeKind.ADOPTED,
        document_number=f"TEST第{n}号",
        issued_on=(now - dt.timedelta(days=20)).date(),
        award_amount=award_amount,
        emailed_at=now - dt.timedelta(days=20),
    )
    award = Award.objects.create(
        application=application,
        status=status,
        grant_application_due=(now + dt.timedelta(days=10)).date(),
        project_start=application.period_start,
        project_end=application.period_end,
    )
    if status in GRANTED_OR_LATER:
        granted = granted_amount or award_amount
        version = BudgetVersion.objects.create(award=award, number=1, in_force_from=now - dt.timedelta(days=10))
        for position, (category, description, amount) in enumerate(LINES):
            BudgetVersionLine.objects.create(
                version=version, position=position, category=category, description=description, amount=amount
            )
        award.granted_on = (now - dt.timedelta(days=10)).date()
        award.granted_amount = granted
        award.decline_by = award.granted_on + dt.timedelta(days=call.decline_days)
        award.progress_report_due = dt.date(2025, 10, 31)
        award.final_report_due = dt.date(2026, 3, 30)
        award.grant_conditions = call.grant_conditions
    if status in {AwardStatus.CONFIRMED, AwardStatus.REFUND_ORDERED, AwardStatus.CLOSED}:
        award.confirmed_amount = granted if confirmed_amount is None else confirmed_amount
        award.confirmed_on = now.date()
    award.save()
    return AwardCase(award=award, member=member, staff=staff)
