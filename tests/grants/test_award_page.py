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


def _board(client, staff, **params):
    client.force_login(staff)
    response = client.get("/staff/awards/", params)
    assert response.status_code == 200
    return {award.application.receipt_number: award.is_overdue for award in response.context["awards"]}


def test_the_board_filters_by_step_and_shows_what_is_overdue(client):
    import datetime as dt

    from grants.models import Refund

    adopted = award_at(AwardStatus.ADOPTED)
    late_application = award_at(AwardStatus.ADOPTED, staff=adopted.staff)
    late_application.award.grant_application_due = dt.date(2025, 1, 1)
    late_application.award.save()
    granted = award_at(AwardStatus.GRANTED, staff=adopted.staff)  # reports due 2025-10-31 / 2026-03-30
    refund = award_at(AwardStatus.REFUND_ORDERED, staff=adopted.staff, confirmed_amount=1_000_000)
    Refund.objects.create(
        award=refund.award,
        amount=500_000,
        ordered_on=dt.date(2026, 4, 1),
        due_on=dt.date(2026, 4, 21),
        ordered_by=adopted.staff,
    )
    closed = award_at(AwardStatus.CLOSED, staff=adopted.staff)
    number = lambda case: case.application.receipt_number  # noqa: E731

    every = _board(client, adopted.staff)
    assert number(closed) not in every  # the board opens on what is not finished
    assert every[number(adopted)] is False
    assert every[number(late_application)] is True
    assert every[number(granted)] is True  # the progress report (2025-10-31) was not filed
    assert every[number(refund)] is True
    assert set(_board(client, adopted.staff, step="adopted")) == {number(adopted), number(late_application)}
    assert set(_board(client, adopted.staff, step="open", overdue="1")) == {
        number(late_application),
        number(granted),
        number(refund),
    }
    assert number(closed) in _board(client, adopted.staff, step="")


def test_the_board_asks_the_same_queries_for_more_awards(client, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    first = award_at(AwardStatus.GRANTED)
    client.force_login(first.staff)
    with CaptureQueriesContext(connection) as few:
        client.get("/staff/awards/")
    for _ in range(5):
        award_at(AwardStatus.GRANTED, staff=first.staff)
    with CaptureQueriesContext(connection) as many:
        client.get("/staff/awards/")
    assert len(many) == len(few)
