"""The exact reference implementation of the ranking (the oracle): the code that served every page
until issue 14, kept unchanged so that tests can hold reviews/ranking.py (plain integer and
floating-point maths, run once per change) to it. Nothing in the portal calls it; the property
tests in tests/reviews/test_ranking_oracle.py and bench/ranking.py do.

It computes with :class:`fractions.Fraction` and :mod:`statistics` (exact sums) and rounds to a
float once per figure; reviews/ranking.py returns the very same floats, far faster.

Weighted total
    A review's scores ``s_c`` on the criteria ``c`` (weight ``w_c`` > 0, maximum ``max_c`` ≥ 1) give
    ``total = 100 * Σ w_c * s_c / Σ w_c * max_c``, a number in 0..100. It is computed exactly (with
    :class:`fractions.Fraction`) and rounded once, so all-maximum is exactly 100 and all-zero exactly 0.

Ranking
    Per application: ``mean`` of its reviews' totals (:func:`statistics.mean`) and ``spread``, their
    population standard deviation (:func:`statistics.pstdev`; 0 for a single review).

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

All results are exact functions of their input set: shuffling the input changes nothing (the
:mod:`statistics` functions sum exactly, independent of order).
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

__all__ = [
    "ApplicationRank",
    "Criterion",
    "ReviewScores",
    "ReviewerCalibration",
    "calibrate_totals",
    "rank",
    "reviewer_calibration",
    "reviewer_z_scores",
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
    """One application's line of the ranking; the ``*_totals`` map reviewer id → total (0..100)."""

    application_id: int
    n_reviews: int
    mean: float
    spread: float
    calibrated_mean: float | None
    reviewer_totals: dict[int, float]
    calibrated_totals: dict[int, float]


def _weight(criterion: Criterion) -> Fraction:
    try:
        weight = Fraction(criterion.weight)
    except (ValueError, OverflowError, TypeError) as error:
        raise ValueError(f"criterion {criterion.id}: weight {criterion.weight!r} is not a finite number") from error
    if weight <= 0:
        raise ValueError(f"criterion {criterion.id}: weight must be > 0, got {criterion.weight!r}")
    return weight


def _check_criteria(criteria: list[Criterion]) -> list[tuple[Criterion, Fraction]]:
    """Non-empty, distinct ids, ``max_score`` ≥ 1 and weight > 0; returns each criterion with its exact weight."""
    if not criteria:
        raise ValueError("no criteria")
    if len({c.id for c in criteria}) != len(criteria):
        raise ValueError("duplicate criterion ids")
    for criterion in criteria:
        if criterion.max_score < 1:
            raise ValueError(f"criterion {criterion.id}: max_score must be ≥ 1, got {criterion.max_score}")
    return [(criterion, _weight(criterion)) for criterion in criteria]


def _total(checked: list[tuple[Criterion, Fraction]], scores: Mapping[int, int]) -> float:
    unknown = set(scores) - {criterion.id for criterion, _ in checked}
    if unknown:
        raise ValueError(f"scores for unknown criteria {sorted(unknown)}")
    achieved = possible = Fraction(0)
    for criterion, weight in checked:
        if criterion.id not in scores:
            raise ValueError(f"missing score for criterion {criterion.id}")
        score = scores[criterion.id]
        if not isinstance(score, int) or not 0 <= score <= criterion.max_score:
            raise ValueError(f"criterion {criterion.id}: score {score!r} outside 0..{criterion.max_score}")
        achieved += weight * score
        possible += weight * criterion.max_score
    return float(100 * achieved / possible)


def weighted_total(criteria: list[Criterion], scores: Mapping[int, int]) -> float:
    """``100 * Σ w_c * s_c / Σ w_c * max_c``, in 0..100.

    Raises ValueError when a criterion has no score, a score is not an integer in ``0..max_score``,
    a score names an unknown criterion, or the criteria are empty, duplicated, or have a weight ≤ 0
    or a ``max_score`` < 1 (the caller validates; this is a guard).
    """
    return _total(_check_criteria(criteria), scores)


def _check_totals(totals: Iterable[tuple[int, int, float]]) -> list[tuple[int, int, float]]:
    checked = list(totals)
    if len({(a, r) for a, r, _ in checked}) != len(checked):
        raise ValueError("more than one total for the same (application, reviewer)")
    for a, r, t in checked:
        if not (math.isfinite(t) and 0 <= t <= 100):
            raise ValueError(f"total {t!r} of ({a}, {r}) outside 0..100")
    return checked


def reviewer_z_scores(totals: Iterable[tuple[int, int, float]]) -> dict[Key, float]:
    """Each total as a z-score within its reviewer: ``(t − μ_r) / σ_r`` (population σ).

    0 for a reviewer with fewer than 2 totals or σ_r == 0 (no information about relative order).
    Input: ``(application id, reviewer id, total)`` with totals in 0..100, each pair at most once.
    """
    checked = _check_totals(totals)
    by_reviewer: dict[int, list[float]] = defaultdict(list)
    for _, r, t in checked:
        by_reviewer[r].append(t)
    stats = {r: (statistics.mean(ts), statistics.pstdev(ts)) for r, ts in by_reviewer.items()}
    z: dict[Key, float] = {}
    for a, r, t in checked:
        mu, sigma = stats[r]
        z[(a, r)] = (t - mu) / sigma if len(by_reviewer[r]) >= 2 and sigma > 0 else 0.0
    return z


def calibrate_totals(totals: Iterable[tuple[int, int, float]]) -> dict[Key, float]:
    """Calibrated totals: ``clamp(μ_all + z * σ_all, 0, 100)`` per (application id, reviewer id).

    ``z`` is :func:`reviewer_z_scores`; ``μ_all``/``σ_all`` are the mean and population sd of all
    the totals given (σ_all == 0 gives every review ``μ_all``). See the module docstring.
    """
    checked = _check_totals(totals)
    if not checked:
        return {}
    all_totals = [t for _, _, t in checked]
    mu_all, sigma_all = statistics.mean(all_totals), statistics.pstdev(all_totals)
    z = reviewer_z_scores(checked)
    if sigma_all == 0:
        return dict.fromkeys(z, mu_all)
    return {key: min(100.0, max(0.0, mu_all + z_value * sigma_all)) for key, z_value in z.items()}


def rank(criteria: list[Criterion], reviews: list[ReviewScores], *, calibrate: bool) -> list[ApplicationRank]:
    """The ranking: one line per application that has at least one review.

    Sorted by the score in use (``calibrated_mean`` when ``calibrate`` else ``mean``) descending, ties
    by application id ascending. Without ``calibrate``, ``calibrated_mean`` is None and
    ``calibrated_totals`` empty. Raises ValueError for an invalid review (see :func:`weighted_total`)
    or two reviews by the same reviewer of the same application.
    """
    checked = _check_criteria(criteria)
    totals = [(review.application_id, review.reviewer_id, _total(checked, review.scores)) for review in reviews]
    _check_totals(totals)  # one review per (application, reviewer)
    calibrated = calibrate_totals(totals) if calibrate else {}
    by_application: dict[int, dict[int, float]] = defaultdict(dict)
    for a, r, t in totals:
        by_application[a][r] = t

    lines = []
    for a, by_reviewer in by_application.items():
        reviewer_totals = dict(sorted(by_reviewer.items()))
        values = list(reviewer_totals.values())
        calibrated_totals = {r: calibrated[(a, r)] for r in reviewer_totals} if calibrate else {}
        lines.append(
            ApplicationRank(
                application_id=a,
                n_reviews=len(values),
                mean=statistics.mean(values),
                spread=statistics.pstdev(values),
                calibrated_mean=statistics.mean(calibrated_totals.values()) if calibrate else None,
                reviewer_totals=reviewer_totals,
                calibrated_totals=calibrated_totals,
            )
        )

    def score(line: ApplicationRank) -> float:
        return line.calibrated_mean if line.calibrated_mean is not None else line.mean

    return sorted(lines, key=lambda line: (-score(line), line.application_id))


# --- each reviewer against the panel (issue 11, item 6) -----------------------------------------

# A reviewer whose mean is this many panel standard deviations or more from the panel's mean is
# named harsh or lenient on the staff page (the calibration above corrects exactly this).
OUTLIER_SD = 0.5


@dataclass(frozen=True)
class ReviewerCalibration:
    """One reviewer against the panel, on the totals :func:`calibrate_totals` reads.

    ``difference`` is ``μ_r − μ_all`` (points of 0..100); ``standing`` is it in panel standard
    deviations (``difference / σ_all``; 0 when σ_all is 0). ``verdict``: ``too_few`` (one review:
    the calibration counts it as average), ``flat`` (σ_r == 0: every review the same total, also
    counted as average), ``harsh`` / ``lenient`` (``|standing| ≥ OUTLIER_SD``), else ``in_line``.
    """

    reviewer_id: int
    n_reviews: int
    mean: float
    spread: float
    difference: float
    standing: float
    verdict: str


def reviewer_calibration(totals: Iterable[tuple[int, int, float]]) -> list[ReviewerCalibration]:
    """Per reviewer: number of totals, mean, population sd, difference from the panel's mean (all
    totals of every reviewer, as in :func:`calibrate_totals`) and a verdict. Sorted by reviewer id."""
    checked = _check_totals(totals)
    if not checked:
        return []
    all_totals = [t for _, _, t in checked]
    mu_all, sigma_all = statistics.mean(all_totals), statistics.pstdev(all_totals)
    by_reviewer: dict[int, list[float]] = defaultdict(list)
    for _, r, t in checked:
        by_reviewer[r].append(t)
    lines = []
    for r, ts in sorted(by_reviewer.items()):
        mean, spread = statistics.mean(ts), statistics.pstdev(ts)
        difference = mean - mu_all
        standing = difference / sigma_all if sigma_all > 0 else 0.0
        if len(ts) < 2:
            verdict = "too_few"
        elif spread == 0:
            verdict = "flat"
        elif standing <= -OUTLIER_SD:
            verdict = "harsh"
        elif standing >= OUTLIER_SD:
            verdict = "lenient"
        else:
            verdict = "in_line"
        lines.append(ReviewerCalibration(r, len(ts), mean, spread, difference, standing, verdict))
    return lines
