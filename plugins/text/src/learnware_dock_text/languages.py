"""Language detection with py3langid: the languages a corpus is written in.

py3langid (a maintained fork of langid.py) is a naive Bayes classifier over byte n-grams:
offline, deterministic, numpy only, a 4.5 MB model stored as npz (no pickle) that loads
in under a second. Each document (its first ``PREFIX`` characters) gets one language;
the corpus's languages are those of at least ``MIN_SHARE`` of the confidently
classified documents, most frequent first, as ISO 639-1 codes.
"""

from __future__ import annotations

import importlib
import threading
from collections import Counter
from collections.abc import Sequence
from typing import Any

#: characters of each document the detector reads
PREFIX = 1000
#: documents classified (evenly spaced over the corpus)
SAMPLE = 2000
#: a document counts when its language's probability is at least this
MIN_CONFIDENCE = 0.5
#: a language is listed when at least this share of the counted documents is in it
MIN_SHARE = 0.1

_lock = threading.Lock()
_identifier: Any = None


def identifier() -> Any:
    """The py3langid identifier, loaded once per process, restricted to the languages
    that have ISO 639-1 codes (two letters)."""
    global _identifier
    with _lock:
        if _identifier is None:
            langid = importlib.import_module("py3langid.langid")  # untyped
            found = langid.LanguageIdentifier.from_model_file(langid.MODEL_FILE, norm_probs=True)
            found.set_languages(sorted({c for c in found.nb_classes if len(c) == 2}))
            _identifier = found
        return _identifier


def detect_languages(texts: Sequence[str]) -> list[str]:
    """ISO 639-1 codes of the languages ``texts`` are written in, most frequent first;
    empty when no document is long enough to tell."""
    if not texts:
        return []
    step = max(1, len(texts) // SAMPLE)
    model = identifier()
    counts: Counter[str] = Counter()
    for text in texts[::step][:SAMPLE]:
        code, confidence = model.classify(text[:PREFIX])
        if confidence >= MIN_CONFIDENCE:
            counts[str(code)] += 1
    total = sum(counts.values())
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return [code for code, n in ranked if n >= MIN_SHARE * total]
