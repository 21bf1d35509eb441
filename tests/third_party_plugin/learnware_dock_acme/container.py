"""The ``acme`` container: the worker protocol in a plain child process, journalled.

TRUSTED PACKAGES ONLY (``trusted_only``): the model runs with the dock user's rights, so
the kernel never picks this container by default; name it (``dock run --container acme``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import attrs

from learnware_dock.interfaces import Container, ContainerOptions
from learnware_dock.options import option
from learnware_dock.package import Manifest
from learnware_dock.protocol import WORKER_DIR, ProtocolModel, wire, worker_request


@attrs.frozen
class AcmeOptions(ContainerOptions):
    journal: Path | None = option(
        None, help="A JSON-lines file to which every load appends what it started."
    )


class AcmeModel(ProtocolModel):
    """The worker as a child process of the dock's Python (its stderr is discarded)."""

    def __init__(self, root: Path, manifest: Manifest, options: AcmeOptions) -> None:
        label = f"{manifest.model.class_name} (acme)"
        super().__init__(label, options.timeout, options.load_timeout)
        request = json.dumps(worker_request(root, manifest))
        self.argv = [sys.executable, "-I", "-B", str(WORKER_DIR / "worker.py"), request]
        self.proc: subprocess.Popen[bytes] | None = None

    def _spawn(self) -> wire.Stream:
        self.proc = subprocess.Popen(
            self.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
        )
        assert self.proc.stdin is not None and self.proc.stdout is not None
        return wire.FileStream(self.proc.stdout.fileno(), self.proc.stdin.fileno())

    def _alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def _kill(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for pipe in (self.proc.stdin, self.proc.stdout):
            if pipe is not None:
                pipe.close()

    def _exit_status(self) -> str:
        code = None if self.proc is None else self.proc.returncode
        return "not ended" if code is None else f"exit code {code}"

    def _stderr_tail(self) -> str:
        return ""


class AcmeContainer(Container):
    """Starts the worker as a child process; with ``journal`` set, appends one JSON line
    per load: the container, the model class, the dock's and the worker's pids, the
    timeout it was given."""

    name = "acme"
    trusted_only = True
    priority = 5
    options_class = AcmeOptions

    def load(self, root: Path, manifest: Manifest, options: ContainerOptions) -> AcmeModel:
        acme = AcmeOptions.from_options(options)
        model = AcmeModel(root, manifest, acme).started()
        if acme.journal is not None:
            record = {
                "container": self.name,
                "class_name": manifest.model.class_name,
                "dock_pid": os.getpid(),
                "worker_pid": model.ready.get("pid"),
                "timeout": acme.timeout,
            }
            with acme.journal.open("a", encoding="utf-8") as journal:
                journal.write(json.dumps(record) + "\n")
        return model
