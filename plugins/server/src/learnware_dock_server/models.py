"""The HTTP edge: pydantic models of requests and responses. Each domain object's JSON is
the core's cattrs converter's (statuses by name), validated here, never built by hand."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import attrs
from pydantic import BaseModel, Field, field_serializer

from learnware_dock.domain import CheckReport, Learnware, SearchResult, converter
from learnware_dock.plugins import PluginInfo
from learnware_dock.semantic import SemanticSpec
from learnware_dock_server.redact import sanitize
from learnware_dock_server.state import PENDING, Upload

#: a check's outcome: the names of :class:`learnware_dock.domain.Status`
StatusName = Literal["INVALID", "NONUSABLE", "USABLE"]
#: a learnware's or an upload's: a check outcome, still checking, or crashed in the server
UploadStatus = Literal["pending", "INVALID", "NONUSABLE", "USABLE", "FAILED"]


class ErrorBody(BaseModel):
    code: str = Field(description="Stable machine-readable code, e.g. 'unknown_learnware'.")
    message: str


class ErrorOut(BaseModel):
    error: ErrorBody


class CheckResultOut(BaseModel):
    checker: str
    status: StatusName
    message: str = ""
    seconds: float = 0.0


class ReportOut(BaseModel):
    status: StatusName
    results: list[CheckResultOut] = []


class StatSpecOut(BaseModel):
    type: str
    file: str
    sha256: str
    path: str = Field("", description="Where the market keeps it, relative to its folder.")


class LearnwareOut(BaseModel):
    """The converter's JSON of a stored learnware (its ``package_path``: the API path of
    its package) plus ``message`` and ``owner``; or an upload, pending or failed."""

    id: str
    name: str = ""
    semantic_spec: dict[str, Any] = {}
    status: UploadStatus
    sha256: str | None = None
    package_path: str | None = None
    stat_specs: list[StatSpecOut] = []
    version: int | None = None
    created: datetime | None = None
    updated: datetime | None = None
    report: ReportOut | None = None
    message: str = ""
    owner: str | None = None

    @field_serializer("created", "updated")
    def _iso(self, value: datetime | None) -> str | None:
        return None if value is None else value.isoformat()  # as the converter writes it


class LearnwarePage(BaseModel):
    items: list[LearnwareOut]
    total: int
    page: int
    per_page: int


class Accepted(BaseModel):
    id: str
    status: Literal["pending"] = "pending"


class SearchIn(BaseModel):
    """A search: the converter's JSON of a ``UserInfo`` (a partial semantic spec in the
    `learnware` dict format, statistical specs by type name, e.g.
    ``{"RKMETableSpecification": <its JSON>}``, and optionally the ids to search among),
    plus the searcher and the page."""

    semantic_spec: dict[str, Any] = {}
    stat_specs: dict[str, dict[str, Any]] = {}
    learnware_ids: list[str] | None = Field(None, description="Only these learnwares.")
    searcher: str | None = Field(None, description="Searcher name; default: the best one.")
    page: int = Field(1, ge=1, le=10_000)
    per_page: int = Field(10, ge=1, le=100)


class SingleOut(BaseModel):
    learnware: LearnwareOut
    score: float
    distance: float | None = None
    space: str = ""


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
    notes: list[str] = []


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


def _text(message: str, full: bool) -> str:
    return message if full else sanitize(message)


def _redacted(report: CheckReport | None, full: bool) -> CheckReport | None:
    """``report`` with its messages sanitised unless ``full`` (the owner's view)."""
    if report is None or full:
        return report
    results = tuple(attrs.evolve(r, message=sanitize(r.message)) for r in report.results)
    return attrs.evolve(report, results=results)


def api_view(lw: Learnware, *, full: bool = False) -> Learnware:
    """``lw`` as the API shows it: its package at its API path, report maybe sanitised."""
    return attrs.evolve(
        lw, package_path=Path(f"/learnwares/{lw.id}/package"), report=_redacted(lw.report, full)
    )


def learnware_out(lw: Learnware, owner: str | None = None, *, full: bool = False) -> LearnwareOut:
    """The public view of a stored learnware (``full``: its owner's)."""
    data = converter.unstructure(api_view(lw, full=full))
    return LearnwareOut.model_validate({**data, "owner": owner})


def upload_out(upload: Upload, *, full: bool = False) -> LearnwareOut:
    """An upload not (yet) in the market: pending, rejected (INVALID) or FAILED; its
    report and message sanitised unless ``full``."""
    semantic = upload.semantic or {}  # written by the server from a parsed SemanticSpec
    report = None
    if upload.report is not None:  # written by the worker through the converter
        report = _redacted(converter.structure(upload.report, CheckReport), full)
    return LearnwareOut.model_validate(
        {
            "id": upload.id,
            "name": SemanticSpec.from_dict(semantic).name or "",
            "semantic_spec": semantic,
            "status": upload.state if upload.state == PENDING else upload.state.upper(),
            "created": upload.created,
            "updated": upload.finished,
            "report": converter.unstructure(report),
            "message": _text(upload.message, full),
            "owner": upload.owner,
        }
    )


def search_out(result: SearchResult, page: int, per_page: int) -> SearchOut:
    """The converter's JSON of ``result`` (learnwares as :func:`api_view` shows them),
    its singles cut to ``page``, plus the page."""
    start = (page - 1) * per_page
    shown = attrs.evolve(
        result,
        singles=tuple(
            attrs.evolve(m, learnware=api_view(m.learnware))
            for m in result.singles[start : start + per_page]
        ),
        mixtures=tuple(
            attrs.evolve(m, learnwares=tuple(api_view(lw) for lw in m.learnwares))
            for m in result.mixtures
        ),
    )
    return SearchOut.model_validate(
        {**converter.unstructure(shown), "page": page, "per_page": per_page}
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
