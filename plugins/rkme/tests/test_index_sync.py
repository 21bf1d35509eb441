"""A long-lived market's RKME index stays in step with the store: every search answers
as a freshly opened market does, across adds, updates, deletes and pivot choices."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from learnware_dock import Market, SearchResult, SemanticSpec, UserInfo
from learnware_dock.plugins import DockPluginManager
from learnware_dock.testing import build_package, table_semantic_spec
from learnware_dock_rkme import RKMETableSpecification, pivots, ranking
from learnware_dock_rkme.index import Group
from learnware_dock_rkme.searcher import RKMESearcher

TABLE_SPEC_NAME = RKMETableSpecification.name
CHECKERS = ("semantic", "package")  # no model runs: this is about the index
WORDS = ("alpha", "beta")


@attrs.frozen
class Item:
    """A prebuilt package and the dimension of its RKME."""

    package: Path
    dimension: int


@pytest.fixture(scope="module")
def pool(tmp_path_factory: pytest.TempPathFactory) -> list[Item]:
    """14 packages on blobs along a line in 3 dimensions, and one in 2 dimensions."""
    folder = tmp_path_factory.mktemp("pool")
    rng = np.random.default_rng(42)
    items = []
    for n, (centre, dim) in enumerate([(c, 3) for c in np.linspace(-6, 6, 14)] + [(0.0, 2)]):
        X = rng.normal(centre, 1.0, size=(60, dim))
        y = (X[:, 0] > centre).astype(int)
        spec = RKMETableSpecification.generate(X, K=8, seed=n)
        items.append(Item(build_package(folder / f"p{n}", X, y, stat_specs={"r.json": spec}), dim))
    return items


@pytest.fixture(scope="module")
def queries() -> list[RKMETableSpecification]:
    rng = np.random.default_rng(7)
    found = [RKMETableSpecification.generate(rng.normal(c, 1.0, size=(80, 3)), K=8) for c in
             (-5.0, 0.3, 4.0)]  # fmt: skip
    return [*found, RKMETableSpecification.generate(rng.normal(size=(80, 2)), K=8)]


@pytest.fixture
def small_pivots(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pivots chosen at 3, 6 and 12 cached vectors, and pruned searches from 2 candidates."""
    monkeypatch.setattr(pivots, "PIVOTS", 2)
    monkeypatch.setattr(pivots, "FIRST_CHOICE", 3)
    monkeypatch.setattr(pivots, "GROWTH", 2)
    monkeypatch.setattr(ranking, "PRUNE_MIN", 2)


def semantic(name: str, dimension: int) -> SemanticSpec:
    return table_semantic_spec(name, dimension=dimension)


def shas(market: Market, result: SearchResult) -> list[list[str]]:
    """Each single's and mixture's spec sha (equal shas: equal embeddings, tied scores)."""
    refs = market.organizer.spec_refs(TABLE_SPEC_NAME)
    singles = [refs[m.learnware.id].sha256 for m in result.singles]
    return [singles, *([refs[lw.id].sha256 for lw in m.learnwares] for m in result.mixtures)]


def assert_same(market: Market, got: SearchResult, want: SearchResult) -> None:
    """Same answer: learnwares (by id, or by an identical spec where scores tie exactly),
    order, scores, distances and mixture weights."""
    assert (got.total, len(got.singles), len(got.mixtures)) == (
        want.total,
        len(want.singles),
        len(want.mixtures),
    )
    assert shas(market, got) == shas(market, want)
    if len(want.singles) == want.total:  # everyone is listed: exactly the same ids
        assert {m.learnware.id for m in got.singles} == {m.learnware.id for m in want.singles}
    assert [m.score for m in got.singles] == pytest.approx([m.score for m in want.singles])
    assert [m.distance for m in got.singles] == pytest.approx(
        [m.distance for m in want.singles], abs=1e-9
    )
    for mine, theirs in zip(got.mixtures, want.mixtures, strict=True):
        assert mine.weights == pytest.approx(theirs.weights, abs=1e-6)
        assert mine.score == pytest.approx(theirs.score, abs=1e-9)


def search_both(
    market: Market, pm: DockPluginManager, info: UserInfo, **options: Any
) -> SearchResult:
    """Search the long-lived market (pruning on) and check it against a freshly opened
    market of the same store (pruning off: a plain scan is the reference)."""
    got = market.search(info, **options)
    with Market.open(market.root, plugin_manager=pm) as fresh:
        want = fresh.search(info, **{**options, "prune": False})
    assert_same(market, got, want)
    return got


def assert_aligned(market: Market) -> None:
    """Every array the long-lived index keeps per row has one entry per learnware."""
    found = market.searcher("rkme")
    assert isinstance(found, RKMESearcher)
    for group in [] if found._index is None else found._index.groups.values():
        rows = len(group.ids)
        assert group.z.shape[0] == group.beta.shape[0] == len(group.self_terms) == rows
        assert group.pivot_dist.shape == (rows, len(group.pivots))


def ids(result: SearchResult) -> list[str]:
    return [m.learnware.id for m in result.singles]


def test_delete_after_searches_keeps_the_index_in_step(
    market: Market,
    plugin_manager: DockPluginManager,
    pool: list[Item],
    queries: list[RKMETableSpecification],
) -> None:
    """Issue 12: add A, search, add B, search, delete B, search raised IndexError (the
    pivot distances were not masked with the rows), and what arrived with the delete was
    left out of later searches until a restart."""
    info = UserInfo(stat_specs={TABLE_SPEC_NAME: queries[1]})
    a = market.add(pool[6].package, semantic("a", 3), checkers=CHECKERS).id
    assert ids(search_both(market, plugin_manager, info)) == [a]
    b = market.add(pool[7].package, semantic("b", 3), checkers=CHECKERS).id
    assert sorted(ids(search_both(market, plugin_manager, info))) == [a, b]
    market.delete(b)
    assert ids(search_both(market, plugin_manager, info)) == [a]
    market.delete(a)
    c = market.add(pool[8].package, semantic("c", 3), checkers=CHECKERS).id
    assert ids(search_both(market, plugin_manager, info)) == [c]
    assert ids(search_both(market, plugin_manager, info)) == [c]  # and again, unchanged


def test_a_delete_and_an_add_in_one_sync(
    market: Market,
    plugin_manager: DockPluginManager,
    pool: list[Item],
    queries: list[RKMETableSpecification],
) -> None:
    info = UserInfo(stat_specs={TABLE_SPEC_NAME: queries[1]})
    a = market.add(pool[6].package, semantic("a", 3), checkers=CHECKERS).id
    market.search(info)
    b = market.add(pool[7].package, semantic("b", 3), checkers=CHECKERS).id
    market.search(info)
    market.delete(b)
    c = market.add(pool[8].package, semantic("c", 3), checkers=CHECKERS).id
    assert sorted(ids(search_both(market, plugin_manager, info))) == [a, c]
    assert sorted(ids(search_both(market, plugin_manager, info))) == [a, c]


def test_a_failed_sync_is_not_trusted_by_the_next_search(
    market: Market,
    plugin_manager: DockPluginManager,
    pool: list[Item],
    queries: list[RKMETableSpecification],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A sync that fails half-way must not leave the index claiming to be up to date."""
    info = UserInfo(stat_specs={TABLE_SPEC_NAME: queries[1]})
    a = market.add(pool[6].package, semantic("a", 3), checkers=CHECKERS).id
    b = market.add(pool[7].package, semantic("b", 3), checkers=CHECKERS).id
    market.search(info)
    market.delete(b)
    c = market.add(pool[8].package, semantic("c", 3), checkers=CHECKERS).id
    keep = Group.keep

    def failing(self: Group, mask: np.ndarray) -> None:
        monkeypatch.setattr(Group, "keep", keep)  # once
        keep(self, mask)
        raise MemoryError("simulated")

    monkeypatch.setattr(Group, "keep", failing)
    with pytest.raises(MemoryError):
        market.search(info)
    assert sorted(ids(search_both(market, plugin_manager, info))) == [a, c]


def test_deletes_updates_and_pivot_choices_match_a_fresh_market(
    market: Market,
    plugin_manager: DockPluginManager,
    pool: list[Item],
    queries: list[RKMETableSpecification],
    small_pivots: None,
) -> None:
    """A fixed sequence through two pivot choices, with deletes and updates between."""
    from learnware_dock_rkme.vectors import VectorStore

    info = [UserInfo(stat_specs={TABLE_SPEC_NAME: q}) for q in queries[:3]]
    made = []
    generations = []
    store = VectorStore(market.root / "rkme")

    def check() -> None:
        for q in info:
            search_both(market, plugin_manager, q, limit=3)

    for n in range(8):
        made.append(market.add(pool[n].package, semantic(f"lw{n}", 3), checkers=CHECKERS).id)
        check()
        if n % 3 == 1:
            market.delete(made[n - 1])
            check()
        if n % 3 == 2:
            market.update(made[n], package=pool[13 - n].package, checkers=CHECKERS)
            check()
        found = store.pivot_set((3, 0.1))
        generations.append(found.generation if found else 0)
    store.close()
    assert len(set(generations)) >= 3  # none, then chosen, then re-chosen mid-sequence
    assert_aligned(market)


class IndexMachine(RuleBasedStateMachine):
    """Random adds, updates, deletes and searches on one long-lived market; each search
    is checked against a freshly opened market of the same store."""

    pool: list[Item]
    queries: list[RKMETableSpecification]
    pm: DockPluginManager
    folder: Path

    def __init__(self) -> None:
        super().__init__()
        self.root = Path(tempfile.mkdtemp(dir=self.folder))
        self.market = Market(self.root / "market", plugin_manager=self.pm)
        self.live: dict[str, int] = {}  # id -> pool item

    def _add(self, item: int, word: str) -> None:
        spec = semantic(f"{word} {len(self.live)}", self.pool[item].dimension)
        self.live[self.market.add(self.pool[item].package, spec, checkers=CHECKERS).id] = item

    @initialize(items=st.lists(st.integers(0, 14), min_size=2, max_size=8))
    def start(self, items: list[int]) -> None:
        for item in items:
            self._add(item, WORDS[item % 2])

    @rule(items=st.lists(st.integers(0, 14), min_size=1, max_size=3), word=st.sampled_from(WORDS))
    def add(self, items: list[int], word: str) -> None:
        for item in items:
            self._add(item, word)

    @precondition(lambda self: self.live)
    @rule(data=st.data(), item=st.integers(0, 14) | st.none(), word=st.sampled_from(WORDS))
    def update(self, data: st.DataObject, item: int | None, word: str) -> None:
        learnware_id = data.draw(st.sampled_from(sorted(self.live)))
        item = self.live[learnware_id] if item is None else item
        dimension = self.pool[item].dimension
        self.market.update(
            learnware_id,
            package=self.pool[item].package,
            semantic_spec=semantic(f"{word} updated", dimension),
            checkers=CHECKERS,
        )
        self.live[learnware_id] = item

    @precondition(lambda self: self.live)
    @rule(data=st.data())
    def delete(self, data: st.DataObject) -> None:
        learnware_id = data.draw(st.sampled_from(sorted(self.live)))
        self.market.delete(learnware_id)
        del self.live[learnware_id]

    @rule(
        query=st.integers(0, 3),
        word=st.sampled_from(WORDS) | st.none(),
        limit=st.sampled_from([1, 3, 50]),
        mixture=st.sampled_from(["greedy", "oneshot", "none"]),
    )
    def search(self, query: int, word: str | None, limit: int, mixture: str) -> None:
        spec = self.queries[query]
        info = UserInfo(semantic_spec=SemanticSpec(name=word), stat_specs={TABLE_SPEC_NAME: spec})
        search_both(self.market, self.pm, info, searcher="rkme", limit=limit, mixture=mixture)

    @invariant()
    def rows_stay_aligned(self) -> None:
        assert_aligned(self.market)

    def teardown(self) -> None:
        self.market.close()
        shutil.rmtree(self.root, ignore_errors=True)


def test_random_sequences_match_a_fresh_market(
    tmp_path: Path,
    plugin_manager: DockPluginManager,
    pool: list[Item],
    queries: list[RKMETableSpecification],
    small_pivots: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class Machine(IndexMachine):
        pass

    Machine.pool, Machine.queries, Machine.pm, Machine.folder = (
        pool,
        queries,
        plugin_manager,
        tmp_path,
    )
    calls = {"choose": 0, "pruned_scan": 0}
    for module, name in ((pivots, "choose"), (ranking, "pruned_scan")):
        real = getattr(module, name)

        def counted(*args: Any, _real: Any = real, _name: str = name) -> Any:
            calls[_name] += 1
            return _real(*args)

        monkeypatch.setattr(module, name, counted)
    run_state_machine_as_test(
        Machine,
        settings=settings(
            max_examples=15,
            stateful_step_count=20,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
    assert calls["choose"] and calls["pruned_scan"]  # pivots chosen mid-sequence, and used


def test_a_package_published_twice_does_not_break_mixtures(
    market: Market, pool: list[Item], queries: list[RKMETableSpecification]
) -> None:
    """Identical RKMEs made the one-shot QP singular: 'did not converge' on every search."""
    made = [
        market.add(pool[n].package, semantic(f"lw{n}", 3), checkers=CHECKERS).id
        for n in (3, 3, 5, 1, 0)
    ]
    info = UserInfo(stat_specs={TABLE_SPEC_NAME: queries[1]})
    for method in ("oneshot", "greedy"):
        found = market.search(info, mixture=method, mixture_candidates=5).mixtures[0]
        assert not {made[0], made[1]} <= {lw.id for lw in found.learnwares}  # adds nothing
        assert sum(found.weights) == pytest.approx(1.0)


def test_deleting_the_widest_learnware_releases_its_padding(
    tmp_path: Path, market: Market, plugin_manager: DockPluginManager, pool: list[Item]
) -> None:
    """Every row is padded to the group's widest RKME; once that one leaves, so does
    its width (it was kept, and given to every later row, until a restart)."""
    rng = np.random.default_rng(1)
    X = rng.normal(size=(400, 3))
    wide = RKMETableSpecification.generate(X, K=300)
    y = (X[:, 0] > 0).astype(int)
    big = build_package(tmp_path / "wide", X, y, stat_specs={"r.json": wide})
    small = market.add(pool[2].package, semantic("small", 3), checkers=CHECKERS).id
    wide_id = market.add(big, semantic("wide", 3), checkers=CHECKERS).id
    info = UserInfo(stat_specs={TABLE_SPEC_NAME: RKMETableSpecification.generate(X[:50], K=8)})
    assert sorted(ids(search_both(market, plugin_manager, info))) == [small, wide_id]
    market.delete(wide_id)
    later = market.add(pool[3].package, semantic("later", 3), checkers=CHECKERS).id
    assert sorted(ids(search_both(market, plugin_manager, info))) == [small, later]
    found = market.searcher("rkme")
    assert isinstance(found, RKMESearcher)
    group = found.index.groups[(3, 0.1)]
    assert group.z.shape[1] == group.beta.shape[1] == 8
    assert_aligned(market)
