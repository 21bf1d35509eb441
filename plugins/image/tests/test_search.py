"""The ``rkme-image`` searcher in a real market of MNIST learnwares, sketch vs exact
ranking agreement, and image and table specs kept apart."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from learnware_dock import Market, SemanticSpec, UserInfo
from learnware_dock.package.writer import write_folder, zip_folder
from learnware_dock.semantic import IOSpec
from learnware_dock.testing import build_package, table_semantic_spec
from learnware_dock_image import RKMEImageSpecification
from learnware_dock_image.index import SKETCH, SketchStore
from learnware_dock_image.preprocess import resize, standardise, to_tensor
from learnware_dock_rkme import RKMETableSpecification

NAME = RKMEImageSpecification.name
SUBSETS = {"01": (0, 1), "23": (2, 3), "45": (4, 5), "67": (6, 7), "89": (8, 9)}
#: never run: the market's checks without the isolation plugin leave it NONUSABLE
MODEL = "class Model:\n    def predict(self, X):\n        raise RuntimeError\n"


def fit(images: np.ndarray, seed: int) -> RKMEImageSpecification:
    return RKMEImageSpecification.generate(
        images, K=10, steps=20, n_models=1, net_width=16, batch_size=128, seed=seed
    )


def image_semantic(name: str) -> SemanticSpec:
    return SemanticSpec(
        name=name,
        description=f"digits {name}",
        data=("Image",),
        task=("Classification",),
        library=("Scikit-learn",),
        scenario=("Education",),
        license=("MIT",),
        output=IOSpec(10, {str(i): f"digit {i}" for i in range(10)}),
    )


def package(folder: Path, spec: RKMEImageSpecification) -> Path:
    written = write_folder(
        folder, model_source=MODEL, class_name="Model", stat_specs={"rkme.json": spec}
    )
    return zip_folder(written, folder.with_suffix(".zip"))


@pytest.fixture(scope="module")
def market(
    tmp_path_factory: pytest.TempPathFactory, mnist: tuple[np.ndarray, np.ndarray]
) -> Iterator[tuple[Market, dict[str, str]]]:
    """Five learnwares, one per pair of digit classes (the first 100 images of each)."""
    X, y = mnist
    root = tmp_path_factory.mktemp("image-market")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DOCK_DISABLE_PLUGINS", "isolation")
        with Market(root / "m") as opened:
            ids = {}
            for seed, (name, classes) in enumerate(SUBSETS.items()):
                rows = np.concatenate([np.flatnonzero(y == c)[:100] for c in classes])
                spec = fit(X[rows], seed)
                ids[name] = opened.add(package(root / name, spec), image_semantic(name)).id
            yield opened, ids


_USERS: dict[tuple[int, ...], RKMEImageSpecification] = {}


def user(mnist: tuple[np.ndarray, np.ndarray], classes: tuple[int, ...]) -> UserInfo:
    """A user's spec of 300 other images of ``classes`` (made once per class set)."""
    X, y = mnist
    if classes not in _USERS:
        rows = np.concatenate([np.flatnonzero(y == c)[-300 // len(classes) :] for c in classes])
        _USERS[classes] = fit(X[rows], seed=99)
    return UserInfo(stat_specs={NAME: _USERS[classes]})


def test_user_finds_the_learnware_of_their_classes(
    market: tuple[Market, dict[str, str]], mnist: tuple[np.ndarray, np.ndarray]
) -> None:
    opened, ids = market
    result = opened.search(user(mnist, (2, 3)), limit=3)
    assert result.searcher == "rkme-image" and result.total == 5
    assert result.singles[0].learnware.id == ids["23"]
    assert result.singles[0].score > result.singles[1].score
    distances = [m.distance for m in result.singles]
    assert distances == sorted(distances)  # type: ignore[type-var]
    assert result.notes and "compared exactly" in result.notes[0]
    spec = opened.stat_spec(ids["23"], NAME)
    query = user(mnist, (2, 3)).stat_specs[NAME]
    assert result.singles[0].distance == pytest.approx(query.dist(spec), rel=1e-9)  # type: ignore[arg-type]
    mix = result.mixtures[0]
    assert mix.weights and sum(mix.weights) == pytest.approx(1.0)
    assert mix.learnwares[int(np.argmax(mix.weights))].id == ids["23"]


def test_mixture_of_two_subsets_and_semantic_filters(
    market: tuple[Market, dict[str, str]], mnist: tuple[np.ndarray, np.ndarray]
) -> None:
    opened, ids = market
    info = user(mnist, (0, 1, 6, 7))
    result = opened.search(info, limit=2, exact=True)
    assert ids["67"] in {m.learnware.id for m in result.singles}
    heavy = sorted(zip(result.mixtures[0].weights, result.mixtures[0].learnwares, strict=True))
    assert {lw.id for _, lw in heavy[-2:]} == {ids["01"], ids["67"]}
    assert result.mixtures[0].distance < min(m.distance for m in result.singles)  # type: ignore[operator]
    named = UserInfo(semantic_spec=SemanticSpec(name="45"), stat_specs=info.stat_specs)
    filtered = opened.search(named, limit=5)
    assert [m.learnware.id for m in filtered.singles] == [ids["45"]]


def test_image_and_table_specs_never_meet(
    tmp_path: Path, market: tuple[Market, dict[str, str]], mnist: tuple[np.ndarray, np.ndarray]
) -> None:
    opened, ids = market
    rng = np.random.default_rng(0)
    X = rng.normal(size=(100, 4))
    table = RKMETableSpecification.generate(X, K=10)
    pkg = build_package(
        tmp_path / "table", X, (X[:, 0] > 0).astype(int), stat_specs={"rkme.json": table}
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DOCK_DISABLE_PLUGINS", "isolation")
        table_id = opened.add(pkg, table_semantic_spec("table", dimension=4)).id
    try:
        images = opened.search(user(mnist, (4, 5)), limit=10)
        assert table_id not in {m.learnware.id for m in images.singles}
        assert images.total == len(ids)
        tables = opened.search(UserInfo(stat_specs={table.name: table}), limit=10)
        assert tables.searcher == "rkme"
        assert [m.learnware.id for m in tables.singles] == [table_id]
    finally:
        opened.delete(table_id)


def test_sketches_are_cached_at_submission(market: tuple[Market, dict[str, str]]) -> None:
    opened, ids = market
    store = SketchStore(opened.root)
    try:
        shas = [opened.get(i).stat_spec_ref(NAME).sha256 for i in ids.values()]  # type: ignore[union-attr]
        rows = store.rows(shas)
        assert len(rows) == len(ids)
        spec = opened.stat_spec(ids["01"], NAME)
        assert isinstance(spec, RKMEImageSpecification)
        row = rows[shas[0]]
        assert row.self_term == pytest.approx(spec.inner(spec), rel=1e-12)
        np.testing.assert_array_equal(row.sketch, SKETCH(spec))
    finally:
        store.close()


def test_sketch_ranking_agrees_with_the_exact_ranking(mnist: tuple[np.ndarray, np.ndarray]) -> None:
    """40 specs of 10 real digits each (random class pairs), 8 queries: the top 5 by
    sketch and by the exact NNGP squared MMD overlap (the numbers go in the README)."""
    X, y = mnist
    rng = np.random.default_rng(0)
    images = standardise(resize(to_tensor(X[:, None])))
    specs = []
    for _ in range(48):
        classes = rng.choice(10, size=2, replace=False)
        rows = rng.choice(np.flatnonzero(np.isin(y, classes)), size=10, replace=False)
        specs.append(RKMEImageSpecification(images[rows].numpy(), np.full(10, 0.1)))
    market, queries = specs[:40], specs[40:]
    sketches = np.stack([SKETCH(s) for s in market]).astype(np.float64)
    overlaps = []
    for query in queries:
        phi = SKETCH(query).astype(np.float64)
        approx = ((sketches - phi) ** 2).sum(1)
        exact = np.array([query.dist(s) for s in market])
        overlaps.append(len(set(np.argsort(approx)[:5]) & set(np.argsort(exact)[:5])) / 5)
        assert np.argmin(exact) in np.argsort(approx)[:10]
    assert np.mean(overlaps) >= 0.6, overlaps
