"""The worker's own folder (:data:`WORKER_DIR`): ``worker.py``, ``wire.py`` and ``shim/``.

Containers mount this folder read-only where the worker runs and start
``python -I worker.py REQUEST_JSON`` from it; the worker imports nothing of the dock.
"""

from pathlib import Path

#: the folder holding the worker entry point, its framing and the ``learnware`` shim
WORKER_DIR = Path(__file__).resolve().parent
