"""Text encoders: sentences -> fixed-length vectors, for specifications of text data."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    import numpy as np


class TextEncoder(ABC):
    """Base class of text encoders (sentence embedding models).

    A text specification (such as ``RKMETextSpecification``) embeds documents with an
    encoder and stores its ``name``, so specs made with different encoders are never
    compared. ``dimension`` is the length of every vector; ``package`` is the distribution
    to install to get the encoder's model. :meth:`is_available` says whether it can run
    here (the model is installed and loads offline); an encoder whose model is missing
    stays registered, so specs that need it are recognised and refused with a message
    saying what to install.

    A complete minimal plugin (character statistics, no model)::

        import numpy as np
        from learnware_dock import hookimpl
        from learnware_dock.interfaces import TextEncoder

        class CharEncoder(TextEncoder):
            name = "chars"
            dimension = 2
            package = "learnware-dock"

            def encode(self, texts, progress=None):
                rows = [[len(t), sum(c.isupper() for c in t)] for t in texts]
                if progress is not None:
                    progress(len(rows), len(rows))
                return np.asarray(rows, dtype=np.float32).reshape(len(rows), 2)

        @hookimpl
        def dock_register_encoders():
            return [CharEncoder]
    """

    name: ClassVar[str]
    dimension: ClassVar[int]
    package: ClassVar[str]

    @classmethod
    def is_available(cls) -> bool:
        """Whether the encoder's model can be loaded here, offline."""
        return True

    @classmethod
    def install_hint(cls) -> str:
        """What to do to get this encoder (shown when it is not available)."""
        return f"install {cls.package}"

    @abstractmethod
    def encode(
        self, texts: Sequence[str], progress: Callable[[int, int], None] | None = None
    ) -> np.ndarray:
        """``len(texts) x dimension`` float32 vectors, one per text, in order.

        progress: called as ``progress(done, total)`` while the texts are encoded.
        """
