"""Pivot sets for exact pruning, kept up to date at submission.

sqrt(MMD^2) is a metric, so a learnware's distance to a query is at least
``|d(query, p) - d(learnware, p)|`` for every pivot ``p``. With each learnware's distances
to a group's pivots stored at submission, a query costs PIVOTS small MMDs for its own
distances plus exact scans of only the learnwares whose bound does not rule them out
(``ranking.pruned_scan``).

Policy: a group gets its first pivots when it reaches ``FIRST_CHOICE`` vectors, chosen
farthest-first; they are re-chosen when the group has grown ``GROWTH``-fold since
(at 64, 512 and 4,096 vectors), each time farthest-first among a sample of at most
``SAMPLE`` vectors, after which every vector's distances are recomputed. Later
submissions only compute their own PIVOTS distances (milliseconds). Any pivot set gives
exact results; well-spread pivots only make the bounds tighter.
"""

from __future__ import annotations

import numpy as np

from learnware_dock.interfaces import Backend
from learnware_dock_rkme.index import Group
from learnware_dock_rkme.limits import SpecLimits
from learnware_dock_rkme.vectors import PivotSet, Vector, VectorStore

PIVOTS = 32
FIRST_CHOICE = 2 * PIVOTS
GROWTH = 8
LAST_CHOICE = 4096
SAMPLE = 2000


def due(current: PivotSet | None, size: int) -> bool:
    """Whether a group of ``size`` vectors needs (new) pivots."""
    if current is None:
        return size >= FIRST_CHOICE
    return current.chosen_at < LAST_CHOICE and size >= GROWTH * current.chosen_at


def chosen_at(size: int) -> int:
    """The group size at which the policy chose the pivots of a group of ``size`` (0: none)."""
    at = 0
    step = FIRST_CHOICE
    while step <= size and at < LAST_CHOICE:
        at, step = step, step * GROWTH
    return at


def pick(group: Group, seed: int = 0) -> None:
    """The policy's choice on a loaded group: farthest-first among a seeded sample."""
    rng = np.random.default_rng(seed)
    sample = np.sort(rng.choice(len(group), size=min(SAMPLE, len(group)), replace=False))
    group.choose_pivots(PIVOTS, sample)


def choose(
    store: VectorStore, key: tuple[int, float], backend: Backend, limits: SpecLimits
) -> PivotSet:
    """Choose and store a group's pivots and all its vectors' distances to them (vectors
    over ``limits`` are left out, as the index leaves them out)."""
    shas = store.group_shas(key, limits)
    vectors = store.get_many(shas)
    group = Group(*key, backend=backend)
    group.append(shas, [vectors[sha] for sha in shas])
    pick(group)
    dists = {sha: group.pivot_dist[row] for row, sha in enumerate(shas)}
    return store.replace_pivots(key, len(group), group.pivots, dists)


def maintain(
    store: VectorStore, key: tuple[int, float], backend: Backend, limits: SpecLimits
) -> PivotSet | None:
    """The group's current pivot set, re-chosen first if the policy says it is due."""
    current = store.pivot_set(key)
    if due(current, store.count(key, limits)):
        current = choose(store, key, backend, limits)
    return current


def submit(
    store: VectorStore, sha: str, vector: Vector, backend: Backend, limits: SpecLimits
) -> None:
    """At submission: keep the group's pivots up to date and store this vector's distances."""
    current = maintain(store, vector.key, backend, limits)
    if current is None or store.pivot_dists([sha], current.generation):
        return
    group = Group(*vector.key, backend=backend)
    group.append([sha], [vector])
    group.set_pivots(current.generation, current.pivots)
    store.put_pivot_dists(current.generation, {sha: group.fill_pivot_dist({})[0]})
