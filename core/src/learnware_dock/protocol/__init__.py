"""The worker protocol: how a container runs a model out of the dock process.

A container starts the worker entry point, ``python -I WORKER_DIR/worker.py
REQUEST_JSON`` (:func:`worker_request`), in the learnware's environment, wherever it
isolates code (a sandbox, a container image); :data:`WORKER_DIR` holds only what the
worker needs (``worker.py``, the framing ``wire.py`` and the ``learnware`` shim) and is
meant to be mounted read-only. Dock and worker then exchange :mod:`wire` messages (a JSON
header and ``.npy`` arrays, never pickle) over the worker's stdin and stdout: the worker
sends a ``ready`` report, then answers one request (``predict``, ``predict_proba``,
``fit``, ``finetune``, ``ping``) at a time. :class:`ProtocolModel` is the dock side; a
container subclasses it to start and stop the worker. The guide is ``docs/containers.md``.
"""

from learnware_dock.protocol.model import ProtocolModel, worker_request
from learnware_dock.protocol.worker import WORKER_DIR, wire

__all__ = ["WORKER_DIR", "ProtocolModel", "wire", "worker_request"]
