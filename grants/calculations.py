"""The money rules of an award as pure functions: 額の確定, 加算金 and 延滞金. Integer yen in, integer
yen out; rates as ``Decimal`` so that nothing is lost to binary fractions.

Fractions of a yen are cut off (truncated, never rounded): 国等の債権債務等の金額の端数計算に関する
法律 (昭和25年法律第61号) article 2(1) — a claim of the State with a fraction of less than one yen
drops the fraction. Each amount below is one claim, so the cut is made once, on the total of the
claim, not on each of its parts. Every amount here is zero or positive, so truncating is flooring.

The readings of the subsidies Act (補助金等に係る予算の執行の適正化に関する法律, 昭和30年法律第179号,
"the Act") and of its Cabinet Order (同法施行令, 昭和30年政令第255号, "the Order") are written in
each function's docstring; docs/DOMAIN.md keeps the list of sources.
"""

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, Decimal

DAYS_A_YEAR = 365  # the Act, article 19: a year is 365 days, even for a period with a 29 February


def _yen(value: Decimal) -> int:
    """Cut off the fraction of a yen (端数計算法 article 2(1)); ``value`` is never negative here."""
    return int(value.to_integral_value(rounding=ROUND_FLOOR))


# --- 額の確定 (article 15) -----------------------------------------------------------------------


@dataclass(frozen=True)
class CategoryTerm:
    """One 費目 of the proposal: what the accepted report found eligible, what the budget in force
    allows (None when the call does not confirm line by line) and what counts."""

    category: str
    eligible: int
    budget: int | None
    counted: int


@dataclass(frozen=True)
class ConfirmationTerms:
    """The three terms of the proposed confirmed amount and the proposal (their minimum).

    - ``granted``: the 交付決定額;
    - ``by_rate``: the eligible actual costs × the subsidy rate (Σ eligible × rate, cut to the yen);
    - ``by_line``: the same with each 費目 counting at most its amount in the budget in force, or
      None when the call does not confirm line by line (then it is no term at all).
    """

    granted: int
    rate_percent: int
    eligible_total: int
    by_rate: int
    by_line: int | None
    categories: list[CategoryTerm] = field(default_factory=list)

    @property
    def proposal(self) -> int:
        terms = [self.granted, self.by_rate]
        if self.by_line is not None:
            terms.append(self.by_line)
        return min(terms)

    @property
    def binding(self) -> str:
        """Which term sets the proposal ("granted", "by_rate" or "by_line"; the first on a tie in
        the order granted, by_line, by_rate)."""
        if self.proposal == self.granted:
            return "granted"
        if self.by_line is not None and self.proposal == self.by_line:
            return "by_line"
        return "by_rate"


def confirmation_terms(
    *,
    granted: int,
    eligible_by_category: dict[str, int],
    rate_percent: int,
    budget_by_category: dict[str, int] | None = None,
) -> ConfirmationTerms:
    """The terms of :func:`proposed_confirmed_amount`, each written out (for the 額の確定 page)."""
    if granted < 0 or rate_percent < 0 or any(amount < 0 for amount in eligible_by_category.values()):
        raise ValueError("amounts and the rate are never negative")
    rate = Decimal(rate_percent) / 100
    categories = []
    for category in sorted(set(eligible_by_category) | set(budget_by_category or {})):
        eligible = eligible_by_category.get(category, 0)
        if budget_by_category is None:
            categories.append(CategoryTerm(category, eligible, None, eligible))
        else:
            budget = budget_by_category.get(category, 0)
            categories.append(CategoryTerm(category, eligible, budget, min(eligible, budget)))
    eligible_total = sum(term.eligible for term in categories)
    by_rate = _yen(Decimal(eligible_total) * rate)
    by_line = None
    if budget_by_category is not None:
        by_line = _yen(Decimal(sum(term.counted for term in categories)) * rate)
    return ConfirmationTerms(
        granted=granted,
        rate_percent=rate_percent,
        eligible_total=eligible_total,
        by_rate=by_rate,
        by_line=by_line,
        categories=categories,
    )


def proposed_confirmed_amount(
    *,
    granted: int,
    eligible_by_category: dict[str, int],
    rate_percent: int,
    budget_by_category: dict[str, int] | None = None,
) -> int:
    """The amount the portal proposes at 額の確定 (the Act, article 15: the amount to be granted is
    fixed once the report shows the project was done as decided).

    Reading: the confirmed amount is the smallest of

    1. the 交付決定額 (``granted``): the grant decision is the ceiling (article 6);
    2. the eligible actual costs × the subsidy rate (``rate_percent``, 100 = 10/10), the rate
       applied to the total and the fraction of a yen cut off (端数計算法 article 2(1));
    3. where the call's 交付要綱 confirms line by line (``budget_by_category`` given): the same,
       but each 費目 counts at most its amount in the budget in force (the last approved budget;
       a 費目 absent from it counts nothing). This term is never above term 2.
    """
    return confirmation_terms(
        granted=granted,
        eligible_by_category=eligible_by_category,
        rate_percent=rate_percent,
        budget_by_category=budget_by_category,
    ).proposal


# --- 加算金 and 延滞金 (article 19) ---------------------------------------------------------------


def _days_inclusive(first: dt.date, last: dt.date) -> int:
    return (last - first).days + 1


def refund_portions(*, refund: int, receipts: Iterable[tuple[dt.date, int]]) -> list[tuple[dt.date, int]]:
    """Which receipts the amount to return is taken from, latest receipt first (the Order,
    article 10(1) — 加算金の計算: where the subsidy was paid in several parts, the amount ordered
    back is deemed received on the last day of receipt, and where it exceeds what was received
    that day, going back receipt by receipt until it is reached). Returns (day, part) pairs,
    latest first. Receipts of the same day are one receipt."""
    by_day: dict[dt.date, int] = {}
    for day, amount in receipts:
        if amount < 0:
            raise ValueError("a receipt is never negative")
        by_day[day] = by_day.get(day, 0) + amount
    if refund > sum(by_day.values()):
        raise ValueError("the amount to return exceeds what was received")
    portions = []
    left = refund
    for day in sorted(by_day, reverse=True):
        if left <= 0:
            break
        part = min(left, by_day[day])
        if part:
            portions.append((day, part))
        left -= part
    return portions


def additional_charge(*, refund: int, receipts: list[tuple[dt.date, int]], paid_on: dt.date, rate: Decimal) -> int:
    """加算金 (the Act, article 19(1)), in yen.

    Reading: on the amount ordered back (``refund``), for the number of days "from the day of
    receipt of the subsidy to the day of payment" (受領の日から納付の日までの日数: both days
    counted), at ``rate`` percent a year (the Act: 10.95; the call's ``late_interest_percent``),
    a year being 365 days even when the period holds a 29 February (article 19, 365-day rule).

    - Several receipts (``receipts``: (day received, amount) pairs, e.g. each 概算払 and the
      精算払 paid): the amount to return is taken from the latest receipt first, going back
      (the Order, article 10(1); see :func:`refund_portions`), each part counting its own days.
    - The sum over the parts is one claim: its fraction of a yen is cut off once (端数計算法
      article 2(1)).
    - 0 when nothing is to be returned. A receipt after ``paid_on`` cannot happen for the part
      returned (ValueError).

    Note (for the programme office): article 19(1) speaks of a return ordered "in connection with
    a disposition under article 17(1)" (the 取消 of the grant decision). A return after 額の確定
    (article 18(2)) bears 加算金 where the call's 交付要綱 says so; staff may waive the charges
    (article 19, やむを得ない事情; the Order, article 12).
    """
    if refund < 0 or rate < 0:
        raise ValueError("the amount to return and the rate are never negative")
    if refund == 0:
        return 0
    total = Decimal(0)
    for day, part in refund_portions(refund=refund, receipts=receipts):
        if day > paid_on:
            raise ValueError("money cannot be paid back before it was received")
        total += Decimal(part) * _days_inclusive(day, paid_on)
    return _yen(total * Decimal(rate) / (100 * DAYS_A_YEAR))


def late_charge(*, unpaid: int, due_on: dt.date, paid_on: dt.date, rate: Decimal) -> int:
    """延滞金 (the Act, article 19(2)), in yen.

    Reading: when the amount ordered back is not paid by the due date (納期日), on the unpaid
    amount (``unpaid``: the amount ordered back, 加算金 not included), for the days "from the day
    after the due date to the day of payment" (納期日の翌日から納付の日までの日数: the day of
    payment counted), at ``rate`` percent a year, a year being 365 days (article 19). Paid on or
    before the due date: 0. One day late: unpaid × rate / 365, the fraction of a yen cut off.
    """
    if unpaid < 0 or rate < 0:
        raise ValueError("the unpaid amount and the rate are never negative")
    days = (paid_on - due_on).days
    if days <= 0 or unpaid == 0:
        return 0
    return _yen(Decimal(unpaid) * days * Decimal(rate) / (100 * DAYS_A_YEAR))
