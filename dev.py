#!/usr/bin/env python3
"""Developer entry point: the README's two quick-start commands.

    python3 dev.py demo   # create .venv, install core + first-party plugins, run `dock demo`
    python3 dev.py test   # create .venv, install tox, run every tox environment

Needs only python3 with venv and pip. Extra arguments go to `dock demo` / `tox`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")


def run(*cmd: str | Path) -> None:
    print("+", " ".join(map(str, cmd)), flush=True)
    subprocess.run([str(c) for c in cmd], check=True, cwd=ROOT)


def ensure_venv() -> None:
    if not (BIN / "python").exists():
        venv.EnvBuilder(with_pip=True).create(VENV)


def editable_targets() -> list[str]:
    """Core (with the demo extra) and every first-party plugin under plugins/.

    torch is pinned to 2.13.0 (a CPU wheel on the project's machines) unless the venv
    already has a torch, e.g. a CUDA build you installed yourself.
    """
    has_torch = subprocess.run(
        [str(BIN / "python"), "-c", "import torch"], capture_output=True, check=False
    )
    targets = [] if has_torch.returncode == 0 else ["torch==2.13.0"]
    targets += ["-e", "./core[demo,bench]"]
    for plugin in sorted((ROOT / "plugins").glob("*/pyproject.toml")):
        targets += ["-e", f"./{plugin.parent.relative_to(ROOT).as_posix()}"]
    return targets


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"demo", "test"}:
        print(__doc__)
        return 2
    ensure_venv()
    pip = [BIN / "python", "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    try:
        if argv[0] == "demo":
            run(*pip, *editable_targets())
            if not shutil.which("bwrap") and "DOCK_ALLOW_UNSANDBOXED" not in os.environ:
                print(
                    "bubblewrap is not installed: the demo's own models (trained just now) "
                    "run without a sandbox (DOCK_ALLOW_UNSANDBOXED=1). Untrusted packages "
                    "need it: apt-get install bubblewrap",
                    flush=True,
                )
                os.environ["DOCK_ALLOW_UNSANDBOXED"] = "1"
            run(BIN / "dock", "demo", *argv[1:])
        else:
            run(*pip, "tox>=4.12")
            run(BIN / "tox", *argv[1:])
    except subprocess.CalledProcessError as exc:
        return exc.returncode or 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
