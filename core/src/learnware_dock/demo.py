"""``dock demo``: a small market of real digit classifiers, built and searched.

Data: scikit-learn's bundled 8x8 handwritten digits (1,797 images, offline), scaled to
[0, 1]. Each learnware is a scikit-learn classifier trained on a biased subset of the
classes; with a statistical specification plugin installed (``learnware-dock-rkme``)
each also gets an RKME of its training data.
"""

from __future__ import annotations

import io
import shutil
import tempfile
from pathlib import Path
from typing import Any

from learnware_dock.config import resolve_market_root
from learnware_dock.defaults.sqlite.store import DB_FILE
from learnware_dock.domain import UserInfo
from learnware_dock.errors import DockError
from learnware_dock.market import Market
from learnware_dock.package.writer import write_folder, zip_folder
from learnware_dock.semantic import IOSpec, SemanticSpec

WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]

MODEL_SOURCE = '''
import os
import joblib


class DigitsModel:
    """A scikit-learn classifier on 64 pixel features (values in [0, 1])."""

    def __init__(self):
        here = os.path.dirname(os.path.abspath(__file__))
        self.model = joblib.load(os.path.join(here, "model.joblib"))
        self.input_shape = (64,)
        self.output_shape = (1,)

    def predict(self, X):
        return self.model.predict(X)

    def predict_proba(self, X):
        return self.model.predict_proba(X)
'''

#: (classes, model: logistic or forest, scenario tags) of the demo learnwares.
LEARNWARES: list[tuple[tuple[int, ...], str, tuple[str, ...]]] = [
    ((0, 1, 2), "logistic", ("Education",)),
    ((3, 4, 5), "logistic", ("Education",)),
    ((6, 7, 8, 9), "logistic", ("Education",)),
    ((0, 2, 4, 6, 8), "forest", ("Business", "Financial")),
    ((1, 3, 5, 7, 9), "forest", ("Business", "Financial")),
    ((0, 1, 2, 3, 4), "logistic", ("Industry",)),
    ((5, 6, 7, 8, 9), "forest", ("Industry",)),
    (tuple(range(10)), "logistic", ("Education", "Computer")),
]


def _semantic(classes: tuple[int, ...], model: str, scenario: tuple[str, ...]) -> SemanticSpec:
    words = ", ".join(WORDS[c] for c in classes)
    algo = "logistic regression" if model == "logistic" else "random forest"
    return SemanticSpec(
        name=f"digits {'-'.join(map(str, classes))} {model}",
        description=f"A {algo} recognising handwritten digits {words} in 8x8 grey images.",
        data=("Table",),
        task=("Classification",),
        library=("Scikit-learn",),
        scenario=scenario,
        license=("MIT",),
        model=("Others",),
        input=IOSpec(64, {str(i): f"pixel row {i // 8} column {i % 8}" for i in range(64)}),
        output=IOSpec(10, {str(i): f"digit {WORDS[i]}" for i in range(10)}),
    )


def _train(X: Any, y: Any, model: str, seed: int) -> Any:
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression

    if model == "forest":
        return RandomForestClassifier(n_estimators=50, random_state=seed).fit(X, y)
    return LogisticRegression(max_iter=500).fit(X, y)


def build_demo_packages(
    workdir: Path, market: Market, seed: int = 0
) -> list[tuple[Path, SemanticSpec]]:
    """Train the demo learnwares and write their packages under ``workdir``."""
    try:
        import joblib
        import numpy as np
        from sklearn.datasets import load_digits
    except ImportError as exc:
        raise DockError("dock demo needs scikit-learn: pip install 'learnware-dock[demo]'") from exc
    digits = load_digits()
    X, y = digits.data / 16.0, digits.target
    specs_available = market.components.specifications
    rkme = (
        specs_available.get("RKMETableSpecification")
        if "RKMETableSpecification" in specs_available
        else None
    )
    rng = np.random.default_rng(seed)
    out = []
    for index, (classes, algorithm, scenario) in enumerate(LEARNWARES):
        mask = np.isin(y, classes)
        idx = rng.permutation(np.flatnonzero(mask))[:400]
        model = _train(X[idx], y[idx], algorithm, seed)
        buffer = io.BytesIO()
        joblib.dump(model, buffer)
        stat_specs = {}
        if rkme is not None:
            stat_specs["rkme.json"] = rkme.generate(X[idx], seed=seed)
        folder = write_folder(
            workdir / f"lw{index}",
            model_source=MODEL_SOURCE,
            class_name="DigitsModel",
            stat_specs=stat_specs,
            files={"model.joblib": buffer.getvalue()},
            requirements="scikit-learn\njoblib\n",
        )
        out.append(
            (
                zip_folder(folder, workdir / f"lw{index}.zip"),
                _semantic(classes, algorithm, scenario),
            )
        )
    return out


def run_demo(market_name: str, *, fresh: bool = True, console: Any) -> Market:
    """Build (or reuse) the demo market, then show a few semantic searches."""
    from rich.progress import track
    from rich.table import Table

    root = resolve_market_root(market_name)
    if fresh and root.exists():
        if not (root / DB_FILE).exists():
            raise DockError(f"{root} exists and is not a market; choose another --market")
        shutil.rmtree(root)
    market = Market(root)
    if len(market) == 0:
        with tempfile.TemporaryDirectory(prefix="dock-demo-") as tmp:
            console.print("training demo learnwares on scikit-learn's digits ...")
            packages = build_demo_packages(Path(tmp), market)
            for path, spec in track(packages, description="adding", console=console):
                market.add(path, spec)
    table = Table("id", "name", "status", "scenario", "specs", title=f"market {root}")
    for lw in market.list():
        table.add_row(
            lw.id,
            lw.name,
            lw.status.name,
            ", ".join(lw.semantic_spec.scenario or ()),
            ", ".join(r.type for r in lw.stat_specs) or "-",
        )
    console.print(table)
    queries = [
        ("free text 'seven forest'", SemanticSpec(name="seven forest")),
        ("Scenario = Financial", SemanticSpec(scenario=("Financial",))),
        ("fuzzy 'logistc regresson' (typos)", SemanticSpec(name="logistc regresson")),
    ]
    for title, spec in queries:
        result = market.search(UserInfo(semantic_spec=spec), searcher="semantic", limit=5)
        hits = Table("rank", "id", "name", "score", title=f"search: {title} ({result.total} found)")
        for rank, match in enumerate(result.singles, 1):
            hits.add_row(str(rank), match.learnware.id, match.learnware.name, f"{match.score:.2f}")
        console.print(hits)
    statistical_search(market, console)
    return market


#: the demo user's private data: digits of these classes.
USER_CLASSES = (1, 7)


def statistical_search(market: Market, console: Any) -> None:
    """Search with an RKME of a user's private digits (when an RKME plugin is installed)."""
    type_name = "RKMETableSpecification"
    if (
        type_name not in market.components.specifications
        or "rkme" not in market.components.searchers
    ):
        console.print("(install learnware-dock-rkme for statistical search)")
        return
    import numpy as np
    from sklearn.datasets import load_digits

    from learnware_dock.cli import print_result

    digits = load_digits()
    X, y = digits.data / 16.0, digits.target
    rows = np.random.default_rng(7).permutation(np.flatnonzero(np.isin(y, USER_CLASSES)))[:200]
    spec = market.components.specifications.get(type_name).generate(X[rows], seed=1)
    result = market.search(UserInfo(stat_specs={type_name: spec}), searcher="rkme", limit=5)
    words = " and ".join(WORDS[c] for c in USER_CLASSES)
    print_result(result, console, f"statistical search: a user with digits {words}")
    reuse(market, result, X[rows], y[rows], console)


def reuse(market: Market, result: Any, X: Any, y: Any, console: Any) -> None:
    """Reuse the found mixture on the user's rows, without labels (when learnware-dock-reuse
    is installed); the demo knows the true labels, so it shows each method's accuracy."""
    wanted = ("averaging", "job-selector")
    if not result.mixtures or not all(name in market.components.reusers for name in wanted):
        console.print("(install learnware-dock-reuse to reuse what the search found)")
        return
    from rich.table import Table

    from learnware_dock.errors import ContainerError

    try:
        predictions = reuse_predictions(market, result, X)
    except ContainerError as exc:
        console.print(f"(not reusing: {exc})")
        return
    table = Table("reuse, no labels", "accuracy", title="reusing the mixture on the user's data")
    for name, predicted in predictions.items():
        table.add_row(name, f"{(predicted == y).mean():.3f}")
    console.print(table)


def reuse_predictions(market: Market, result: Any, X: Any) -> dict[str, Any]:
    """Top-1, averaging and job selector predictions on the user's rows."""
    top = result.singles[0].learnware
    with market.reuser(result, "averaging") as averaging:
        ids = [lw.id for lw in result.mixtures[0].learnwares]
        if top.id in ids:  # already running as a member of the mixture
            predictions = {
                f"top-1 single ({top.name})": averaging.models[ids.index(top.id)].predict(X)
            }
        else:
            with market.load(top) as best:
                predictions = {f"top-1 single ({top.name})": best.predict(X)}
        predictions["averaging (mean of softmaxed probabilities)"] = averaging.predict(X)
    with market.reuser(result, "job-selector") as selector:
        predictions["job selector"] = selector.fit(X).predict(X)
    return predictions
