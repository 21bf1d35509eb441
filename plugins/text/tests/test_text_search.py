"""The ``rkme-text`` searcher on a market of real text learnwares: the user's superclass
ranks first, languages and encoders filter, the side table spares re-parsing."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from learnware_dock import Market, SearchError, SemanticSpec, UserInfo
from learnware_dock.package.writer import write_folder, zip_folder
from learnware_dock.semantic import IOSpec
from learnware_dock_text import RKMETextSpecification
from learnware_dock_text.encoders import ANCHOR_ENCODER

TEXT = RKMETextSpecification.name

#: a packaged text classifier: the post's length decides (pure Python, no weights)
MODEL = """
class LengthModel:
    output_shape = (1,)

    def predict(self, X):
        return [int(len(str(x)) > 200) for x in X]
"""


def package(folder: Path, spec: RKMETextSpecification | dict[str, Any]) -> Path:
    """A learnware zip holding ``spec`` (a spec, or the JSON of one as another tool wrote it)."""
    if isinstance(spec, dict):
        raw = spec

        class Raw:
            name = TEXT

            def save(self, path: Path) -> None:
                import json

                path.write_text(json.dumps(raw), encoding="utf-8")

        spec = Raw()  # type: ignore[assignment]
    written = write_folder(
        folder, model_source=MODEL, class_name="LengthModel", stat_specs={"rkme.json": spec}
    )
    return zip_folder(written, folder.with_suffix(".zip"))


def semantic(name: str) -> SemanticSpec:
    return SemanticSpec(
        name=name,
        description=f"classifies {name} posts",
        data=("Text",),
        task=("Classification",),
        library=("Others",),
        scenario=("Internet",),
        license=("MIT",),
        output=IOSpec(2, {"0": "short", "1": "long"}),
    )


def anchor_spec_json(like: RKMETextSpecification) -> dict[str, Any]:
    """A spec as the `learnware` package writes it (its multilingual encoder, no encoder
    key): the same points as ``like``, which only its encoder keeps apart."""
    data = like.to_json()
    del data["encoder"], data["encoder_dim"]
    return data


@pytest.fixture(scope="module")
def market(
    tmp_path_factory: pytest.TempPathFactory,
    learnware_specs: dict[str, RKMETextSpecification],
) -> Iterator[tuple[Market, dict[str, str]]]:
    """comp, rec, sci and talk learnwares, a French one, and one made by the `learnware`
    package (an encoder not installed here)."""
    root = tmp_path_factory.mktemp("text-market")
    ids = {}
    with Market(root / "market") as opened:
        for name, spec in learnware_specs.items():
            ids[name] = opened.add(package(root / name, spec), semantic(name)).id
        anchor = package(root / "anchor", anchor_spec_json(learnware_specs["comp"]))
        ids["anchor"] = opened.add(anchor, semantic("anchor")).id
        yield opened, ids


def query(spec: RKMETextSpecification) -> UserInfo:
    return UserInfo(semantic_spec=SemanticSpec(), stat_specs={TEXT: spec})


@pytest.mark.parametrize("superclass", ["comp", "sci"])
def test_a_users_posts_rank_the_learnware_of_their_superclass_first(
    market: tuple[Market, dict[str, str]],
    user_specs: dict[str, RKMETextSpecification],
    superclass: str,
) -> None:
    opened, ids = market
    result = opened.search(query(user_specs[superclass]), mixture="none")
    assert result.searcher == "rkme-text"
    ranked = [m.learnware.id for m in result.singles]
    assert ranked[0] == ids[superclass]
    english = {ids[s] for s in ("comp", "rec", "sci", "talk")}
    assert set(ranked) == english and result.total == 4  # not French, not the anchor's
    distances = [m.distance for m in result.singles]
    assert all(d is not None for d in distances)
    others = [d for d in distances[1:] if d is not None]
    assert distances[0] is not None and distances[0] < 0.8 * sum(others) / len(others)
    assert result.singles[0].score > result.singles[1].score


def test_learnwares_needing_a_missing_encoder_are_noted(
    market: tuple[Market, dict[str, str]],
    user_specs: dict[str, RKMETextSpecification],
) -> None:
    opened, _ = market
    result = opened.search(query(user_specs["comp"]))
    assert result.notes == (
        f"1 learnware's text spec needs encoder {ANCHOR_ENCODER} (its weights are not "
        "shipped with any package; put a local copy of sentence-transformers/"
        f"{ANCHOR_ENCODER} (a sentence-transformers folder) in the Hugging Face cache or "
        "point DOCK_TEXT_MULTILINGUAL_PATH at it, with sentence-transformers installed); "
        "they were not compared",
    )


def test_a_user_spec_of_a_missing_encoder_is_refused(
    market: tuple[Market, dict[str, str]],
    learnware_specs: dict[str, RKMETextSpecification],
) -> None:
    opened, _ = market
    theirs = RKMETextSpecification.from_json(anchor_spec_json(learnware_specs["comp"]))
    with pytest.raises(SearchError, match=f"made with encoder {ANCHOR_ENCODER}, which this dock"):
        opened.search(query(theirs))


def test_the_users_languages_must_be_among_the_learnwares(
    market: tuple[Market, dict[str, str]],
    user_specs: dict[str, RKMETextSpecification],
) -> None:
    opened, ids = market
    french = opened.search(query(user_specs["french"]))
    assert [m.learnware.id for m in french.singles] == [ids["french"]] and french.total == 1
    german = opened.search(query(user_specs["german"]))
    assert german.total == 0 and not german.singles


def test_semantic_filters_still_apply(
    market: tuple[Market, dict[str, str]],
    user_specs: dict[str, RKMETextSpecification],
) -> None:
    opened, ids = market
    info = UserInfo(semantic_spec=SemanticSpec(name="rec"), stat_specs={TEXT: user_specs["comp"]})
    result = opened.search(info)
    assert [m.learnware.id for m in result.singles] == [ids["rec"]]


def test_search_reads_encoders_and_languages_from_the_side_table(
    market: tuple[Market, dict[str, str]],
    user_specs: dict[str, RKMETextSpecification],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    opened, ids = market
    db = opened.root / "rkme" / TEXT / "text_meta.db"
    with sqlite3.connect(db) as conn:
        rows = dict(conn.execute("SELECT encoder, COUNT(*) FROM text_meta GROUP BY encoder"))
    assert rows == {"all-MiniLM-L6-v2": 5, ANCHOR_ENCODER: 1}  # filled at submission

    def no_parsing(ref: object) -> dict[str, Any]:
        raise AssertionError("a search re-parsed a stored spec")

    fresh = Market(opened.root)  # as a new process: new searcher, nothing cached in memory
    try:
        monkeypatch.setattr(fresh.organizer, "read_stat_spec", no_parsing)
        result = fresh.search(query(user_specs["sci"]))
    finally:
        fresh.close()
    assert result.singles[0].learnware.id == ids["sci"]
