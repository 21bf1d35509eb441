"""Market.semantic_matches: the semantic pre-filter, with or without the semantic searcher."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from learnware_dock import Market, SemanticMatches, SemanticSpec, UserInfo
from learnware_dock.defaults.semantic.searcher import SemanticSearcher
from learnware_dock.plugins import get_plugin_manager
from learnware_dock.testing import ToySpecPlugin, build_package, table_semantic_spec

ROWS = [
    ("house prices", "Regression", ("Business",), "ridge regression of house sale prices"),
    ("credit risk", "Classification", ("Financial", "Business"), "default prediction for loans"),
    ("tumour grade", "Classification", ("Health",), "grading tumours from biopsy features"),
    ("traffic volume", "Regression", ("Traffic",), "hourly vehicles on a motorway"),
]


def fill(market: Market, tmp_path: Path) -> dict[str, str]:
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40, 4)), np.repeat([0, 1], 20)
    package = build_package(tmp_path / "lw", X, y)
    ids = {}
    for name, task, scenario, description in ROWS:
        spec = table_semantic_spec(name, task=(task,), scenario=scenario, description=description)
        ids[name] = market.add(package, spec).id
    return ids


@pytest.fixture
def bare(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Market, dict[str, str]]]:
    """A market without the built-in ``semantic`` searcher, holding the four ROWS."""
    monkeypatch.setenv("DOCK_DISABLE_PLUGINS", "defaults.semantic")
    pm = get_plugin_manager()
    pm.register(ToySpecPlugin())
    with Market(tmp_path / "market", plugin_manager=pm) as market:
        assert "semantic" not in market.components.searchers.names()
        yield market, fill(market, tmp_path)


def test_filters_without_the_semantic_searcher(bare: tuple[Market, dict[str, str]]) -> None:
    market, ids = bare
    found = market.semantic_matches(SemanticSpec(task=("Regression",)))
    assert isinstance(found, SemanticMatches) and found.how == "filter"
    assert sorted(found.ids) == sorted([ids["house prices"], ids["traffic volume"]])
    assert len(found) == 2 and all(rank is None for _, rank in found.hits)
    assert ids["house prices"] in found and ids["credit risk"] not in found
    tags = market.semantic_matches({"Scenario": {"Type": "Tag", "Values": ["Business"]}})
    assert sorted(tags.ids) == sorted([ids["house prices"], ids["credit risk"]])
    assert len(market.semantic_matches(SemanticSpec())) == 4


def test_text_fuzzy_and_ids(bare: tuple[Market, dict[str, str]]) -> None:
    market, ids = bare
    text = market.semantic_matches(SemanticSpec(name="tumour biopsy"))
    assert text.how == "text" and text.ids == (ids["tumour grade"],)
    fuzzy = market.semantic_matches(SemanticSpec(name="trafic volumme"))
    assert fuzzy.how == "fuzzy" and fuzzy.ids[0] == ids["traffic volume"]
    rank = fuzzy.hits[0][1]
    assert rank is not None and 0.0 <= rank < 0.4
    assert market.semantic_matches(SemanticSpec(name="trafic"), fuzzy_cutoff=99.0).ids == ()
    assert len(market.semantic_matches(SemanticSpec(name="zzzzqqq"))) == 0
    only = UserInfo(semantic_spec=SemanticSpec(), learnware_ids=[ids["credit risk"]])
    assert market.semantic_matches(only).ids == (ids["credit risk"],)


def test_the_semantic_searcher_uses_the_same_matches(tmp_path: Path, market: Market) -> None:
    market.pm.register(ToySpecPlugin())
    fill(market, tmp_path)
    searcher = market.searcher("semantic")
    assert isinstance(searcher, SemanticSearcher)
    for spec in (SemanticSpec(task=("Classification",)), SemanticSpec(name="trafic volumme")):
        found = market.semantic_matches(spec)
        assert searcher.candidates(UserInfo(semantic_spec=spec)) == (list(found.hits), found.how)
        result = market.search(spec)
        assert [m.learnware.id for m in result.singles] == list(found.ids)
        assert result.total == len(found)
