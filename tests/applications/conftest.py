import datetime as dt

import pytest
from django.utils import timezone
from stdnum.jp import cn

from accounts.models import Role
from applications.models import BudgetCategory, MemberRole, Membership
from applications.services import BudgetLineInput, application_save_draft
from calls.models import ApplicantType
from kodoku_portal.jp import JST
from tests.factories import ApplicationFactory, CallFactory, OrganisationFactory, ThemeFactory, UserFactory

DEADLINE = dt.datetime(2025, 5, 30, 12, 0, tzinfo=JST)
INSIDE = dt.datetime(2025, 5, 20, 10, 0, tzinfo=JST)


def corporate_number(base: str = "700110005901") -> str:
    return cn.calc_check_digit(base) + base


@pytest.fixture(autouse=True)
def _private_files(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "private"
    settings.PRIVATE_ROOT = tmp_path / "private"


@pytest.fixture
def npo_type(db):
    return ApplicantType.objects.get_or_create(code="npo", defaults={"name": "特定非営利活動法人（NPO法人）"})[0]


@pytest.fixture
def open_call(npo_type):
    """A call open now (by the real clock), closing at noon JST ten days from now."""
    now = timezone.now().astimezone(JST)
    closes = (now + dt.timedelta(days=10)).replace(hour=12, minute=0, second=0, microsecond=0)
    call = CallFactory(opens_at=now - dt.timedelta(days=1), closes_at=closes, eligible=[npo_type])
    ThemeFactory(call=call, number=1)
    return call


@pytest.fixture
def seed_window_call(npo_type):
    """The r7-npo-model window: 2025-04-21 00:00 to 2025-05-30 12:00 JST."""
    call = CallFactory(
        opens_at=dt.datetime(2025, 4, 21, tzinfo=JST), closes_at=DEADLINE, eligible=[npo_type], cap_amount=2_000_000
    )
    ThemeFactory(call=call, number=1)
    return call


def complete_organisation(**kwargs):
    values = {
        "name_kana": "テストダンタイ",
        "corporate_number": corporate_number(),
        "postal_code": "100-0001",
        "address": "東京都千代田区千代田1-1",
        "representative_title": "理事長",
        "representative_name": "代表 太郎",
        "contact_name": "担当 花子",
        "phone": "03-1234-5678",
        "email": "office@example.jp",
    }
    values.update(kwargs)
    return OrganisationFactory(**values)


@pytest.fixture
def organisation(npo_type):
    return complete_organisation(applicant_type=npo_type)


@pytest.fixture
def member(organisation):
    user = UserFactory(role=Role.APPLICANT)
    Membership.objects.create(organisation=organisation, user=user, role=MemberRole.OWNER)
    return user


@pytest.fixture
def outsider(npo_type):
    """An applicant of another organisation."""
    user = UserFactory(role=Role.APPLICANT)
    other = complete_organisation(applicant_type=npo_type, corporate_number=corporate_number("700110005902"))
    Membership.objects.create(organisation=other, user=user, role=MemberRole.OWNER)
    return user


COMPLETE_FIELDS = {
    "title": "まちの縁側カフェ",
    "summary": "高齢者と子どもが気軽に集える居場所をつくります。",
    "area_prefectures": ["13"],
    "area_nationwide": False,
    "area_reason": "",
    "period_start": dt.date(2025, 7, 1),
    "period_end": dt.date(2026, 2, 28),
}


def save_complete(application, user, *, amount=1_000_000, now=None, **overrides):
    """Fill the draft through the service, as the form would."""
    fields = {**COMPLETE_FIELDS, "theme": application.call.themes.first(), **overrides}
    outcome = application_save_draft(
        application_id=application.pk,
        user=user,
        fields=fields,
        budget_lines=[BudgetLineInput(BudgetCategory.HONORARIA, "講師謝金", 1, amount)],
        base_version=application.version,
        raw={},
        now=now,
    )
    assert outcome.saved, outcome.message
    application.refresh_from_db()
    return application


@pytest.fixture
def draft(open_call, organisation, member):
    return ApplicationFactory(call=open_call, organisation=organisation, title="")


@pytest.fixture
def complete_draft(draft, member):
    return save_complete(draft, member)
