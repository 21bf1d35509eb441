"""The HTTP edge: pydantic models of requests and responses, built from the attrs domain
objects (through the core's cattrs converter) and nowhere else."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from learnware_dock.domain import Learnware, SearchResult, Status, converter
from learnware_dock.plugins import PluginInfo
from learnware_dock.semantic import SemanticSpec
from learnware_dock_server.redact import sanitize
from learnware_dock_server.state import Upload

StatusName = Literal["pending", "USABLE", "NONUSABLE", "INVALID", "FAILED"]


class ErrorBody(BaseModel):
    code: str = Field(description="Stable machine-readable code, e.g. 'unknown_learnware'.")
    message: str


class ErrorOut(BaseModel):
    error: ErrorBody


class CheckResultOut(BaseModel):
    checker: str
    status: str
    message: str = ""
    seconds: float = 0.0


class ReportOut(BaseModel):
    status: str
    results: list[CheckResultOut] = []


class StatSpecOut(BaseModel):
    type: str
    file: str
    sha256: str


class LearnwareOut(BaseModel):
    """A stored learnware, or an upload whose checks are pending or failed."""

    id: str
    status: StatusName
    name: str = ""
    semantic_spec: dict[str, Any] = {}
    stat_specs: list[StatSpecOut] = []
    sha256: str | None = None
    version: int | None = None
    created: datetime | None = None
    updated: datetime | None = None
    report: ReportOut | None = None
    message: str = ""
    owner: str | None = None


class LearnwarePage(BaseModel):
    items: list[LearnwareOut]
    total: int
    page: int
    per_page: int


class Accepted(BaseModel):
    id: str
    status: StatusName = "pending"


class SearchIn(BaseModel):
    """A search: a (partial) semantic spec in the `learnware` dict format, and statistical
    specs by type name (e.g. ``{"RKMETableSpecification": <its JSON>}``)."""

    semantic_spec: dict[str, Any] = {}
    stat_specs: dict[str, dict[str, Any]] = {}
    searcher: str | None = Field(None, description="Searcher name; default: the best one.")
    page: int = Field(1, ge=1, le=10_000)
    per_page: int = Field(10, ge=1, le=100)


class SingleOut(BaseModel):
    learnware: LearnwareOut
    score: float
    distance: float | None = None


class MixtureOut(BaseModel):
    learnwares: list[LearnwareOut]
    weights: list[float]
    score: float
    distance: float | None = None


class SearchOut(BaseModel):
    searcher: str
    total: int
    page: int
    per_page: int
    singles: list[SingleOut]
    mixtures: list[MixtureOut]


class PluginOut(BaseModel):
    name: str
    source: str
    status: str
    distribution: str | None = None
    version: str | None = None
    error: str | None = None


class HealthOut(BaseModel):
    status: Literal["ok"] = "ok"
    learnwares: int
    pending: int
    version: str


def status_name(value: int) -> StatusName:
    return Status(value).name  # type: ignore[return-value]


def _text(message: str, full: bool) -> str:
    return message if full else sanitize(message)


def _report(data: Any, full: bool = False) -> ReportOut | None:
    """A stored report; its messages sanitised unless ``full`` (the owner's view)."""
    if not data:
        return None
    return ReportOut(
        status=status_name(data["status"]),
        results=[
            CheckResultOut(
                **{
                    **r,
                    "status": status_name(r["status"]),
                    "message": _text(r.get("message", ""), full),
                }
            )
            for r in data["results"]
        ],
    )


def learnware_out(lw: Learnware, owner: str | None = None, *, full: bool = False) -> LearnwareOut:
    """The public view of a stored learnware (``full``: its owner's)."""
    data = converter.unstructure(lw)
    return LearnwareOut(
        id=lw.id,
        status=status_name(lw.status),
        name=lw.name,
        semantic_spec=data["semantic_spec"],
        stat_specs=[StatSpecOut(type=r.type, file=r.file, sha256=r.sha256) for r in lw.stat_specs],
        sha256=lw.sha256,
        version=lw.version,
        created=lw.created,
        updated=lw.updated,
        report=_report(data["report"], full),
        owner=owner,
    )


def upload_out(upload: Upload, *, full: bool = False) -> LearnwareOut:
    """An upload not (yet) in the market: pending, rejected (INVALID) or FAILED; its
    report and message sanitised unless ``full``."""
    status: StatusName = {"pending": "pending", "invalid": "INVALID"}.get(  # type: ignore[assignment]
        upload.state, "FAILED"
    )
    semantic = upload.semantic or {}  # written by the server from a parsed SemanticSpec
    return LearnwareOut(
        id=upload.id,
        status=status,
        name=SemanticSpec.from_dict(semantic).name or "",
        semantic_spec=semantic,
        created=upload.created,
        updated=upload.finished,
        report=_report(upload.report, full),
        message=_text(upload.message, full),
        owner=upload.owner,
    )


def search_out(result: SearchResult, page: int, per_page: int) -> SearchOut:
    start = (page - 1) * per_page
    return SearchOut(
        searcher=result.searcher,
        total=result.total,
        page=page,
        per_page=per_page,
        singles=[
            SingleOut(learnware=learnware_out(m.learnware), score=m.score, distance=m.distance)
            for m in result.singles[start : start + per_page]
        ],
        mixtures=[
            MixtureOut(
                learnwares=[learnware_out(lw) for lw in m.learnwares],
                weights=list(m.weights),
                score=m.score,
                distance=m.distance,
            )
            for m in result.mixtures
        ],
    )


def plugin_out(info: PluginInfo) -> PluginOut:
    return PluginOut(
        name=info.name,
        source=info.source,
        status=info.status,
        distribution=info.distribution,
        version=info.version,
        error=None if info.error is None else sanitize(info.error),
    )
