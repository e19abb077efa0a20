"""Automatic reviewer assignment: k reviewers per application, loads as even as possible, no conflicts.

Pure Python (standard library only) so that it can be property-tested; the Django service calls it
with plain ids.

Vocabulary
    eligible(a)  reviewers in ``reviewers`` with ``(a, r)`` not in ``conflicts``.
    on(a)        reviewers already on ``a``: its valid ``existing`` pairs plus the new ones.
    load(r)      starting load (``existing_load``) plus the number of new pairs of ``r``.

Guarantees of :func:`allocate`
    1. Every application ends with ``max(len(valid existing), min(k, len(eligible(a))))`` reviewers from
       eligible(a): existing pairs are never removed, new ones fill up to ``min(k, len(eligible(a)))``.
    2. No new pair is in ``conflicts`` or duplicates an existing pair.
    3. Local optimality: there is no new pair ``(a, r1)`` and reviewer ``r2`` in eligible(a), not on
       ``a``, with ``load(r1) − load(r2) ≥ 2`` (such a move would make the loads more even).
    4. Hence, with no conflicts, no existing pairs and equal starting loads, ``max load − min load ≤ 1``
       (the most loaded reviewer has an application the least loaded one is not on, so 3 applies).
       "Within one" is NOT guaranteed in general: a conflict can leave only a busy reviewer eligible,
       and existing loads can be uneven already (existing pairs are never moved).
    5. Deterministic: the result is a sorted list, a function of the inputs alone.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

__all__ = ["allocate", "exclude_flagged"]

Pair = tuple[int, int]  # (application id, reviewer id)


def allocate(
    applications: list[int],
    reviewers: list[int],
    k: int,
    conflicts: set[Pair],
    existing: set[Pair] | None = None,
    existing_load: dict[int, int] | None = None,
) -> list[Pair]:
    """New (application id, reviewer id) pairs, sorted, meeting the guarantees of the module docstring.

    ``existing``: pairs already assigned. Those with an application in ``applications`` and an
    eligible reviewer count towards the k of that application; the others are ignored.
    ``existing_load``: each reviewer's current workload (missing reviewers: 0); it should already
    include the existing pairs. When None, it is the number of ``existing`` pairs of each reviewer.

    Greedy, then local improvement: applications with the fewest candidates (eligible, not yet on
    it) first, ties by id; each takes the candidates with the lowest load, ties by reviewer id. Then,
    while a new pair ``(a, r_high)`` can move to a candidate ``r_low`` with
    ``load(r_high) − load(r_low) ≥ 2``, move it (each move lowers Σ load², so this ends).

    Raises ValueError for k < 1, duplicate application or reviewer ids, or a negative load.
    """
    if k < 1:
        raise ValueError(f"k must be ≥ 1, got {k}")
    if len(set(applications)) != len(applications):
        raise ValueError("duplicate application ids")
    if len(set(reviewers)) != len(reviewers):
        raise ValueError("duplicate reviewer ids")
    existing = existing or set()
    if existing_load is None:
        existing_load = Counter(r for _, r in existing)
    if any(n < 0 for n in existing_load.values()):
        raise ValueError("negative existing load")

    eligible = {a: sorted(r for r in reviewers if (a, r) not in conflicts) for a in applications}
    on = {a: {r for r in eligible[a] if (a, r) in existing} for a in applications}
    load = {r: existing_load.get(r, 0) for r in reviewers}
    new: set[Pair] = set()

    def candidates(a: int) -> list[int]:
        """Eligible reviewers not yet on ``a``, least loaded first (ties by id)."""
        return sorted((r for r in eligible[a] if r not in on[a]), key=lambda r: (load[r], r))

    for a in sorted(applications, key=lambda a: (len(eligible[a]) - len(on[a]), a)):
        need = min(k, len(eligible[a])) - len(on[a])
        for r in candidates(a)[: max(0, need)]:
            _assign(a, r, new, on, load)

    while move := _improving_move(new, load, candidates):
        a, r_high, r_low = move
        new.remove((a, r_high))
        on[a].remove(r_high)
        load[r_high] -= 1
        _assign(a, r_low, new, on, load)

    return sorted(new)


def _assign(a: int, r: int, new: set[Pair], on: dict[int, set[int]], load: dict[int, int]) -> None:
    new.add((a, r))
    on[a].add(r)
    load[r] += 1


def _improving_move(
    new: set[Pair], load: dict[int, int], candidates: Callable[[int], list[int]]
) -> tuple[int, int, int] | None:
    """The first ``(a, r_high, r_low)`` with ``load(r_high) − load(r_low) ≥ 2``, ``r_low`` a candidate
    for ``a``; scanning the most loaded reviewers' pairs first (ties by reviewer, then application id)."""
    for a, r_high in sorted(new, key=lambda pair: (-load[pair[1]], pair[1], pair[0])):
        for r_low in candidates(a):
            if load[r_high] - load[r_low] < 2:
                break  # candidates are sorted by load: no later one is lighter
            return a, r_high, r_low
    return None


def exclude_flagged(conflicts: set[Pair], flagged: set[Pair]) -> set[Pair]:
    """The pairs :func:`allocate` must not place: the ``conflicts`` and the ``flagged`` pairs (a
    possible conflict of interest found by the integrity checks and not dismissed by staff). Pass
    the result as ``conflicts``; every guarantee of the module then holds with flagged pairs
    treated as conflicts, so no flagged pair is ever placed (staff may still assign one by hand,
    with a reason: ``reviews.services.assignment_create``)."""
    return set(conflicts) | set(flagged)
