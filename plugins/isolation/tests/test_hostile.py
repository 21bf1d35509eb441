"""Hostile and broken packages: each gives a clear error (or runs harmlessly inside the
worker's sandbox), nothing runs in the dock process, and the market stays intact."""

from __future__ import annotations

import os
import pickle
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from learnware_dock import Market
from learnware_dock.errors import CheckError, ContainerError, PackageError
from learnware_dock.package.requirements import parse_lines, read_requirements
from learnware_dock.testing import table_semantic_spec
from learnware_dock_isolation.client import ProcessModel

Start = Callable[..., ProcessModel]
Make = Callable[..., Path]

MARKER_AT_IMPORT = """
import os
open("marker-import.txt", "w").write(os.getcwd())
os.system("touch marker-system.txt")

class Model:
    input_shape = (4,)
    output_shape = (1,)

    def predict(self, X):
        return [0] * len(X)
"""


class Payload:
    """Unpickling this writes a marker file (where it happens is the point)."""

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, ("touch marker-pickle.txt",))


def test_import_side_effects_happen_only_in_the_sandbox(
    start: Start, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    model = start(MARKER_AT_IMPORT)
    assert not list(tmp_path.glob("marker-*"))
    assert not list(model.private.rglob("marker-*"))
    assert not (Path.cwd() / "marker-import.txt").exists()
    assert model.predict(np.zeros((3, 4))).tolist() == [0, 0, 0]


def test_pickled_payload_is_only_unpickled_by_the_worker(start: Start, tmp_path: Path) -> None:
    source = """
import os, pickle

class Model:
    def __init__(self):
        here = os.path.dirname(os.path.abspath(__file__))
        with open(os.path.join(here, "model.pkl"), "rb") as fh:
            pickle.load(fh)

    def predict(self, X):
        return X[:, 0] + os.path.exists("marker-pickle.txt")
"""
    model = start(source, files={"model.pkl": pickle.dumps(Payload())})
    assert model.predict(np.zeros((1, 4))).tolist() == [1.0]  # unpickled in the worker
    assert not (Path.cwd() / "marker-pickle.txt").exists()
    assert not list(model.private.rglob("marker-*"))


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("import sys\nsys.exit('no')\n", "SystemExit"),
        ("raise RuntimeError('broken package')\n", "RuntimeError"),
        ("import os\nos._exit(9)\n", "exit code 9"),
        ("import ctypes\nctypes.string_at(0)\n", "SIGSEGV"),
        ("import numpy as np\nX = np.ones(10 * 1024**3 // 8)\n", "MemoryError|Unable to alloc"),
        ("class Other:\n    pass\n", "has no attribute 'Model'"),
        ("class Model:\n    def __init__(self):\n        1 / 0\n", "ZeroDivisionError"),
        ("import not_a_module_anywhere\n", "ModuleNotFoundError"),
    ],
    ids=["sys-exit", "raise", "os-exit", "segfault", "10GiB", "no-class", "ctor", "import"],
)
def test_packages_that_fail_to_load(start: Start, source: str, message: str) -> None:
    with pytest.raises(ContainerError, match=message) as error:
        start(source, memory_limit=1 << 30)
    assert "cannot load model" in str(error.value) or "died" in str(error.value)


def test_hang_at_import_hits_the_load_timeout(start: Start) -> None:
    with pytest.raises(ContainerError, match=r"load did not finish within 2 s"):
        start("import time\ntime.sleep(60)\n", load_timeout=2.0)


def test_stdin_and_stdout_tricks_do_not_break_the_protocol(start: Start) -> None:
    model = start(
        """
import os, sys
print("hello from import")
sys.stdout.write("more")
data = sys.stdin.read()  # /dev/null: empty

class Model:
    def predict(self, X):
        os.write(1, b"\\x00\\x00\\x00\\x10garbage-frame")
        print(len(data))
        try:
            os.close(0)  # closes the model's stdin, not the protocol's
        except OSError:
            pass
        return X.sum(axis=1)
"""
    )
    np.testing.assert_array_equal(model.predict(np.ones((2, 4))), [4.0, 4.0])
    np.testing.assert_array_equal(model.predict(np.ones((1, 4))), [4.0])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("numpy\n--index-url https://evil.example/simple\n", "options such as -e"),
        ("-e git+https://evil.example/x.git#egg=x\n", "options such as -e"),
        ("-r other.txt\n", "options such as -e"),
        ("--extra-index-url https://evil.example\n", "options such as -e"),
        ("x @ https://evil.example/x.whl\n", "URL and path requirements"),
        ("numpy==\n", "not a valid requirement"),
    ],
)
def test_requirement_lines_that_are_rejected(text: str, message: str) -> None:
    with pytest.raises(PackageError, match=message):
        parse_lines(text, "requirements.txt")


def test_requirements_are_normalised() -> None:
    text = "# pinned\nnumpy >= 1.20  # comment\n\nscikit-learn\n"
    assert parse_lines(text, "requirements.txt") == ["numpy>=1.20", "scikit-learn"]


def test_environment_yaml_pip_section_and_conda_only_deps(tmp_path: Path) -> None:
    good = "name: lw\ndependencies:\n  - python=3.11\n  - pip\n  - pip:\n    - numpy>=1.20\n"
    (tmp_path / "environment.yaml").write_text(good)
    assert read_requirements(tmp_path) == ["numpy>=1.20"]
    bad = "dependencies:\n  - python=3.11\n  - cudatoolkit=11.8\n  - conda-forge::gdal\n"
    (tmp_path / "environment.yaml").write_text(bad)
    with pytest.raises(PackageError, match=r"conda-only dependencies: cudatoolkit=11\.8, con"):
        read_requirements(tmp_path)
    (tmp_path / "environment.yaml").write_text("dependencies: [unclosed\n")
    with pytest.raises(PackageError, match="not valid YAML"):
        read_requirements(tmp_path)
    (tmp_path / "environment.yaml").write_text("!!python/object:os.system {}\n")
    with pytest.raises(PackageError, match="not valid YAML"):
        read_requirements(tmp_path)


def test_requirement_that_does_not_exist(start: Start) -> None:
    with pytest.raises(ContainerError, match=r"installing .*no-such-package-dock-test.* failed"):
        start(MARKER_AT_IMPORT, requirements="no-such-package-dock-test==9.9.9\n")


BAD_OUTPUTS = {
    "wrong-length": "return np.zeros(len(X) + 1)",
    "nan": "return np.full(len(X), np.nan)",
    "strings": "return np.array(['a'] * len(X))",
    "objects": "return np.array([None] * len(X), dtype=object)",
    "labels-out-of-range": "return np.full(len(X), 7)",
    "too-many-scores": "return np.zeros((len(X), 5))",
}


@pytest.mark.parametrize("case", sorted(BAD_OUTPUTS))
def test_stat_checker_rejects_bad_outputs(
    tmp_path: Path, toy_market: Market, make_package: Make, case: str
) -> None:
    source = (
        "import numpy as np\n\nclass Model:\n    input_shape = (4,)\n    output_shape = (1,)\n\n"
        f"    def predict(self, X):\n        {BAD_OUTPUTS[case]}\n"
    )
    archive = make_package(tmp_path / case, source)
    with pytest.raises(CheckError, match="stat: "):
        toy_market.add(archive, table_semantic_spec())
    assert len(toy_market) == 0
    assert not [m for m in sys.modules if m.startswith("_learnware_package")]


def test_stat_checker_rejects_wrong_declared_shapes(
    tmp_path: Path, toy_market: Market, make_package: Make
) -> None:
    source = (
        "import numpy as np\n\nclass Model:\n    input_shape = (5,)\n    output_shape = (3,)\n\n"
        "    def predict(self, X):\n        return np.zeros(len(X))\n"
    )
    report = toy_market.check(make_package(tmp_path / "shapes", source), table_semantic_spec())
    stat = report.results[-1]
    assert stat.checker == "stat" and stat.status.name == "INVALID"
    assert "input_shape is (5,)" in stat.message and "output_shape is (3,)" in stat.message


def test_hanging_predict_is_invalid_within_the_check_timeout(
    tmp_path: Path, toy_market: Market, make_package: Make, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCK_STAT_CHECK_TIMEOUT", "2")
    source = "import time\n\nclass Model:\n    def predict(self, X):\n        time.sleep(60)\n"
    report = toy_market.check(make_package(tmp_path / "hang", source), table_semantic_spec())
    assert report.status.name == "INVALID"
    assert "did not finish within 2 s" in report.results[-1].message


def _zip_with(path: Path, base: Path, extra: Callable[[zipfile.ZipFile], None]) -> Path:
    with zipfile.ZipFile(base) as source, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for item in source.infolist():
            out.writestr(item, source.read(item))
        extra(out)
    return path


def _symlink(out: zipfile.ZipFile) -> None:
    info = zipfile.ZipInfo("link")
    info.external_attr = 0o120777 << 16
    out.writestr(info, "/etc/passwd")


ARCHIVE_ATTACKS: dict[str, Callable[[zipfile.ZipFile], None]] = {
    "traversal": lambda out: out.writestr("../../evil.py", "print('x')"),
    "absolute": lambda out: out.writestr("/tmp/evil.py", "print('x')"),
    "symlink": _symlink,
    "bomb": lambda out: out.writestr("weights.bin", bytes(600 * 1024 * 1024)),
}


@pytest.mark.parametrize("attack", sorted(ARCHIVE_ATTACKS))
def test_archive_attacks_are_refused_before_any_environment_or_worker(
    tmp_path: Path, toy_market: Market, make_package: Make, env_cache: Path, attack: str
) -> None:
    base = make_package(tmp_path / "base", MARKER_AT_IMPORT)
    archive = _zip_with(tmp_path / f"{attack}.zip", base, ARCHIVE_ATTACKS[attack])
    envs_before = sorted((env_cache / "venvs").glob("*")) if (env_cache / "venvs").exists() else []
    with pytest.raises(PackageError, match=f"{attack}.zip: member"):
        toy_market.add(archive, table_semantic_spec())
    assert len(toy_market) == 0
    envs_after = sorted((env_cache / "venvs").glob("*")) if (env_cache / "venvs").exists() else []
    assert envs_after == envs_before  # no environment built, no worker started
    assert not list(tmp_path.rglob("marker-*"))
