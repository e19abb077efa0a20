"""受付前 / 受付中 / 締切済 by the server clock, exact at the boundaries."""

import datetime as dt

import pytest
from django.utils import timezone

from calls.models import Call, CallState
from kodoku_portal.jp import JST

OPENS = dt.datetime(2025, 4, 21, 0, 0, tzinfo=JST)
CLOSES = dt.datetime(2025, 5, 30, 12, 0, tzinfo=JST)


def make_call(**kwargs) -> Call:
    return Call(opens_at=OPENS, closes_at=CLOSES, **kwargs)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (OPENS - dt.timedelta(microseconds=1), CallState.BEFORE),
        (OPENS, CallState.OPEN),
        (dt.datetime(2025, 5, 30, 11, 59, 59, 999999, tzinfo=JST), CallState.OPEN),
        (dt.datetime(2025, 5, 30, 12, 0, 0, tzinfo=JST), CallState.CLOSED),
        (dt.datetime(2025, 5, 30, 12, 0, 0, 1, tzinfo=JST), CallState.CLOSED),
        # The same instants written in UTC: 12:00 JST is 03:00 UTC.
        (dt.datetime(2025, 5, 30, 2, 59, 59, 999999, tzinfo=dt.UTC), CallState.OPEN),
        (dt.datetime(2025, 5, 30, 3, 0, 0, tzinfo=dt.UTC), CallState.CLOSED),
    ],
)
def test_state_at_the_boundaries(now, expected):
    assert make_call().state_at(now) == expected


def test_a_call_without_a_window_is_not_yet_open():
    assert Call(opens_at=None, closes_at=None).state_at(timezone.now()) == CallState.BEFORE


def test_a_call_closed_by_hand_is_closed_even_inside_its_window():
    assert make_call(closed_manually=True).state_at(OPENS + dt.timedelta(days=1)) == CallState.CLOSED


@pytest.mark.django_db
def test_the_database_refuses_a_window_that_closes_before_it_opens():
    from django.db import IntegrityError

    from tests.factories import CallFactory

    with pytest.raises(IntegrityError):
        CallFactory(opens_at=CLOSES, closes_at=OPENS)
