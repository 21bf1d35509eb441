"""A third-party plugin, end to end through ``dock`` (issue 13's done-when test).

``tests/third_party_plugin`` holds the distribution ``learnware-dock-acme``: a statistical
spec, a searcher, a reuser, a container and a checker, written against public
``learnware_dock`` names only (:func:`test_the_plugin_imports_only_public_names` keeps it
so). It is "installed" the way an editable install amounts to for plugin discovery: its
``pyproject.toml`` entry points are written as ``*.dist-info`` metadata
(:func:`learnware_dock.testing.write_distribution`) into a folder on the ``PYTHONPATH`` of
every ``dock`` subprocess, next to the plugin's source folder; every other installed
plugin loads too, with ``DOCK_STRICT_PLUGINS=1``.

The market (built once for the module) holds three regression learnwares, linear models
whose training data have means 0, 1 and 3, a classifier with mean 6, and, rejected by the
checker, a GPL-licensed one. Each assertion is on what the component computes: the
searcher's ranking and distances, the reuser's predictions with and without its declared
option, the container's predictions and its journal, the checker's verdicts.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from learnware_dock.package import write_folder, zip_folder
from learnware_dock.plugins import ENTRY_POINT_GROUP
from learnware_dock.semantic import IOSpec
from learnware_dock.testing import build_package, table_semantic_spec, write_distribution

PLUGIN = Path(__file__).resolve().parent / "third_party_plugin"
DOCK = Path(sys.executable).parent / "dock"
DIM = 3

#: a package's model: ``X @ weights + bias`` (numpy only), its parameters in learnware.yaml
LINEAR_MODEL = """
import numpy as np


class LinearModel:
    def __init__(self, weights, bias=0.0):
        self.weights = np.asarray(weights, dtype=float)
        self.bias = float(bias)
        self.input_shape = (len(self.weights),)
        self.output_shape = (1,)

    def predict(self, X):
        return np.asarray(X, dtype=float) @ self.weights + self.bias
"""

#: name -> (mean of its training data, weights, bias) of the regression learnwares
LINEAR = {
    "acme near": (0.0, [1.0, 0.0, 0.0], 0.0),
    "acme middle": (1.0, [0.0, 2.0, 0.0], 1.0),
    "acme far": (3.0, [0.0, 0.0, -1.0], 5.0),
}


def predictions(name: str, X: np.ndarray) -> np.ndarray:
    """What the learnware ``name``'s model computes (the test's own arithmetic)."""
    _, weights, bias = LINEAR[name]
    return X @ np.asarray(weights) + bias


def acme_spec_json(X: np.ndarray) -> dict[str, Any]:
    """An ``AcmeMeanSpecification`` of ``X``, in the plugin's documented JSON format."""
    return {"type": "AcmeMeanSpecification", "mean": X.mean(0).tolist(), "scale": X.std(0).tolist()}


class JsonSpec:
    """A spec object for ``write_folder`` (it needs ``name`` and ``save``) made of JSON."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.name, self.data = data["type"], data

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.data), encoding="utf-8")


@dataclass
class Acme:
    """The module's market: where things are, the ids of its learnwares, the user's data."""

    work: Path
    env: dict[str, str]
    X: np.ndarray
    #: learnware name -> its id, the mean of its training data, its `dock add` run
    ids: dict[str, str] = field(default_factory=dict)
    means: dict[str, np.ndarray] = field(default_factory=dict)
    adds: dict[str, subprocess.CompletedProcess[str]] = field(default_factory=dict)

    @property
    def query(self) -> Path:
        """The user's ``AcmeMeanSpecification`` (of :attr:`X`, also in ``X.npy``)."""
        return self.work / "q.json"

    def dock(self, *args: str, code: int = 0) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [str(DOCK), *args],
            cwd=self.work,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        assert proc.returncode == code, (
            f"dock {' '.join(args)}: exit {proc.returncode}\n"
            f"stdout: {proc.stdout[-3000:]}\nstderr: {proc.stderr[-3000:]}"
        )
        return proc

    def json(self, *args: str) -> Any:
        return json.loads(self.dock(*args, "--json").stdout)


def install_plugin(site: Path) -> None:
    """Write the plugin's entry-point metadata from its pyproject.toml into ``site``."""
    project = tomllib.loads((PLUGIN / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    groups = project["entry-points"]
    write_distribution(
        site, project["name"], groups[ENTRY_POINT_GROUP], project["version"], groups=groups
    )


def dock_env(tmp: Path, site: Path) -> dict[str, str]:
    switches = ("DOCK_LOAD_PLUGINS", "DOCK_DISABLE_PLUGINS", "DOCK_MARKET", "DOCK_HOME")
    env = {k: v for k, v in os.environ.items() if k not in switches and k != "PYTHONPATH"}
    env.update(
        PYTHONPATH=os.pathsep.join([str(site), str(PLUGIN)]),
        PYTHONDONTWRITEBYTECODE="1",  # nothing written into the plugin's source folder
        PYTHONWARNINGS="error",
        DOCK_STRICT_PLUGINS="1",
        DOCK_HOME=str(tmp / "home"),
        DOCK_MARKET=str(tmp / "market"),
        COLUMNS="200",
    )
    env.setdefault("DOCK_CACHE", str(tmp / "cache"))
    return env


def semantic_file(folder: Path, name: str, **overrides: Any) -> Path:
    fields: dict[str, Any] = {
        "task": ("Regression",),
        "description": f"{name}: a linear regression on {DIM} features",
        "output": IOSpec(1, {"0": "value"}),
    }
    spec = table_semantic_spec(name, dimension=DIM, **{**fields, **overrides})
    path = folder / f"{name.replace(' ', '-')}.json"
    path.write_text(json.dumps(spec.to_dict()), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def acme(tmp_path_factory: pytest.TempPathFactory) -> Acme:
    tmp = tmp_path_factory.mktemp("acme")
    site, work, packages = tmp / "site", tmp / "work", tmp / "packages"
    for folder in (site, work, packages):
        folder.mkdir()
    install_plugin(site)
    assert DOCK.exists(), f"no `dock` next to {sys.executable}"
    rng = np.random.default_rng(13)
    market = Acme(work, dock_env(tmp, site), rng.normal(0.2, 1.0, (40, DIM)))
    market.query.write_text(json.dumps(acme_spec_json(market.X)), encoding="utf-8")
    np.save(work / "X.npy", market.X)

    def add(name: str, archive: Path, semantic: Path, code: int = 0) -> None:
        proc = market.dock("add", str(archive), "-s", str(semantic), "--json", code=code)
        market.adds[name] = proc
        if code == 0:
            market.ids[name] = json.loads(proc.stdout)["id"]

    for name, (mean, weights, bias) in LINEAR.items():
        data = rng.normal(mean, 1.0, (50, DIM))
        market.means[name] = data.mean(0)
        folder = write_folder(
            packages / name.replace(" ", "-"),
            model_source=LINEAR_MODEL,
            class_name="LinearModel",
            model_kwargs={"weights": weights, "bias": bias},
            stat_specs={"acme.json": JsonSpec(acme_spec_json(data))},
            requirements="numpy\n",
        )
        add(name, zip_folder(folder, folder.with_suffix(".zip")), semantic_file(packages, name))
    data = rng.normal(6.0, 1.0, (50, DIM))
    market.means["acme classifier"] = data.mean(0)
    classifier = build_package(
        packages / "classifier",
        data,
        (data[:, 0] > 6.0).astype(int),
        stat_specs={"acme.json": JsonSpec(acme_spec_json(data))},
    )
    add(
        "acme classifier",
        classifier,
        semantic_file(
            packages,
            "acme classifier",
            task=("Classification",),
            description="a 2-class classifier",
            output=IOSpec(2, {"0": "no", "1": "yes"}),
        ),
    )
    gpl = packages / "acme-gpl.zip"
    zip_folder(packages / "acme-near", gpl)
    add("acme gpl", gpl, semantic_file(packages, "acme gpl", license=("GPL-3.0",)), code=1)
    return market


def test_the_distribution_loads_through_its_entry_point_metadata(acme: Acme) -> None:
    data = acme.json("plugins")
    plugin = {p["name"]: p for p in data["plugins"]}["acme"]
    assert (plugin["status"], plugin["distribution"], plugin["version"]) == (
        "loaded",
        "learnware-dock-acme",
        "0.3.0",
    )
    assert set(plugin["hooks"]) == {
        f"dock_register_{kind}"
        for kind in ("specifications", "searchers", "reusers", "containers", "checkers")
    }
    components = data["components"]
    assert "AcmeMeanSpecification" in components["specifications"]
    assert "acme-nearest" in components["searchers"] and "acme-median" in components["reusers"]
    assert "acme" in components["containers"] and "acme-license" in components["checkers"]


def test_the_checker_passes_permissive_licenses_and_rejects_copyleft(acme: Acme) -> None:
    rejected = acme.adds["acme gpl"]
    assert rejected.stdout == "" and "Traceback" not in rejected.stderr
    assert rejected.stderr.startswith("error: acme-gpl.zip was rejected: ")
    assert "acme-license: Acme accepts permissive licenses only, not GPL-3.0" in rejected.stderr
    listed = acme.json("list")
    assert sorted(row["name"] for row in listed) == sorted(acme.ids)  # nothing of "acme gpl"
    shown = acme.json("show", acme.ids["acme near"])
    results = {r["checker"]: r for r in shown["report"]["results"]}
    assert (results["acme-license"]["status"], results["acme-license"]["message"]) == (
        "NONUSABLE",
        "license MIT accepted",
    )
    # the model-running check probed the model with rows from the plugin's own spec
    assert "rows of its AcmeMeanSpecification" in results["stat"]["message"]
    assert shown["status"] == results["stat"]["status"] == "USABLE"
    assert [ref["type"] for ref in shown["stat_specs"]] == ["AcmeMeanSpecification"]


def test_the_searcher_ranks_by_distance_of_means(acme: Acme) -> None:
    found = acme.json("search", "--stat", str(acme.query), "--searcher", "acme-nearest")
    order = ["acme near", "acme middle", "acme far", "acme classifier"]
    assert found["searcher"] == "acme-nearest" and found["total"] == 4
    assert [s["learnware"]["id"] for s in found["singles"]] == [acme.ids[n] for n in order]
    distances = [float(np.linalg.norm(acme.X.mean(0) - acme.means[n])) for n in order]
    assert [s["distance"] for s in found["singles"]] == pytest.approx(distances)
    assert [s["score"] for s in found["singles"]] == pytest.approx([1 / (1 + d) for d in distances])
    (mixture,) = found["mixtures"]
    assert [lw["id"] for lw in mixture["learnwares"]] == [acme.ids[n] for n in order[:3]]
    scores = np.array([1 / (1 + d) for d in distances[:3]])
    assert mixture["weights"] == pytest.approx(list(scores / scores.sum()))

    # chosen without --searcher (priority, supports); the semantic pre-filter drops the
    # classifier; --limit cuts the singles, not the total
    found = acme.json("search", "--stat", str(acme.query), "--task", "Regression", "--limit", "2")
    assert (found["searcher"], found["total"]) == ("acme-nearest", 3)
    assert [s["learnware"]["id"] for s in found["singles"]] == [acme.ids[n] for n in order[:2]]


def reuse(
    acme: Acme, output: str, *options: str, code: int = 0
) -> subprocess.CompletedProcess[str]:
    """``dock reuse`` of the user's rows with ``acme-median`` (its models in ``acme``)."""
    args = ["reuse", "X.npy", "--stat", str(acme.query), "-o", output, "--method", "acme-median"]
    for option in options:
        args += ["-O", option]
    return acme.dock(*args, "--container", "acme", "--top", "3", "--json", code=code)


def test_the_reuser_takes_the_median_of_its_declared_number_of_members(acme: Acme) -> None:
    near, middle, far = (predictions(n, acme.X) for n in LINEAR)
    two, three = (near + middle) / 2, np.median(np.stack([near, middle, far]), axis=0)
    assert not np.allclose(two, three)  # so the option visibly changes the output

    done = json.loads(reuse(acme, "two.npy", "members=2").stdout)
    assert (done["method"], done["options"]) == ("acme-median", {"members": 2})
    assert [m["id"] for m in done["mixture"]] == [acme.ids[n] for n in LINEAR]
    assert np.load(acme.work / "two.npy") == pytest.approx(two)

    done = json.loads(reuse(acme, "all.npy").stdout)
    assert done["options"] == {"members": 0}
    assert np.load(acme.work / "all.npy") == pytest.approx(three)

    typo = reuse(acme, "x.npy", "member=2", code=1)
    assert "reuser 'acme-median': unknown option 'member' (did you mean 'members'?)" in typo.stderr
    assert not (acme.work / "x.npy").exists()

    (described,) = [r for r in acme.json("reusers") if r["name"] == "acme-median"]
    assert described["needs_labels"] is False
    assert [(o["name"], o["type"], o["default"]) for o in described["options"]] == [
        ("members", "int", 0)
    ]


def test_the_container_runs_the_model_in_a_worker_it_journals(acme: Acme) -> None:
    journal = acme.work / "journal.jsonl"
    learnware_id = acme.ids["acme middle"]
    args = ["run", learnware_id, "X.npy", "-o", "out.npy", "--container", "acme"]
    ran = json.loads(
        acme.dock(*args, "--timeout", "7", "-O", f"journal={journal}", "--json").stdout
    )
    assert ran["shape"] == [len(acme.X)]
    assert np.load(acme.work / "out.npy") == pytest.approx(predictions("acme middle", acme.X))
    (line,) = journal.read_text(encoding="utf-8").splitlines()
    record = json.loads(line)
    assert {k: record[k] for k in ("container", "class_name", "timeout")} == {
        "container": "acme",
        "class_name": "LinearModel",
        "timeout": 7.0,
    }
    assert isinstance(record["worker_pid"], int) and record["worker_pid"] != record["dock_pid"]

    typo = acme.dock(*args, "-O", "jurnal=x", code=1)
    assert "container 'acme': unknown option 'jurnal' (did you mean 'journal'?)" in typo.stderr


def test_the_plugin_imports_only_public_names() -> None:
    """Every import of the plugin is of ``learnware_dock`` public names (no defaults, no
    underscore names), of itself, or of its declared dependencies."""
    allowed = {"learnware_dock", "learnware_dock_acme", "numpy", "attrs", "__future__"}
    stdlib = set(sys.stdlib_module_names)
    sources = sorted((PLUGIN / "learnware_dock_acme").glob("*.py"))
    assert len(sources) == 7
    for source in sources:
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                modules, names = [node.module or ""], [a.name for a in node.names]
            elif isinstance(node, ast.Import):
                modules, names = [a.name for a in node.names], []
            else:
                continue
            for module in modules:
                where = f"{source.name}:{node.lineno} imports {module}"
                assert module.split(".")[0] in allowed | stdlib, where
                assert not any(part.startswith("_") for part in module.split(".")[1:]), where
                assert not module.startswith("learnware_dock.defaults"), where
            assert not any(name.startswith("_") for name in names), f"{source.name}:{node.lineno}"
