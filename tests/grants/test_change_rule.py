"""The 軽微な変更 rule (is_minor_change): at its boundary with figures, and its properties."""

from fractions import Fraction

from hypothesis import assume, given
from hypothesis import strategies as st

from grants.change_steps import is_minor_change

CATEGORIES = ["honoraria", "travel", "rental", "supplies", "printing"]


# --- the boundary, with figures --------------------------------------------------------------------


def test_a_shift_of_exactly_twenty_percent_of_the_smaller_is_minor():
    # travel 200,000 is the smaller: 20% of it is 40,000.
    before = {"travel": 200_000, "supplies": 600_000}
    assert is_minor_change(before, {"travel": 240_000, "supplies": 560_000}, percent=20)
    assert is_minor_change(before, {"travel": 160_000, "supplies": 640_000}, percent=20)


def test_one_yen_more_than_twenty_percent_is_not_minor():
    before = {"travel": 200_000, "supplies": 600_000}
    assert not is_minor_change(before, {"travel": 240_001, "supplies": 559_999}, percent=20)
    assert not is_minor_change(before, {"travel": 159_999, "supplies": 640_001}, percent=20)


def test_the_base_is_the_smaller_one_not_the_larger():
    # 100,000 is 1/6 of the larger category: it is still 25% of the smaller, so not minor.
    before = {"travel": 400_000, "supplies": 600_000}
    assert is_minor_change(before, {"travel": 320_000, "supplies": 680_000}, percent=20)
    assert not is_minor_change(before, {"travel": 300_000, "supplies": 700_000}, percent=20)


def test_the_call_threshold_is_used():
    before = {"travel": 200_000, "supplies": 600_000}
    after = {"travel": 260_000, "supplies": 540_000}  # 30% of 200,000
    assert not is_minor_change(before, after, percent=20)
    assert is_minor_change(before, after, percent=30)
    assert not is_minor_change(before, {"travel": 200_001, "supplies": 599_999}, percent=0)


def test_no_change_is_minor():
    before = {"travel": 200_000, "supplies": 600_000}
    assert is_minor_change(before, dict(before), percent=20)
    assert is_minor_change(before, dict(before), percent=0)


def test_a_higher_total_is_never_minor():
    before = {"travel": 200_000, "supplies": 600_000}
    assert not is_minor_change(before, {"travel": 200_001, "supplies": 600_000}, percent=20)


def test_a_lower_total_within_the_threshold_is_minor():
    before = {"travel": 200_000, "supplies": 600_000}
    assert is_minor_change(before, {"travel": 160_000, "supplies": 600_000}, percent=20)
    assert not is_minor_change(before, {"travel": 159_999, "supplies": 600_000}, percent=20)


def test_a_new_category_is_never_minor():
    before = {"travel": 200_000, "supplies": 600_000}
    assert not is_minor_change(before, {"travel": 200_000, "supplies": 599_000, "printing": 1_000}, percent=20)
    # A category listed at 0 counts as absent.
    before_zero = {**before, "printing": 0}
    assert not is_minor_change(before_zero, {"travel": 200_000, "supplies": 599_000, "printing": 1_000}, percent=20)


def test_a_category_cut_to_nothing_is_not_minor_below_one_hundred_percent():
    before = {"travel": 10_000, "supplies": 600_000}
    assert not is_minor_change(before, {"supplies": 610_000}, percent=20)
    assert is_minor_change(before, {"supplies": 610_000}, percent=100)


def test_several_categories_are_measured_against_the_smallest_that_changes():
    before = {"honoraria": 300_000, "travel": 200_000, "rental": 400_000, "supplies": 600_000}
    # travel (the smallest changing: 200,000 → 40,000 allowed) gives 40,000 to two others.
    after = {"honoraria": 320_000, "travel": 160_000, "rental": 420_000, "supplies": 600_000}
    assert is_minor_change(before, after, percent=20)
    # rent and supplies exchange 60,000: within 20% of 400,000 (80,000); travel does not change.
    after = {"honoraria": 300_000, "travel": 200_000, "rental": 460_000, "supplies": 540_000}
    assert is_minor_change(before, after, percent=20)
    # the same exchange plus 1 yen moved from travel: travel now changes, so the base is 200,000.
    after = {"honoraria": 300_000, "travel": 199_999, "rental": 460_001, "supplies": 540_000}
    assert not is_minor_change(before, after, percent=20)
    # 40,000 each out of rent and supplies into honoraria (+80,000): honoraria's move is 80,000
    # > 20% of the smallest changing (300,000 → 60,000).
    after = {"honoraria": 380_000, "travel": 200_000, "rental": 360_000, "supplies": 560_000}
    assert not is_minor_change(before, after, percent=20)


def test_the_rule_is_not_symmetric_its_base_is_the_budget_before():
    # 100/100 → 120/80 moves 20 = 20% of 100; back again moves 20 > 20% of 80 (16).
    assert is_minor_change({"travel": 100, "supplies": 100}, {"travel": 120, "supplies": 80}, percent=20)
    assert not is_minor_change({"travel": 120, "supplies": 80}, {"travel": 100, "supplies": 100}, percent=20)


# --- properties ----------------------------------------------------------------------------------

amounts = st.integers(min_value=1, max_value=10**9)
percents = st.integers(min_value=0, max_value=100)
budgets = st.dictionaries(st.sampled_from(CATEGORIES), amounts, min_size=1, max_size=5)


def oracle(before: dict[str, int], after: dict[str, int], percent: int) -> bool:
    """The rule restated with exact fractions, one condition at a time."""
    keys = set(before) | set(after)
    b = {k: before.get(k, 0) for k in keys}
    a = {k: after.get(k, 0) for k in keys}
    if sum(a.values()) > sum(b.values()):
        return False
    if any(b[k] == 0 and a[k] != 0 for k in keys):
        return False
    changed = [k for k in keys if a[k] != b[k]]
    if not changed:
        return True
    limit = Fraction(percent, 100) * min(b[k] for k in changed)
    return all(abs(a[k] - b[k]) <= limit for k in changed)


@given(budgets, percents)
def test_no_change_is_always_minor(before, percent):
    assert is_minor_change(before, dict(before), percent=percent)


@given(budgets, st.dictionaries(st.sampled_from(CATEGORIES), st.integers(0, 10**9), max_size=5), percents)
def test_the_rule_agrees_with_its_statement_in_fractions(before, after, percent):
    assert is_minor_change(before, after, percent=percent) == oracle(before, after, percent)


@given(budgets, st.sampled_from(CATEGORIES), st.integers(1, 10**6), percents)
def test_raising_the_total_is_never_minor(before, category, extra, percent):
    after = dict(before)
    after[category] = after.get(category, 0) + extra
    assert not is_minor_change(before, after, percent=percent)


@given(amounts, amounts, st.integers(-(10**9), 10**9), percents, st.integers(1, 1000))
def test_scaling_every_amount_keeps_the_answer(x, y, shift, percent, factor):
    assume(x + shift > 0 and y - shift > 0)
    before, after = {"travel": x, "supplies": y}, {"travel": x + shift, "supplies": y - shift}
    scaled_before = {k: v * factor for k, v in before.items()}
    scaled_after = {k: v * factor for k, v in after.items()}
    assert is_minor_change(before, after, percent=percent) == is_minor_change(
        scaled_before, scaled_after, percent=percent
    )


@given(amounts, amounts, st.integers(1, 10**9), st.integers(0, 10**9), percents)
def test_a_smaller_shift_between_the_same_pair_is_minor_when_a_larger_one_is(x, y, shift, smaller, percent):
    assume(shift < y)
    smaller = min(smaller, shift)
    big = is_minor_change({"travel": x, "supplies": y}, {"travel": x + shift, "supplies": y - shift}, percent=percent)
    small = is_minor_change(
        {"travel": x, "supplies": y}, {"travel": x + smaller, "supplies": y - smaller}, percent=percent
    )
    assert small or not big


@given(amounts, amounts, st.integers(-(10**9), 10**9), percents)
def test_swapping_a_pure_two_category_shift(x, y, shift, percent):
    """Totals equal both ways. Where the shift is within the threshold of the smaller of all four
    amounts both directions are minor; where it exceeds the threshold of the larger of the two
    smaller amounts neither is; in between the direction decides (the base is the budget before,
    see test_the_rule_is_not_symmetric_its_base_is_the_budget_before)."""
    assume(shift != 0 and x + shift > 0 and y - shift > 0)
    before, after = {"travel": x, "supplies": y}, {"travel": x + shift, "supplies": y - shift}
    forward = is_minor_change(before, after, percent=percent)
    backward = is_minor_change(after, before, percent=percent)
    assert sum(before.values()) == sum(after.values())
    delta = abs(shift) * 100
    if delta <= percent * min(x, y, x + shift, y - shift):
        assert forward and backward
    if delta > percent * max(min(x, y), min(x + shift, y - shift)):
        assert not forward and not backward
    if x == y - shift and y == x + shift:  # the two amounts exchanged: the same smaller one both ways
        assert forward == backward
    assert forward == (delta <= percent * min(x, y))
    assert backward == (delta <= percent * min(x + shift, y - shift))
