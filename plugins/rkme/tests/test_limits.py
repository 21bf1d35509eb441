"""RKME size limits: refused from JSON (before arrays are built), in the submission
checks and in search queries; a stored spec over them is left out of searches."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np
import pytest

from learnware_dock import Market, UserInfo
from learnware_dock.domain import Status
from learnware_dock.errors import CheckError, DockError, SpecificationError
from learnware_dock.testing import build_package, table_semantic_spec
from learnware_dock_rkme import RKMETableSpecification
from learnware_dock_rkme.limits import SpecLimits
from learnware_dock_rkme.vectors import VectorStore

TABLE_SPEC_NAME = RKMETableSpecification.name
CHECKERS = ("semantic", "package")


def points(rng: np.random.Generator, k: int, d: int) -> RKMETableSpecification:
    """A valid RKME of k points in d features, built directly (no herding)."""
    return RKMETableSpecification(rng.normal(size=(k, d)), np.full(k, 1.0 / k), 0.1, k)


def package(
    rng: np.random.Generator, tmp_path: Path, name: str, spec: RKMETableSpecification
) -> Path:
    X = rng.normal(size=(40, spec.dimension))
    y = (X[:, 0] > 0).astype(int)
    return build_package(tmp_path / name, X, y, stat_specs={"rkme.json": spec})


def test_defaults_and_environment_overrides() -> None:
    assert SpecLimits() == SpecLimits(
        max_points=10_000, max_dimension=100_000, max_values=50_000_000, max_file_bytes=256 << 20
    )
    env = {"DOCK_MAX_SPEC_POINTS": "500", "DOCK_MAX_SPEC_BYTES": " 1_000 ", "OTHER": "x"}
    assert SpecLimits.from_env(env) == SpecLimits(max_points=500, max_file_bytes=1000)
    assert SpecLimits.from_env({"DOCK_MAX_SPEC_DIMENSION": ""}) == SpecLimits()
    for bad in ("ten", "0", "-3"):
        with pytest.raises(DockError, match=rf"\$DOCK_MAX_SPEC_VALUES must be .*{bad}"):
            SpecLimits.from_env({"DOCK_MAX_SPEC_VALUES": bad})
    with pytest.raises(DockError, match="max_points must be a positive integer"):
        SpecLimits(max_points=0)


def test_from_json_refuses_each_limit_naming_value_and_limit() -> None:
    rng = np.random.default_rng(3)
    over_k = points(rng, 10_001, 1).to_json()
    with pytest.raises(SpecificationError) as caught:
        RKMETableSpecification.from_json(over_k)
    message = str(caught.value)
    assert "RKMETableSpecification has 10,001 points (K)" in message
    assert "limit of 10,000 ($DOCK_MAX_SPEC_POINTS)" in message
    wide = {"z": [[0.0] * 100_001], "beta": [1.0]}
    with pytest.raises(SpecificationError, match=r"100,001 features \(d\).*DOCK_MAX_SPEC_DIM"):
        RKMETableSpecification.from_json(wide)
    weights = {"z": [[0.0]], "beta": [0.0] * 10_001}
    with pytest.raises(SpecificationError, match=r"10,001 weights \(beta\)"):
        RKMETableSpecification.from_json(weights)
    small = SpecLimits(max_points=5, max_values=12)
    with pytest.raises(SpecificationError, match=r"15 values \(K \* d\).*limit of 12"):
        RKMETableSpecification.from_json(points(rng, 5, 3).to_json(), limits=small)
    assert (
        RKMETableSpecification.from_json(points(rng, 4, 3).to_json(), limits=small).dimension == 3
    )


def test_from_json_checks_lengths_before_numpy_builds_the_arrays() -> None:
    """Shared rows: a few kB of Python lists that would be 800 MB of float64."""
    row = [0.0] * 10_000
    start = time.perf_counter()
    with pytest.raises(SpecificationError, match=r"100,000,000 values"):
        RKMETableSpecification.from_json({"z": [row] * 10_000, "beta": [1e-4] * 10_000})
    assert time.perf_counter() - start < 0.5
    deep = {"z": [[[0.0] * 1000] * 1000] * 1000, "beta": [1.0]}
    with pytest.raises(SpecificationError, match="z must be a K x d list"):
        RKMETableSpecification.from_json(deep)
    with pytest.raises(SpecificationError, match="beta must be a list of K numbers"):
        RKMETableSpecification.from_json({"z": [[0.0]], "beta": [[[1.0] * 1000] * 1000]})
    with pytest.raises(SpecificationError, match=r"1,000,000 weights"):
        RKMETableSpecification.from_json({"z": [[0.0]], "beta": [[1.0] * 1000] * 1000})
    ragged = {"z": [[0.0], [0.0] * 10**7], "beta": [0.5, 0.5]}  # numpy refuses it at once
    with pytest.raises(SpecificationError, match=r"inhomogeneous"):
        RKMETableSpecification.from_json(ragged)


def test_load_refuses_a_large_file_before_reading_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = np.random.default_rng(4)
    path = tmp_path / "rkme.json"
    points(rng, 20, 3).save(path)
    size = path.stat().st_size
    monkeypatch.setenv("DOCK_MAX_SPEC_BYTES", str(size - 1))
    monkeypatch.setattr(Path, "read_text", lambda *a, **k: pytest.fail("read"))
    with pytest.raises(SpecificationError) as caught:
        RKMETableSpecification.load(path)
    assert f"file rkme.json has {size:,} bytes" in str(caught.value)
    assert f"limit of {size - 1:,} ($DOCK_MAX_SPEC_BYTES)" in str(caught.value)


def test_generate_refuses_more_points_than_the_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(5)
    monkeypatch.setenv("DOCK_MAX_SPEC_POINTS", "10")
    X = rng.normal(size=(50, 3))
    with pytest.raises(SpecificationError, match=r"has 20 points .* limit of 10"):
        RKMETableSpecification.generate(X, K=20)
    assert len(RKMETableSpecification.generate(X, K=10).z) == 10


def test_submission_checks_refuse_a_spec_over_the_limits(
    tmp_path: Path, market: Market, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = np.random.default_rng(6)
    big = package(rng, tmp_path, "big", points(rng, 30, 3))
    semantic = table_semantic_spec("big", dimension=3)
    monkeypatch.setenv("DOCK_MAX_SPEC_POINTS", "20")
    report = market.check(big, semantic, checkers=CHECKERS)
    assert report.status is Status.INVALID
    assert "30 points (K), over the limit of 20 ($DOCK_MAX_SPEC_POINTS)" in report.message
    assert "rkme.json" in report.message
    with pytest.raises(CheckError, match="over the limit of 20"):
        market.add(big, semantic, checkers=CHECKERS)
    monkeypatch.setenv("DOCK_MAX_SPEC_POINTS", "100")
    monkeypatch.setenv("DOCK_MAX_SPEC_BYTES", "2000")
    with pytest.raises(CheckError, match=r"rkme.json has [\d,]+ bytes, over the limit of 2,000"):
        market.add(big, semantic, checkers=CHECKERS)
    assert len(market) == 0


def test_search_refuses_a_query_over_the_limits(
    tmp_path: Path, market: Market, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = np.random.default_rng(7)
    semantic = table_semantic_spec("a", dimension=3)
    market.add(package(rng, tmp_path, "a", points(rng, 8, 3)), semantic, checkers=CHECKERS)
    monkeypatch.setenv("DOCK_MAX_SPEC_POINTS", "10")
    with Market.open(market.root, plugin_manager=market.pm) as fresh:
        query = UserInfo(
            stat_specs={TABLE_SPEC_NAME: points(rng, 11, 3)}
        )  # built in Python: no from_json
        with pytest.raises(SpecificationError, match=r"the query's .* 11 points .* limit of 10"):
            fresh.search(query)
        assert fresh.search(UserInfo(stat_specs={TABLE_SPEC_NAME: points(rng, 10, 3)})).total == 1


def test_a_stored_spec_over_the_limits_is_left_out_with_a_warning(
    tmp_path: Path,
    market: Market,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Stored before the limits were lowered (or with the package checker skipped): the
    market's searches go on without it, from the vector cache and from the JSON alike."""
    rng = np.random.default_rng(8)
    semantic = table_semantic_spec("x", dimension=3)
    small = market.add(
        package(rng, tmp_path, "small", points(rng, 5, 3)), semantic, checkers=CHECKERS
    )
    big = market.add(package(rng, tmp_path, "big", points(rng, 40, 3)), semantic, checkers=CHECKERS)
    monkeypatch.setenv("DOCK_MAX_SPEC_POINTS", "20")
    skipped = market.add(
        package(rng, tmp_path, "skip", points(rng, 30, 3)), semantic, checkers=["semantic"]
    )
    query = UserInfo(stat_specs={TABLE_SPEC_NAME: points(rng, 5, 3)})
    for cached in (True, False):
        if not cached:  # the JSON path: specs stored before the plugin was installed
            store = VectorStore(market.root / "rkme")
            store.conn.execute("DELETE FROM vectors")
            store.close()
        caplog.clear()
        with (
            caplog.at_level(logging.WARNING, "learnware_dock_rkme"),
            Market.open(market.root, plugin_manager=market.pm) as fresh,
        ):
            result = fresh.search(query)
            new = fresh.add(package(rng, tmp_path, f"n{cached}", points(rng, 5, 3)), semantic)
            again = fresh.search(query)  # the market changed: warned once, not again
        assert [m.learnware.id for m in result.singles] == [small.id]
        assert result.total == 1 and {m.learnware.id for m in again.singles} == {small.id, new.id}
        market.delete(new.id)
        warned = [r.getMessage() for r in caplog.records]
        assert len(warned) == 2, warned
        assert any(big.id in w and "40 points" in w and "limit of 20" in w for w in warned)
        assert any(skipped.id in w and "30 points" in w for w in warned)


def test_pivots_leave_out_vectors_over_the_limits(
    tmp_path: Path, market: Market, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = np.random.default_rng(9)
    from learnware_dock_rkme import pivots

    monkeypatch.setattr(pivots, "PIVOTS", 2)
    monkeypatch.setattr(pivots, "FIRST_CHOICE", 3)
    semantic = table_semantic_spec("x", dimension=3)
    market.add(package(rng, tmp_path, "big", points(rng, 40, 3)), semantic, checkers=CHECKERS)
    monkeypatch.setenv("DOCK_MAX_SPEC_POINTS", "20")
    store = VectorStore(market.root / "rkme")
    for n in range(3):
        assert store.pivot_set((3, 0.1)) is None  # the 40-point vector is not counted
        market.add(package(rng, tmp_path, f"s{n}", points(rng, 5, 3)), semantic, checkers=CHECKERS)
    found = store.pivot_set((3, 0.1))
    store.close()
    assert found is not None and found.chosen_at == 3
    assert all(len(beta) == 5 for _, beta, _ in found.pivots)
