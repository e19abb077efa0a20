"""Properties of reviews.ranking: weighted totals, the per-application ranking and calibration."""

import math
import statistics
from decimal import Decimal

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from reviews.ranking import (
    ApplicationRank,
    Criterion,
    ReviewScores,
    calibrate_totals,
    rank,
    reviewer_z_scores,
    weighted_total,
)

SETTINGS = settings(max_examples=200, deadline=None)

weights = st.one_of(
    st.decimals(min_value=Decimal("0.01"), max_value=Decimal("10"), places=2),
    st.floats(min_value=0.01, max_value=10),
    st.integers(min_value=1, max_value=10),
)


@st.composite
def criteria_lists(draw) -> list[Criterion]:
    ids = draw(st.lists(st.integers(1, 1000), min_size=1, max_size=5, unique=True))
    return [Criterion(i, draw(st.integers(1, 10)), draw(weights)) for i in ids]


@st.composite
def criteria_and_scores(draw) -> tuple[list[Criterion], dict[int, int]]:
    criteria = draw(criteria_lists())
    return criteria, {c.id: draw(st.integers(0, c.max_score)) for c in criteria}


@st.composite
def criteria_and_reviews(draw) -> tuple[list[Criterion], list[ReviewScores]]:
    criteria = draw(criteria_lists())
    keys = draw(st.sets(st.tuples(st.integers(1, 8), st.integers(1, 5)), max_size=25))
    reviews = [ReviewScores(a, r, {c.id: draw(st.integers(0, c.max_score)) for c in criteria}) for a, r in sorted(keys)]
    return criteria, reviews


def totals_of(draw_values) -> st.SearchStrategy[list[tuple[int, int, float]]]:
    """Lists of (application, reviewer, total), each pair once."""
    return st.dictionaries(st.tuples(st.integers(1, 10), st.integers(1, 4)), draw_values, min_size=1, max_size=30).map(
        lambda d: [(a, r, t) for (a, r), t in sorted(d.items())]
    )


any_totals = totals_of(st.floats(min_value=0, max_value=100))
# Totals on a half-point grid in 30..70: exact sums, reviewer sds bounded away from 0, and room to shift.
grid_totals = totals_of(st.integers(60, 140).map(lambda x: x / 2))


# weighted_total


@SETTINGS
@given(criteria_and_scores())
def test_weighted_total_is_between_0_and_100(case):
    criteria, scores = case
    assert 0 <= weighted_total(criteria, scores) <= 100


@SETTINGS
@given(criteria_lists())
def test_weighted_total_is_100_at_all_max_and_0_at_all_zero(criteria):
    assert weighted_total(criteria, {c.id: c.max_score for c in criteria}) == 100.0
    assert weighted_total(criteria, {c.id: 0 for c in criteria}) == 0.0


@SETTINGS
@given(criteria_and_scores(), st.integers(1, 10**6))
def test_scaling_all_weights_changes_nothing(case, factor):
    criteria, scores = case
    scaled = [Criterion(c.id, c.max_score, c.weight * factor) for c in criteria]
    assert math.isclose(weighted_total(scaled, scores), weighted_total(criteria, scores), rel_tol=1e-12, abs_tol=1e-12)


def test_weighted_total_example():
    criteria = [Criterion(1, 5, Decimal("2")), Criterion(2, 10, 1.0)]
    # 100 * (2*4 + 1*5) / (2*5 + 1*10) = 100 * 13 / 20
    assert weighted_total(criteria, {1: 4, 2: 5}) == 65.0


@pytest.mark.parametrize(
    "criteria, scores",
    [
        ([Criterion(1, 5, 1), Criterion(2, 5, 1)], {1: 3}),  # missing criterion
        ([Criterion(1, 5, 1)], {1: 6}),  # above max
        ([Criterion(1, 5, 1)], {1: -1}),  # below 0
        ([Criterion(1, 5, 1)], {1: 2, 9: 1}),  # unknown criterion
        ([Criterion(1, 5, 0)], {1: 2}),  # weight 0
        ([Criterion(1, 5, Decimal("-1"))], {1: 2}),  # negative weight
        ([Criterion(1, 5, float("nan"))], {1: 2}),  # not a number
        ([Criterion(1, 0, 1)], {1: 0}),  # max_score 0
        ([Criterion(1, 5, 1), Criterion(1, 5, 1)], {1: 2}),  # duplicate ids
        ([], {}),
    ],
)
def test_weighted_total_guards(criteria, scores):
    with pytest.raises(ValueError):
        weighted_total(criteria, scores)


# rank


@SETTINGS
@given(criteria_and_reviews(), st.booleans())
def test_rank_mean_and_spread_match_statistics(case, calibrate):
    criteria, reviews = case
    result = rank(criteria, reviews, calibrate=calibrate)
    assert {line.application_id for line in result} == {r.application_id for r in reviews}
    for line in result:
        mine = {
            r.reviewer_id: weighted_total(criteria, r.scores)
            for r in reviews
            if r.application_id == line.application_id
        }
        assert line.reviewer_totals == mine
        assert line.n_reviews == len(mine)
        assert line.mean == statistics.mean(mine.values())
        assert line.spread == statistics.pstdev(mine.values())


@SETTINGS
@given(criteria_and_reviews())
def test_rank_calibrated_fields(case):
    criteria, reviews = case
    totals = [(r.application_id, r.reviewer_id, weighted_total(criteria, r.scores)) for r in reviews]
    calibrated = calibrate_totals(totals)
    for line in rank(criteria, reviews, calibrate=True):
        assert line.calibrated_totals == {r: calibrated[(line.application_id, r)] for r in line.reviewer_totals}
        assert line.calibrated_mean == statistics.mean(line.calibrated_totals.values())
        assert 0 <= line.calibrated_mean <= 100
    for line in rank(criteria, reviews, calibrate=False):
        assert line.calibrated_mean is None
        assert line.calibrated_totals == {}


@SETTINGS
@given(criteria_and_reviews(), st.booleans())
def test_rank_is_sorted_by_score_then_id(case, calibrate):
    criteria, reviews = case
    result = rank(criteria, reviews, calibrate=calibrate)
    keys = [(-(line.calibrated_mean if calibrate else line.mean), line.application_id) for line in result]
    assert keys == sorted(keys)


@SETTINGS
@given(st.data(), criteria_and_reviews(), st.booleans())
def test_rank_ignores_input_order(data, case, calibrate):
    criteria, reviews = case
    shuffled = data.draw(st.permutations(reviews))
    assert rank(criteria, shuffled, calibrate=calibrate) == rank(criteria, reviews, calibrate=calibrate)


def test_rank_refuses_two_reviews_by_one_reviewer_of_one_application():
    criteria = [Criterion(1, 5, 1)]
    with pytest.raises(ValueError):
        rank(criteria, [ReviewScores(1, 7, {1: 2}), ReviewScores(1, 7, {1: 3})], calibrate=False)


def test_rank_without_reviews_is_empty():
    assert rank([Criterion(1, 5, 1)], [], calibrate=True) == []


# calibrate_totals


@SETTINGS
@given(any_totals)
def test_calibrated_values_are_within_0_and_100(totals):
    calibrated = calibrate_totals(totals)
    assert set(calibrated) == {(a, r) for a, r, _ in totals}
    assert all(0 <= value <= 100 for value in calibrated.values())


@SETTINGS
@given(any_totals, st.floats(min_value=0, max_value=100))
def test_a_reviewer_with_one_review_gets_the_global_mean(totals, total):
    totals = [*totals, (1, 999, total)]
    assert calibrate_totals(totals)[(1, 999)] == statistics.mean(t for _, _, t in totals)


@SETTINGS
@given(any_totals, st.floats(min_value=0, max_value=100))
def test_a_reviewer_giving_one_total_to_everything_gets_the_global_mean(totals, total):
    totals = [*totals, (1, 999, total), (2, 999, total), (3, 999, total)]
    calibrated = calibrate_totals(totals)
    mu_all = statistics.mean(t for _, _, t in totals)
    assert calibrated[(1, 999)] == calibrated[(2, 999)] == calibrated[(3, 999)] == mu_all


def _standing(totals: list[tuple[int, int, float]]) -> dict[tuple[int, int], float]:
    """(calibrated − μ_all) / σ_all of every review whose calibrated value was not clamped."""
    values = [t for _, _, t in totals]
    mu_all, sigma_all = statistics.mean(values), statistics.pstdev(values)
    assume(sigma_all > 0)
    return {key: (c - mu_all) / sigma_all for key, c in calibrate_totals(totals).items() if 0 < c < 100}


def _assert_same_calibration(before: list[tuple[int, int, float]], after: list[tuple[int, int, float]]) -> None:
    """Every z-score is unchanged, and so is every unclamped review's standing on the global scale."""
    z_before, z_after = reviewer_z_scores(before), reviewer_z_scores(after)
    assert z_before.keys() == z_after.keys()
    for key in z_before:
        assert math.isclose(z_before[key], z_after[key], abs_tol=1e-9)
    standing_before, standing_after = _standing(before), _standing(after)
    for key in standing_before.keys() & standing_after.keys():
        assert math.isclose(standing_before[key], standing_after[key], abs_tol=1e-9)
        assert math.isclose(standing_after[key], z_after[key], abs_tol=1e-9)


@SETTINGS
@given(st.data(), grid_totals, st.integers(-30, 30))
def test_a_uniformly_harsh_reviewer_is_calibrated_away(data, totals, shift):
    # μ_all and σ_all include the shifted totals, so the calibrated numbers themselves move with the
    # global scale; what must not move is where each review stands on it (its z-score).
    reviewer = data.draw(st.sampled_from(sorted({r for _, r, _ in totals})))
    harsher = [(a, r, t + shift if r == reviewer else t) for a, r, t in totals]
    _assert_same_calibration(totals, harsher)


@SETTINGS
@given(st.data(), grid_totals, st.sampled_from([0.25, 0.5, 1.5, 2.0]))
def test_a_reviewer_using_a_wider_or_narrower_range_is_calibrated_away(data, totals, factor):
    reviewer = data.draw(st.sampled_from(sorted({r for _, r, _ in totals})))
    mu_r = statistics.mean(t for _, r, t in totals if r == reviewer)
    stretched = [(a, r, mu_r + factor * (t - mu_r) if r == reviewer else t) for a, r, t in totals]
    assume(all(0 <= t <= 100 for _, _, t in stretched))
    _assert_same_calibration(totals, stretched)


@SETTINGS
@given(st.data(), any_totals)
def test_calibration_ignores_input_order(data, totals):
    assert calibrate_totals(data.draw(st.permutations(totals))) == calibrate_totals(totals)


def test_calibration_guards():
    with pytest.raises(ValueError):
        calibrate_totals([(1, 1, 50.0), (1, 1, 60.0)])
    with pytest.raises(ValueError):
        calibrate_totals([(1, 1, 100.5)])
    with pytest.raises(ValueError):
        calibrate_totals([(1, 1, float("nan"))])
    assert calibrate_totals([]) == {}


# Concrete examples: one criterion scored 0..100 with weight 1, so a score is its own weighted total.

ONE = [Criterion(1, 100, Decimal("1"))]
HARSH, LENIENT = 1, 2
X, Y = 10, 20


def _review(application: int, reviewer: int, total: int) -> ReviewScores:
    return ReviewScores(application, reviewer, {1: total})


SHARED = [
    _review(1, HARSH, 40),
    _review(2, HARSH, 50),
    _review(3, HARSH, 60),
    _review(1, LENIENT, 80),
    _review(2, LENIENT, 90),
    _review(3, LENIENT, 100),
]


def test_harsh_and_lenient_reviewers_agreeing_on_the_order():
    # Both reviewers: z = −√1.5, 0, +√1.5 for applications 1, 2, 3 (μ_r 50/90, σ_r = √(200/3)).
    # μ_all = 70, σ_all = √(2800/6) ≈ 21.602; calibrated 70 ∓ √1.5·21.602 ≈ 43.54, 70, 96.46.
    raw = rank(ONE, SHARED, calibrate=False)
    calibrated = rank(ONE, SHARED, calibrate=True)
    assert [line.application_id for line in raw] == [3, 2, 1]
    assert [line.mean for line in raw] == [80, 70, 60]
    assert [line.application_id for line in calibrated] == [3, 2, 1]
    assert [round(line.calibrated_mean, 2) for line in calibrated] == [96.46, 70.0, 43.54]
    assert calibrated[0] == ApplicationRank(
        application_id=3,
        n_reviews=2,
        mean=80.0,
        spread=20.0,
        calibrated_mean=calibrated[0].calibrated_mean,
        reviewer_totals={HARSH: 60.0, LENIENT: 100.0},
        calibrated_totals=calibrated[0].calibrated_totals,
    )
    # The two reviewers agree once calibrated: same value for both on every application.
    for line in calibrated:
        assert math.isclose(line.calibrated_totals[HARSH], line.calibrated_totals[LENIENT])
        assert line.spread == 20.0


def test_calibration_changes_the_order():
    # X read only by the harsh reviewer, who gave it their best total (70);
    # Y read only by the lenient reviewer, who gave it their worst (75). Raw: Y (75) ahead of X (70).
    #
    # Harsh:   40 50 60 70     μ = 55,    σ = √125 ≈ 11.180     z(X) = 15/11.180 ≈ +1.342
    # Lenient: 75 80 90 100    μ = 86.25, σ = √92.1875 ≈ 9.601  z(Y) = −11.25/9.601 ≈ −1.172
    # All eight totals: μ_all = 565/8 = 70.625, σ_all = √(2821.875/8) ≈ 18.781
    # calibrated X = 70.625 + 1.342·18.781 ≈ 95.82; calibrated Y = 70.625 − 1.172·18.781 ≈ 48.62.
    # Application 1: z = (−15/11.180, −6.25/9.601) = (−1.342, −0.651) → 45.43, 58.40 → mean 51.91,
    # so Y falls from second to last and X rises from fourth to first (no value is clamped: the
    # largest, 100 by the lenient reviewer, calibrates to 70.625 + 1.432·18.781 ≈ 97.52).
    reviews = [*SHARED, _review(X, HARSH, 70), _review(Y, LENIENT, 75)]
    raw = rank(ONE, reviews, calibrate=False)
    calibrated = rank(ONE, reviews, calibrate=True)
    assert [(line.application_id, line.mean) for line in raw] == [(3, 80), (Y, 75), (2, 70), (X, 70), (1, 60)]
    assert [(line.application_id, round(line.calibrated_mean, 2)) for line in calibrated] == [
        (X, 95.82),
        (3, 88.27),
        (2, 70.09),
        (1, 51.91),
        (Y, 48.62),
    ]
