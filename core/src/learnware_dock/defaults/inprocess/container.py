"""The ``inprocess`` container: imports a package's model into this process.

TRUSTED PACKAGES ONLY. It executes the package's ``__init__.py`` in the dock's own
process, with the dock's permissions. Use it for your own learnwares and for tests; use
an isolating container (``venv``, ``docker``) for anything from someone else.
"""

from __future__ import annotations

import importlib.util
import itertools
import sys
from pathlib import Path
from typing import Any

import numpy as np

from learnware_dock.errors import ContainerError
from learnware_dock.interfaces import Container, ContainerOptions, LoadedModel, ModelInfo
from learnware_dock.package.manifest import Manifest

_counter = itertools.count()


class InProcessModel(LoadedModel):
    """A model object living in this process."""

    def __init__(self, model: Any, label: str) -> None:
        self.model, self.label = model, label
        self._info = ModelInfo.of(model)

    @property
    def info(self) -> ModelInfo:
        """The model object's shapes and methods (read when it was built)."""
        return self._info

    def _call(self, method: str, *args: np.ndarray) -> Any:
        func = getattr(self.model, method, None)
        if func is None:
            raise ContainerError(f"model {self.label} has no {method}()")
        try:
            return func(*args)
        except Exception as exc:
            raise ContainerError(f"model {self.label}.{method}() failed: {exc!r}") from exc

    def predict(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(self._call("predict", X))

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(self._call("predict_proba", X))

    def fit(self, X: np.ndarray, y: np.ndarray) -> None:
        self._call("fit", X, y)

    def finetune(self, X: np.ndarray, y: np.ndarray) -> None:
        self._call("finetune", X, y)


class InProcessContainer(Container):
    """Runs the model in the dock process. Trusted packages only: never chosen by default.
    It takes the :class:`ContainerOptions` but enforces none of them (a call cannot be
    stopped or limited inside the dock process)."""

    name = "inprocess"
    trusted_only = True

    def load(
        self, root: Path, manifest: Manifest, options: ContainerOptions | None = None
    ) -> LoadedModel:
        module_name = f"_dock_learnware_{next(_counter)}"
        init = root / manifest.model.module_path
        spec = importlib.util.spec_from_file_location(
            module_name, init, submodule_search_locations=[str(root)]
        )
        if spec is None or spec.loader is None:
            raise ContainerError(f"cannot import {init}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        label = f"{manifest.model.class_name} ({root.name})"
        try:
            spec.loader.exec_module(module)
            cls = getattr(module, manifest.model.class_name)
            model = cls(**manifest.model.kwargs)
        except Exception as exc:
            sys.modules.pop(module_name, None)
            raise ContainerError(f"cannot load model {label}: {exc!r}") from exc
        return InProcessModel(model, label)
