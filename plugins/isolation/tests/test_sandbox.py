"""The worker's sandbox (issue 12): a model's code cannot write outside its tmpfs, see the
dock's environment or processes, outlive its worker, or fork past the memory limit."""

from __future__ import annotations

import json
import logging
import os
import sysconfig
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from learnware_dock import Market
from learnware_dock.errors import ContainerError
from learnware_dock.package.requirements import env_key
from learnware_dock.testing import table_semantic_spec
from learnware_dock_isolation import sandbox
from learnware_dock_isolation.client import ProcessModel
from learnware_dock_isolation.envs import MARKER, EnvCache

Start = Callable[..., ProcessModel]
Make = Callable[..., Path]

pytestmark = pytest.mark.usefixtures("require_sandbox")


def _text(array: np.ndarray) -> str:
    return bytes(np.asarray(array, dtype=np.uint8)).decode()


REPORTER = """
import json, os
import numpy as np

FOUND = {found}

class Model:
    def predict(self, X):
        return np.frombuffer(json.dumps(FOUND).encode(), dtype=np.uint8)
"""


def _report(start: Start, prelude: str, **options: object) -> object:
    """Run ``prelude`` (which fills FOUND) at import; return FOUND as the dock sees it."""
    source = prelude + REPORTER.format(found="FOUND")
    model = start(source, **options)
    return json.loads(_text(model.predict(np.zeros((1, 4)))))


def test_import_side_effects_stay_in_the_private_tmpfs(
    start: Start, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    found = _report(
        start,
        "import os\nopen('marker.txt', 'w').write('x')\n"
        "FOUND = [os.getcwd(), os.path.exists('/tmp/marker.txt'), os.getuid()]\n",
    )
    assert found == ["/tmp", True, sandbox.NOBODY]
    assert not list(tmp_path.rglob("marker.txt"))


def test_import_time_code_cannot_write_outside_its_tmpfs(
    start: Start, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The dock's site-packages (a planted .pth ran in every later dock process), the
    market, the server's token database, $HOME, the package and its environment."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    dock_home = tmp_path / "dock-home"
    monkeypatch.setenv("DOCK_HOME", str(dock_home))
    (dock_home / "demo").mkdir(parents=True, exist_ok=True)
    server_db = dock_home / "demo" / "server" / "server.db"
    server_db.parent.mkdir(exist_ok=True)
    server_db.write_bytes(b"tokens")
    targets = {
        "site-packages": str(Path(sysconfig.get_paths()["purelib"]) / "evil-dock.pth"),
        "market": str(dock_home / "demo" / "market.db"),
        "server.db": str(server_db),
        "home": str(home / ".bashrc"),
        "package": "/dock/learnware/__init__.py",
        "worker": "/dock/worker/worker.py",
        "environment": "__ENV__",
    }
    prelude = f"""
import os, sys, sysconfig
TARGETS = {targets!r}
TARGETS["environment"] = os.path.join(sys.prefix, "evil.pth")
FOUND = {{}}
for name, path in TARGETS.items():
    try:
        with open(path, "a") as fh:
            fh.write("import os; os.system('touch /tmp/pwned')\\n")
        FOUND[name] = "written"
    except OSError as exc:
        FOUND[name] = type(exc).__name__
"""
    found = _report(start, prelude)
    assert isinstance(found, dict) and set(found) == set(targets)
    assert "written" not in found.values(), found
    assert not Path(targets["site-packages"]).exists()
    assert not (dock_home / "demo" / "market.db").exists()
    assert server_db.read_bytes() == b"tokens"
    assert not (home / ".bashrc").exists()


def test_the_dock_environment_and_processes_are_invisible(
    start: Start, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = f"dock-secret-{uuid.uuid4().hex}"
    monkeypatch.setenv("DOCK_TEST_SECRET", secret)
    prelude = """
import os
seen = [repr(dict(os.environ))]
pids = [p for p in os.listdir("/proc") if p.isdigit()]
for pid in pids:
    for what in ("environ", "cmdline"):
        try:
            seen.append(open(f"/proc/{pid}/{what}", "rb").read().decode(errors="replace"))
        except OSError:
            pass
FOUND = {"pids": sorted(int(p) for p in pids), "text": "\\n".join(seen)}
"""
    found = _report(start, prelude)
    assert isinstance(found, dict)
    assert secret not in found["text"]
    assert len(found["pids"]) <= 3  # bubblewrap's init, the worker, its /proc reader


GRANDCHILD = """
import os, sys, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.execv(sys.executable, [sys.executable, "-c", "import time; time.sleep(300)",
                                  "{marker}"])
    os._exit(0)
time.sleep(0.2)

class Model:
    def predict(self, X):
        return X[:, 0]
"""


def _processes_with(marker: str) -> list[int]:
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if marker.encode() in Path(f"/proc/{pid}/cmdline").read_bytes():
                found.append(int(pid))
        except OSError:
            continue
    return found


def _wait_for(condition: Callable[[], bool], seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def test_a_setsid_grandchild_dies_with_the_worker(start: Start) -> None:
    marker = f"dock-grandchild-{uuid.uuid4().hex}"
    model = start(GRANDCHILD.format(marker=marker))
    assert _wait_for(lambda: bool(_processes_with(marker)))  # it did escape its session
    model.close()
    assert _wait_for(lambda: not _processes_with(marker)), "a grandchild outlived the worker"


FORKER = """
import os, time
import numpy as np

class Model:
    def predict(self, X):
        children = []
        for _ in range(3):
            pid = os.fork()
            if pid == 0:
                block = b"\\x01" * (350 << 20)  # resident, not just reserved
                time.sleep(5)
                os._exit(len(block) % 7)
            children.append(pid)
        return np.array([os.waitpid(pid, 0)[1] for pid in children])
"""


@pytest.mark.parametrize("cgroups", ["1", "0"], ids=["cgroup-or-watchdog", "watchdog"])
def test_forked_children_cannot_exceed_the_memory_limit_together(
    start: Start, monkeypatch: pytest.MonkeyPatch, cgroups: str
) -> None:
    monkeypatch.setenv("DOCK_SANDBOX_CGROUPS", cgroups)
    model = start(FORKER, memory_limit=800 << 20, timeout=30)
    with pytest.raises(ContainerError, match="exceeded the memory limit of 838860800 bytes"):
        model.predict(np.zeros((1, 4)))


def test_the_model_has_no_network(start: Start) -> None:
    found = _report(
        start,
        "import socket\nFOUND = sorted(n for _, n in socket.if_nameindex())\n",
    )
    assert found == ["lo"]


def test_without_bubblewrap_models_are_refused_unless_the_operator_opts_in(
    tmp_path: Path,
    toy_market: Market,
    make_package: Make,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    source = "class Model:\n    input_shape = (4,)\n    output_shape = (1,)\n\n"
    source += "    def predict(self, X):\n        return [0] * len(X)\n"
    archive = make_package(tmp_path / "plain", source)
    monkeypatch.setattr(sandbox, "bwrap_path", lambda: None)
    monkeypatch.delenv(sandbox.ALLOW_UNSANDBOXED, raising=False)
    report = toy_market.check(archive, table_semantic_spec())
    [stat] = [r for r in report.results if r.checker == "stat"]
    assert stat.status.name == "INVALID"
    assert "refusing" in stat.message and "bubblewrap (bwrap) is not installed" in stat.message
    assert sandbox.ALLOW_UNSANDBOXED in stat.message
    monkeypatch.setenv(sandbox.ALLOW_UNSANDBOXED, "1")
    with caplog.at_level(logging.WARNING, logger="learnware_dock_isolation.sandbox"):
        report = toy_market.check(archive, table_semantic_spec())
    [stat] = [r for r in report.results if r.checker == "stat"]
    assert stat.status.name == "USABLE", stat.message
    assert "WITHOUT a sandbox" in caplog.text


def _sdist(folder: Path, name: str, marker: Path) -> None:
    """A source-only package whose build would write ``marker`` on the host."""
    import io
    import tarfile

    setup = f"open({str(marker)!r}, 'w').write('built')\nfrom setuptools import setup\n"
    setup += f"setup(name={name!r}, version='1.0')\n"
    pkg_info = f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n"
    with tarfile.open(folder / f"{name}-1.0.tar.gz", "w:gz") as tar:
        for member, text in (("setup.py", setup), ("PKG-INFO", pkg_info)):
            data = text.encode()
            info = tarfile.TarInfo(f"{name}-1.0/{member}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def test_a_source_only_requirement_is_refused_and_never_built(
    start: Start, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    links = tmp_path / "links"
    links.mkdir()
    marker = tmp_path / "build-ran-on-the-host"
    name = f"dock-evil-{uuid.uuid4().hex[:8]}"
    _sdist(links, name, marker)
    monkeypatch.setenv("PIP_FIND_LINKS", str(links))
    with pytest.raises(ContainerError, match=rf"no wheel of '{name}==1.0'.*source-only"):
        start("class Model:\n    pass\n", requirements=f"{name}==1.0\n")
    assert not marker.exists()


def test_the_environment_key_covers_the_dock_installation(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    here = env_key(["numpy"], share_host=True)
    monkeypatch.setattr(
        "learnware_dock.package.requirements.host_site_dirs", lambda: ["/elsewhere/site"]
    )
    assert env_key(["numpy"], share_host=True) != here
    assert env_key(["numpy"], share_host=False) == env_key(["numpy"], share_host=False)


def test_a_cached_environment_whose_installation_is_gone_is_rebuilt(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cache = EnvCache(tmp_path / "venvs")
    env = cache.ensure([])
    info = json.loads((env / MARKER).read_text())
    assert info["host"] and info["sandboxed"] is True
    info["host"] = [str(tmp_path / "deleted-installation" / "site-packages")]
    (env / MARKER).write_text(json.dumps(info))
    with caplog.at_level(logging.WARNING, logger="learnware_dock_isolation.envs"):
        again = cache.ensure([])
    assert again == env
    assert "is broken (the dock installation it links to is gone" in caplog.text
    assert all(Path(p).is_dir() for p in json.loads((env / MARKER).read_text())["host"])


def test_cpu_seconds_are_limited(start: Start) -> None:
    source = "class Model:\n    def predict(self, X):\n        while True:\n            pass\n"
    model = start(source, cpu_limit=2, timeout=30)
    with pytest.raises(ContainerError, match="killed by SIGXCPU: it used up its 2 CPU seconds"):
        model.predict(np.zeros((1, 4)))


def test_file_size_is_limited(start: Start) -> None:
    source = (
        "class Model:\n    def predict(self, X):\n"
        "        with open('/tmp/big', 'wb') as fh:\n"
        "            fh.write(b'x' * (3 << 20))\n"
    )
    model = start(source, file_size_limit=1 << 20)
    with pytest.raises(ContainerError, match="File too large"):
        model.predict(np.zeros((1, 4)))
