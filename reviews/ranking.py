"""Scores of grant reviews: weighted totals, the per-application ranking and reviewer calibration.

Pure Python (standard library only) so that it can be property-tested; reviews/ranking_store.py
runs it once per change of a round's reviews and stores what it returns, the pages read that.

Weighted total
    A review's scores ``s_c`` on the criteria ``c`` (weight ``w_c`` > 0, maximum ``max_c`` ≥ 1) give
    ``total = 100 * Σ w_c * s_c / Σ w_c * max_c``, a number in 0..100. All-maximum is exactly 100
    and all-zero exactly 0.

Ranking
    Per application: ``mean`` of its reviews' totals and ``spread``, their population standard
    deviation (0 for a single review).

Calibration (removes each reviewer's personal harshness or leniency)
    For reviewer ``r`` with totals ``t`` over all the reviews ``r`` did (across applications)::

        μ_r, σ_r     = mean and population sd of r's totals
        z            = (t − μ_r) / σ_r          if r did ≥ 2 reviews and σ_r > 0
        z            = 0                        otherwise
        μ_all, σ_all = mean and population sd of all totals (every review of every reviewer)
        calibrated   = clamp(μ_all + z * σ_all, 0, 100)

    A reviewer with one review, or who gave every application the same total, tells us nothing about
    the relative order of the applications they read, so their reviews count as exactly average
    (``z = 0``, ``calibrated = μ_all``) rather than being dropped: the application still has a score.
    Shifting or stretching one reviewer's totals (``t → a + b*t`` with ``b > 0``) leaves every z-score
    unchanged; the calibrated values then move only through ``μ_all``/``σ_all``, by the same increasing
    map for every review, so the standing ``(calibrated − μ_all) / σ_all`` of every review is unchanged
    as long as clamping is not hit. ``calibrated_mean`` is the mean of an application's calibrated totals.

Rounding (documented; the oracle is reviews/ranking_exact.py, the Fraction code used until issue 14)
    Every figure is a float, and every figure is *the float nearest to the exact result* of its
    formula applied to the floats it is made of — so they are the very same floats the exact
    implementation gives, bit for bit (tests/reviews/test_ranking_oracle.py checks this with
    hypothesis), and hence the same displayed values (one decimal) and the same order, ties included:

    - a total: the weights are made integers once per rubric (their common denominator), so
      ``Σ w_c * s_c`` and ``Σ w_c * max_c`` are integer points ``A`` and ``P``; ``100 * A / P`` is one
      integer division, which Python rounds correctly;
    - a mean or population sd of one or two floats: ``t``, ``0``; ``(a + b) / 2``, ``|a − b| / 2``
      (one correctly rounded addition or subtraction, then an exact halving);
    - of more: the floats are read as integers at one common binary scale (exact), summed as
      integers, and the mean is one integer division; the sd is the correctly rounded square root
      (integer ``isqrt`` with round-to-odd, as :func:`statistics.pstdev` does) of the exact variance;
    - the z-scores and calibrated totals are the plain float expressions written above.

All results are exact functions of their input set: shuffling the input changes nothing.
"""

from __future__ import annotations

import math
import sys
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import NamedTuple

__all__ = [
    "ApplicationFigures",
    "ApplicationRank",
    "Criterion",
    "Panel",
    "ReviewScores",
    "ReviewerCalibration",
    "RoundFigures",
    "Rubric",
    "calibrate_totals",
    "rank",
    "reviewer_calibration",
    "reviewer_z_scores",
    "round_figures",
    "weighted_total",
]

Key = tuple[int, int]  # (application id, reviewer id)


@dataclass(frozen=True)
class Criterion:
    """One rubric criterion: scores are integers ``0..max_score``, weighted by ``weight`` (> 0)."""

    id: int
    max_score: int
    weight: Decimal | float


@dataclass(frozen=True)
class ReviewScores:
    """One complete, submitted review: criterion id → integer score."""

    application_id: int
    reviewer_id: int
    scores: dict[int, int]


@dataclass(frozen=True)
class ApplicationRank:
    """One application's line of the ranking; the ``*_totals`` map reviewer id → total (0..100).

    A line read back from the stored ranking (reviews/ranking_store.py) leaves the two maps empty:
    the pages show the figures, not each reviewer's total."""

    application_id: int
    n_reviews: int
    mean: float
    spread: float
    calibrated_mean: float | None
    reviewer_totals: dict[int, float] = field(default_factory=dict)
    calibrated_totals: dict[int, float] = field(default_factory=dict)


# --- weighted totals ----------------------------------------------------------------------------


def _weight(criterion: Criterion) -> Fraction:
    try:
        weight = Fraction(criterion.weight)
    except (ValueError, OverflowError, TypeError) as error:
        raise ValueError(f"criterion {criterion.id}: weight {criterion.weight!r} is not a finite number") from error
    if weight <= 0:
        raise ValueError(f"criterion {criterion.id}: weight must be > 0, got {criterion.weight!r}")
    return weight


class Rubric:
    """A rubric checked once (non-empty, distinct ids, ``max_score`` ≥ 1, weight > 0), with its
    weights as integers over their common denominator: a review's total is then one integer division."""

    def __init__(self, criteria: list[Criterion]):
        if not criteria:
            raise ValueError("no criteria")
        if len({c.id for c in criteria}) != len(criteria):
            raise ValueError("duplicate criterion ids")
        for criterion in criteria:
            if criterion.max_score < 1:
                raise ValueError(f"criterion {criterion.id}: max_score must be ≥ 1, got {criterion.max_score}")
        weights = [(criterion, _weight(criterion)) for criterion in criteria]
        denominator = math.lcm(*(weight.denominator for _, weight in weights))
        self.criteria = [(c.id, c.max_score, int(w * denominator)) for c, w in weights]
        self.ids = frozenset(c.id for c in criteria)
        self.possible = sum(points * max_score for _, max_score, points in self.criteria)

    def __len__(self) -> int:
        return len(self.criteria)

    def total(self, scores: Mapping[int, int]) -> float:
        """``100 * Σ w_c * s_c / Σ w_c * max_c`` in 0..100, or ValueError (see :func:`weighted_total`)."""
        if not self.ids.issuperset(scores):
            raise ValueError(f"scores for unknown criteria {sorted(set(scores) - self.ids)}")
        achieved = 0
        for criterion_id, max_score, points in self.criteria:
            if criterion_id not in scores:
                raise ValueError(f"missing score for criterion {criterion_id}")
            score = scores[criterion_id]
            if not isinstance(score, int) or not 0 <= score <= max_score:
                raise ValueError(f"criterion {criterion_id}: score {score!r} outside 0..{max_score}")
            achieved += points * score
        return 100 * achieved / self.possible  # int / int: correctly rounded


def weighted_total(criteria: list[Criterion], scores: Mapping[int, int]) -> float:
    """``100 * Σ w_c * s_c / Σ w_c * max_c``, in 0..100.

    Raises ValueError when a criterion has no score, a score is not an integer in ``0..max_score``,
    a score names an unknown criterion, or the criteria are empty, duplicated, or have a weight ≤ 0
    or a ``max_score`` < 1 (the caller validates; this is a guard).
    """
    return Rubric(criteria).total(scores)


# --- exact mean and population sd of floats, correctly rounded ----------------------------------

_SQRT_BIT_WIDTH = 2 * sys.float_info.mant_dig + 3
_TINY = 2.0**-1000  # below this, halving a float may round (subnormals): take the exact path


def _sqrt_of_fraction(n: int, m: int) -> float:
    """√(n/m) as a float, correctly rounded (round-to-odd on an integer square root wide enough,
    then one rounding to float; the method of :func:`statistics.pstdev`)."""
    q = (n.bit_length() - m.bit_length() - _SQRT_BIT_WIDTH) // 2
    if q >= 0:
        n, m, shift, denominator = n, m << 2 * q, q, 1
    else:
        n, m, shift, denominator = n << -2 * q, m, 0, 1 << -q
    root = math.isqrt(n // m)
    root |= root * root * m != n
    return (root << shift) / denominator


def _scale(values: Iterable[float]) -> tuple[dict[float, int], int]:
    """Each distinct float as an integer ``N`` with ``value == N / 2**k``, one ``k`` for all (exact)."""
    ratios = {value: value.as_integer_ratio() for value in set(values)}
    k = max((d.bit_length() - 1 for _, d in ratios.values()), default=0)
    return {value: n << (k - d.bit_length() + 1) for value, (n, d) in ratios.items()}, k


def _scaled_stats(ints: list[int], k: int) -> tuple[float, float]:
    """Mean and population sd of ``ints / 2**k``, each the float nearest the exact value."""
    n = len(ints)
    s = sum(ints)
    ss = n * sum(i * i for i in ints) - s * s
    return s / (n << k), _sqrt_of_fraction(ss, (n * n) << (2 * k))


def _stats(values: list[float], scaled: dict[float, int] | None = None, k: int = 0) -> tuple[float, float]:
    """(mean, population sd) of ``values``, the floats nearest the exact results (``scaled``/``k``:
    the integers of :func:`_scale` when the caller has them already)."""
    n = len(values)
    if n == 1:
        return values[0] + 0.0, 0.0
    if n == 2:
        a, b = values
        s, d = a + b, abs(a - b)
        if (s >= _TINY or s == 0) and (d >= _TINY or d == 0):
            return s / 2, d / 2
    if scaled is None:
        scaled, k = _scale(values)
    return _scaled_stats([scaled[v] for v in values], k)


def _mean(values: list[float]) -> float:
    n = len(values)
    if n == 1:
        return values[0] + 0.0
    if n == 2:
        s = values[0] + values[1]
        if s >= _TINY or s == 0:
            return s / 2
    scaled, k = _scale(values)
    return sum(scaled[v] for v in values) / (n << k)


# --- one pass over a round: ranking, calibration, panel ----------------------------------------


def _check_totals(totals: Iterable[tuple[int, int, float]]) -> list[tuple[int, int, float]]:
    checked = list(totals)
    if len({(a, r) for a, r, _ in checked}) != len(checked):
        raise ValueError("more than one total for the same (application, reviewer)")
    for a, r, t in checked:
        if not (math.isfinite(t) and 0 <= t <= 100):
            raise ValueError(f"total {t!r} of ({a}, {r}) outside 0..100")
    return checked


# A reviewer whose mean is this many panel standard deviations or more from the panel's mean is
# named harsh or lenient on the staff page (the calibration above corrects exactly this).
OUTLIER_SD = 0.5


@dataclass(frozen=True)
class ReviewerCalibration:
    """One reviewer against the panel, on the totals :func:`calibrate_totals` reads.

    ``mean`` and ``spread`` are the reviewer's μ_r and σ_r (the offset and scale the calibration
    takes away). ``difference`` is ``μ_r − μ_all`` (points of 0..100); ``standing`` is it in panel
    standard deviations (``difference / σ_all``; 0 when σ_all is 0). ``verdict``: ``too_few`` (one
    review: the calibration counts it as average), ``flat`` (σ_r == 0: every review the same total,
    also counted as average), ``harsh`` / ``lenient`` (``|standing| ≥ OUTLIER_SD``), else ``in_line``.
    """

    reviewer_id: int
    n_reviews: int
    mean: float
    spread: float
    difference: float
    standing: float
    verdict: str


@dataclass(frozen=True)
class Panel:
    """Every total of the round: how many, their mean μ_all and population sd σ_all."""

    n: int
    mean: float
    spread: float


class ApplicationFigures(NamedTuple):
    """An application's figures in a round: how many totals, their mean and population sd, and
    the mean of their calibrated values."""

    n_reviews: int
    mean: float
    spread: float
    calibrated_mean: float


@dataclass(frozen=True)
class RoundFigures:
    """Everything the pages show of a round, from one pass over its totals: the figures of each
    application with at least one total (``applications``, by id), each reviewer against the
    panel (by reviewer id) and the panel (None without totals)."""

    applications: dict[int, ApplicationFigures]
    reviewers: list[ReviewerCalibration]
    panel: Panel | None


def _verdict(n: int, spread: float, standing: float) -> str:
    if n < 2:
        return "too_few"
    if spread == 0:
        return "flat"
    if standing <= -OUTLIER_SD:
        return "harsh"
    if standing >= OUTLIER_SD:
        return "lenient"
    return "in_line"


def _reviewers(
    checked: list[tuple[int, int, float]],
) -> tuple[Panel, dict[int, ReviewerCalibration], dict[float, int], int]:
    """The panel and each reviewer's line (by id) from validated, non-empty totals; also the totals
    as scaled integers (:func:`_scale`) for the callers' own exact sums."""
    scaled, k = _scale(t for _, _, t in checked)
    panel_mean, panel_spread = _scaled_stats([scaled[t] for _, _, t in checked], k)
    by_reviewer: dict[int, list[float]] = defaultdict(list)
    for _, r, t in checked:
        by_reviewer[r].append(t)
    lines = {}
    for r, ts in sorted(by_reviewer.items()):
        mean, spread = _stats(ts, scaled, k)
        difference = mean - panel_mean
        standing = difference / panel_spread if panel_spread > 0 else 0.0
        verdict = _verdict(len(ts), spread, standing)
        lines[r] = ReviewerCalibration(r, len(ts), mean, spread, difference, standing, verdict)
    return Panel(len(checked), panel_mean, panel_spread), lines, scaled, k


def _z_and_calibrated(
    checked: list[tuple[int, int, float]], panel: Panel, lines: dict[int, ReviewerCalibration]
) -> list[tuple[float, float]]:
    """Each total's z-score and calibrated total, in the order of ``checked``."""
    # A reviewer with fewer than 2 totals or σ_r == 0 gives z = 0 (σ_r stored as 0 here).
    offsets = {
        r: (line.mean, line.spread if line.n_reviews >= 2 and line.spread > 0 else 0.0) for r, line in lines.items()
    }
    mu, sigma = panel.mean, panel.spread
    out = []
    append = out.append
    for _a, r, t in checked:
        mean, spread = offsets[r]
        z = (t - mean) / spread if spread else 0.0
        if sigma == 0:
            append((z, mu))
            continue
        c = mu + z * sigma  # clamped to 0..100 (as min(100.0, max(0.0, c)), without the calls)
        append((z, c if 0.0 < c < 100.0 else (0.0 if c <= 0.0 else 100.0)))
    return out


def _application_figures(
    checked: list[tuple[int, int, float]], panel: Panel, lines: dict[int, ReviewerCalibration], scaled, k: int
) -> dict[int, ApplicationFigures]:
    """Application id → its figures, in one loop over the totals (the calibrated totals as in
    :func:`_z_and_calibrated`; the one- and two-review cases, most applications, inline)."""
    offsets = {
        r: (line.mean, line.spread if line.n_reviews >= 2 and line.spread > 0 else 0.0) for r, line in lines.items()
    }
    mu, sigma = panel.mean, panel.spread
    by_application: dict[int, list[float]] = {}  # t1, c1, t2, c2, …
    for a, r, t in checked:
        if sigma == 0:
            c = mu
        else:
            mean, spread = offsets[r]
            c = mu + ((t - mean) / spread if spread else 0.0) * sigma
            if not 0.0 < c < 100.0:
                c = 0.0 if c <= 0.0 else 100.0
        values = by_application.get(a)
        if values is None:
            by_application[a] = [t, c]
        else:
            values += (t, c)
    figures = {}
    for a, values in by_application.items():
        if len(values) == 2:
            t, c = values
            figures[a] = ApplicationFigures(1, t + 0.0, 0.0, c + 0.0)
            continue
        if len(values) == 4:
            t1, c1, t2, c2 = values
            s, d, sc = t1 + t2, abs(t1 - t2), c1 + c2
            if (s >= _TINY or s == 0) and (d >= _TINY or d == 0) and (sc >= _TINY or sc == 0):
                figures[a] = ApplicationFigures(2, s / 2, d / 2, sc / 2)
                continue
        mean, spread = _stats(values[0::2], scaled, k)
        figures[a] = ApplicationFigures(len(values) // 2, mean, spread, _mean(values[1::2]))
    return figures


def round_figures(totals: Iterable[tuple[int, int, float]], *, checked: bool = False) -> RoundFigures:
    """The ranking (calibrated as well), the reviewers' calibration and the panel of a round, from
    ``(application id, reviewer id, total)`` with totals in 0..100, each pair at most once (pass
    ``checked=True`` when the caller guarantees that already, as the database's constraints do)."""
    rows = list(totals) if checked else _check_totals(totals)
    if not rows:
        return RoundFigures({}, [], None)
    panel, lines, scaled, k = _reviewers(rows)
    return RoundFigures(_application_figures(rows, panel, lines, scaled, k), list(lines.values()), panel)


def reviewer_z_scores(totals: Iterable[tuple[int, int, float]]) -> dict[Key, float]:
    """Each total as a z-score within its reviewer: ``(t − μ_r) / σ_r`` (population σ).

    0 for a reviewer with fewer than 2 totals or σ_r == 0 (no information about relative order).
    Input: ``(application id, reviewer id, total)`` with totals in 0..100, each pair at most once.
    """
    checked = _check_totals(totals)
    if not checked:
        return {}
    panel, lines, _scaled, _k = _reviewers(checked)
    return {(a, r): z for (a, r, _t), (z, _c) in zip(checked, _z_and_calibrated(checked, panel, lines), strict=True)}


def calibrate_totals(totals: Iterable[tuple[int, int, float]]) -> dict[Key, float]:
    """Calibrated totals: ``clamp(μ_all + z * σ_all, 0, 100)`` per (application id, reviewer id).

    ``z`` is :func:`reviewer_z_scores`; ``μ_all``/``σ_all`` are the mean and population sd of all
    the totals given (σ_all == 0 gives every review ``μ_all``). See the module docstring.
    """
    checked = _check_totals(totals)
    if not checked:
        return {}
    panel, lines, _scaled, _k = _reviewers(checked)
    return {(a, r): c for (a, r, _t), (_z, c) in zip(checked, _z_and_calibrated(checked, panel, lines), strict=True)}


def rank(criteria: list[Criterion], reviews: list[ReviewScores], *, calibrate: bool) -> list[ApplicationRank]:
    """The ranking: one line per application that has at least one review.

    Sorted by the score in use (``calibrated_mean`` when ``calibrate`` else ``mean``) descending, ties
    by application id ascending. Without ``calibrate``, ``calibrated_mean`` is None and
    ``calibrated_totals`` empty. Raises ValueError for an invalid review (see :func:`weighted_total`)
    or two reviews by the same reviewer of the same application.
    """
    rubric = Rubric(criteria)
    totals = _check_totals(
        (review.application_id, review.reviewer_id, rubric.total(review.scores)) for review in reviews
    )
    figures = round_figures(totals, checked=True)
    calibrated = calibrate_totals(totals) if calibrate else {}
    by_application: dict[int, dict[int, float]] = defaultdict(dict)
    for a, r, t in totals:
        by_application[a][r] = t
    lines = []
    for a, line in figures.applications.items():
        reviewer_totals = dict(sorted(by_application[a].items()))
        lines.append(
            ApplicationRank(
                application_id=a,
                n_reviews=line.n_reviews,
                mean=line.mean,
                spread=line.spread,
                calibrated_mean=line.calibrated_mean if calibrate else None,
                reviewer_totals=reviewer_totals,
                calibrated_totals={r: calibrated[(a, r)] for r in reviewer_totals} if calibrate else {},
            )
        )

    def score(line: ApplicationRank) -> float:
        return line.calibrated_mean if line.calibrated_mean is not None else line.mean

    return sorted(lines, key=lambda line: (-score(line), line.application_id))


# --- each reviewer against the panel (issue 11, item 6) -----------------------------------------


def reviewer_calibration(totals: Iterable[tuple[int, int, float]]) -> list[ReviewerCalibration]:
    """Per reviewer: number of totals, mean, population sd, difference from the panel's mean (all
    totals of every reviewer, as in :func:`calibrate_totals`) and a verdict. Sorted by reviewer id."""
    checked = _check_totals(totals)
    return list(_reviewers(checked)[1].values()) if checked else []
