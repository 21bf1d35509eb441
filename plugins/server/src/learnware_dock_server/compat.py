"""The method names of the `learnware` package's ``LearnwareClient``, over a dock server,
for code migrating from it::

    client = LearnwareClient("http://127.0.0.1:8000")
    client.login("alice@example.org", token)          # the email is not used
    learnware_id = client.upload_learnware("lw.zip", semantic_spec_dict)
    result = client.search_learnware(user_info)        # {"single": ..., "multiple": ...}
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from learnware_dock.domain import Status, UserInfo
from learnware_dock.errors import DockError
from learnware_dock.interfaces import LoadedModel, StatSpecification
from learnware_dock.plugins import get_plugin_manager
from learnware_dock.registry import Components
from learnware_dock.semantic import SemanticSpec
from learnware_dock_server.client import DockClient

#: the `learnware` package's runnable options -> dock containers
RUNNABLE: dict[str | None, str | None] = {
    "conda": "venv",
    "docker": "docker",
    "normal": "inprocess",
}


#: the `learnware` package's status integers (its checkers' ``*_LEARNWARE``), by name
STATUS_CODES: dict[str, int] = {s.name: s.value for s in Status}


def _dock_spec(name: str, spec: Any) -> StatSpecification:
    """A `learnware` package's statistical spec as the dock's registered class of its name,
    rebuilt (and validated) from the JSON its ``save`` writes."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "spec.json"
        spec.save(str(path))
        data = json.loads(path.read_text())
    cls = Components(get_plugin_manager()).specifications.get(name)
    return cls.from_json(data)


def _user_info(user_info: Any) -> UserInfo:
    """A dock :class:`UserInfo` as it is, or one from a `learnware` ``BaseUserInfo`` (its
    ``get_semantic_spec()`` and ``stat_info``)."""
    if isinstance(user_info, UserInfo):
        return user_info
    stats = {
        name: spec if isinstance(spec, StatSpecification) else _dock_spec(name, spec)
        for name, spec in dict(user_info.stat_info).items()
    }
    semantic = SemanticSpec.from_dict(user_info.get_semantic_spec() or {})
    return UserInfo(semantic_spec=semantic, stat_specs=stats)


class LearnwareClient:
    """``LearnwareClient`` method names and return shapes, backed by :class:`DockClient`."""

    def __init__(self, host: str | None = None, timeout: float | None = None) -> None:
        self.host = host or "http://127.0.0.1:8000"
        self.timeout = timeout or 30.0
        self.client = DockClient(self.host, timeout=self.timeout)

    def login(self, email: str, token: str) -> None:
        self.client.close()
        self.client = DockClient(self.host, token=token, timeout=self.timeout)

    def upload_learnware(
        self, learnware_zip_path: str, semantic_specification: dict[str, Any]
    ) -> str:
        return self.client.submit(learnware_zip_path, semantic_specification)

    def update_learnware(
        self,
        learnware_id: str,
        semantic_specification: dict[str, Any] | None = None,
        learnware_path: str | None = None,
    ) -> None:
        self.client.update(
            learnware_id, package=learnware_path, semantic_spec=semantic_specification
        )

    def delete_learnware(self, learnware_id: str) -> None:
        self.client.delete(learnware_id)

    def list_learnware(self) -> list[dict[str, Any]]:
        return [
            {"learnware_id": lw.id, "semantic_specification": lw.semantic_spec.to_dict()}
            for lw in self.client.list()
        ]

    def get_semantic_specification(self, learnware_id: str) -> dict[str, Any]:
        return self.client.get(learnware_id).semantic_spec.to_dict()

    def search_learnware(
        self, user_info: Any, page_size: int = 10, page_index: int = 0
    ) -> dict[str, Any]:
        """``user_info``: a dock :class:`UserInfo` or the `learnware` package's
        ``BaseUserInfo`` (its ``get_semantic_spec()`` and ``stat_info``)."""
        info = _user_info(user_info)
        data = self.client.search_page(info, page=page_index + 1, per_page=page_size)
        mixture = data["mixtures"][0] if data["mixtures"] else None
        return {
            "single": {
                "learnware_ids": [m["learnware"]["id"] for m in data["singles"]],
                "semantic_specifications": [
                    m["learnware"]["semantic_spec"] for m in data["singles"]
                ],
                "matching": [m["score"] for m in data["singles"]],
            },
            "multiple": {
                "learnware_ids": []
                if mixture is None
                else [lw["id"] for lw in mixture["learnwares"]],
                "semantic_specifications": []
                if mixture is None
                else [lw["semantic_spec"] for lw in mixture["learnwares"]],
                "matching": None if mixture is None else mixture["score"],
            },
        }

    def download_learnware(self, learnware_id: str, save_path: str | None = None) -> str:
        return str(self.client.download(learnware_id, save_path))

    def load_learnware(
        self,
        learnware_path: str | list[str] | None = None,
        learnware_id: str | list[str] | None = None,
        runnable_option: str | None = None,
    ) -> LoadedModel | list[LoadedModel]:
        """Start models by id (``learnware_path`` is not supported: use ``Market.add``
        locally). ``runnable_option``: ``"conda"`` → the ``venv`` container, ``"docker"``
        → ``docker``, ``"normal"`` → ``inprocess`` (trusted packages only), ``None`` →
        the highest-priority untrusted container installed."""
        if learnware_id is None:
            raise DockError("pass learnware_id (loading a local path needs a local Market)")
        container = RUNNABLE.get(runnable_option, runnable_option)
        ids = [learnware_id] if isinstance(learnware_id, str) else list(learnware_id)
        models = [self.client.load(i, container=container) for i in ids]
        return models[0] if isinstance(learnware_id, str) else models

    def close(self) -> None:
        self.client.close()
