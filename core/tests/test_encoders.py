"""The text encoder contract: the interface, its registration hook and registry kind."""

from __future__ import annotations

import inspect
import textwrap
import types
from collections.abc import Callable, Sequence
from typing import ClassVar

import numpy as np
import pytest

from learnware_dock import hookimpl
from learnware_dock.errors import PluginError
from learnware_dock.interfaces import TextEncoder
from learnware_dock.plugins import DockPluginManager
from learnware_dock.registry import KINDS, Components, Registry
from learnware_dock.testing import register_plugin


class VowelEncoder(TextEncoder):
    """Counts of each vowel: a toy encoder with a real result."""

    name = "vowels"
    dimension = 5
    package = "toy-vowels"

    def encode(
        self, texts: Sequence[str], progress: Callable[[int, int], None] | None = None
    ) -> np.ndarray:
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            out[row] = [text.lower().count(v) for v in "aeiou"]
            if progress is not None:
                progress(row + 1, len(texts))
        return out


class MissingEncoder(VowelEncoder):
    name = "missing"
    package = "toy-missing-model"
    missing: ClassVar[bool] = True

    @classmethod
    def is_available(cls) -> bool:
        return not cls.missing


class EncoderPlugin:
    @hookimpl
    def dock_register_encoders(self) -> list[type[TextEncoder]]:
        return [VowelEncoder, MissingEncoder]


def test_encoder_is_a_registry_kind() -> None:
    assert KINDS["encoder"] == ("dock_register_encoders", TextEncoder)


def test_registered_encoders_are_found_by_name(plugin_manager: DockPluginManager) -> None:
    assert "vowels" not in Components(plugin_manager).encoders
    with register_plugin(plugin_manager, EncoderPlugin()):
        encoders = Components(plugin_manager).encoders
        assert encoders.names() == ["missing", "vowels"]
        cls = encoders.get("vowels")
        seen: list[tuple[int, int]] = []
        vectors = cls().encode(["banana", "queue"], progress=lambda d, t: seen.append((d, t)))
    assert vectors.dtype == np.float32 and vectors.shape == (2, 5)
    assert vectors.tolist() == [[3, 0, 0, 0, 0], [0, 2, 0, 0, 2]]
    assert seen == [(1, 2), (2, 2)]


def test_an_unavailable_encoder_stays_registered_and_says_what_to_install(
    plugin_manager: DockPluginManager,
) -> None:
    with register_plugin(plugin_manager, EncoderPlugin()):
        cls = Components(plugin_manager).encoders.get("missing")
    assert not cls.is_available() and VowelEncoder.is_available()
    assert cls.install_hint() == "install toy-missing-model"


def test_an_unknown_encoder_is_a_clear_error(plugin_manager: DockPluginManager) -> None:
    with (
        register_plugin(plugin_manager, EncoderPlugin()),
        pytest.raises(PluginError, match=r"no encoder named 'vowel'.*did you mean 'vowels'"),
    ):
        Components(plugin_manager).encoders.get("vowel")


def test_a_class_that_is_not_an_encoder_is_refused() -> None:
    with pytest.raises(PluginError, match=r"not a subclass of .*TextEncoder"):
        Registry("encoder", [int])


def test_the_interface_docstring_is_a_working_plugin(plugin_manager: DockPluginManager) -> None:
    doc = inspect.getdoc(TextEncoder) or ""
    module = types.ModuleType("doc_plugin_TextEncoder")
    exec(compile(textwrap.dedent(doc.split("::", 1)[1]), module.__name__, "exec"), module.__dict__)
    with register_plugin(plugin_manager, module):
        cls = Components(plugin_manager).encoders.get("chars")
    vectors = cls().encode(["Ab", "xyz"])
    assert vectors.tolist() == [[2, 1], [3, 0]] and vectors.dtype == np.float32
    assert cls.is_available() and cls.dimension == 2
