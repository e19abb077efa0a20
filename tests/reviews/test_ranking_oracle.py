"""reviews/ranking.py (integer points and plain floats, run once per change) against the exact
implementation it replaced (reviews/ranking_exact.py: Fractions and :mod:`statistics`, the oracle).

The documented rounding promises the very same floats; these properties check that bit for bit,
and then what the pages depend on: the same values at the displayed precision (one decimal, as
Django's ``floatformat:1`` shows them) and the same order of the ranking, ties included."""

from decimal import ROUND_HALF_UP, Decimal

from hypothesis import example, given, settings
from hypothesis import strategies as st

from reviews import ranking, ranking_exact

SETTINGS = settings(max_examples=300, deadline=None)

weights = st.one_of(
    st.decimals(min_value=Decimal("0.01"), max_value=Decimal("999.99"), places=2),
    st.floats(min_value=0.01, max_value=10),
    st.integers(min_value=1, max_value=10),
)


@st.composite
def rubrics(draw) -> list[tuple[int, int, object]]:
    ids = draw(st.lists(st.integers(1, 1000), min_size=1, max_size=6, unique=True))
    return [(i, draw(st.integers(1, 20)), draw(weights)) for i in ids]


@st.composite
def rounds(draw):
    """A rubric and the complete reviews of a round: up to 12 applications and 6 reviewers (so
    most reviewers read several applications and calibration has something to do)."""
    rubric = draw(rubrics())
    keys = draw(st.sets(st.tuples(st.integers(1, 12), st.integers(1, 6)), max_size=60))
    # Scores from a few levels make equal totals and equal means (ties) common.
    reviews = [(a, r, {i: draw(st.integers(0, m)) for i, m, _w in rubric}) for a, r in sorted(keys)]
    return rubric, reviews


def both(rubric, reviews):
    fast = [ranking.Criterion(i, m, w) for i, m, w in rubric], [ranking.ReviewScores(*r) for r in reviews]
    exact = [ranking_exact.Criterion(i, m, w) for i, m, w in rubric], [ranking_exact.ReviewScores(*r) for r in reviews]
    return fast, exact


def shown(value: float | None) -> str | None:
    """A figure as the pages show it: ``floatformat:1`` (the float's repr, rounded half up)."""
    if value is None:
        return None
    return str(Decimal(repr(value)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


any_totals = st.dictionaries(
    st.tuples(st.integers(1, 10), st.integers(1, 4)), st.floats(min_value=0, max_value=100), min_size=1, max_size=40
).map(lambda d: [(a, r, t) for (a, r), t in sorted(d.items())])


@SETTINGS
@given(rubrics(), st.data())
def test_a_weighted_total_is_the_same_float(rubric, data):
    scores = {i: data.draw(st.integers(0, m)) for i, m, _w in rubric}
    fast = ranking.weighted_total([ranking.Criterion(i, m, w) for i, m, w in rubric], scores)
    exact = ranking_exact.weighted_total([ranking_exact.Criterion(i, m, w) for i, m, w in rubric], scores)
    assert fast == exact


@SETTINGS
@given(rounds(), st.booleans())
@example(([(1, 5, 1)], [(1, 1, {1: 3}), (1, 2, {1: 4}), (2, 1, {1: 4}), (2, 2, {1: 3})]), True)
@example(
    (
        [(1, 3, Decimal("0.3")), (2, 7, 0.1)],
        [(a, r, {1: (a + r) % 4, 2: (a * r) % 8}) for a in range(1, 6) for r in range(1, 5)],
    ),
    True,
)
def test_the_ranking_is_the_same_floats_in_the_same_order(case, calibrate):
    (criteria, reviews), (exact_criteria, exact_reviews) = both(*case)
    fast = ranking.rank(criteria, reviews, calibrate=calibrate)
    exact = ranking_exact.rank(exact_criteria, exact_reviews, calibrate=calibrate)
    assert [line.application_id for line in fast] == [line.application_id for line in exact]
    for mine, theirs in zip(fast, exact, strict=True):
        assert mine.n_reviews == theirs.n_reviews
        assert mine.mean == theirs.mean
        assert mine.spread == theirs.spread
        assert mine.calibrated_mean == theirs.calibrated_mean
        assert mine.reviewer_totals == theirs.reviewer_totals
        assert mine.calibrated_totals == theirs.calibrated_totals
        # what the pages show
        assert shown(mine.mean) == shown(theirs.mean)
        assert shown(mine.spread) == shown(theirs.spread)
        assert shown(mine.calibrated_mean) == shown(theirs.calibrated_mean)


@SETTINGS
@given(any_totals)
def test_calibration_is_the_same_floats_for_any_totals(totals):
    assert ranking.reviewer_z_scores(totals) == ranking_exact.reviewer_z_scores(totals)
    assert ranking.calibrate_totals(totals) == ranking_exact.calibrate_totals(totals)
    fast = ranking.reviewer_calibration(totals)
    exact = ranking_exact.reviewer_calibration(totals)
    assert [(c.reviewer_id, c.n_reviews, c.verdict) for c in fast] == [
        (c.reviewer_id, c.n_reviews, c.verdict) for c in exact
    ]
    for mine, theirs in zip(fast, exact, strict=True):
        assert (mine.mean, mine.spread, mine.difference, mine.standing) == (
            theirs.mean,
            theirs.spread,
            theirs.difference,
            theirs.standing,
        )


@SETTINGS
@given(any_totals)
def test_round_figures_match_the_oracle_for_any_totals(totals):
    """The one-pass figures the store keeps: per application (mean, spread, calibrated mean), and
    the panel the calibration page shows."""
    import statistics

    figures = ranking.round_figures(totals)
    exact = {line.application_id: line for line in ranking_exact_rank_of_totals(totals)}
    assert set(figures.applications) == set(exact)
    for a, line in figures.applications.items():
        assert (line.mean, line.spread, line.calibrated_mean) == (
            exact[a].mean,
            exact[a].spread,
            exact[a].calibrated_mean,
        )
    values = [t for _a, _r, t in totals]
    assert (figures.panel.n, figures.panel.mean, figures.panel.spread) == (
        len(values),
        statistics.mean(values),
        statistics.pstdev(values),
    )


def ranking_exact_rank_of_totals(totals):
    """The oracle's per-application figures straight from totals (its rank() starts from scores)."""
    import statistics
    from collections import defaultdict

    calibrated = ranking_exact.calibrate_totals(totals)
    by_application = defaultdict(dict)
    for a, r, t in totals:
        by_application[a][r] = t
    return [
        ranking_exact.ApplicationRank(
            a,
            len(ts),
            statistics.mean(ts.values()),
            statistics.pstdev(ts.values()),
            statistics.mean(calibrated[(a, r)] for r in ts),
            ts,
            {},
        )
        for a, ts in by_application.items()
    ]


def test_an_empty_round_has_no_figures():
    figures = ranking.round_figures([])
    assert figures.applications == {} and figures.reviewers == [] and figures.panel is None
