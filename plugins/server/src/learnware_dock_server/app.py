"""The FastAPI application: learnwares, search, plugins, health (and the web page, in
:mod:`learnware_dock_server.web`). Build one with :func:`create_app`."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from importlib.metadata import version
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, File, Form, Query, Request, Response, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from learnware_dock.domain import Learnware, Status, structure_user_info
from learnware_dock.errors import PackageError, SpecificationError, UnknownLearnwareError
from learnware_dock.market import Market
from learnware_dock.package.manifest import Manifest
from learnware_dock.package.reader import extracted
from learnware_dock.plugins import list_plugins
from learnware_dock.semantic import SemanticSpec
from learnware_dock_server import errors, models
from learnware_dock_server.codes import ApiError, AuthError, BusyError
from learnware_dock_server.limits import BodyLimit, QueryTokenGuard
from learnware_dock_server.market_threads import MarketThreads
from learnware_dock_server.redact import install_log_redaction, sanitize
from learnware_dock_server.settings import ServerSettings
from learnware_dock_server.state import DONE, PENDING

bearer = HTTPBearer(auto_error=False, description="An API token from `dock token create`.")
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
#: semantic keys that list and search filter on -> their query parameter
FILTER_KEYS = {
    "Data": "data",
    "Task": "task",
    "Library": "library",
    "Scenario": "scenario",
    "License": "license",
}
#: stored package suffix (the archive formats the package reader accepts) -> media type
MEDIA_TYPES = {
    ".zip": "application/zip",
    ".tar.gz": "application/gzip",
    ".tar": "application/x-tar",
}
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": models.ErrorOut} for code in (400, 401, 403, 404, 409, 413, 422)
}


def market_threads(request: Request) -> MarketThreads:
    found: MarketThreads = request.app.state.threads
    return found


Work = Annotated[MarketThreads, Depends(market_threads)]


def writer(work: Work, credentials: Credentials) -> str:
    """The owner a write acts for (a valid token is required)."""
    if credentials is None:
        raise AuthError("this request needs an API token: 'Authorization: Bearer <token>'")
    return work.state.owner_of_token(credentials.credentials)


def reader(work: Work, credentials: Credentials) -> str | None:
    """Reads are public unless the server was started with private reads."""
    if credentials is None and work.settings.public_reads:
        return None
    return writer(work, credentials)


Writer = Annotated[str, Depends(writer)]
Reader = Annotated[str | None, Depends(reader)]
Detail = Annotated[
    Literal["public", "full"],
    Query(description="`full`: the report and messages as the checkers wrote them, for the "
          "owner's token only; `public`: without secrets or paths, 2,000 characters each."),
]  # fmt: skip


def parse_semantic(text: str | dict[str, Any], work: MarketThreads, full: bool) -> SemanticSpec:
    """A semantic spec from the request; a submission's must be complete and valid."""
    if isinstance(text, str):  # bounded: size, depth, valid JSON
        spec = SemanticSpec.from_json(text, "semantic_spec")
    else:
        spec = SemanticSpec.from_dict(text)
    if full:
        spec.validate(work.reader.market.components.vocabulary)
    return spec


async def receive_package(upload: UploadFile, work: MarketThreads) -> Path:
    """Copy the uploaded zip next to the server state and check that it opens safely
    (limits, hostile names, a readable learnware.yaml); the caller owns the file."""
    fd, name = tempfile.mkstemp(suffix=".zip", dir=work.state.uploads_dir, prefix=".incoming-")
    path = Path(name)
    try:
        with open(fd, "wb") as out:
            await run_in_threadpool(shutil.copyfileobj, upload.file, out, 1 << 20)
        await run_in_threadpool(_open_package, path)
    except PackageError as exc:  # name the file as the client sent it
        path.unlink(missing_ok=True)
        raise PackageError(str(exc).replace(path.name, upload.filename or "upload")) from None
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path


def _open_package(path: Path) -> None:
    with extracted(path) as root:
        Manifest.read(root)


def create_app(settings: ServerSettings) -> FastAPI:
    """The dock's REST API (and web page) over the market in ``settings.market``."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.threads = MarketThreads(settings)
        try:
            yield
        finally:
            app.state.threads.close()

    app = FastAPI(
        title="learnware-dock",
        version=version("learnware-dock-server"),
        description="Publish learnwares (model + specification); search and download them.",
        lifespan=lifespan,
    )
    app.add_middleware(QueryTokenGuard)
    app.add_middleware(BodyLimit, max_bytes=settings.max_upload_bytes)  # outermost
    install_log_redaction()
    errors.install(app)
    add_routes(app)
    from learnware_dock_server.web import add_pages

    add_pages(app)
    return app


def _owned(work: MarketThreads, learnware_id: str, owner: str) -> None:
    """Raise unless ``owner`` may change ``learnware_id`` (which must exist)."""
    current = work.state.owner(learnware_id)
    if current != owner:
        who = "no API user (it was added with the dock command)" if current is None else current
        raise ApiError(403, "forbidden", f"learnware {learnware_id} belongs to {who}")
    pending = work.state.upload(learnware_id)
    if pending is not None and pending.state == PENDING:
        raise BusyError(
            f"learnware {learnware_id} has a change being checked; send yours when it is done"
        )


def _full_view(learnware_id: str, owner: str | None, viewer: str | None) -> None:
    """Raise unless ``viewer`` may read the unredacted report (the owner only)."""
    if viewer is None:
        raise AuthError(
            f"detail=full shows learnware {learnware_id}'s report unredacted: send the "
            "owner's API token ('Authorization: Bearer <token>')"
        )
    if viewer != owner:
        raise ApiError(
            403, "forbidden", f"only the owner may read learnware {learnware_id}'s full report"
        )


def add_routes(app: FastAPI) -> None:
    @app.get("/health", response_model=models.HealthOut, tags=["service"])
    async def health(work: Work) -> models.HealthOut:
        count = await work.reader.run(len)
        return models.HealthOut(
            learnwares=count,
            pending=len(work.state.uploads(PENDING)),
            version=version("learnware-dock-server"),
        )

    @app.get("/plugins", response_model=list[models.PluginOut], tags=["service"])
    async def plugins(work: Work, _: Reader) -> list[models.PluginOut]:
        infos = await work.reader.run(lambda m: list_plugins(m.pm))
        return [models.plugin_out(i) for i in infos]

    @app.get("/vocabulary", response_model=dict[str, list[str]], tags=["service"])
    async def vocabulary(work: Work, _: Reader) -> dict[str, list[str]]:
        return work.vocabulary()

    @app.get("/learnwares", response_model=models.LearnwarePage, tags=["learnwares"],
             responses=ERRORS)  # fmt: skip
    async def list_learnwares(
        work: Work,
        _: Reader,
        q: Annotated[str | None, Query(max_length=500, description="Free text.")] = None,
        data: str | None = None,
        task: str | None = None,
        library: str | None = None,
        scenario: str | None = None,
        license: str | None = None,
        status: Annotated[str | None, Query(pattern="^(USABLE|NONUSABLE)$")] = None,
        page: Annotated[int, Query(ge=1, le=100_000)] = 1,
        per_page: Annotated[int, Query(ge=1, le=100)] = 20,
    ) -> models.LearnwarePage:
        values = dict(
            zip(FILTER_KEYS.values(), (data, task, library, scenario, license), strict=True)
        )
        wanted = None if status is None else Status[status]
        start = (page - 1) * per_page

        def run(market: Market) -> models.LearnwarePage:
            if (q or any(values.values())) and wanted is None:  # the searcher pages
                spec = _query_spec(q, values)
                result = market.search(spec, searcher="semantic", limit=per_page, offset=start)
                total, items = result.total, [m.learnware for m in result.singles]
            elif q or any(values.values()):  # a status filter on top: page after it
                spec = _query_spec(q, values)
                result = market.search(spec, searcher="semantic", limit=1_000_000)
                found = [m.learnware for m in result.singles if m.learnware.status is wanted]
                total, items = len(found), found[start : start + per_page]
            else:
                total = market.organizer.count(wanted)
                items = market.list(wanted, limit=per_page, offset=start)
            owners = work.state.owners([lw.id for lw in items])
            return models.LearnwarePage(
                items=[models.learnware_out(lw, owners.get(lw.id)) for lw in items],
                total=total,
                page=page,
                per_page=per_page,
            )

        return await work.reader.run(run)

    @app.post("/learnwares", status_code=202, response_model=models.Accepted,
              tags=["learnwares"], responses=ERRORS)  # fmt: skip
    async def upload(
        work: Work,
        owner: Writer,
        file: Annotated[UploadFile, File(description="The learnware zip.")],
        semantic_spec: Annotated[str, Form(description="Semantic spec JSON (dict format).")],
    ) -> models.Accepted:
        spec = parse_semantic(semantic_spec, work, full=True)
        incoming = await receive_package(file, work)
        try:
            new_id = await work.ids.run(lambda m: m.reserve_id())
            incoming.replace(work.state.upload_file(new_id))
        except BaseException:
            incoming.unlink(missing_ok=True)
            raise
        work.state.add_upload(new_id, owner, "add", file.filename or "", spec.to_dict())
        work.enqueue(new_id)
        return models.Accepted(id=new_id)

    @app.get("/learnwares/{learnware_id}", response_model=models.LearnwareOut,
             tags=["learnwares"], responses=ERRORS)  # fmt: skip
    async def get_learnware(
        learnware_id: str, work: Work, _: Reader, detail: Detail = "public"
    ) -> models.LearnwareOut:
        full, viewer = detail == "full", _
        upload = work.state.upload(learnware_id)
        lw: Learnware | None = None
        if upload is None or upload.state != PENDING:
            try:
                lw = await work.reader.run(lambda m: m.get(learnware_id))
            except UnknownLearnwareError:  # shown still: an upload rejected before storing
                if upload is None or upload.kind != "add" or upload.state == DONE:
                    raise  # never uploaded, or stored and deleted since
        if lw is None:
            assert upload is not None
            if full:
                _full_view(learnware_id, upload.owner, viewer)
            return models.upload_out(upload, full=full)
        owner = work.state.owner(lw.id)
        if full:
            _full_view(learnware_id, owner, viewer)
        out = models.learnware_out(lw, owner, full=full)
        if upload is not None and upload.kind == "update" and upload.state != DONE:
            message = f"the last update was rejected: {upload.message}"
            out.message = message if full else sanitize(message)
        return out

    @app.get("/learnwares/{learnware_id}/package", tags=["learnwares"],
             response_class=FileResponse, responses={
                 **ERRORS, 200: {"content": {"application/zip": {}}}})  # fmt: skip
    async def download(learnware_id: str, work: Work, _: Reader) -> FileResponse:
        lw = await work.reader.run(lambda m: m.get(learnware_id))
        suffix = "".join(lw.package_path.suffixes)  # stored as <sha256><real suffix>
        return FileResponse(
            lw.package_path, media_type=MEDIA_TYPES[suffix], filename=f"{lw.id}{suffix}"
        )

    @app.put("/learnwares/{learnware_id}", status_code=202, response_model=models.Accepted,
             tags=["learnwares"], responses=ERRORS)  # fmt: skip
    async def update(
        learnware_id: str,
        work: Work,
        owner: Writer,
        file: Annotated[UploadFile | None, File(description="A new zip.")] = None,
        semantic_spec: Annotated[str | None, Form(description="A new semantic spec.")] = None,
    ) -> models.Accepted:
        await work.reader.run(lambda m: m.get(learnware_id))
        _owned(work, learnware_id, owner)
        if file is None and semantic_spec is None:
            raise ApiError(422, "invalid_request", "send a new file, a semantic_spec, or both")
        spec = None if semantic_spec is None else parse_semantic(semantic_spec, work, full=True)
        incoming = None if file is None else await receive_package(file, work)
        claimed = False
        try:  # one request claims the change (409 for the others), then puts its file
            work.state.add_upload(
                learnware_id,
                owner,
                "update",
                "" if file is None else file.filename or "package.zip",
                None if spec is None else spec.to_dict(),
            )
            claimed = True
            if incoming is not None:
                incoming.replace(work.state.upload_file(learnware_id))
        except BaseException:
            if incoming is not None:
                incoming.unlink(missing_ok=True)
            raise
        finally:
            if claimed:  # a file that did not arrive is reported by the check
                work.enqueue(learnware_id)
        return models.Accepted(id=learnware_id)

    @app.delete("/learnwares/{learnware_id}", status_code=204, tags=["learnwares"],
                responses=ERRORS)  # fmt: skip
    async def delete(learnware_id: str, work: Work, owner: Writer) -> Response:
        await work.reader.run(lambda m: m.get(learnware_id))
        _owned(work, learnware_id, owner)
        await work.writer.run(lambda m: m.delete(learnware_id))
        work.state.set_owner(learnware_id, None)
        work.state.forget_upload(learnware_id)
        return Response(status_code=204)

    @app.post("/search", response_model=models.SearchOut, tags=["search"], responses=ERRORS)
    async def search(body: models.SearchIn, work: Work, _: Reader) -> models.SearchOut:
        def run(market: Market) -> models.SearchOut:
            info = structure_user_info(
                body.model_dump(include={"semantic_spec", "stat_specs", "learnware_ids"}),
                lambda name, data: _stat_spec(market, name, data),
            )
            result = market.search(info, searcher=body.searcher, limit=body.page * body.per_page)
            return models.search_out(result, body.page, body.per_page)

        return await work.reader.run(run)


def _query_spec(text: str | None, values: dict[str, str | None]) -> SemanticSpec:
    kwargs: dict[str, Any] = {k: (v,) for k, v in values.items() if v}
    return SemanticSpec(name=text or None, **kwargs)


def _stat_spec(market: Market, type_name: str, data: Mapping[str, Any]) -> Any:
    cls = market.components.specifications.get(type_name)
    try:
        return cls.from_json(data)
    except SpecificationError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise SpecificationError(f"{type_name} JSON is malformed: {exc!r}") from exc
