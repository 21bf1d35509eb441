"""The worker: serves one learnware's model inside its own environment.

Run as ``python -I worker.py REQUEST_JSON`` by a container (never imported by the dock).
``REQUEST_JSON`` is an object: ``root`` (the unpacked package, as the worker sees it),
``module_path`` (its ``__init__.py``, relative to ``root``), ``class_name``, ``kwargs``
(see :func:`learnware_dock.protocol.worker_request`), and optionally the limits the
worker sets on itself before anything else runs: ``memory_limit`` (bytes of address
space), ``cpu_limit`` (CPU seconds), ``file_size_limit`` (bytes per file written), each
null or absent for none, and ``network`` (false: a network namespace of its own).

It loads :mod:`wire` from its own folder under a private name, keeps the real stdin and
stdout for the protocol and points file descriptors 0 and 1 at /dev/null and stderr, so
the model's prints cannot corrupt messages. Then it imports the package, builds the
model, reports what it offers (``ready``) and answers requests until stdin closes.

When ``learnware`` is not importable in this environment, a minimal compatible
``learnware.model.BaseModel`` (from ``shim/``) is put on the path, so learnwares written
for the `learnware` package run unchanged.
"""

from __future__ import annotations

import importlib.util
import json
import os
import socket
import sys
import traceback
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
OPS = ("predict", "predict_proba", "fit", "finetune")


def _load_wire() -> Any:
    spec = importlib.util.spec_from_file_location("_learnware_dock_wire", HERE / "wire.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _protocol_streams(wire: Any) -> Any:
    """Keep private copies of stdin/stdout for messages; the model gets /dev/null and stderr."""
    proto_in, proto_out = os.dup(0), os.dup(1)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return wire.FileStream(proto_in, proto_out)


def _import_model(request: dict[str, Any]) -> Any:
    if importlib.util.find_spec("learnware") is None:
        sys.path.append(str(HERE / "shim"))
    root = Path(request["root"])
    init = root / request.get("module_path", "__init__.py")
    name = "_learnware_package"
    spec = importlib.util.spec_from_file_location(
        name, init, submodule_search_locations=[str(init.parent)]
    )
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {init}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    cls = getattr(module, request["class_name"])
    return cls(**request.get("kwargs", {}))


def _shape(value: Any) -> list[int] | None:
    try:
        return [int(v) for v in value]
    except (TypeError, ValueError):
        return None


def _error(exc: BaseException) -> dict[str, Any]:
    return {"ok": False, "error": repr(exc), "traceback": traceback.format_exc()[-4000:]}


def _confine(request: dict[str, Any]) -> None:
    """The limits the dock asked for, set before numpy or the model is imported (the dock
    starts this process without running any code between fork and exec, which is what
    keeps a threaded dock from deadlocking in a fork handler): no core dumps, caps on
    address space, CPU seconds and file size (inherited by every child), and with
    ``network: false`` (where the sandbox did not already) a network namespace of its own,
    loopback only."""
    import resource

    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    for key, which in (
        ("memory_limit", resource.RLIMIT_AS),
        ("cpu_limit", resource.RLIMIT_CPU),
        ("file_size_limit", resource.RLIMIT_FSIZE),
    ):
        limit = request.get(key)
        if limit:  # CPU: SIGXCPU at the limit, SIGKILL a second later if it is caught
            hard = limit + 1 if which == resource.RLIMIT_CPU else limit
            resource.setrlimit(which, (limit, hard))
    if request.get("network") is False:
        try:
            import ctypes

            ctypes.CDLL(None, use_errno=True).unshare(0x40000000)  # CLONE_NEWNET
        except (OSError, AttributeError):
            pass


def serve(request: dict[str, Any]) -> int:
    _confine(request)
    wire = _load_wire()
    stream = _protocol_streams(wire)
    try:
        model = _import_model(request)
    except BaseException as exc:  # SystemExit included: report it, then stop
        wire.send(stream, _error(exc))
        return 3
    methods = [op for op in OPS if callable(getattr(model, op, None))]
    info = {
        "ok": True,
        "ready": True,
        "methods": methods,
        "input_shape": _shape(getattr(model, "input_shape", None)),
        "output_shape": _shape(getattr(model, "output_shape", None)),
        "pid": os.getpid(),
        "interfaces": sorted(name for _, name in socket.if_nameindex()),
    }
    wire.send(stream, info)
    while True:
        try:
            header, arrays = wire.receive(stream)
        except wire.WireError:
            return 0  # the dock closed the pipe
        op = header.get("op")
        try:
            if op == "ping":
                wire.send(stream, {"ok": True})
                continue
            if op not in methods:
                raise AttributeError(f"the model has no {op}()")
            import numpy as np

            out = getattr(model, op)(*arrays)
            if op in ("fit", "finetune"):
                wire.send(stream, {"ok": True})
            else:
                wire.send(stream, {"ok": True}, (np.asarray(out),))
        except BaseException as exc:
            exiting = isinstance(exc, (SystemExit, KeyboardInterrupt))
            wire.send(stream, {**_error(exc), "exiting": exiting})
            if exiting:
                return 3


if __name__ == "__main__":
    sys.exit(serve(json.loads(sys.argv[1])))
