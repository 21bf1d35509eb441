"""`RKMETextSpecification`: the RKME of a corpus's sentence embeddings.

Documents are embedded by a text encoder (``all-MiniLM-L6-v2`` by default: unit-length
384-d vectors), then summarised by the table RKME (K weighted points, Gaussian kernel),
so the RKME plugin's engine indexes and searches it like a table. The spec remembers
its encoder (specs of different encoders are never compared) and the languages the
documents are written in (a user finds only learnwares covering the user's languages).

JSON: the table keys (``z``, ``beta``, ``gamma``, ``num_points``, ``type``), ``language``
(ISO 639-1 codes, most frequent first), as the `learnware` package writes them, plus
``encoder`` and ``encoder_dim``. The package's own files have no ``encoder``: they were
made with ``paraphrase-multilingual-MiniLM-L12-v2``, which is what loading them says.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, Self

import numpy as np

from learnware_dock.errors import SpecificationError
from learnware_dock_rkme import DEFAULT_K, RKMETableSpecification, SpecLimits
from learnware_dock_text.encoders import (
    ANCHOR_ENCODER,
    BUILTIN,
    DEFAULT_ENCODER,
    canonical_name,
    load_encoder,
)
from learnware_dock_text.reading import clean_texts, read_texts

#: the kernel width for unit-length embeddings: about 1 / the median squared distance (~2)
#: between unrelated documents' all-MiniLM-L6-v2 vectors; fixed (not the median heuristic),
#: so every spec made with the default lands in one index group and compares
DEFAULT_TEXT_GAMMA = 0.5
#: the most languages a spec may list, and the longest code
MAX_LANGUAGES = 200
MAX_CODE = 16


def _languages(value: Any) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list | tuple):
        raise SpecificationError(
            f"text spec 'language' must be a list of language codes, not {type(value).__name__}"
        )
    if len(value) > MAX_LANGUAGES:
        raise SpecificationError(
            f"text spec lists {len(value)} languages (at most {MAX_LANGUAGES})"
        )
    codes = []
    for code in value:
        if not isinstance(code, str) or not 0 < len(code) <= MAX_CODE:
            raise SpecificationError(f"text spec language {code!r:.40} is not a language code")
        codes.append(code)
    return codes


class RKMETextSpecification(RKMETableSpecification):
    """Reduced kernel mean embedding of a corpus's sentence embeddings (see the module)."""

    name = "RKMETextSpecification"
    data_type = "text"

    def __init__(
        self,
        z: np.ndarray,
        beta: np.ndarray,
        gamma: float,
        num_points: int,
        *,
        language: Sequence[str] = (),
        encoder: str = DEFAULT_ENCODER,
    ) -> None:
        super().__init__(z, beta, gamma, num_points)
        self.language = list(language)
        self.encoder = encoder

    @classmethod
    def generate(
        cls,
        X: Any,
        *,
        K: int = DEFAULT_K,
        gamma: float | Literal["median"] = DEFAULT_TEXT_GAMMA,
        seed: int = 0,
        encoder: str = DEFAULT_ENCODER,
        progress: Callable[[int, int], None] | None = None,
        **options: Any,
    ) -> Self:
        """Detect the documents' languages, embed them with ``encoder`` (calling
        ``progress(done, total)`` per batch), then fit the table RKME on the embeddings
        (``K``, ``gamma``, ``seed`` and the other options of
        :meth:`RKMETableSpecification.generate`; its ``progress`` calls follow).

        X: a list of strings (blank ones are skipped). Raises
        :class:`SpecificationError` naming a row that is not a string, for no documents
        or only blank ones, and for an encoder that is unknown or not installed.
        """
        from learnware_dock_text.languages import detect_languages

        texts = clean_texts(X)
        model = load_encoder(encoder)
        language = detect_languages(texts)
        embeddings = model.encode(texts, progress=progress)
        table = RKMETableSpecification.generate(
            embeddings.astype(np.float64),
            K=K,
            gamma=gamma,
            seed=seed,
            progress=progress,
            **options,
        )
        return cls(
            table.z,
            table.beta,
            table.gamma,
            len(texts),
            language=language,
            encoder=model.name,
        )

    @classmethod
    def read_data(cls, path: Path) -> list[str]:
        """The documents of a ``.txt`` (one per line), ``.jsonl`` (a ``text`` field per
        line) or ``.csv`` (a ``text`` column, or the only column) file."""
        return read_texts(path)

    def embed_rows(self, X: Any) -> np.ndarray:
        """Documents as rows of this spec's space: their embeddings by its encoder (what a
        reuser such as the job selector routes with). Raises :class:`SpecificationError`
        for rows that are not texts, and when the encoder is not installed."""
        if isinstance(X, np.ndarray) and X.dtype.kind in "fc":
            raise SpecificationError("embed_rows takes documents (texts), not numbers")
        texts = [X[i] for i in range(len(X))]
        bad = next((i for i, doc in enumerate(texts) if not isinstance(doc, str)), None)
        if bad is not None:
            raise SpecificationError(f"row {bad} is not a text: {texts[bad]!r}")
        return load_encoder(self.encoder).encode(texts).astype(np.float64)

    def probe_rows(self, count: int) -> np.ndarray:
        """No rows (0 x d): a text model takes documents, not their embeddings."""
        return np.zeros((0, self.dimension))

    def to_json(self) -> dict[str, Any]:
        """The table keys, ``language``, then ``encoder`` and ``encoder_dim``."""
        data = super().to_json()
        data["language"] = list(self.language)
        data["encoder"] = self.encoder
        data["encoder_dim"] = self.dimension
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any], *, limits: SpecLimits | None = None) -> Self:
        """Rebuild and validate (the table checks, the :class:`SpecLimits` included); no
        ``encoder`` means the `learnware` package's encoder."""
        encoder = data.get("encoder", ANCHOR_ENCODER)
        if not isinstance(encoder, str) or not encoder.strip():
            raise SpecificationError(f"text spec 'encoder' must be a name, not {encoder!r:.40}")
        encoder = canonical_name(encoder.strip())
        language = _languages(data.get("language"))
        spec = super().from_json(data, limits=limits)
        dim = data.get("encoder_dim", spec.dimension)
        if dim != spec.dimension:
            raise SpecificationError(
                f"text spec encoder_dim is {dim!r:.20} but its points have {spec.dimension}"
            )
        known = BUILTIN.get(encoder)
        if known is not None and known.dimension != spec.dimension:
            raise SpecificationError(
                f"text spec points have {spec.dimension} dimensions, but encoder {encoder} "
                f"gives {known.dimension}"
            )
        spec.language, spec.encoder = language, encoder
        return spec

    def dist(self, other: Self) -> float:
        """Squared MMD; specs of different encoders do not compare (a clear error)."""
        if other.encoder != self.encoder:
            raise SpecificationError(
                f"cannot compare text specs of encoders {self.encoder} and {other.encoder}; "
                f"make both with the same encoder (RKMETextSpecification.generate(texts, "
                f"encoder={other.encoder!r}))"
            )
        return super().dist(other)
