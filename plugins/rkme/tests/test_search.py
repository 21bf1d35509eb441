"""Batched RKME search: backend accuracy, ranking, mixtures, incremental index, errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from learnware_dock import Market, SearchError, SemanticSpec, UserInfo
from learnware_dock.testing import build_package, table_semantic_spec
from learnware_dock_rkme import RKMETableSpecification
from learnware_dock_rkme.backend import TorchCPUBackend
from learnware_dock_rkme.index import RKMEIndex
from learnware_dock_rkme.kernel import gaussian_kernel
from learnware_dock_rkme.searcher import RKMESearcher

TABLE_SPEC_NAME = RKMETableSpecification.name


def rkme(X: np.ndarray, K: int = 20) -> RKMETableSpecification:
    return RKMETableSpecification.generate(X, K=K, seed=0)


def add(market: Market, tmp_path: Path, name: str, X: np.ndarray, K: int = 20) -> str:
    y = (X[:, 0] > np.median(X[:, 0])).astype(int)
    package = build_package(tmp_path / name, X, y, stat_specs={"rkme.json": rkme(X, K)})
    return market.add(package, table_semantic_spec(name, dimension=X.shape[1])).id


def query(X: np.ndarray, **semantic: object) -> UserInfo:
    return UserInfo(semantic_spec=SemanticSpec(**semantic), stat_specs={TABLE_SPEC_NAME: rkme(X)})  # type: ignore[arg-type]


def test_backend_matches_a_float64_per_pair_reference() -> None:
    rng = np.random.default_rng(0)
    z, beta = rng.normal(size=(30, 6)), rng.dirichlet(np.ones(30))
    zs = rng.normal(size=(50, 25, 6))
    betas = rng.dirichlet(np.ones(25), size=50)
    backend = TorchCPUBackend()
    backend.chunk_elements = 30 * 25 * 7  # several chunks, one ragged
    got = backend.cross_terms(z, beta, zs, betas, 0.2)
    want = [beta @ gaussian_kernel(z, zs[i], 0.2) @ betas[i] for i in range(50)]
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-7)


@pytest.fixture
def blobs(tmp_path: Path, market: Market) -> tuple[Market, dict[str, str]]:
    """Four learnwares on well-separated Gaussian blobs in 5 dimensions."""
    rng = np.random.default_rng(1)
    centres = {"north": 0.0, "east": 3.0, "south": 6.0, "west": 9.0}
    ids = {}
    for name, c in centres.items():
        ids[name] = add(market, tmp_path, name, rng.normal(c, 1.0, size=(300, 5)))
    return market, ids


def test_ranks_the_matching_learnware_first_with_absolute_scores(
    blobs: tuple[Market, dict[str, str]],
) -> None:
    rng = np.random.default_rng(2)
    market, ids = blobs
    result = market.search(query(rng.normal(6.0, 1.0, size=(200, 5))))
    assert result.searcher == "rkme" and result.total == 4
    assert result.singles[0].learnware.id == ids["south"]
    distances = [m.distance for m in result.singles]
    assert distances == sorted(distances)  # type: ignore[type-var]
    assert 0.8 < result.singles[0].score <= 1.0
    assert all(0.0 <= m.score < 0.5 for m in result.singles[2:])
    exact = RKMETableSpecification.dist(
        rkme(rng.normal(6.0, 1.0, size=(200, 5))),
        market.stat_spec(ids["south"], TABLE_SPEC_NAME),  # type: ignore[arg-type]
    )
    assert result.singles[0].distance == pytest.approx(exact, abs=0.02)


def test_reported_distances_match_dist_on_the_stored_specs_to_documented_precision(
    blobs: tuple[Market, dict[str, str]],
) -> None:
    """The searcher's distances are float64 on the index's float32 copy of each RKME: within
    1e-6 relative of ``dist`` on the spec files (the module docstring's precision)."""
    market, _ = blobs
    user = rkme(np.random.default_rng(8).normal(3.0, 1.0, size=(200, 5)))
    result = market.search(UserInfo(stat_specs={TABLE_SPEC_NAME: user}))
    assert len(result.singles) == 4
    for match in result.singles:
        stored = market.stat_spec(match.learnware, TABLE_SPEC_NAME)
        exact = user.dist(stored)  # type: ignore[arg-type]
        assert match.distance is not None and exact > 0
        assert abs(match.distance - exact) <= 1e-6 * exact


def test_semantic_filters_apply_first(blobs: tuple[Market, dict[str, str]]) -> None:
    rng = np.random.default_rng(3)
    market, ids = blobs
    result = market.search(query(rng.normal(6.0, 1.0, size=(200, 5)), name="east west"))
    assert {m.learnware.id for m in result.singles} == {ids["east"], ids["west"]}
    assert result.total == 2


def test_mixture_recovers_the_proportions(tmp_path: Path, market: Market) -> None:
    rng = np.random.default_rng(4)
    a, b = rng.normal(0.0, 1.0, size=(600, 4)), rng.normal(5.0, 1.0, size=(600, 4))
    ids = {"a": add(market, tmp_path, "a", a, K=40), "b": add(market, tmp_path, "b", b, K=40)}
    add(market, tmp_path, "c", rng.normal(-6.0, 1.0, size=(600, 4)), K=40)
    user = np.vstack([rng.normal(0.0, 1.0, size=(700, 4)), rng.normal(5.0, 1.0, size=(300, 4))])
    info = UserInfo(stat_specs={TABLE_SPEC_NAME: RKMETableSpecification.generate(user, K=60)})
    for method in ("greedy", "oneshot"):
        found = market.search(info, searcher="rkme", mixture=method).mixtures[0]
        weights = {lw.id: w for lw, w in zip(found.learnwares, found.weights, strict=True)}
        assert set(weights) == {ids["a"], ids["b"]}, method
        assert weights[ids["a"]] == pytest.approx(0.7, abs=0.06)
        assert sum(found.weights) == pytest.approx(1.0)
        assert found.distance is not None
        assert found.distance < min(m.distance or 0 for m in market.search(info).singles)
    assert market.search(info, mixture="none").mixtures == ()


def test_default_mixture_covers_more_learnwares_than_the_anchors_five(
    tmp_path: Path, market: Market
) -> None:
    """A user whose rows come from 8 learnwares' blobs: the default mixture (oneshot, up to
    10 of the best 20, chosen because bigger mixtures reuse better) holds all 8, the
    anchor's (greedy, up to 5 of 10) at most 5."""
    rng = np.random.default_rng(6)
    centres = [np.eye(5)[i % 5] * 8.0 * (1 if i < 5 else -1) for i in range(10)]
    ids = [
        add(market, tmp_path, f"b{i}", rng.normal(c, 1.0, size=(200, 5)))
        for i, c in enumerate(centres)
    ]
    user = np.vstack([rng.normal(c, 1.0, size=(100, 5)) for c in centres[:8]])
    info = UserInfo(stat_specs={TABLE_SPEC_NAME: RKMETableSpecification.generate(user, K=60)})
    found = market.search(info, searcher="rkme").mixtures[0]
    assert {lw.id for lw in found.learnwares} == set(ids[:8])
    assert all(w == pytest.approx(1 / 8, abs=0.05) for w in found.weights)
    anchor = market.search(info, searcher="rkme", mixture="greedy", max_search_num=5)
    assert len(anchor.mixtures[0].learnwares) <= 5


def test_index_updates_incrementally(tmp_path: Path, blobs: tuple[Market, dict[str, str]]) -> None:
    rng = np.random.default_rng(5)
    market, ids = blobs
    searcher = market.searcher("rkme")
    assert isinstance(searcher, RKMESearcher)
    probe = query(rng.normal(3.0, 1.0, size=(100, 5)))
    market.search(probe)
    index = searcher.index
    assert len(index) == 4
    market.delete(ids["east"])
    new = add(market, tmp_path, "east2", rng.normal(3.0, 1.0, size=(300, 5)))
    market.update(ids["west"], semantic_spec=table_semantic_spec("west renamed", dimension=5))
    result = market.search(probe)
    assert searcher.index is index and len(index) == 4
    assert result.singles[0].learnware.id == new
    fresh = RKMEIndex(market)
    fresh.sync()
    for key, group in index.groups.items():
        other = fresh.groups[key]
        order = [group.ids.index(i) for i in other.ids]
        assert sorted(group.ids) == sorted(other.ids)
        np.testing.assert_array_equal(group.z.numpy()[order], other.z.numpy())
        np.testing.assert_array_equal(group.self_terms[order], other.self_terms)
    fresh.close()


def test_vectors_are_cached_at_submission(blobs: tuple[Market, dict[str, str]]) -> None:
    market, ids = blobs
    from learnware_dock_rkme.vectors import VectorStore

    store = VectorStore(market.root / "rkme")
    refs = market.organizer.spec_refs(TABLE_SPEC_NAME)
    cached = store.get_many(ref.sha256 for ref in refs.values())
    store.close()
    assert len(cached) == 4
    spec = market.stat_spec(ids["north"], TABLE_SPEC_NAME)
    vector = cached[refs[ids["north"]].sha256]
    z = vector.z.astype(np.float64)
    b = vector.beta.astype(np.float64)
    assert vector.self_term == pytest.approx(b @ gaussian_kernel(z, z, spec.gamma) @ b)  # type: ignore[attr-defined]


def test_other_dimensions_and_bad_options(blobs: tuple[Market, dict[str, str]]) -> None:
    rng = np.random.default_rng(6)
    market, _ = blobs
    other = UserInfo(stat_specs={TABLE_SPEC_NAME: rkme(rng.normal(size=(50, 3)))})
    assert market.search(other, searcher="rkme").total == 0
    with pytest.raises(SearchError, match="mixture must be greedy, oneshot or none"):
        market.search(query(rng.normal(size=(50, 5))), mixture="best")
    with pytest.raises(SearchError, match="needs a RKMETableSpecification"):
        market.search(SemanticSpec(), searcher="rkme")
    assert market.search(SemanticSpec()).searcher == "semantic"


def test_search_runs_numpy_blas_on_one_thread(
    blobs: tuple[Market, dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its small float64 kernels run with one BLAS thread (no pool spinning beside
    torch's); the limit is lifted afterwards, and options still bind to its signature."""
    from threadpoolctl import threadpool_info

    from learnware_dock_rkme import ranking

    def blas_threads() -> set[int]:
        return {i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"}

    seen: list[set[int]] = []
    real = ranking.embedding_products

    def spy(*args: object, **kwargs: object) -> np.ndarray:
        seen.append(blas_threads())
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(ranking, "embedding_products", spy)
    market, _ = blobs
    before = blas_threads()
    rng = np.random.default_rng(11)
    market.search(query(rng.normal(size=(50, 5))), searcher="rkme", mixture="oneshot")
    assert seen and all(threads == {1} for threads in seen)
    assert blas_threads() == before


def test_digits_market_finds_the_classes_of_the_user(tmp_path: Path, market: Market) -> None:
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    subsets = [(0, 1), (2, 3), (4, 5), (6, 7), (8, 9), (0, 5), (3, 8)]
    ids = {}
    for classes in subsets:
        mask = np.isin(y, classes)
        spec = RKMETableSpecification.generate(X[mask], seed=0)
        package = build_package(
            tmp_path / f"d{classes}", X[mask], y[mask], stat_specs={"rkme.json": spec}
        )
        semantic = table_semantic_spec(f"digits {classes}", dimension=64, classes=10)
        ids[market.add(package, semantic).id] = classes
    user_mask = np.isin(y, (2, 7))
    info = UserInfo(
        stat_specs={TABLE_SPEC_NAME: RKMETableSpecification.generate(X[user_mask][::2], seed=1)}
    )
    result = market.search(info, limit=3)
    top_two = {ids[m.learnware.id] for m in result.singles[:2]}
    assert top_two == {(2, 3), (6, 7)}
    covered = {ids[lw.id] for lw in result.mixtures[0].learnwares}
    assert {(2, 3), (6, 7)} <= covered


def test_pivot_pruning_is_exact_and_skips_work() -> None:
    from learnware_dock_rkme.index import Group
    from learnware_dock_rkme.pivots import PIVOTS
    from learnware_dock_rkme.ranking import pruned_scan
    from learnware_dock_rkme.vectors import Vector

    rng = np.random.default_rng(5)
    centres = rng.uniform(-4, 4, size=(12, 3))
    bases = [rkme(rng.normal(c, 0.5, size=(200, 3)), K=15) for c in centres]

    def vectors(n: int) -> list[Vector]:
        out = []
        for i in rng.integers(len(bases), size=n):
            z = bases[i].z + rng.normal(0, 0.05, size=bases[i].z.shape)
            out.append(Vector.of(RKMETableSpecification(z, bases[i].beta, 0.1, 200)))
        return out

    group = Group(3, 0.1)
    group.append([f"{i:08d}" for i in range(1500)], vectors(1500))
    group.choose_pivots(PIVOTS, np.arange(0, 1500, 3))  # farthest-first in a sample
    assert not np.isnan(group.pivot_dist).any()
    group.append([f"{i:08d}" for i in range(1500, 2500)], vectors(1000))  # after pivots
    assert np.isnan(group.pivot_dist[1500:]).all()
    assert sorted(group.fill_pivot_dist({})) == list(range(1500, 2500))  # per-pivot scans
    by_pivot = group.pivot_dist[1500:1510].copy()
    group.pivot_dist[1500:1510] = np.nan
    assert sorted(group.fill_pivot_dist({})) == list(range(1500, 1510))  # one pass per row
    np.testing.assert_allclose(group.pivot_dist[1500:1510], by_pivot, rtol=1e-4, atol=1e-4)
    group.keep(np.arange(2500) % 7 != 0)  # deletions
    assert group.pivot_dist.shape == (len(group), PIVOTS)
    user = Vector.of(rkme(rng.normal(centres[3], 0.5, size=(300, 3))))
    everyone = np.arange(len(group))
    full = group.distances(user.z, user.beta, user.self_term)
    rows, approx = pruned_scan(group, user, everyone, keep=10)
    assert list(rows[np.argsort(approx)[:10]]) == list(np.argsort(full)[:10])
    assert len(rows) < 0.5 * len(group)
    subset = everyone[::3]
    rows, approx = pruned_scan(group, user, subset, keep=5)
    assert list(rows[np.argsort(approx)[:5]]) == list(subset[np.argsort(full[subset])[:5]])


def test_backend_is_exact_on_wide_scale_data_too() -> None:
    """Large gamma * |q|^2 takes the unfolded path instead of overflowing float32."""
    rng = np.random.default_rng(7)
    z, beta = rng.normal(0, 30, size=(20, 4)), rng.dirichlet(np.ones(20))
    zs = z[None] + rng.normal(0, 1, size=(5, 20, 4))
    betas = rng.dirichlet(np.ones(20), size=5)
    got = TorchCPUBackend().cross_terms(z, beta, zs, betas, 0.5)
    want = [beta @ gaussian_kernel(z, zs[i], 0.5) @ betas[i] for i in range(5)]
    assert np.isfinite(got).all()
    # float32 cancellation in |q|^2 + |z|^2 - 2 q.z at |q|^2 ~ 1e4: relative errors up to
    # ~5e-4 (200 seeds; under 1e-4 for only a third of them), orders below an overflow's
    np.testing.assert_allclose(got, want, rtol=1e-3, atol=1e-9)


def test_pivots_are_maintained_at_submission_and_prune_exactly(
    tmp_path: Path, market: Market, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = np.random.default_rng(8)
    from learnware_dock_rkme import pivots, ranking
    from learnware_dock_rkme.index import Group
    from learnware_dock_rkme.vectors import VectorStore

    monkeypatch.setattr(pivots, "PIVOTS", 3)
    monkeypatch.setattr(pivots, "FIRST_CHOICE", 4)
    monkeypatch.setattr(pivots, "GROWTH", 2)
    monkeypatch.setattr(ranking, "PRUNE_MIN", 2)
    store = VectorStore(market.root / "rkme")
    generations = []
    for n, centre in enumerate(np.linspace(-8, 8, 9)):
        add(market, tmp_path, f"lw{n}", rng.normal(centre, 1.0, size=(150, 5)))
        found = store.pivot_set((5, 0.1))
        generations.append(found.generation if found else 0)
    # chosen at 4 vectors, re-chosen at 8 (GROWTH 2); never at submission otherwise
    assert generations == [0, 0, 0, 1, 1, 1, 1, 2, 2]
    current = store.pivot_set((5, 0.1))
    assert current is not None and len(current.pivots) == 3 and current.chosen_at == 8
    shas = [ref.sha256 for ref in market.organizer.spec_refs(TABLE_SPEC_NAME).values()]
    assert len(store.pivot_dists(shas, current.generation)) == 9  # all stored at submission

    computed: list[int] = []
    fill = Group.fill_pivot_dist

    def spy(self: Group, known: dict[int, np.ndarray]) -> dict[int, np.ndarray]:
        out = fill(self, known)
        computed.append(len(out))
        return out

    monkeypatch.setattr(Group, "fill_pivot_dist", spy)
    probe = query(rng.normal(2.0, 1.0, size=(200, 5)))
    pruned = market.search(probe, limit=3, mixture="none")
    full = market.search(probe, limit=3, mixture="none", prune=False)
    assert computed == [0]  # the index took every pivot distance from the store
    assert [m.learnware.id for m in pruned.singles] == [m.learnware.id for m in full.singles]
    assert [m.distance for m in pruned.singles] == pytest.approx([m.distance for m in full.singles])

    # learnwares cached before pivots existed: a fresh index computes and stores theirs
    store.conn.execute("DELETE FROM pivot_dist")
    fresh = RKMEIndex(market)
    fresh.sync()
    fresh.close()
    assert computed[-1] == 9
    assert len(store.pivot_dists(shas, current.generation)) == 9
    store.close()


def test_index_skips_the_sync_query_while_the_market_is_unchanged(
    tmp_path: Path, blobs: tuple[Market, dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = np.random.default_rng(9)
    market, _ = blobs
    probe = query(rng.normal(3.0, 1.0, size=(100, 5)))
    first = market.search(probe)
    calls: list[str] = []
    spec_refs = market.organizer.spec_refs

    def counting(type_name: str) -> dict[str, object]:
        calls.append(type_name)
        return spec_refs(type_name)

    monkeypatch.setattr(market.organizer, "spec_refs", counting)
    again = market.search(probe)
    assert calls == []
    assert [m.learnware.id for m in again.singles] == [m.learnware.id for m in first.singles]
    # far from the four blobs (a second "east" would tie with the first one, a coin flip)
    new = add(market, tmp_path, "far", rng.normal(12.0, 1.0, size=(300, 5)))
    assert market.search(query(rng.normal(12.0, 1.0, size=(100, 5)))).singles[0].learnware.id == new
    assert calls == [TABLE_SPEC_NAME]


def test_pruning_falls_back_to_one_scan_when_bounds_cannot_help() -> None:
    """Random RKMEs sit at nearly equal distances: the bounds rule out nothing."""
    from learnware_dock_rkme.index import Group
    from learnware_dock_rkme.ranking import pruned_scan
    from learnware_dock_rkme.vectors import Vector

    rng = np.random.default_rng(9)

    def random_vector() -> Vector:
        z, beta = rng.random((10, 8)), rng.dirichlet(np.ones(10))
        return Vector.of(RKMETableSpecification(z, beta, 0.1, 10))

    group = Group(8, 0.1)
    group.append([f"{i:08d}" for i in range(400)], [random_vector() for _ in range(400)])
    group.choose_pivots(8)
    user = random_vector()
    selected = np.arange(0, 400, 2)
    rows, approx = pruned_scan(group, user, selected, keep=10)
    np.testing.assert_array_equal(rows, selected)
    full = group.distances(user.z, user.beta, user.self_term)
    np.testing.assert_allclose(approx, full[selected], rtol=1e-6)


def test_embedding_products_match_the_pairwise_sums() -> None:
    from learnware_dock_rkme.kernel import embedding_products, gaussian_kernel

    rng = np.random.default_rng(3)
    left = [(rng.normal(size=(k, 5)), rng.dirichlet(np.ones(k))) for k in (3, 7, 4)]
    right = [(rng.normal(size=(k, 5)), rng.dirichlet(np.ones(k))) for k in (6, 2)]
    got = embedding_products(left, right, 0.3)
    want = [[ba @ gaussian_kernel(za, zb, 0.3) @ bb for zb, bb in right] for za, ba in left]
    assert got.shape == (3, 2)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)
