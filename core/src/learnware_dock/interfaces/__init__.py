"""One abstract base class per component kind. Each docstring is a complete minimal plugin."""

from learnware_dock.interfaces.backend import Backend
from learnware_dock.interfaces.checker import Checker, Submission
from learnware_dock.interfaces.container import (
    Container,
    ContainerOptions,
    LoadedModel,
    ModelInfo,
)
from learnware_dock.interfaces.encoder import TextEncoder
from learnware_dock.interfaces.organizer import NewLearnware, NewStatSpec, Organizer
from learnware_dock.interfaces.reuser import NoOptions, ReuseContext, Reuser, ReuseTask
from learnware_dock.interfaces.searcher import Searcher
from learnware_dock.interfaces.specification import StatSpecification

__all__ = [
    "Backend",
    "Checker",
    "Container",
    "ContainerOptions",
    "LoadedModel",
    "ModelInfo",
    "NewLearnware",
    "NewStatSpec",
    "NoOptions",
    "Organizer",
    "ReuseContext",
    "ReuseTask",
    "Reuser",
    "Searcher",
    "StatSpecification",
    "Submission",
    "TextEncoder",
]
