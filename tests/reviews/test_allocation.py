"""Properties of reviews.allocation.allocate: coverage, no conflicts, even loads, determinism."""

from collections import Counter
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reviews.allocation import allocate

SETTINGS = settings(max_examples=200, deadline=None)

Pair = tuple[int, int]


@dataclass
class Problem:
    applications: list[int]
    reviewers: list[int]
    k: int
    conflicts: set[Pair]
    existing: set[Pair] | None = None
    existing_load: dict[int, int] | None = None

    def solve(self) -> list[Pair]:
        return allocate(
            self.applications,
            self.reviewers,
            self.k,
            conflicts=self.conflicts,
            existing=self.existing,
            existing_load=self.existing_load,
        )

    def eligible(self, a: int) -> set[int]:
        return {r for r in self.reviewers if (a, r) not in self.conflicts}

    def on(self, a: int, new: list[Pair]) -> set[int]:
        """Eligible reviewers on ``a`` after the allocation (valid existing pairs plus new ones)."""
        pairs = (self.existing or set()) | set(new)
        return {r for r in self.eligible(a) if (a, r) in pairs}

    def loads(self, new: list[Pair]) -> dict[int, int]:
        start = self.existing_load if self.existing_load is not None else Counter(r for _, r in self.existing or ())
        added = Counter(r for _, r in new)
        return {r: start.get(r, 0) + added[r] for r in self.reviewers}


@st.composite
def problems(draw, *, conflicts: bool = True, existing: bool = True, at_least: int = 0) -> Problem:
    """Up to 60 applications (at least ``at_least``), 1..15 reviewers, k in 1..4."""
    applications = draw(st.lists(st.integers(1, 1000), min_size=at_least, max_size=60, unique=True))
    reviewers = draw(st.lists(st.integers(1, 100), min_size=1, max_size=15, unique=True))

    def pair_sets(max_size: int) -> set[Pair]:
        if not applications:
            return set()
        return draw(st.sets(st.tuples(st.sampled_from(applications), st.sampled_from(reviewers)), max_size=max_size))

    problem = Problem(applications, reviewers, draw(st.integers(1, 4)), set())
    if conflicts:
        # Each possible pair is conflicted with a drawn density, from none to most.
        density = draw(st.sampled_from([0.0, 0.1, 0.3, 0.6, 0.9]))
        rnd = draw(st.randoms(use_true_random=False))
        problem.conflicts = {(a, r) for a in applications for r in reviewers if rnd.random() < density}
        # Plus pairs about people and applications outside this call: they must simply be ignored.
        problem.conflicts |= draw(st.sets(st.tuples(st.integers(), st.integers()), max_size=5))
    if existing:
        # Existing pairs may include conflicted ones (declared after assignment): they do not count.
        problem.existing = pair_sets(60)
        if draw(st.booleans()):
            counted = Counter(r for _, r in problem.existing)
            problem.existing_load = {r: counted[r] + draw(st.integers(0, 5)) for r in reviewers}
    return problem


@SETTINGS
@given(problems())
def test_every_application_gets_k_eligible_reviewers(problem):
    new = problem.solve()
    for a in problem.applications:
        already = len(problem.on(a, []))
        assert len(problem.on(a, new)) == max(already, min(problem.k, len(problem.eligible(a))))


@SETTINGS
@given(problems())
def test_no_conflict_no_duplicate_sorted(problem):
    new = problem.solve()
    assert new == sorted(set(new))
    for a, r in new:
        assert a in problem.applications
        assert r in problem.reviewers
        assert (a, r) not in problem.conflicts
        assert (a, r) not in (problem.existing or set())


# Large, conflicted problems too: that is where the greedy pass alone leaves an improving move.
@SETTINGS
@given(problems() | problems(existing=False, at_least=30))
def test_no_improving_move_exists(problem):
    new = problem.solve()
    load = problem.loads(new)
    for a, r1 in new:
        on_a = problem.on(a, new)
        for r2 in problem.eligible(a) - on_a:
            assert load[r1] - load[r2] < 2, f"({a}, {r1}) could move to {r2}"


@SETTINGS
@given(problems(conflicts=False, existing=False))
def test_without_conflicts_or_existing_load_loads_are_within_one(problem):
    load = problem.loads(problem.solve())
    assert max(load.values()) - min(load.values()) <= 1


@SETTINGS
@given(st.data(), problems())
def test_deterministic_whatever_the_input_order(data, problem):
    first = problem.solve()
    assert problem.solve() == first
    problem.applications = data.draw(st.permutations(problem.applications))
    problem.reviewers = data.draw(st.permutations(problem.reviewers))
    assert problem.solve() == first


def test_example_without_conflicts():
    # Applications in id order; each takes the least loaded reviewers, ties by id.
    # 1: loads 0,0,0 → 1, 2.   2: loads 1,1,0 → 3, 1.   3: loads 2,1,1 → 2, 3.   Loads 2, 2, 2.
    assert allocate([1, 2, 3], [1, 2, 3], 2, conflicts=set()) == [(1, 1), (1, 2), (2, 1), (2, 3), (3, 2), (3, 3)]


def test_example_where_within_one_is_impossible():
    # Reviewers 2 and 3 are conflicted with both applications: reviewer 1 must take both (loads 2, 0, 0).
    conflicts = {(a, r) for a in (1, 2) for r in (2, 3)}
    assert allocate([1, 2], [1, 2, 3], 1, conflicts=conflicts) == [(1, 1), (2, 1)]


def test_most_constrained_application_first():
    # Application 9 can only be read by reviewer 1; served first, it takes reviewer 1, and
    # application 1 (anyone) then goes to the now lighter reviewer 2.
    assert allocate([1, 9], [1, 2], 1, conflicts={(9, 2)}) == [(1, 2), (9, 1)]


def test_existing_pairs_count_and_load():
    # Application 1 already has reviewer 1 (load 1); it needs one more: the least loaded, reviewer 2.
    # Application 2 then takes reviewer 3, then reviewer 1 (loads 1, 1, 0 → 3; then 1, 1, 1 → 1).
    result = allocate([1, 2], [1, 2, 3], 2, conflicts=set(), existing={(1, 1)})
    assert result == [(1, 2), (2, 1), (2, 3)]


def test_existing_load_is_taken_as_given():
    # Reviewer 1 is busy elsewhere (load 5): reviewers 2 and 3 get everything.
    result = allocate([1, 2], [1, 2, 3], 1, conflicts=set(), existing_load={1: 5})
    assert result == [(1, 2), (2, 3)]


def test_local_improvement_moves_a_pair():
    # Greedy: application 1 (eligible 1, 3, 4) takes reviewers 1 and 3; application 2 (eligible 1, 2, 3;
    # loads 1, 0, 1) takes 2, then 1 (tie with 3, by id). Loads 2, 1, 1, 0: reviewer 4 could take
    # application 1 from reviewer 1, so the improvement pass moves (1, 1) to (1, 4). Loads 1, 1, 1, 1.
    result = allocate([1, 2], [1, 2, 3, 4], 2, conflicts={(1, 2), (2, 4)})
    assert result == [(1, 3), (1, 4), (2, 1), (2, 2)]


@pytest.mark.parametrize(
    "args",
    [
        ([1, 2], [1, 2], 0, set()),
        ([1, 1], [1, 2], 1, set()),
        ([1, 2], [3, 3], 1, set()),
    ],
)
def test_guards(args):
    with pytest.raises(ValueError):
        allocate(*args)


def test_negative_load_is_refused():
    with pytest.raises(ValueError):
        allocate([1], [1], 1, set(), existing_load={1: -1})
