"""The ``torch-cpu`` compute backend: batched RKME cross terms, chunked, in float32."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from learnware_dock.interfaces import Backend


class TorchCPUBackend(Backend):
    """One GEMM + in-place exp + weighted reduction per chunk of learnwares.

    Squared distances are formed as ``|q|^2 + |z|^2 - 2 q.z`` in float32 and clamped at 0;
    each kernel block is reduced immediately, so memory stays at one chunk
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
        q_sq = (q * q).sum(1, keepdim=True)  # K x 1
        out = torch.empty(n, dtype=torch.float64)
        step = max(1, self.chunk_elements // max(1, q.shape[0] * m))
        with torch.inference_mode():
            for start in range(0, n, step):
                block = stack[start : start + step].reshape(-1, d)  # (n_c * M) x d
                sq = torch.addmm((block * block).sum(1).unsqueeze(0), q, block.T, alpha=-2.0)
                sq.add_(q_sq).clamp_(min=0.0).mul_(-gamma).exp_()  # kernel block, in place
                per_point = (qb @ sq).view(-1, m)  # n_c x M
                out[start : start + step] = (per_point * weights[start : start + step]).sum(1)
        return out.numpy()
