"""The baseline market of bench_market.py: folder-per-learnware, as the `learnware` package
keeps one (see bench_market's docstring for how it is generous)."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import yaml
from rapidfuzz import fuzz

from learnware_dock_rkme import RKMETableSpecification


# -- the baseline ---------------------------------------------------------------------------
class FolderMarket:
    """Folder-per-learnware market, as the ``learnware`` package keeps one (see the top)."""

    def __init__(self, root: Path) -> None:
        """Open = list the folders and read every learnware back (``reload_market``)."""
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.items: list[tuple[str, dict[str, Any], dict[str, Any]]] = []
        for entry in sorted(os.scandir(root), key=lambda e: e.name):
            with open(os.path.join(entry.path, "learnware.json"), encoding="utf-8") as fh:
                meta = json.load(fh)
            stats = {}
            for type_name, file_name in meta["stat_specs"].items():
                with open(os.path.join(entry.path, file_name), encoding="utf-8") as fh:
                    stats[type_name] = json.load(fh)
            self.items.append((entry.name, meta["semantic_spec"], stats))

    def __len__(self) -> int:
        return len(self.items)

    def write(self, zip_bytes: bytes, semantic: dict[str, Any], specs: dict[str, bytes]) -> str:
        lid = f"{len(self.items):08d}"
        folder = self.root / lid
        folder.mkdir()
        (folder / "package.zip").write_bytes(zip_bytes)
        files = {type_name: f"{type_name}.json" for type_name in specs}
        for type_name, content in specs.items():
            (folder / files[type_name]).write_bytes(content)
        meta = {"semantic_spec": semantic, "stat_specs": files}
        (folder / "learnware.json").write_text(json.dumps(meta), encoding="utf-8")
        self.items.append((lid, semantic, {k: json.loads(v) for k, v in specs.items()}))
        return lid

    def add(self, package: Path, semantic: dict[str, Any]) -> str:
        """Unzip, parse learnware.yaml, load and validate each stat spec, then store."""
        work = Path(tempfile.mkdtemp(prefix="bl-", dir=self.root.parent))
        try:
            with zipfile.ZipFile(package) as zf:
                zf.extractall(work)
            manifest = yaml.safe_load((work / "learnware.yaml").read_text(encoding="utf-8"))
            specs = {}
            for entry in manifest["stat_specifications"]:
                content = (work / entry["file_name"]).read_bytes()
                RKMETableSpecification.from_json(json.loads(content))  # same validation as ours
                specs[entry["class_name"]] = content
            return self.write(package.read_bytes(), semantic, specs)
        finally:
            shutil.rmtree(work, ignore_errors=True)

    def search(self, query: dict[str, Any], min_score: float = 75.0) -> list[str]:
        """Loop over every learnware: Class/Tag rules, then substring, then fuzzy on the name."""
        tagged = []
        for lid, spec, _ in self.items:
            for key, entry in query.items():
                wanted = entry.get("Values", "")
                if not wanted or entry["Type"] == "String":
                    continue  # empty = wildcard
                if not set(wanted) & set(spec.get(key, {}).get("Values", ())):
                    break
            else:
                tagged.append((lid, spec))
        text = query.get("Name", {}).get("Values", "").lower()
        if not text:
            return [lid for lid, _ in tagged]
        names = [s["Name"]["Values"].lower() for _, s in tagged]
        descriptions = [s.get("Description", {}).get("Values", "").lower() for _, s in tagged]
        exact = [
            lid
            for (lid, _), n, d in zip(tagged, names, descriptions, strict=True)
            if text in n or text in d
        ]
        if exact:
            return exact
        scored = []
        for (lid, _), n, d in zip(tagged, names, descriptions, strict=True):
            score = max(fuzz.partial_ratio(text, n), fuzz.partial_ratio(text, d))
            if score >= min_score:
                scored.append((score, lid))
        return [lid for _, lid in sorted(scored, key=lambda s: -s[0])]
