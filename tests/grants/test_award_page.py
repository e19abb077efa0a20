"""The award page, for both sides: who may see it, its steps' sections, what is due next."""

import pytest

from accounts.models import Role
from grants.models import AwardStatus
from tests.factories import UserFactory
from tests.grants.lifecycle import award_at

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("status", list(AwardStatus))
def test_both_sides_see_the_award_at_every_step(client, status):
    case = award_at(status)
    client.force_login(case.member)
    response = client.get(f"/applications/{case.application.pk}/award/")
    assert response.status_code == 200
    assert response.context["award"] == case.award
    client.force_login(case.staff)
    response = client.get(f"/staff/awards/{case.award.pk}/")
    assert response.status_code == 200


def test_no_one_else_sees_it(client):
    case = award_at(AwardStatus.GRANTED)
    stranger = UserFactory(role=Role.APPLICANT)
    reviewer = UserFactory(role=Role.REVIEWER)
    client.force_login(stranger)
    assert client.get(f"/applications/{case.application.pk}/award/").status_code == 404
    client.force_login(reviewer)
    assert client.get(f"/staff/awards/{case.award.pk}/").status_code in (302, 403)
    client.force_login(case.member)
    assert client.get(f"/staff/awards/{case.award.pk}/").status_code in (302, 403)


def test_the_award_waits_for_the_disclosure(client):
    case = award_at(AwardStatus.ADOPTED)
    case.application.decision_disclosed_at = None
    case.application.save(update_fields=["decision_disclosed_at"])
    client.force_login(case.member)
    assert client.get(f"/applications/{case.application.pk}/award/").status_code == 404


def test_what_is_due_next_is_shown_with_its_date(client):
    case = award_at(AwardStatus.ADOPTED)
    client.force_login(case.member)
    response = client.get(f"/applications/{case.application.pk}/award/")
    [(due, overdue)] = response.context["due"]
    assert (due.on, due.organisation_acts, overdue) == (case.award.grant_application_due, True, False)
