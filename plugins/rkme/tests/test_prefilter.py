"""rkme search applies the semantic filters through Market.semantic_matches, so it works
(and filters) with the built-in ``semantic`` searcher disabled."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from learnware_dock import Market, SemanticSpec, UserInfo
from learnware_dock.plugins import get_plugin_manager
from learnware_dock.testing import build_package, table_semantic_spec
from learnware_dock_rkme import RKMETableSpecification

TABLE_SPEC_NAME = RKMETableSpecification.name
#: name -> (blob centre, task, scenario)
ROWS = {
    "north": (0.0, "Classification", ("Business",)),
    "east": (3.0, "Classification", ("Health",)),
    "south": (6.0, "Regression", ("Business",)),
    "west": (9.0, "Classification", ("Business", "Health")),
}


def rkme(X: np.ndarray) -> RKMETableSpecification:
    return RKMETableSpecification.generate(X, K=20, seed=0)


@pytest.fixture
def blobs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Market, dict[str, str]]]:
    """Four learnwares on separated 5-d blobs in a market without the semantic searcher."""
    monkeypatch.setenv("DOCK_DISABLE_PLUGINS", "defaults.semantic,isolation")
    with Market(tmp_path / "market", plugin_manager=get_plugin_manager()) as market:
        assert "semantic" not in market.components.searchers.names()
        ids = {}
        rng = np.random.default_rng(1)
        for name, (centre, task, scenario) in ROWS.items():
            X = rng.normal(centre, 1.0, size=(300, 5))
            y = X[:, 0] if task == "Regression" else (X[:, 0] > centre).astype(int)
            package = build_package(tmp_path / name, X, y, stat_specs={"rkme.json": rkme(X)})
            outputs = 1 if task == "Regression" else 2
            spec = table_semantic_spec(
                name, dimension=5, classes=outputs, task=(task,), scenario=scenario
            )
            ids[name] = market.add(package, spec).id
        yield market, ids


def query(centre: float, **semantic: object) -> UserInfo:
    spec = SemanticSpec(**semantic)  # type: ignore[arg-type]
    rng = np.random.default_rng(int(centre * 100) % 2**32)
    return UserInfo(
        semantic_spec=spec, stat_specs={TABLE_SPEC_NAME: rkme(rng.normal(centre, 1.0, (200, 5)))}
    )


def found(market: Market, info: UserInfo) -> list[str]:
    result = market.search(info, searcher="rkme", mixture="none")
    assert result.searcher == "rkme" and result.total == len(result.singles)
    return [m.learnware.id for m in result.singles]


def test_rkme_filters_without_the_semantic_searcher(
    blobs: tuple[Market, dict[str, str]],
) -> None:
    market, ids = blobs
    everyone = found(market, query(4.0))
    assert everyone == [ids["east"], ids["south"], ids["north"], ids["west"]]
    classifiers = found(market, query(4.0, task=("Classification",)))
    assert classifiers == [ids["east"], ids["north"], ids["west"]]
    business = found(market, query(4.0, task=("Classification",), scenario=("Business",)))
    assert business == [ids["north"], ids["west"]]
    assert found(market, query(4.0, name="south west")) == [ids["south"], ids["west"]]
    assert found(market, query(4.0, name="wset")) == [ids["west"]]  # fuzzy correction
    assert found(market, query(4.0, task=("Regression",), scenario=("Health",))) == []
    automatic = market.search(query(0.0, scenario=("Health",)))
    assert automatic.searcher == "rkme"
    assert [m.learnware.id for m in automatic.singles] == [ids["east"], ids["west"]]
