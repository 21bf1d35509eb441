"""The web pages: browse (``/``), one learnware (``/ui/learnwares/{id}``), upload
(``/ui/upload``) and search (``/ui/search``).

Browse and detail are rendered on the server by calling the very route functions the
REST API serves, so a page never disagrees with the API. Upload and search need the
browser (a file, a token, polling), so ``static/dock.js`` posts to the API itself.

Reads follow the server's setting: with private reads, the pages take the API token
that the upload page keeps in the ``dock_token`` cookie (the API itself only accepts the
``Authorization`` header).
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from learnware_dock.domain import Status
from learnware_dock.errors import DockError
from learnware_dock_server import models
from learnware_dock_server.app import FILTER_KEYS
from learnware_dock_server.codes import ApiError, AuthError, classify
from learnware_dock_server.market_threads import MarketThreads

HERE = Path(__file__).parent
TEMPLATES = Jinja2Templates(directory=HERE / "templates")
TEMPLATES.env.trim_blocks = TEMPLATES.env.lstrip_blocks = True
#: the statuses of stored learnwares
STATUSES = (Status.USABLE.name, Status.NONUSABLE.name)
TOKEN_COOKIE = "dock_token"
MAX_PAGE = 100_000

Endpoint = Callable[..., Awaitable[Any]]


def endpoint(app: FastAPI, name: str) -> Endpoint:
    """The API route function called ``name`` (e.g. ``list_learnwares``)."""
    for route in app.routes:
        if isinstance(route, APIRoute) and route.name == name:
            found: Endpoint = route.endpoint
            return found
    raise RuntimeError(f"the API has no route function {name!r}; add_routes must run first")


def page_reader(request: Request, work: MarketThreads) -> str | None:
    """Who reads a page: nobody in particular with public reads, else the cookie's owner."""
    if work.settings.public_reads:
        return None
    token = request.cookies.get(TOKEN_COOKIE)
    if not token:
        raise AuthError("this server's reads need an API token: save one on the upload page")
    return work.state.owner_of_token(token)


def spec_rows(spec: Mapping[str, Any]) -> list[tuple[str, str, dict[str, str]]]:
    """A semantic spec (dict format) as ``(key, text, descriptions)`` rows for a page."""
    rows: list[tuple[str, str, dict[str, str]]] = []
    for key, entry in spec.items():
        described: dict[str, str] = {}
        if isinstance(entry, Mapping) and "Values" in entry:
            values = entry["Values"]
            text = values if isinstance(values, str) else ", ".join(str(v) for v in values)
        elif isinstance(entry, Mapping) and "Dimension" in entry:
            text = f"dimension {entry['Dimension']}"
            raw = entry.get("Description") or {}
            described = {str(k): str(v) for k, v in raw.items()} if isinstance(raw, Mapping) else {}
        else:
            text = str(entry)
        rows.append((key, text, described))
    return rows


def render(request: Request, name: str, status_code: int = 200, **context: Any) -> Response:
    return TEMPLATES.TemplateResponse(request, name, context, status_code=status_code)


def error_page(request: Request, exc: Exception) -> Response:
    """An HTML page for an error the API would answer with JSON."""
    if isinstance(exc, ApiError):
        status, code, message = exc.status, exc.code, exc.message
    else:
        (status, code), message = classify(exc), str(exc)
    return render(request, "error.html", status, title="Error", code=code, message=message)


def clamp(value: int, low: int, high: int) -> int:
    return max(low, min(value, high))


def add_pages(app: FastAPI) -> None:
    """Add the HTML pages (left out of the OpenAPI schema) and ``/static`` to ``app``."""
    list_learnwares = endpoint(app, "list_learnwares")
    get_learnware = endpoint(app, "get_learnware")
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def browse(
        request: Request,
        q: str = "",
        data: str = "",
        task: str = "",
        library: str = "",
        scenario: str = "",
        license: str = "",
        status: str = "",
        page: int = 1,
        per_page: int = 20,
    ) -> Response:
        work: MarketThreads = request.app.state.threads
        chosen = dict(zip(FILTER_KEYS.values(), (data, task, library, scenario, license),
                          strict=True))  # fmt: skip
        page = clamp(page, 1, MAX_PAGE)
        per_page = clamp(per_page, 1, work.settings.max_per_page)
        status = status if status in STATUSES else ""
        q = q.strip()[:500]
        try:
            found: models.LearnwarePage = await list_learnwares(
                work=work,
                _=page_reader(request, work),
                q=q or None,
                **{k: v or None for k, v in chosen.items()},
                status=status or None,
                page=page,
                per_page=per_page,
            )
        except (DockError, ApiError) as exc:
            return error_page(request, exc)
        params = {"q": q, **chosen, "status": status}
        kept = {k: v for k, v in params.items() if v}

        def page_url(number: int) -> str:
            return "/?" + urlencode({**kept, "page": number, "per_page": per_page})

        return render(
            request,
            "browse.html",
            title="Learnwares",
            found=found,
            pages=max(1, math.ceil(found.total / per_page)),
            params=params,
            filters=FILTER_KEYS,
            statuses=STATUSES,
            vocabulary=work.vocabulary(),
            page_url=page_url,
        )

    @app.get("/ui/learnwares/{learnware_id}", response_class=HTMLResponse,
             include_in_schema=False)  # fmt: skip
    async def detail(request: Request, learnware_id: str) -> Response:
        work: MarketThreads = request.app.state.threads
        try:
            lw: models.LearnwareOut = await get_learnware(
                learnware_id=learnware_id, work=work, _=page_reader(request, work)
            )
        except (DockError, ApiError) as exc:
            return error_page(request, exc)
        return render(
            request,
            "detail.html",
            title=lw.name or lw.id,
            lw=lw,
            rows=spec_rows(lw.semantic_spec),
            stored=lw.status in STATUSES,
        )

    @app.get("/ui/upload", response_class=HTMLResponse, include_in_schema=False)
    async def upload(request: Request) -> Response:
        work: MarketThreads = request.app.state.threads
        return render(
            request,
            "upload.html",
            title="Upload a learnware",
            vocabulary=work.vocabulary(),
            filters=FILTER_KEYS,
        )

    @app.get("/ui/search", response_class=HTMLResponse, include_in_schema=False)
    async def search(request: Request) -> Response:
        work: MarketThreads = request.app.state.threads
        return render(
            request,
            "search.html",
            title="Search by data",
            vocabulary=work.vocabulary(),
            filters=FILTER_KEYS,
        )
