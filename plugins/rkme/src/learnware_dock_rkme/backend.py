"""The ``torch-cpu`` compute backend: batched RKME cross terms, chunked, in float32."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from learnware_dock.errors import SearchError
from learnware_dock.interfaces import Backend

if TYPE_CHECKING:
    from learnware_dock.registry import Components

#: largest gamma * |q|^2 for which the query's norm factor is folded out of the exponent
#: (exp(88) overflows float32; keep a wide margin)
FOLD_LIMIT = 40.0


class TorchCPUBackend(Backend):
    """One GEMM + in-place exp + weighted reduction per chunk of learnwares.

    exp(-gamma |q - z|^2) = exp(-gamma |q|^2) * exp(2 gamma q.z - gamma |z|^2): the first
    factor goes into the query's weights, and ``addmm`` computes the exponent in one pass
    (bias -gamma |z|^2, scale 2 gamma), so each kernel block costs a GEMM, an exp and a
    reduction. When gamma |q|^2 is large enough to overflow float32, the plain form
    ``-gamma (|q|^2 + |z|^2 - 2 q.z)`` is used instead. Memory stays at one chunk
    (``chunk_elements`` floats), never N x K x K.
    """

    name = "torch-cpu"
    priority = 0
    chunk_elements: ClassVar[int] = 1 << 23  # 32 MiB of float32 per kernel block

    @classmethod
    def is_available(cls) -> bool:
        try:
            import torch  # noqa: F401
        except ImportError:
            return False
        return True

    def cross_terms(self, z: Any, beta: Any, zs: Any, betas: Any, gamma: float) -> np.ndarray:
        import torch

        q = torch.as_tensor(z, dtype=torch.float32)
        qb = torch.as_tensor(beta, dtype=torch.float32)
        stack = torch.as_tensor(zs, dtype=torch.float32)
        weights = torch.as_tensor(betas, dtype=torch.float32)
        n, m, d = stack.shape
        q_sq = (q * q).sum(1)  # K
        fold = float(gamma * q_sq.max()) < FOLD_LIMIT if len(q_sq) else True
        q_weights = qb * torch.exp(-gamma * q_sq) if fold else qb
        out = torch.empty(n, dtype=torch.float64)
        step = max(1, self.chunk_elements // max(1, q.shape[0] * m))
        with torch.inference_mode():
            for start in range(0, n, step):
                block = stack[start : start + step].reshape(-1, d)  # (n_c * M) x d
                bias = (block * block).sum(1).mul_(-gamma).unsqueeze(0)  # 1 x (n_c * M)
                expo = torch.addmm(bias, q, block.T, alpha=2.0 * gamma)  # K x (n_c * M)
                if not fold:
                    expo.sub_((gamma * q_sq).unsqueeze(1)).clamp_(max=0.0)
                per_point = (q_weights @ expo.exp_()).view(-1, m)  # n_c x M
                out[start : start + step] = (per_point * weights[start : start + step]).sum(1)
        return out.numpy()


def best_backend(components: Components) -> Backend:
    """An instance of the available compute backend with the highest priority."""
    classes = [c for c in components.backends.classes() if c.is_available()]
    if not classes:
        raise SearchError("no compute backend is available; install learnware-dock-rkme")
    return max(classes, key=lambda c: (c.priority, c.name))()
