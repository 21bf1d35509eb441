"""The learnware package format: safe reading, writing and validation."""

from learnware_dock.package.manifest import Manifest, ModelEntry, SpecEntry
from learnware_dock.package.reader import extracted, load_stat_specs, sha256_file
from learnware_dock.package.safezip import Limits, extract
from learnware_dock.package.writer import write_folder, zip_folder

__all__ = [
    "Limits",
    "Manifest",
    "ModelEntry",
    "SpecEntry",
    "extract",
    "extracted",
    "load_stat_specs",
    "sha256_file",
    "write_folder",
    "zip_folder",
]
