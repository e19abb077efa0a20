"""事業区域: a call that asks, in principle, for more than one prefecture — a reason, not a refusal."""

import pytest

from applications import services
from applications.checks import application_problems
from calls.models import AreaRule
from kodoku_portal.workflow import Refused
from tests.factories import ApplicationFactory

from .conftest import save_complete

pytestmark = pytest.mark.django_db


@pytest.fixture
def wide_call(open_call):
    open_call.area_rule = AreaRule.WIDER_THAN_ONE_PREFECTURE
    open_call.save()
    return open_call


def area_problems(application):
    return [p for p in application_problems(application) if p.field == "area_reason"]


def test_one_prefecture_without_a_reason_cannot_be_submitted(wide_call, organisation, member):
    application = save_complete(
        ApplicationFactory(call=wide_call, organisation=organisation), member, area_prefectures=["01"]
    )
    assert application.below_area_rule
    assert area_problems(application)
    with pytest.raises(Refused):
        services.application_submit(application_id=application.pk, user=member)


def test_one_prefecture_with_a_reason_is_submitted_and_flagged_for_staff(
    client, wide_call, organisation, member, django_capture_on_commit_callbacks
):
    from accounts.models import Role
    from tests.factories import UserFactory, enable_totp

    application = save_complete(
        ApplicationFactory(call=wide_call, organisation=organisation),
        member,
        area_prefectures=["01"],
        area_reason="積雪寒冷地域の実態調査を北海道内で行い、その成果を他県に移転するため。",
    )
    assert not area_problems(application)
    with django_capture_on_commit_callbacks(execute=True):
        services.application_submit(application_id=application.pk, user=member)
    staff = UserFactory(role=Role.STAFF)
    enable_totp(staff)
    client.force_login(staff)
    page = client.get(f"/staff/calls/{wide_call.slug}/applications/").content.decode()
    assert 'data-testid="area-flag"' in page
    assert "積雪寒冷地域の実態調査" in page


@pytest.mark.parametrize(("prefectures", "nationwide"), [(["27", "28"], False), ([], True)])
def test_two_prefectures_or_nationwide_meet_the_rule(wide_call, organisation, member, prefectures, nationwide):
    application = save_complete(
        ApplicationFactory(call=wide_call, organisation=organisation),
        member,
        area_prefectures=prefectures,
        area_nationwide=nationwide,
    )
    assert not application.below_area_rule
    assert not area_problems(application)


def test_a_call_without_the_rule_does_not_ask(open_call, organisation, member):
    application = save_complete(ApplicationFactory(call=open_call, organisation=organisation), member)
    assert not application.below_area_rule


def test_the_ineligible_legal_form_cannot_start(open_call, member):
    from calls.models import ApplicantType

    from .conftest import complete_organisation, corporate_number

    company = ApplicantType.objects.create(code="for-profit", name="株式会社", is_non_profit=False)
    organisation = complete_organisation(applicant_type=company, corporate_number=corporate_number("700110005999"))
    with pytest.raises(Refused) as refused:
        services.application_start(call=open_call, organisation=organisation, user=member)
    assert refused.value.code == "ineligible"
