"""The HeteroMap mapping: the encoder's invariances, embedding, VPCL training on a real
table (wine) and the mapping files."""

from __future__ import annotations

import json
import os
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path

import attrs
import numpy as np
import pytest
import torch

from learnware_dock.errors import SpecificationError, StoreError
from learnware_dock_hetero.artifact import (
    INFO_KEY,
    MAPPING_FORMAT,
    MappingError,
    MappingInfo,
    load_mapping,
    save_mapping,
)
from learnware_dock_hetero.model import HeteroMap, MappingConfig
from learnware_dock_hetero.training import (
    TrainingOptions,
    contrastive_loss,
    partition_columns,
    train_mapping,
)

SMALL = MappingConfig(
    column_dim=384, hidden_dim=32, layers=1, heads=4, ffn_dim=64, projection_dim=32
)
#: 8 of wine's 13 columns each, overlapping
SUBSETS = [list(range(8)), list(range(5, 13)), [0, 1, 2, 3, 9, 10, 11, 12]]


@pytest.fixture(autouse=True, scope="module")
def one_thread() -> Iterator[None]:
    """Tiny models run much faster on one thread than on cores shared with other jobs;
    restored after this module."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def column_embedding(name: str, dim: int = 384) -> np.ndarray:
    """A deterministic random unit vector per column name (no sentence encoder needed)."""
    v = np.random.default_rng(zlib.crc32(name.encode())).standard_normal(dim)
    return v / np.linalg.norm(v)


@pytest.fixture(scope="module")
def wine() -> tuple[np.ndarray, np.ndarray]:
    """Wine's rows, standardised, and an embedding per feature name."""
    from sklearn.datasets import load_wine

    data = load_wine()
    X = (data.data - data.data.mean(0)) / data.data.std(0)
    return X, np.stack([column_embedding(n) for n in data.feature_names])


def small_model(seed: int = 0, config: MappingConfig = SMALL) -> HeteroMap:
    torch.manual_seed(seed)
    return HeteroMap(config).eval()


def info_for(config: MappingConfig, **changes: object) -> MappingInfo:
    fields: dict[str, object] = {
        "version": 1,
        "format": MAPPING_FORMAT,
        "config": config,
        "encoder": "all-MiniLM-L6-v2",
        "trained_on": 3,
        "created": "2026-01-01T00:00:00+00:00",
    }
    fields.update(changes)
    return MappingInfo(**fields)  # type: ignore[arg-type]


# -- the encoder ----------------------------------------------------------------------


def test_forward_shape_and_shared_or_per_row_columns() -> None:
    model = small_model()
    values, columns = torch.randn(5, 7), torch.randn(7, 384)
    with torch.no_grad():
        shared = model(values, columns)
        per_row = model(values, columns.expand(5, 7, 384))
        assert model.project(shared).shape == (5, 32)
    assert shared.shape == (5, 32) and torch.isfinite(shared).all()
    torch.testing.assert_close(shared, per_row, atol=1e-5, rtol=0)


def test_a_padded_masked_batch_equals_the_unpadded_rows() -> None:
    model = small_model()
    columns = torch.randn(6, 384)
    rows = [torch.randn(1, 6), torch.randn(1, 3), torch.randn(1, 5)]
    lengths = [6, 3, 5]
    values = torch.full((3, 6), float("nan"))  # padding may hold anything, even NaN
    described = torch.randn(3, 6, 384)
    mask = torch.zeros(3, 6, dtype=torch.bool)
    for i, (row, n) in enumerate(zip(rows, lengths, strict=True)):
        values[i, :n] = row[0]
        described[i, :n] = columns[:n]
        mask[i, :n] = True
    with torch.no_grad():
        padded = model(values, described, mask)
        alone = torch.cat([model(r, columns[:n]) for r, n in zip(rows, lengths, strict=True)])
    torch.testing.assert_close(padded, alone, atol=1e-5, rtol=0)


def test_the_output_does_not_depend_on_the_column_order() -> None:
    model = small_model()
    values, columns = torch.randn(4, 9) * 100, torch.randn(9, 384)
    order = torch.randperm(9, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        before = model(values, columns)
        after = model(values[:, order], columns[order])
    torch.testing.assert_close(before, after, atol=1e-5, rtol=0)
    # ... but it does depend on which value sits in which described column
    with torch.no_grad():
        swapped = model(values[:, order], columns)
    assert (before - swapped).abs().max() > 1e-2


def test_the_same_seed_gives_the_same_model() -> None:
    a, b = small_model(7), small_model(7)
    values, columns = torch.randn(3, 4), torch.randn(4, 384)
    with torch.no_grad():
        assert torch.equal(a(values, columns), b(values, columns))


def test_embed_batches_and_treats_nan_as_absent() -> None:
    model = small_model()
    rng = np.random.default_rng(0)
    rows, columns = rng.normal(size=(50, 6)) * 1000, rng.normal(size=(6, 384))
    big = model.embed(rows, columns)
    small = model.embed(rows, columns, max_tokens=13)  # 2 rows per batch
    assert big.shape == (50, 32) and big.dtype == np.float64 and np.isfinite(big).all()
    np.testing.assert_allclose(small, big, atol=1e-5)
    assert model.embed(rows, columns, max_tokens=1).shape == (50, 32)  # 1 row at a time

    holes = rows.copy()
    holes[:, 2] = np.nan
    holes[3, 4] = np.nan
    with_nan = model.embed(holes, columns)
    keep = [0, 1, 3, 4, 5]
    np.testing.assert_allclose(
        with_nan[[0, 1, 2]], model.embed(rows[:3, keep], columns[keep]), atol=1e-5
    )
    only = [0, 1, 3, 5]
    np.testing.assert_allclose(
        with_nan[3], model.embed(rows[3:4, only], columns[only])[0], atol=1e-5
    )
    empty = np.full((2, 6), np.nan)  # no column at all: still a (constant) vector
    assert np.isfinite(model.embed(empty, columns)).all()
    assert model.embed(np.zeros((0, 6)), columns).shape == (0, 32)


@pytest.mark.parametrize(
    ("rows", "columns", "words"),
    [
        (np.zeros(6), np.zeros((6, 384)), "2-D"),
        (np.zeros((3, 6)), np.zeros((5, 384)), "6 x 384"),
        (np.zeros((3, 6)), np.zeros((6, 100)), "(6, 100)"),
        (np.zeros((3, 0)), np.zeros((0, 384)), "no columns"),
        (np.zeros((3, 2)), np.array([[np.nan] * 384, [0.0] * 384]), "NaN or infinite"),
        (np.array([["a", "b"]]), np.zeros((2, 384)), "numeric"),
    ],
)
def test_embed_rejects_bad_shapes(rows: np.ndarray, columns: np.ndarray, words: str) -> None:
    with pytest.raises(SpecificationError, match=words.replace("(", r"\(").replace(")", r"\)")):
        small_model().embed(rows, columns)


def test_the_config_is_validated_and_round_trips_through_json() -> None:
    config = MappingConfig(hidden_dim=64, heads=4, temperature=2)
    assert config.temperature == 2.0
    assert MappingConfig.from_json(json.loads(json.dumps(config.to_json()))) == config
    assert MappingConfig.from_json({}) == MappingConfig()
    cases: list[tuple[dict[str, object], str]] = [
        ({"heads": 3}, "heads"),
        ({"hidden_dim": 0}, "hidden_dim"),
        ({"layers": "2"}, "layers"),
        ({"partitions": 1}, "partitions"),
        ({"overlap_ratio": 1.0}, "overlap_ratio"),
        ({"temperature": float("nan")}, "temperature"),
        ({"width": 3}, "width"),
    ]
    for bad, field in cases:
        with pytest.raises(SpecificationError, match=field):
            MappingConfig.from_json(bad)
    with pytest.raises(SpecificationError):
        MappingConfig.from_json([1, 2])  # type: ignore[arg-type]
    with pytest.raises(SpecificationError, match="epochs"):
        TrainingOptions(epochs=0)
    with pytest.raises(SpecificationError, match="learning_rate"):
        TrainingOptions(learning_rate=-1.0)


# -- training -------------------------------------------------------------------------


def test_partitions_follow_the_package() -> None:
    order = np.arange(8)
    views = partition_columns(order, 3, 0.5)  # parts 3, 3, 2; overlap ceil(1.5) = 2
    assert [v.tolist() for v in views] == [[0, 1, 2, 3, 4], [3, 4, 5, 6, 7], [6, 7, 4, 5]]
    assert [v.tolist() for v in partition_columns(np.arange(2), 3, 0.0)] == [[0], [1]]


def test_the_loss_rewards_agreeing_views() -> None:
    rng = torch.Generator().manual_seed(0)
    rows = torch.randn(16, 1, 8, generator=rng) * 5
    agreeing = rows.expand(16, 3, 8) + 0.01 * torch.randn(16, 3, 8, generator=rng)
    unrelated = torch.randn(16, 3, 8, generator=rng) * 5
    assert contrastive_loss(agreeing, 1.0) < contrastive_loss(unrelated, 1.0)
    # 16 rows x 3 views: uniform logits give log(47)
    flat = torch.zeros(16, 3, 8)
    assert contrastive_loss(flat, 10.0).item() == pytest.approx(np.log(47), abs=1e-5)


@pytest.fixture(scope="module")
def trained(wine: tuple[np.ndarray, np.ndarray]) -> tuple[HeteroMap, list[float], list[int]]:
    X, E = wine
    tables = [(X[:, s], E[s]) for s in SUBSETS]
    steps: list[int] = []
    config = attrs.evolve(SMALL, temperature=1.0)  # faster to train than the package's 10
    options = TrainingOptions(epochs=15, batch_size=32, learning_rate=3e-3, seed=0)
    model, losses = train_mapping(tables, config, options, progress=lambda d, t: steps.append(t))
    return model, losses, steps


def retrieval(model: HeteroMap, X: np.ndarray, E: np.ndarray, seed: int = 1) -> tuple[float, float]:
    """Top-1 and top-5 accuracy of finding a row of a table seen through 6 random columns
    among all the table's rows seen through its 8 (cosine), over tables and subsets."""
    rng = np.random.default_rng(seed)
    top1, top5 = [], []
    for cols in SUBSETS:
        full = model.embed(X[:, cols], E[cols])
        full /= np.linalg.norm(full, axis=1, keepdims=True)
        for _ in range(4):
            sub = sorted(rng.choice(cols, 6, replace=False))
            query = model.embed(X[:, sub], E[sub])
            query /= np.linalg.norm(query, axis=1, keepdims=True)
            similarity = query @ full.T
            own = np.diag(similarity)[:, None]
            rank = (similarity > own).sum(1)
            top1.append((rank == 0).mean())
            top5.append((rank < 5).mean())
    return float(np.mean(top1)), float(np.mean(top5))


@pytest.mark.slow
def test_training_lowers_the_loss_and_reports_progress(
    trained: tuple[HeteroMap, list[float], list[int]],
) -> None:
    model, losses, steps = trained
    assert len(losses) == 15 and all(np.isfinite(losses))
    assert losses[-1] < losses[0] - 0.3
    # 178 rows per table in balanced batches of <= 32: 6 per table and epoch
    assert steps == [15 * 3 * 6] * len(steps) and len(steps) == 15 * 3 * 6
    assert not model.training


@pytest.mark.slow
def test_a_row_seen_through_some_columns_lands_near_itself(
    trained: tuple[HeteroMap, list[float], list[int]], wine: tuple[np.ndarray, np.ndarray]
) -> None:
    X, E = wine
    model = trained[0]
    top1, top5 = retrieval(model, X, E)
    untrained1, _ = retrieval(small_model(0, model.config), X, E)
    # chance is 1/178; even a linear imputation of the 2 missing columns in the raw
    # space finds only ~0.72 of the rows, the untrained encoder ~0.35
    assert top1 > 0.45 and top5 > 0.75
    assert top1 > untrained1 + 0.1


def test_training_is_deterministic_and_uses_every_row(wine: tuple[np.ndarray, np.ndarray]) -> None:
    X, E = wine
    tables = [(X[:20, :4], E[:4]), (X[20:30, 4:7], E[4:7])]
    options = TrainingOptions(epochs=2, batch_size=8, seed=3)
    seen: list[tuple[int, int]] = []
    a, la = train_mapping(tables, SMALL, options, progress=lambda d, t: seen.append((d, t)))
    b, lb = train_mapping(tables, SMALL, options)
    assert la == lb
    for (pa, ta), (pb, tb) in zip(a.state_dict().items(), b.state_dict().items(), strict=True):
        assert pa == pb and torch.equal(ta, tb)
    # 20 rows -> 3 batches, 10 rows -> 2 batches (no row dropped), per epoch
    assert seen == [(i, 10) for i in range(1, 11)]


def test_training_skips_one_column_tables_and_drops_nan_rows(
    wine: tuple[np.ndarray, np.ndarray],
) -> None:
    X, E = wine
    rows = X[:12, :3].copy()
    rows[[1, 5], 0] = np.nan
    seen: list[int] = []
    tables = [(X[:40, :1], E[:1]), (rows, E[:3])]
    options = TrainingOptions(epochs=1, batch_size=4)
    _, losses = train_mapping(tables, SMALL, options, progress=lambda d, t: seen.append(t))
    assert seen == [3, 3, 3] and np.isfinite(losses[0])  # 10 rows of table 1 only


@pytest.mark.parametrize(
    ("tables", "words"),
    [
        ([], "at least one training table"),
        ([(np.zeros((5, 1)), np.zeros((1, 384)))], "at least 2 described columns"),
        ([(np.zeros((5, 3)), np.zeros((3, 384))), (np.zeros(5), np.zeros((1, 384)))], "table 1"),
        ([(np.zeros((5, 3)), np.zeros((4, 384)))], "table 0: column embeddings must be 3 x 384"),
        ([(np.zeros((5, 3)), np.zeros((3, 10)))], "table 0"),
        ([(np.zeros((5, 2)), np.full((2, 384), np.inf))], "table 0: column embeddings contain"),
        ([(np.zeros((5, 2)),)], "table 0"),
    ],
)
def test_train_mapping_rejects_bad_tables(tables: list[tuple[np.ndarray, ...]], words: str) -> None:
    with pytest.raises(SpecificationError, match=words):
        train_mapping(tables, SMALL, TrainingOptions(epochs=1))  # type: ignore[arg-type]


# -- mapping files --------------------------------------------------------------------


def test_save_load_round_trip(tmp_path: Path) -> None:
    model = small_model(5)
    info = info_for(SMALL, version=4)
    path = tmp_path / "mapping-v4.safetensors"
    save_mapping(path, model, info)
    loaded, read = load_mapping(path)
    assert read == info and not loaded.training
    rows, columns = np.random.default_rng(0).normal(size=(9, 5)), np.eye(5, 384)
    np.testing.assert_array_equal(loaded.embed(rows, columns), model.embed(rows, columns))
    assert os.listdir(tmp_path) == [path.name]  # no temporary file left
    save_mapping(path, small_model(6), info)  # replacing works
    assert not np.array_equal(
        load_mapping(path)[0].embed(rows, columns), model.embed(rows, columns)
    )
    assert os.listdir(tmp_path) == [path.name]


def test_a_failed_save_leaves_the_target_untouched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "mapping.safetensors"
    save_mapping(path, small_model(1), info_for(SMALL))
    before = path.read_bytes()

    def broken(src: object, dst: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken)
    with pytest.raises(OSError, match="disk full"):
        save_mapping(path, small_model(2), info_for(SMALL, version=2))
    assert path.read_bytes() == before and os.listdir(tmp_path) == [path.name]


def write_raw(
    path: Path, tensors: dict[str, torch.Tensor], metadata: dict[str, str] | None
) -> None:
    from safetensors.torch import save_file

    save_file({k: v.contiguous() for k, v in tensors.items()}, str(path), metadata=metadata)


def assert_refused(path: Path, words: str) -> None:
    with pytest.raises(MappingError, match=words) as caught:
        load_mapping(path)
    assert str(path) in str(caught.value) and isinstance(caught.value, StoreError)


def test_missing_truncated_and_flipped_files_are_refused(tmp_path: Path) -> None:
    assert_refused(tmp_path / "absent.safetensors", "does not exist")
    path = tmp_path / "m.safetensors"
    save_mapping(path, small_model(), info_for(SMALL))
    good = path.read_bytes()

    path.write_bytes(good[: len(good) // 2])
    assert_refused(path, "not a readable safetensors file")
    path.write_bytes(b"not a safetensors file at all")
    assert_refused(path, "not a readable safetensors file")

    header = struct.unpack("<Q", good[:8])[0]
    flipped = bytearray(good)
    flipped[8 + header + 100] ^= 0x10  # one bit of one weight
    path.write_bytes(bytes(flipped))
    assert_refused(path, "checksum")
    flipped = bytearray(good)
    flipped[8 + header // 2] ^= 0xFF  # inside the JSON header
    path.write_bytes(bytes(flipped))
    assert_refused(path, "mapping file")


def test_other_formats_shapes_and_weights_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "m.safetensors"
    for version, age in [(MAPPING_FORMAT + 1, "newer"), (MAPPING_FORMAT - 1, "older")]:
        save_mapping(path, small_model(), info_for(SMALL, format=version))
        assert_refused(path, f"written by a {age} version: retrain with `dock hetero train`")

    wide = attrs.evolve(SMALL, hidden_dim=64)  # the tensors are 32 wide
    save_mapping(path, small_model(), info_for(wide))
    assert_refused(path, "needs float32")

    model = small_model()
    with torch.no_grad():
        model.cls_token[0] = float("nan")
    save_mapping(path, model, info_for(SMALL))
    assert_refused(path, "NaN or infinite weights")

    state = dict(small_model().state_dict())
    info_json = json.dumps(info_for(SMALL).to_json())
    write_raw(path, state, None)
    assert_refused(path, "no learnware_dock_hetero metadata")
    write_raw(path, state, {INFO_KEY: "{not json"})
    assert_refused(path, "corrupted metadata")
    broken = json.loads(info_json)
    del broken["encoder"]
    write_raw(path, state, {INFO_KEY: json.dumps(broken)})
    assert_refused(path, "lacks 'encoder'")
    broken = json.loads(info_json)
    broken["config"]["heads"] = 5
    write_raw(path, state, {INFO_KEY: json.dumps(broken)})
    assert_refused(path, "heads")
    del state["cls_token"]
    write_raw(path, state, {INFO_KEY: info_json})
    assert_refused(path, "missing \\['cls_token'\\]")
