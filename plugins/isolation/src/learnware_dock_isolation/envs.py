"""Virtual environments per distinct requirements, cached under ``<cache>/venvs/<key>``.

An environment is created with ``uv venv`` when uv is installed, else ``python -m venv``
(without pip: the dock's own pip installs into it with ``--python``, honouring the
machine's pip configuration). With ``share_host`` (the default) a ``.pth`` file appends
the dock's site-packages to the environment's path, so heavy packages already installed
(numpy, torch, scikit-learn) are reused whenever the learnware's pins allow: pip sees
them as installed and only adds what differs, which then takes precedence.

No package code runs on the host: requirements are installed as wheels only
(``--only-binary :all:``; a source-only requirement is refused, naming it, because
building it would run its build backend), and the install step itself runs in the
sandbox (:mod:`.sandbox`) with the network but seeing only the new environment
(writable), the runtime, the dock's site-packages and the pip configuration (read-only).

The key covers the interpreter, the requirements and, with ``share_host``, the dock
installation linked to; a cached environment whose interpreter or linked installation
has gone is detected, logged and rebuilt. Creation runs under a file lock, and the marker
file ``dock-env.json`` is written last: a folder without it (a creator was killed) is
removed and built again.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from filelock import FileLock

from learnware_dock.config import cache_home
from learnware_dock.errors import ContainerError
from learnware_dock.package.requirements import env_key, host_site_dirs
from learnware_dock_isolation import sandbox
from learnware_dock_isolation.pipconf import pip_config_mounts, pip_environment

log = logging.getLogger(__name__)

MARKER = "dock-env.json"
_NO_WHEEL = re.compile(
    r"(?:Could not find a version that satisfies the requirement|"
    r"No matching distribution found for) ([^\s(]+)"
)


def _tail(text: str | bytes | None, size: int = 2000) -> str:
    if isinstance(text, bytes):
        text = text.decode(errors="replace")
    return (text or "").strip()[-size:]


class EnvCache:
    """Creates and reuses environments; see the module docstring."""

    def __init__(
        self,
        folder: Path | None = None,
        *,
        share_host: bool = True,
        install_timeout: float = 900.0,
        sandboxed: bool | None = None,
    ) -> None:
        self.folder = Path(folder) if folder is not None else cache_home() / "venvs"
        self.share_host = share_host
        self.install_timeout = install_timeout
        #: install in the sandbox; None: where possible (see :func:`.sandbox.require`)
        self.sandboxed = (
            sandbox.require("installing model environments") if sandboxed is None else sandboxed
        )

    @staticmethod
    def python(env: Path) -> Path:
        return env / "bin" / "python"

    @staticmethod
    def visible(env: Path) -> tuple[Path, ...]:
        """What a worker in ``env`` must see read-only: the environment and the host
        site-packages it links to."""
        try:
            info = json.loads((env / MARKER).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return (env,)
        return (env, *(Path(p) for p in info.get("host", [])))

    def path(self, requirements: list[str]) -> Path:
        return self.folder / env_key(requirements, self.share_host)

    def ensure(self, requirements: list[str]) -> Path:
        """The environment for ``requirements``, created on first use (or when broken)."""
        env = self.path(requirements)
        if (env / MARKER).is_file() and not self._broken(env):
            return env
        self.folder.mkdir(parents=True, exist_ok=True)
        with FileLock(str(env) + ".lock", timeout=self.install_timeout):
            if (env / MARKER).is_file():
                problem = self._broken(env)
                if problem is None:
                    return env
                log.warning("the cached environment %s is broken (%s); rebuilding it", env, problem)
            shutil.rmtree(env, ignore_errors=True)  # left by a killed creator, or broken
            try:
                self._create(env, requirements)
            except BaseException:
                shutil.rmtree(env, ignore_errors=True)
                raise
        return env

    def _broken(self, env: Path) -> str | None:
        """Why a finished environment cannot run any more, or None."""
        if not self.python(env).exists():
            return f"its interpreter {os.path.realpath(self.python(env))} is gone"
        try:
            info = json.loads((env / MARKER).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return "its marker file is unreadable"
        gone = [p for p in info.get("host", []) if not Path(p).is_dir()]
        if gone:
            return f"the dock installation it links to is gone ({', '.join(gone)})"
        return None

    def _run(self, command: list[str], what: str, env: dict[str, str] | None = None) -> None:
        try:
            done = subprocess.run(
                command,
                capture_output=True,
                timeout=self.install_timeout,
                check=False,
                env=env
                if env is not None
                else {k: v for k, v in os.environ.items() if k != "PYTHONWARNINGS"},
            )
        except subprocess.TimeoutExpired as exc:
            raise ContainerError(f"{what} took over {self.install_timeout:.0f} s") from exc
        if done.returncode != 0:
            output = _tail(done.stderr or done.stdout)
            missing = _NO_WHEEL.search(output)
            if missing:
                raise ContainerError(
                    f"{what} failed: no wheel of {missing.group(1)!r} for this platform: it "
                    "does not exist, or it is source-only, and source packages are refused "
                    "(building one runs its code); ask for a version published as a wheel\n"
                    f"{output[-800:]}"
                )
            raise ContainerError(f"{what} failed (exit {done.returncode}): {output}")

    def _create(self, env: Path, requirements: list[str]) -> None:
        start = time.perf_counter()
        uv = shutil.which("uv")
        if uv:
            self._run([uv, "venv", "--quiet", "--python", sys.executable, str(env)], "uv venv")
        else:
            self._run([sys.executable, "-m", "venv", "--without-pip", str(env)], "python -m venv")
        host = host_site_dirs() if self.share_host else []
        if host:
            site = self._site_packages(env)
            (site / "_dock_host.pth").write_text("\n".join(host) + "\n", encoding="utf-8")
        wanted = list(requirements)
        if not any(r.lower().startswith("numpy") for r in wanted):
            wanted.append("numpy")  # the worker's own need
        listing = env / "dock-requirements.txt"
        listing.write_text("\n".join(wanted) + "\n", encoding="utf-8")
        self._install(env, listing, wanted, uv)
        info = {
            "requirements": requirements,
            "share_host": self.share_host,
            "host": host,
            "python": sys.version,
            "sandboxed": self.sandboxed,
            "seconds": round(time.perf_counter() - start, 3),
        }
        (env / MARKER).write_text(json.dumps(info, indent=2), encoding="utf-8")

    def _install(self, env: Path, listing: Path, wanted: list[str], uv: str | None) -> None:
        python = str(self.python(env))
        binary = ["--only-binary", ":all:"]
        if uv:
            command = [uv, "pip", "install", "--python", python, *binary, "-r", str(listing)]
        else:
            command = [sys.executable, "-m", "pip", "--python", python, "install", "--quiet"]
            command += ["--disable-pip-version-check", *binary, "-r", str(listing)]
        what = f"installing {', '.join(wanted)}"
        if not self.sandboxed:
            self._run(command, what)
            return
        pip_cache = self.folder.parent / "pip-cache"
        pip_cache.mkdir(parents=True, exist_ok=True)
        config_ro, environment = pip_config_mounts(), pip_environment()
        tools = [Path(sys.prefix), *(Path(p) for p in host_site_dirs())]
        if uv:
            tools.append(Path(uv).parent)
        mounts = sandbox.Mounts(
            read_only=(*sandbox.Mounts.same([*sandbox.runtime_paths(), *tools]), *config_ro),
            writable=((env, str(env)), (pip_cache, "/tmp/pip-cache")),
        )
        variables = {**sandbox.base_env(network=True), **environment}
        variables.update(PIP_CACHE_DIR="/tmp/pip-cache", UV_CACHE_DIR="/tmp/pip-cache/uv")
        scratch = env / ".dock-install-tmp"  # unpacked wheels go to disk, not the tmpfs
        scratch.mkdir()
        variables["TMPDIR"] = str(scratch)
        wrapped = sandbox.command(command, mounts, env=variables, network=True)
        try:
            self._run(wrapped, what, env={"PATH": "/usr/bin:/bin"})
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    def _site_packages(self, env: Path) -> Path:
        found = sorted(env.glob("lib/python*/site-packages"))
        if not found:
            raise ContainerError(f"no site-packages folder in the new environment {env}")
        return found[0]
