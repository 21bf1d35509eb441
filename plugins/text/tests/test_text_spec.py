"""RKMETextSpecification: generation on real posts, JSON both ways (the `learnware`
package's format included), encoders, languages, bad input, files and ``dock spec``."""

from __future__ import annotations

import importlib.metadata
import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from learnware_dock.cli import app
from learnware_dock.errors import DockError, SpecificationError
from learnware_dock.plugins import get_plugin_manager, list_plugins
from learnware_dock.registry import Components
from learnware_dock_text import (
    MiniLML6Encoder,
    MultilingualMiniLML12Encoder,
    RKMETextSearcher,
    RKMETextSpecification,
    detect_languages,
    load_encoder,
    read_texts,
)
from learnware_dock_text.encoders import ANCHOR_ENCODER, MULTILINGUAL_PATH

ENCODER = "all-MiniLM-L6-v2"
K = 10  # the shared specs' (conftest.py)


def test_plugin_is_installed() -> None:
    eps = importlib.metadata.entry_points(group="learnware_dock.plugins")
    assert "learnware_dock_text.hooks" in {ep.value for ep in eps if ep.name == "text"}
    pm = get_plugin_manager()
    infos = {i.name: i for i in list_plugins(pm)}
    assert infos["text"].status == "loaded" and infos["text"].distribution == "learnware-dock-text"
    components = Components(pm)
    assert components.specifications.get("RKMETextSpecification") is RKMETextSpecification
    assert components.searchers.get("rkme-text") is RKMETextSearcher
    assert components.encoders.get(ENCODER) is MiniLML6Encoder
    assert components.encoders.get(ANCHOR_ENCODER) is MultilingualMiniLML12Encoder


def test_generate_embeds_detects_languages_and_reports_progress(
    posts: dict[tuple[str, str], list[str]],
    learnware_specs: dict[str, RKMETextSpecification],
) -> None:
    spec = learnware_specs["comp"]
    assert spec.z.shape == (K, 384) and spec.encoder == ENCODER and spec.language == ["en"]
    assert spec.num_points == len(posts["train", "comp"]) and spec.gamma == 0.5
    assert (spec.beta >= 0).all() and abs(spec.beta.sum() - 1) < 1e-9
    assert np.allclose(np.linalg.norm(spec.z, axis=1), 1.0, atol=1e-4)  # unit embeddings
    assert learnware_specs["french"].language == ["fr"]
    calls: list[tuple[int, int]] = []
    texts = ["", *posts["train", "rec"][:5], "   "]  # blank documents are skipped
    small = RKMETextSpecification.generate(
        texts, K=3, gamma=0.3, seed=2, progress=lambda d, t: calls.append((d, t))
    )
    assert small.num_points == 5 and small.z.shape == (3, 384) and small.gamma == 0.3
    assert calls[0][1] == 5 and (5, 5) in calls  # the embedding phase (cached texts first)
    again = RKMETextSpecification.generate(texts, K=3, gamma=0.3, seed=2)
    assert np.array_equal(small.z, again.z) and np.array_equal(small.beta, again.beta)


def test_json_round_trip_keeps_encoder_and_languages(
    tmp_path: Path, learnware_specs: dict[str, RKMETextSpecification]
) -> None:
    spec = learnware_specs["french"]
    data = spec.to_json()
    assert list(data) == [
        "z", "beta", "gamma", "num_points", "type", "language", "encoder", "encoder_dim"
    ]  # fmt: skip
    assert data["type"] == "RKMETextSpecification" and data["language"] == ["fr"]
    assert data["encoder"] == ENCODER and data["encoder_dim"] == 384
    spec.save(tmp_path / "spec.json")
    loaded = RKMETextSpecification.load(tmp_path / "spec.json")
    assert np.array_equal(loaded.z, spec.z) and np.array_equal(loaded.beta, spec.beta)
    assert (loaded.language, loaded.encoder, loaded.gamma) == (["fr"], ENCODER, spec.gamma)
    assert loaded.dist(spec) == pytest.approx(0.0, abs=1e-12)
    assert spec.dist(learnware_specs["comp"]) > 0.05


def anchor_json(dim: int = 384, k: int = 5) -> dict[str, object]:
    """A text spec as the `learnware` package saves it: no encoder key."""
    rng = np.random.default_rng(0)
    z = rng.normal(size=(k, dim))
    return {
        "z": z.tolist(),
        "beta": (np.ones(k) / k).tolist(),
        "gamma": 0.1,
        "num_points": 40,
        "type": "RKMETextSpecification",
        "language": ["en", "fr"],
    }


def test_the_learnware_packages_json_loads_as_its_encoder(
    learnware_specs: dict[str, RKMETextSpecification],
) -> None:
    spec = RKMETextSpecification.from_json(anchor_json())
    assert spec.encoder == ANCHOR_ENCODER and spec.language == ["en", "fr"]
    assert spec.gamma == 0.1 and spec.num_points == 40 and spec.dimension == 384
    prefixed = {**anchor_json(), "encoder": "sentence-transformers/" + ANCHOR_ENCODER}
    assert RKMETextSpecification.from_json(prefixed).encoder == ANCHOR_ENCODER
    with pytest.raises(SpecificationError, match=f"encoders {ENCODER} and {ANCHOR_ENCODER}"):
        learnware_specs["comp"].dist(spec)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"encoder_dim": 100}, "encoder_dim is 100 but its points have 384"),
        ({"encoder": ""}, "'encoder' must be a name"),
        ({"encoder": 7}, "'encoder' must be a name"),
        ({"language": "en"}, "'language' must be a list"),
        ({"language": ["en", None]}, "language None is not a language code"),
        ({"type": "RKMETableSpecification"}, "expected 'RKMETextSpecification'"),
    ],
)
def test_bad_json_is_refused(change: dict[str, object], message: str) -> None:
    with pytest.raises(SpecificationError, match=message):
        RKMETextSpecification.from_json({**anchor_json(), **change})


def test_points_of_the_wrong_width_for_a_known_encoder_are_refused() -> None:
    data = {**anchor_json(dim=12), "encoder": ENCODER}
    with pytest.raises(SpecificationError, match=f"12 dimensions, but encoder {ENCODER} gives 384"):
        RKMETextSpecification.from_json(data)


@pytest.mark.parametrize(
    ("texts", "message"),
    [
        ([], "at least one document, got none"),
        ("one long document", "a list of documents, not one str"),
        (["fine", None], "document 1 is None, not a string"),
        (["fine", "also", float("nan")], r"document 2 is NaN \(a missing value\)"),
        ([3, "x"], r"document 0 is a int \(3\)"),
        (["", "  ", "\n"], "all 3 documents are empty or blank"),
        (42, "a list of strings, not int"),
    ],
)
def test_bad_documents_are_refused_naming_the_row(texts: object, message: str) -> None:
    with pytest.raises(SpecificationError, match=message):
        RKMETextSpecification.generate(texts)


def test_unknown_and_unavailable_encoders_say_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(SpecificationError, match=r"no encoder named 'nope'.*installed:.*MiniLM"):
        RKMETextSpecification.generate(["a text"], encoder="nope")
    monkeypatch.setenv(MULTILINGUAL_PATH, str(tmp_path))  # a folder without the model
    assert not MultilingualMiniLML12Encoder.is_available() and MiniLML6Encoder.is_available()
    with pytest.raises(
        SpecificationError, match=f"{ANCHOR_ENCODER} is not available.*{MULTILINGUAL_PATH}"
    ):
        RKMETextSpecification.generate(["a text"], encoder=ANCHOR_ENCODER)
    assert load_encoder("sentence-transformers/" + ENCODER).name == ENCODER


def test_languages_are_detected_most_frequent_first(french: list[str], german: list[str]) -> None:
    assert detect_languages(french) == ["fr"]
    assert detect_languages(german) == ["de"]
    assert detect_languages(french + german) == ["fr", "de"]
    assert detect_languages(["ok", "42", ":-)"]) == []  # too short to tell
    assert detect_languages([]) == []


# -- files and `dock spec` ------------------------------------------------------------------


def write_files(folder: Path, texts: list[str]) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    txt, jsonl, csv = folder / "docs.txt", folder / "docs.jsonl", folder / "docs.csv"
    txt.write_text("\n".join(texts[:3]) + "\n\n" + "\n".join(texts[3:]) + "\n", encoding="utf-8")
    jsonl.write_text(
        "".join(json.dumps({"id": i, "text": t}) + "\n" for i, t in enumerate(texts)),
        encoding="utf-8",
    )
    quoted = "".join(f'{i},"{t.replace(chr(34), chr(34) * 2)}"\n' for i, t in enumerate(texts))
    csv.write_text("id,text\n" + quoted, encoding="utf-8")
    return {"txt": txt, "jsonl": jsonl, "csv": csv}


def test_read_data_reads_txt_jsonl_and_csv(tmp_path: Path, french: list[str]) -> None:
    texts = ['He said "hello", then left.', *french[:4]]
    for path in write_files(tmp_path, texts).values():
        assert RKMETextSpecification.read_data(path) == texts, path.name
    single = tmp_path / "single.csv"
    single.write_text("review\nfirst one\n\nsecond one\n", encoding="utf-8")
    assert read_texts(single) == ["first one", "second one"]  # the only column


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.txt", b"", "empty.txt holds no documents"),
        ("blank.jsonl", b"\n\n  \n", "blank.jsonl holds no documents"),
        ("latin.txt", "caf\u00e9 ok\n".encode("latin-1"), "latin.txt is not UTF-8 text"),
        ("columns.csv", b"id,body\n1,hello\n", "no 'text' column \\(columns: id, body\\)"),
        ("field.jsonl", b'{"body": "hello"}\n', "line 1 has no 'text' field"),
        ("number.jsonl", b'{"text": 5}\n', "line 1: 'text' is a int"),
        ("broken.jsonl", b'{"text": "a"}\n{"text": \n', "line 2 is not JSON"),
        ("docs.parquet", b"PAR1", "texts are read from .txt, .jsonl, .csv files"),
    ],
)
def test_unreadable_files_are_clear_errors(
    tmp_path: Path, name: str, content: bytes, message: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(DockError, match=message):
        read_texts(path)


def test_files_are_read_within_bounds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "many.txt"
    path.write_text("one\ntwo\nthree\n" + "x" * 50_000 + "\nlast\n", encoding="utf-8")
    texts = read_texts(path)
    assert len(texts) == 5 and len(texts[3]) == 20_000 and texts[4] == "last"
    monkeypatch.setenv("DOCK_TEXT_MAX_DOCUMENTS", "2")
    with pytest.raises(DockError, match="more than 2 documents; set DOCK_TEXT_MAX_DOCUMENTS"):
        read_texts(path)


@pytest.mark.parametrize("kind", ["txt", "jsonl", "csv"])
def test_dock_spec_text_writes_a_spec(
    tmp_path: Path, posts: dict[tuple[str, str], list[str]], kind: str
) -> None:
    texts = posts["test", "rec"][:6]
    path = write_files(tmp_path / "in", texts)[kind]
    out = tmp_path / "spec.json"
    args = ["spec", "text", str(path), "-o", str(out), "--k", "4", "--gamma", "0.25", "--seed", "3"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "wrote RKMETextSpecification of 6 rows" in result.output
    spec = RKMETextSpecification.load(out)
    assert spec.z.shape == (4, 384) and spec.gamma == 0.25 and spec.num_points == 6
    assert spec.encoder == ENCODER and spec.language == ["en"]


def test_dock_spec_text_reports_a_bad_file(tmp_path: Path) -> None:
    path = tmp_path / "docs.csv"
    path.write_text("a,b\n1,2\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["spec", "text", str(path), "-o", str(tmp_path / "o.json")])
    assert isinstance(result.exception, DockError) and "no 'text' column" in str(result.exception)
    assert not (tmp_path / "o.json").exists()


def test_embed_rows_embeds_documents_with_the_specs_encoder_and_caches_them(
    posts: dict[tuple[str, str], list[str]],
    learnware_specs: dict[str, RKMETextSpecification],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from learnware_dock_text import encoders

    spec = learnware_specs["sci"]
    docs = [*posts["test", "sci"][:4], "a post nobody has embedded before"]
    rows = spec.embed_rows(docs)
    assert rows.shape == (5, 384) and rows.dtype == np.float64
    direct = encoders.load_encoder(ENCODER).model().encode(docs, convert_to_numpy=True)
    assert np.allclose(rows, direct, atol=1e-5)  # the encoder's vectors, in row order
    # a second call is answered from the cache: the model is not asked again
    monkeypatch.setattr(encoders.MiniLML6Encoder, "model", classmethod(lambda cls: None))
    assert np.array_equal(spec.embed_rows(docs), rows)
    with pytest.raises(SpecificationError, match="row 1 is not a text"):
        spec.embed_rows(["fine", 3.5])
    with pytest.raises(SpecificationError, match="takes documents"):
        spec.embed_rows(np.zeros((2, 384)))


def test_the_vector_cache_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    from learnware_dock_text import encoders

    monkeypatch.setattr(encoders, "CACHED_TEXTS", 3)
    encoder = encoders.load_encoder(ENCODER)
    encoder.encode([f"bounded cache text {i}" for i in range(7)])
    assert len(encoders._vectors[ENCODER]) == 3
