"""The money rules as pure functions: 額の確定 = the minimum of its three terms, 加算金 (article 19(1),
latest receipt first, both days counted, 365-day year) and 延滞金 (article 19(2), from the day
after the due date), to the yen, fractions cut off. Worked by hand, then properties."""

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from grants.calculations import (
    additional_charge,
    confirmation_terms,
    late_charge,
    proposed_confirmed_amount,
    refund_portions,
)

RATE = Decimal("10.95")


# --- 額の確定 ------------------------------------------------------------------------------------


def test_the_granted_amount_binds_when_the_costs_are_larger():
    terms = confirmation_terms(
        granted=1_000_000, eligible_by_category={"rental": 900_000, "travel": 400_000}, rate_percent=100
    )
    assert (terms.granted, terms.by_rate, terms.by_line) == (1_000_000, 1_300_000, None)
    assert terms.proposal == 1_000_000 and terms.binding == "granted"


def test_the_rate_binds_when_the_costs_times_the_rate_are_smaller():
    amount = proposed_confirmed_amount(
        granted=1_000_000, eligible_by_category={"rental": 700_001}, rate_percent=66, budget_by_category=None
    )
    assert amount == 462_000  # 700,001 × 66 / 100 = 462,000.66 → 462,000 (the fraction cut off)
    terms = confirmation_terms(granted=1_000_000, eligible_by_category={"rental": 700_001}, rate_percent=66)
    assert terms.binding == "by_rate"


def test_the_budget_line_binds_when_a_category_overran_its_budget():
    eligible = {"rental": 500_000, "travel": 100_000}  # rent over its budget of 400,000
    budget = {"rental": 400_000, "travel": 200_000}
    terms = confirmation_terms(
        granted=1_000_000, eligible_by_category=eligible, rate_percent=100, budget_by_category=budget
    )
    # by rate: 600,000; by line: min(500,000, 400,000) + min(100,000, 200,000) = 500,000
    assert (terms.by_rate, terms.by_line, terms.proposal, terms.binding) == (600_000, 500_000, 500_000, "by_line")
    assert [(t.category, t.eligible, t.budget, t.counted) for t in terms.categories] == [
        ("rental", 500_000, 400_000, 400_000),
        ("travel", 100_000, 200_000, 100_000),
    ]


def test_a_category_outside_the_budget_counts_nothing_line_by_line():
    amount = proposed_confirmed_amount(
        granted=1_000_000,
        eligible_by_category={"rental": 100_000, "other": 50_000},
        rate_percent=100,
        budget_by_category={"rental": 300_000},
    )
    assert amount == 100_000


def test_the_rate_is_applied_to_the_total_and_cut_once():
    # 333 + 333 + 334 = 1,000 × 50% = 500 (per line it would be 166 + 166 + 167 = 499)
    amount = proposed_confirmed_amount(
        granted=10_000, eligible_by_category={"a": 333, "b": 333, "c": 334}, rate_percent=50
    )
    assert amount == 500


@settings(max_examples=200, deadline=None)
@given(
    granted=st.integers(0, 10**9),
    eligible=st.dictionaries(st.sampled_from(["a", "b", "c", "d"]), st.integers(0, 10**8)),
    budget=st.one_of(st.none(), st.dictionaries(st.sampled_from(["a", "b", "c", "d"]), st.integers(0, 10**8))),
    rate=st.integers(1, 100),
)
def test_the_proposal_is_the_minimum_of_its_terms(granted, eligible, budget, rate):
    terms = confirmation_terms(
        granted=granted, eligible_by_category=eligible, rate_percent=rate, budget_by_category=budget
    )
    expected = min(granted, sum(eligible.values()) * rate // 100)
    if budget is not None:
        counted = sum(min(amount, budget.get(category, 0)) for category, amount in eligible.items())
        expected = min(expected, counted * rate // 100)
        assert terms.by_line <= terms.by_rate
    assert terms.proposal == expected
    assert 0 <= terms.proposal <= granted


# --- 加算金 (article 19(1)) ----------------------------------------------------------------------


def test_additional_charge_worked_example():
    # 500,000 yen received 2025-07-01, paid back 2026-04-30, 10.95% a year.
    # Days, both counted: Jul 31 + Aug 31 + Sep 30 + Oct 31 + Nov 30 + Dec 31 + Jan 31 + Feb 28
    # + Mar 31 + Apr 30 = 304.  500,000 × 10.95 / 100 × 304 / 365 = 500,000 × 0.0003 × 304 = 45,600.
    assert (dt.date(2026, 4, 30) - dt.date(2025, 7, 1)).days + 1 == 304
    charge = additional_charge(
        refund=500_000, receipts=[(dt.date(2025, 7, 1), 500_000)], paid_on=dt.date(2026, 4, 30), rate=RATE
    )
    assert charge == 45_600


def test_additional_charge_cuts_the_fraction_of_a_yen():
    # 123,457 × 0.1095 × 10 / 365 = 370.371 → 370
    charge = additional_charge(
        refund=123_457, receipts=[(dt.date(2025, 7, 1), 200_000)], paid_on=dt.date(2025, 7, 10), rate=RATE
    )
    assert charge == 370


def test_the_refund_is_taken_from_the_latest_receipt_first():
    receipts = [(dt.date(2025, 7, 1), 600_000), (dt.date(2025, 10, 1), 400_000)]
    # 500,000 to return: 400,000 from the receipt of 1 October, then 100,000 from 1 July.
    assert refund_portions(refund=500_000, receipts=receipts) == [
        (dt.date(2025, 10, 1), 400_000),
        (dt.date(2025, 7, 1), 100_000),
    ]
    paid_on = dt.date(2026, 3, 31)
    days_october = (paid_on - dt.date(2025, 10, 1)).days + 1  # 182
    days_july = (paid_on - dt.date(2025, 7, 1)).days + 1  # 274
    assert (days_october, days_july) == (182, 274)
    # (400,000 × 182 + 100,000 × 274) × 0.1095 / 365 = (72,800,000 + 27,400,000) × 0.0003 = 30,060
    assert additional_charge(refund=500_000, receipts=receipts, paid_on=paid_on, rate=RATE) == 30_060
    # Taken first-in instead it would be 500,000 × 274 × 0.0003 = 41,100: not the Order's reading.


def test_a_refund_within_the_latest_receipt_counts_only_its_days():
    receipts = [(dt.date(2025, 7, 1), 600_000), (dt.date(2025, 10, 1), 400_000)]
    # 200,000 × 182 × 0.0003 = 10,920
    charge = additional_charge(refund=200_000, receipts=receipts, paid_on=dt.date(2026, 3, 31), rate=RATE)
    assert charge == 10_920


def test_a_leap_year_still_counts_365_days_a_year():
    # 2028 is a leap year: 1 Jan to 31 Dec 2028 is 366 days, both counted, still / 365.
    days = (dt.date(2028, 12, 31) - dt.date(2028, 1, 1)).days + 1
    assert days == 366
    # 1,000,000 × 0.1095 × 366 / 365 = 109,800 (not 109,500: no 366-day year)
    charge = additional_charge(
        refund=1_000_000, receipts=[(dt.date(2028, 1, 1), 1_000_000)], paid_on=dt.date(2028, 12, 31), rate=RATE
    )
    assert charge == 109_800


def test_paid_back_on_the_day_received_counts_one_day():
    # 1,000,000 × 0.0003 × 1 = 300
    charge = additional_charge(
        refund=1_000_000, receipts=[(dt.date(2025, 7, 1), 1_000_000)], paid_on=dt.date(2025, 7, 1), rate=RATE
    )
    assert charge == 300


def test_nothing_to_return_bears_no_charge():
    assert additional_charge(refund=0, receipts=[], paid_on=dt.date(2026, 1, 1), rate=RATE) == 0


def test_a_refund_above_what_was_received_is_an_error():
    with pytest.raises(ValueError):
        additional_charge(refund=2, receipts=[(dt.date(2025, 7, 1), 1)], paid_on=dt.date(2026, 1, 1), rate=RATE)


RECEIPT_DAY = st.dates(min_value=dt.date(2024, 1, 1), max_value=dt.date(2030, 12, 31))


@settings(max_examples=200, deadline=None)
@given(
    refund=st.integers(0, 10**8),
    received=RECEIPT_DAY,
    days=st.integers(0, 2000),
    more=st.integers(1, 400),
    rate=st.decimals(min_value=0, max_value=20, places=2),
)
def test_additional_charge_grows_with_the_days_and_is_never_negative(refund, received, days, more, rate):
    receipts = [(received, refund)]
    earlier = additional_charge(refund=refund, receipts=receipts, paid_on=received + dt.timedelta(days), rate=rate)
    later = additional_charge(refund=refund, receipts=receipts, paid_on=received + dt.timedelta(days + more), rate=rate)
    assert 0 <= earlier <= later


@settings(max_examples=200, deadline=None)
@given(received=RECEIPT_DAY, days=st.integers(0, 2000), rate=st.decimals(min_value=0, max_value=20, places=2))
def test_additional_charge_is_zero_when_nothing_is_returned(received, days, rate):
    receipts = [(received, 1_000_000)]
    assert additional_charge(refund=0, receipts=receipts, paid_on=received + dt.timedelta(days), rate=rate) == 0


@settings(max_examples=200, deadline=None)
@given(
    a=st.integers(0, 10**8),
    b=st.integers(0, 10**8),
    received=RECEIPT_DAY,
    days=st.integers(0, 2000),
)
def test_one_receipt_is_additive_up_to_the_cut_yen(a, b, received, days):
    """With one receipt, returning a + b costs what returning a and b separately costs, give or
    take the one yen cut off once instead of twice."""
    receipts = [(received, a + b)]
    paid_on = received + dt.timedelta(days)
    whole = additional_charge(refund=a + b, receipts=receipts, paid_on=paid_on, rate=RATE)
    parts = additional_charge(refund=a, receipts=receipts, paid_on=paid_on, rate=RATE) + additional_charge(
        refund=b, receipts=receipts, paid_on=paid_on, rate=RATE
    )
    assert parts <= whole <= parts + 1
    # and exactly the formula: floor((a + b) × days × 10.95 / 36,500)
    assert whole == (a + b) * ((paid_on - received).days + 1) * 1095 // 3_650_000


# --- 延滞金 (article 19(2)) ----------------------------------------------------------------------


def test_paid_on_the_due_date_bears_no_late_charge():
    assert late_charge(unpaid=1_000_000, due_on=dt.date(2026, 5, 20), paid_on=dt.date(2026, 5, 20), rate=RATE) == 0
    assert late_charge(unpaid=1_000_000, due_on=dt.date(2026, 5, 20), paid_on=dt.date(2026, 5, 1), rate=RATE) == 0


def test_one_day_late_is_one_days_charge_cut_to_the_yen():
    # 123,457 × 10.95% / 365 × 1 = 37.0371 → 37
    assert late_charge(unpaid=123_457, due_on=dt.date(2026, 5, 20), paid_on=dt.date(2026, 5, 21), rate=RATE) == 37


def test_late_charge_worked_example():
    # Due 2026-05-20, paid 2026-07-19: from 21 May to 19 July = 11 + 30 + 19 = 60 days.
    # 800,000 × 0.0003 × 60 = 14,400
    assert late_charge(unpaid=800_000, due_on=dt.date(2026, 5, 20), paid_on=dt.date(2026, 7, 19), rate=RATE) == 14_400


@settings(max_examples=200, deadline=None)
@given(
    unpaid=st.integers(0, 10**8),
    due=RECEIPT_DAY,
    days=st.integers(-30, 2000),
    more=st.integers(1, 400),
    rate=st.decimals(min_value=0, max_value=20, places=2),
)
def test_late_charge_grows_with_the_days_and_is_never_negative(unpaid, due, days, more, rate):
    earlier = late_charge(unpaid=unpaid, due_on=due, paid_on=due + dt.timedelta(days), rate=rate)
    later = late_charge(unpaid=unpaid, due_on=due, paid_on=due + dt.timedelta(days + more), rate=rate)
    assert 0 <= earlier <= later
    if days <= 0:
        assert earlier == 0
