"""learnware-dock-text: text specifications (``RKMETextSpecification``: the RKME of a
corpus's sentence embeddings, with its encoder and languages), the text encoders
(``MiniLML6Encoder``, the default; ``load_encoder``: one by name), language detection
(``detect_languages``) and the ``rkme-text`` searcher.

Names are imported on first use, so loading the plugin (its ``hooks``) stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from learnware_dock.lazy import lazy_exports

if TYPE_CHECKING:
    from learnware_dock_text.encoders import (
        MiniLML6Encoder,
        MultilingualMiniLML12Encoder,
        load_encoder,
    )
    from learnware_dock_text.languages import detect_languages
    from learnware_dock_text.reading import read_texts
    from learnware_dock_text.searcher import RKMETextSearcher
    from learnware_dock_text.spec import RKMETextSpecification

_WHERE = {
    "MiniLML6Encoder": "learnware_dock_text.encoders",
    "MultilingualMiniLML12Encoder": "learnware_dock_text.encoders",
    "RKMETextSearcher": "learnware_dock_text.searcher",
    "RKMETextSpecification": "learnware_dock_text.spec",
    "detect_languages": "learnware_dock_text.languages",
    "load_encoder": "learnware_dock_text.encoders",
    "read_texts": "learnware_dock_text.reading",
}

__all__ = [
    "MiniLML6Encoder",
    "MultilingualMiniLML12Encoder",
    "RKMETextSearcher",
    "RKMETextSpecification",
    "detect_languages",
    "load_encoder",
    "read_texts",
]

__getattr__ = lazy_exports(__name__, _WHERE)
