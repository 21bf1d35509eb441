"""Compute backends: batched kernel math for statistical search."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    import numpy as np


class Backend(ABC):
    """Base class of compute backends. The highest-``priority`` available one is default.

    ``cross_terms`` computes, for one query embedding (``z`` K x d, ``beta`` K) and a stack
    of N embeddings (N x M x d, N x M; numpy arrays or tensors of the backend's library,
    as an index keeps them), the N values
    ``sum_jk beta_j beta_i,k exp(-gamma * ||z_j - z_i,k||^2)`` as a float64 numpy array.

    A complete minimal plugin (plain numpy)::

        import numpy as np
        from learnware_dock import hookimpl
        from learnware_dock.interfaces import Backend

        class NumpyBackend(Backend):
            name = "numpy"

            def cross_terms(self, z, beta, zs, betas, gamma):
                d2 = ((zs[:, None, :, :] - z[None, :, None, :]) ** 2).sum(-1)
                return np.einsum("j,njk,nk->n", beta, np.exp(-gamma * d2), betas)

        @hookimpl
        def dock_register_backends():
            return [NumpyBackend]
    """

    name: ClassVar[str]
    priority: ClassVar[int] = 0

    @classmethod
    def is_available(cls) -> bool:
        """Whether this backend can run here (e.g. a GPU is present)."""
        return True

    @abstractmethod
    def cross_terms(
        self, z: np.ndarray, beta: np.ndarray, zs: Any, betas: Any, gamma: float
    ) -> np.ndarray:
        """Kernel inner products of one embedding with each of a stack."""
