"""The hetero plugin end to end on real tables: train the mapping, search across feature
spaces, reuse with the aligners, and the bad inputs."""

from __future__ import annotations

import importlib.metadata
import json
from collections.abc import Iterator
from pathlib import Path

import attrs
import numpy as np
import pytest
from hetero_tables import BOSTON, DIABETES, USER_COLUMNS, boston, described_spec, linear_package

from learnware_dock import Market, SearchError, SemanticSpec, UserInfo
from learnware_dock.domain import MixtureMatch, SearchResult
from learnware_dock.errors import DockError, SpecificationError
from learnware_dock.semantic import IOSpec
from learnware_dock_hetero.artifact import MappingError
from learnware_dock_hetero.searcher import UNTRAINED
from learnware_dock_hetero.store import HeteroStore
from learnware_dock_hetero.train import TrainingError, train_market_mapping
from learnware_dock_hetero.training import TrainingOptions
from learnware_dock_rkme import RKMETableSpecification, median_gamma

RKME = RKMETableSpecification.name


def test_plugin_is_installed() -> None:
    eps = importlib.metadata.entry_points(group="learnware_dock.plugins")
    assert "learnware_dock_hetero.hooks" in {ep.value for ep in eps if ep.name == "hetero"}


def boston_gamma() -> float:
    """One kernel width for Boston's RKMEs, so the same-space ones compare exactly."""
    return median_gamma(boston()[0][:300])


def user_table() -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Boston rows restricted to the user's 7 columns, in the user's order."""
    X, y, names = boston()
    order = [names.index(c) for c in USER_COLUMNS]
    return X[:, order], y, list(USER_COLUMNS.values())


def user_info(
    X: np.ndarray, descriptions: list[str] | None, gamma: float | None = None
) -> UserInfo:
    io = (
        None
        if descriptions is None
        else IOSpec(X.shape[1], {str(i): d for i, d in enumerate(descriptions)})
    )
    rkme = RKMETableSpecification.generate(X, K=60, gamma=gamma or "median", seed=1)
    return UserInfo(semantic_spec=SemanticSpec(input=io), stat_specs={RKME: rkme})


@pytest.fixture(scope="module")
def market(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Market, dict[str, str]]]:
    """Boston (12 described columns, rows 0-299) among unrelated learnwares (diabetes,
    wine, breast cancer; two column subsets each), not trained yet."""
    from sklearn.datasets import load_breast_cancer, load_diabetes, load_wine

    root = tmp_path_factory.mktemp("hetero-market")
    ids = {}
    with Market.open(root / "market") as opened:
        X, y, names = boston()
        package = linear_package(root / "boston", X[:300], y[:300], gamma=boston_gamma())
        spec = described_spec("boston housing", [BOSTON[n] for n in names])
        ids["boston"] = opened.add(package, spec).id
        diabetes = load_diabetes()
        wine, cancer = load_wine(), load_breast_cancer()
        sources = {
            "diabetes": (diabetes.data, diabetes.target, list(DIABETES.values()), 0),
            "wine": (wine.data, wine.target, [n.replace("_", " ") for n in wine.feature_names], 3),
            "cancer": (cancer.data[:, :12], cancer.target, list(cancer.feature_names[:12]), 2),
        }
        for name, (data, target, descriptions, classes) in sources.items():
            d = data.shape[1]
            for part, cols in (("a", range(0, d - 2)), ("b", range(2, d))):
                chosen = list(cols)
                package = linear_package(
                    root / f"{name}-{part}", data[:, chosen], target, classes=classes
                )
                spec = described_spec(
                    f"{name} {part}", [descriptions[c] for c in chosen], classes=classes
                )
                ids[f"{name}-{part}"] = opened.add(package, spec).id
        yield opened, ids


@pytest.fixture(scope="module")
def trained(market: tuple[Market, dict[str, str]]) -> tuple[Market, dict[str, str]]:
    opened, ids = market
    stages: set[str] = set()
    report = train_market_mapping(
        opened,
        options=TrainingOptions(epochs=15, seed=0),
        progress=lambda stage, done, total: stages.add(stage),
    )
    assert report.version == 1 and report.trained_on == len(ids) and report.specs == len(ids)
    assert report.tables == len(ids) and stages == {"training", "specs"}
    assert report.losses[-1] < report.losses[0]
    return opened, ids


def test_untrained_search_says_so_and_falls_back_to_the_users_own_space(
    market: tuple[Market, dict[str, str]],
) -> None:
    opened, ids = market
    X, _, names = boston()
    same = user_info(X[300:], [BOSTON[n] for n in names], boston_gamma())  # its 12 columns
    result = opened.search(same)
    assert result.searcher == "hetero" and result.notes == (UNTRAINED,)
    assert result.singles[0].learnware.id == ids["boston"]
    assert {m.space for m in result.singles} == {"table"}
    Xu, _, descriptions = user_table()
    other = opened.search(user_info(Xu, descriptions))
    assert other.notes == (UNTRAINED,) and not other.singles


def test_a_renamed_reordered_subset_finds_its_learnware_first(
    trained: tuple[Market, dict[str, str]],
) -> None:
    opened, ids = trained
    Xu, _, descriptions = user_table()
    result = opened.search(user_info(Xu[300:], descriptions))
    assert result.searcher == "hetero" and not result.notes
    first = result.singles[0]
    assert first.learnware.id == ids["boston"] and first.space == "heteromap"
    assert result.total == len(ids)
    scores = [m.score for m in result.singles]
    assert scores == sorted(scores, reverse=True) and scores[0] > scores[1]
    assert result.mixtures and ids["boston"] in {lw.id for lw in result.mixtures[0].learnwares}


def test_heteromap_align_beats_the_users_own_model_at_50_labels(
    trained: tuple[Market, dict[str, str]],
) -> None:
    from sklearn.linear_model import RidgeCV

    opened, ids = trained
    Xu, y, descriptions = user_table()
    rows = np.random.default_rng(0).permutation(np.arange(300, len(y)))
    labelled, test = rows[:50], rows[50:]
    info = user_info(Xu[300:], descriptions)
    result = opened.search(info)
    top = result.singles[0]
    assert top.learnware.id == ids["boston"]
    single = SearchResult(mixtures=(MixtureMatch((top.learnware,), (1.0,), top.score),))
    with opened.reuser(
        single, "heteromap-align", {"seed": 0}, container="inprocess", user_info=info
    ) as reuser:
        predicted = reuser.fit(Xu[labelled], y[labelled]).predict(Xu[test])
    own = RidgeCV(alphas=np.logspace(-3, 3, 13)).fit(Xu[labelled], y[labelled])
    ours_rmse = float(np.sqrt(np.mean((predicted - y[test]) ** 2)))
    own_rmse = float(np.sqrt(np.mean((own.predict(Xu[test]) - y[test]) ** 2)))
    assert predicted.shape == (len(test),) and np.isfinite(predicted).all()
    assert ours_rmse < own_rmse, (ours_rmse, own_rmse)


def test_a_learnware_added_after_training_gets_a_spec_from_the_current_mapping(
    trained: tuple[Market, dict[str, str]], tmp_path: Path
) -> None:
    opened, _ = trained
    X, y, names = boston()
    keep = [0, 2, 4, 5, 7, 9, 10, 11]  # another, 8-column view of Boston
    package = linear_package(tmp_path / "boston-8", X[:300][:, keep], y[:300])
    spec = described_spec("boston 8", [BOSTON[names[i]] for i in keep])
    new = opened.add(package, spec).id
    store = HeteroStore(opened.root)
    try:
        current = store.current()
        assert current is not None
        assert new in store.ids(current.version)  # stored by the add hook, before any search
    finally:
        store.close()
    result = opened.search(user_info(X[300:, keep][:, :6], [BOSTON[names[i]] for i in keep[:6]]))
    assert new in {m.learnware.id for m in result.singles if m.space == "heteromap"}
    opened.delete(new)
    store = HeteroStore(opened.root)
    try:
        assert new not in store.ids(current.version)
    finally:
        store.close()


def test_bad_queries_are_clear_errors(trained: tuple[Market, dict[str, str]]) -> None:
    opened, _ = trained
    Xu, _, descriptions = user_table()
    bare = user_info(Xu, None)
    assert not opened.searcher("hetero").supports(bare)
    with pytest.raises(SpecificationError, match="no Input descriptions"):
        opened.search(bare, searcher="hetero")
    short = attrs.evolve(
        user_info(Xu, descriptions),
        semantic_spec=SemanticSpec(input=IOSpec(7, {str(i): descriptions[i] for i in range(5)})),
    )
    with pytest.raises(SpecificationError, match="describes 5 of its 7 input columns"):
        opened.search(short)
    wrong_dim = attrs.evolve(
        user_info(Xu, descriptions),
        semantic_spec=SemanticSpec(input=IOSpec(8, {str(i): f"column {i}" for i in range(8)})),
    )
    with pytest.raises(SpecificationError, match=r"Input\.Dimension 8 but its RKME has 7"):
        opened.search(wrong_dim)
    with pytest.raises(SearchError, match="needs a RKMETableSpecification"):
        opened.searcher("hetero").search(UserInfo(semantic_spec=bare.semantic_spec))


def test_a_corrupted_or_foreign_mapping_file_is_a_clear_error(
    trained: tuple[Market, dict[str, str]],
) -> None:
    opened, _ = trained
    Xu, _, descriptions = user_table()
    query = user_info(Xu, descriptions)
    store = HeteroStore(opened.root)
    try:
        current = store.current()
    finally:
        store.close()
    assert current is not None
    path = opened.root / "hetero" / current.file
    original = path.read_bytes()
    try:
        path.write_bytes(original[: len(original) // 2])
        with pytest.raises(MappingError, match=current.file):
            Market.open(opened.root).search(query)
        header = json.loads(original[8 : 8 + int.from_bytes(original[:8], "little")])
        meta = json.loads(header["__metadata__"]["learnware_dock_hetero"])
        meta["format"] = 99
        header["__metadata__"]["learnware_dock_hetero"] = json.dumps(meta)
        head = json.dumps(header).encode()
        head += b" " * (-len(head) % 8)
        rest = original[8 + int.from_bytes(original[:8], "little") :]
        path.write_bytes(len(head).to_bytes(8, "little") + head + rest)
        with pytest.raises(MappingError, match="retrain"):
            Market.open(opened.root).search(query)
    finally:
        path.write_bytes(original)
    assert Market.open(opened.root).search(query).singles


def test_training_needs_described_usable_learnwares(tmp_path: Path) -> None:
    with Market.open(tmp_path / "empty") as empty, pytest.raises(TrainingError, match="nothing"):
        train_market_mapping(empty)
    assert issubclass(TrainingError, DockError)


def test_dock_search_and_reuse_take_the_users_column_descriptions(
    trained: tuple[Market, dict[str, str]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from learnware_dock.cli import main

    opened, ids = trained
    Xu, y, descriptions = user_table()
    info = user_info(Xu[300:], descriptions)
    info.stat_specs[RKME].save(tmp_path / "rkme.json")
    (tmp_path / "columns.json").write_text(json.dumps(info.semantic_spec.to_dict()))
    np.save(tmp_path / "X.npy", Xu[300:350])
    np.save(tmp_path / "y.npy", y[300:350])
    where = ["--market", str(opened.root), "--json"]
    stat = ["--stat", str(tmp_path / "rkme.json"), "-s", str(tmp_path / "columns.json")]
    assert main(["search", *stat, *where]) == 0
    found = json.loads(capsys.readouterr().out)
    assert found["searcher"] == "hetero"
    assert found["singles"][0]["learnware"]["id"] == ids["boston"]
    assert found["singles"][0]["space"] == "heteromap"
    out = tmp_path / "predicted.npy"
    reuse = ["reuse", str(tmp_path / "X.npy"), *stat, "-o", str(out), "--labels"]
    args = [*reuse, str(tmp_path / "y.npy"), "--method", "heteromap-align"]
    assert main([*args, "--container", "inprocess", *where]) == 0, capsys.readouterr().err
    predicted = np.load(out)
    assert predicted.shape == (50,) and np.isfinite(predicted).all()


def test_a_search_during_training_sees_the_previous_mapping_whole(
    trained: tuple[Market, dict[str, str]],
) -> None:
    opened, _ = trained
    Xu, _, descriptions = user_table()
    query = user_info(Xu[300:], descriptions)
    before = opened.search(query)
    seen = []

    def progress(stage: str, done: int, total: int) -> None:
        if stage == "specs" and done == total // 2:  # half the new specs are written
            with Market.open(opened.root) as other:
                seen.append(other.search(query))

    report = train_market_mapping(
        opened, options=TrainingOptions(epochs=2, seed=1), progress=progress
    )

    def ranking(result: SearchResult) -> tuple[list[str], np.ndarray]:
        ids = [m.learnware.id for m in result.singles]
        return ids, np.array([m.distance for m in result.singles], dtype=float)

    (during,) = seen  # the old mapping's specs, all of them (up to float32 summation order)
    assert ranking(during)[0] == ranking(before)[0]
    np.testing.assert_allclose(ranking(during)[1], ranking(before)[1], rtol=1e-5)
    after = opened.search(query)
    assert not np.allclose(np.sort(ranking(after)[1]), np.sort(ranking(before)[1]), rtol=1e-3)
    store = HeteroStore(opened.root)
    try:
        current = store.current()
        assert current is not None and current.version == report.version
        assert sorted(p.name for p in store.folder.glob("mapping-v*")) == [current.file]
    finally:
        store.close()


def test_one_training_at_a_time(trained: tuple[Market, dict[str, str]]) -> None:
    import filelock

    opened, _ = trained
    with (
        filelock.FileLock(str(opened.root / "hetero" / "train.lock")),
        pytest.raises(TrainingError, match="already running"),
    ):
        train_market_mapping(opened, options=TrainingOptions(epochs=1))


def test_cli_trains_and_reports(
    market: tuple[Market, dict[str, str]], capsys: pytest.CaptureFixture[str]
) -> None:
    from learnware_dock.cli import main

    opened, ids = market
    where = ["--market", str(opened.root), "--json"]
    assert main(["hetero", "status", *where]) == 0
    before = json.loads(capsys.readouterr().out)
    assert main(["hetero", "train", "--epochs", "2", *where]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["specs"] == len(ids) and report["trained_on"] == len(ids)
    assert report["version"] == (before["version"]["version"] if before["version"] else 0) + 1
    assert main(["hetero", "status", *where]) == 0
    after = json.loads(capsys.readouterr().out)
    assert after["version"]["version"] == report["version"] and after["specs"] == len(ids)
    assert main(["hetero", "status", "--market", str(opened.root)]) == 0
    assert f"mapping v{report['version']}" in capsys.readouterr().out
