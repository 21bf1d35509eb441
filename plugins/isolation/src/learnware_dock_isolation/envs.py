"""Virtual environments per distinct requirements, cached under ``<cache>/venvs/<key>``.

An environment is created with ``uv venv`` when uv is installed, else ``python -m venv``
(without pip: the dock's own pip installs into it with ``--python``, honouring the
machine's pip configuration). With ``share_host`` (the default) a ``.pth`` file appends
the dock's site-packages to the environment's path, so heavy packages already installed
(numpy, torch, scikit-learn) are reused whenever the learnware's pins allow: pip sees
them as installed and only adds what differs, which then takes precedence.

Creation runs under a file lock, and the marker file ``dock-env.json`` is written last:
a folder without it (a creator was killed) is removed and built again.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

from filelock import FileLock

from learnware_dock.config import cache_home
from learnware_dock.errors import ContainerError
from learnware_dock_isolation.requirements import env_key

MARKER = "dock-env.json"


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
    ) -> None:
        self.folder = Path(folder) if folder is not None else cache_home() / "venvs"
        self.share_host = share_host
        self.install_timeout = install_timeout

    @staticmethod
    def python(env: Path) -> Path:
        return env / "bin" / "python"

    def path(self, requirements: list[str]) -> Path:
        return self.folder / env_key(requirements, self.share_host)

    def ensure(self, requirements: list[str]) -> Path:
        """The environment for ``requirements``, created on first use."""
        env = self.path(requirements)
        if (env / MARKER).is_file():
            return env
        self.folder.mkdir(parents=True, exist_ok=True)
        with FileLock(str(env) + ".lock", timeout=self.install_timeout):
            if (env / MARKER).is_file():
                return env
            shutil.rmtree(env, ignore_errors=True)  # left by a killed creator
            try:
                self._create(env, requirements)
            except BaseException:
                shutil.rmtree(env, ignore_errors=True)
                raise
        return env

    def _run(self, command: list[str], what: str) -> None:
        try:
            done = subprocess.run(
                command,
                capture_output=True,
                timeout=self.install_timeout,
                check=False,
                env={k: v for k, v in os.environ.items() if k != "PYTHONWARNINGS"},
            )
        except subprocess.TimeoutExpired as exc:
            raise ContainerError(f"{what} took over {self.install_timeout:.0f} s") from exc
        if done.returncode != 0:
            raise ContainerError(
                f"{what} failed (exit {done.returncode}): {_tail(done.stderr or done.stdout)}"
            )

    def _create(self, env: Path, requirements: list[str]) -> None:
        start = time.perf_counter()
        uv = shutil.which("uv")
        if uv:
            self._run([uv, "venv", "--quiet", "--python", sys.executable, str(env)], "uv venv")
        else:
            self._run([sys.executable, "-m", "venv", "--without-pip", str(env)], "python -m venv")
        if self.share_host:
            site = self._site_packages(env)
            paths = sysconfig.get_paths()
            host = dict.fromkeys([paths["purelib"], paths["platlib"]])
            (site / "_dock_host.pth").write_text("\n".join(host) + "\n", encoding="utf-8")
        wanted = list(requirements)
        if not any(r.lower().startswith("numpy") for r in wanted):
            wanted.append("numpy")  # the worker's own need
        listing = env / "dock-requirements.txt"
        listing.write_text("\n".join(wanted) + "\n", encoding="utf-8")
        if uv:
            command = [uv, "pip", "install", "--python", str(self.python(env)), "-r", str(listing)]
        else:
            command = [sys.executable, "-m", "pip", "--python", str(self.python(env))]
            command += ["install", "--quiet", "--disable-pip-version-check", "-r", str(listing)]
        self._run(command, f"installing {', '.join(wanted)}")
        info = {
            "requirements": requirements,
            "share_host": self.share_host,
            "python": sys.version,
            "seconds": round(time.perf_counter() - start, 3),
        }
        (env / MARKER).write_text(json.dumps(info, indent=2), encoding="utf-8")

    def _site_packages(self, env: Path) -> Path:
        found = sorted(env.glob("lib/python*/site-packages"))
        if not found:
            raise ContainerError(f"no site-packages folder in the new environment {env}")
        return found[0]
