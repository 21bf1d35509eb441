"""A Python client for a dock server with the local :class:`~learnware_dock.Market`'s
method names and return types, so code moves between local and remote by changing one
line::

    market = Market.open("demo")                                   # local
    market = DockClient("http://127.0.0.1:8000", token="dock_...")  # remote

``add`` and ``update`` wait for the server's checks (``wait=False`` returns at once);
``load`` downloads the package once (content-addressed, hash-checked) and starts its
model in a local container, exactly like ``Market.load``.
"""

from __future__ import annotations

import builtins
import json
import os
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import attrs
import httpx

from learnware_dock.config import cache_home
from learnware_dock.domain import CheckReport, Learnware, SearchResult, Status, UserInfo, converter
from learnware_dock.errors import CheckError, DockError, StoreError, UnknownLearnwareError
from learnware_dock.interfaces import LoadedModel
from learnware_dock.package.reader import sha256_file
from learnware_dock.semantic import SemanticSpec
from learnware_dock_server.codes import error_class

SemanticLike = SemanticSpec | Mapping[str, Any]
#: transport failures worth retrying (the request did not get an answer)
RETRIED = (httpx.ConnectError, httpx.ConnectTimeout, httpx.RemoteProtocolError, httpx.ReadError)
FINAL = ("USABLE", "NONUSABLE", "INVALID", "FAILED")


class DockClient:
    """A remote market. ``token``: an API token (``dock token create``), needed for
    writes; ``timeout``: seconds per request; ``retries``: extra attempts, with
    exponential backoff from ``backoff`` seconds, when the server cannot be reached."""

    def __init__(
        self,
        url: str,
        token: str | None = None,
        *,
        timeout: float = 30.0,
        retries: int = 3,
        backoff: float = 0.25,
        cache: Path | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.url = url.rstrip("/")
        self.retries, self.backoff = retries, backoff
        self.cache = Path(cache) if cache is not None else cache_home() / "remote"
        self.http = httpx.Client(
            base_url=self.url, headers=headers, timeout=timeout, transport=transport
        )
        self._components: Any = None

    # -- transport ----------------------------------------------------------------------------
    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        for attempt in range(self.retries + 1):
            try:
                response = self.http.request(method, path, **kwargs)
                break
            except RETRIED as exc:
                if attempt == self.retries:
                    raise StoreError(
                        f"cannot reach the dock server at {self.url} after {attempt + 1} "
                        f"attempts: {type(exc).__name__}: {exc}"
                    ) from exc
                time.sleep(self.backoff * 2**attempt)
                for value in (kwargs.get("files") or {}).values():  # re-send uploads whole
                    value[1].seek(0)
            except httpx.TimeoutException as exc:
                raise StoreError(f"{method} {path} timed out: {exc}") from exc
        _raise_for(response)
        return response

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        return self._request(method, path, **kwargs).json()

    # -- conversions ----------------------------------------------------------------------------
    def _local(self, lw: Learnware) -> Learnware:
        """A learnware from the server, its package where :meth:`download` puts it."""
        return attrs.evolve(lw, package_path=self.cache / f"{lw.sha256}.zip")

    def _learnware(self, data: Mapping[str, Any]) -> Learnware:
        if data["status"] not in Status.__members__:
            raise DockError(f"learnware {data['id']} is {data['status']}: {data['message']}")
        return self._local(converter.structure(data, Learnware))

    @staticmethod
    def _semantic(spec: SemanticLike) -> dict[str, Any]:
        return spec.to_dict() if isinstance(spec, SemanticSpec) else dict(spec)

    # -- submissions ----------------------------------------------------------------------------
    def status(self, learnware_id: str, *, full: bool = False) -> dict[str, Any]:
        """The server's raw view of a learnware or upload (``status`` may be ``pending``);
        ``full``: the report unredacted (the owner's token only)."""
        params = {"detail": "full"} if full else None
        data: dict[str, Any] = self._json("GET", f"/learnwares/{learnware_id}", params=params)
        return data

    def wait(
        self, learnware_id: str, timeout: float = 600.0, poll: float = 0.2, *, full: bool = False
    ) -> Learnware:
        """Poll until the checks of ``learnware_id`` are done; :class:`CheckError` if the
        upload was rejected. ``full``: as in :meth:`status`."""
        deadline = time.monotonic() + timeout
        while True:
            data = self.status(learnware_id, full=full)
            if data["status"] in ("INVALID", "FAILED"):
                raise CheckError(
                    f"learnware {learnware_id} was rejected: {data['message']}",
                    None
                    if data.get("report") is None
                    else converter.structure(data["report"], CheckReport),
                )
            if data["status"] != "pending":
                return self._learnware(data)
            if time.monotonic() > deadline:
                raise DockError(f"learnware {learnware_id} still pending after {timeout:.0f} s")
            time.sleep(poll)
            poll = min(poll * 1.5, 2.0)

    def submit(self, package: str | Path, semantic_spec: SemanticLike) -> str:
        """Upload a package and return its id at once (its checks run on the server)."""
        path = Path(package).expanduser()
        with open(path, "rb") as fh:
            accepted = self._json(
                "POST",
                "/learnwares",
                files={"file": (path.name, fh, "application/zip")},
                data={"semantic_spec": json.dumps(self._semantic(semantic_spec))},
            )
        return str(accepted["id"])

    def add(self, package: str | Path, semantic_spec: SemanticLike) -> Learnware:
        """Upload a package and wait for its checks, like ``Market.add``; raises
        :class:`CheckError` if the server rejected it."""
        return self.wait(self.submit(package, semantic_spec), full=True)

    def update(
        self,
        learnware_id: str,
        *,
        package: str | Path | None = None,
        semantic_spec: SemanticLike | None = None,
    ) -> Learnware:
        """Replace your learnware's package and/or semantic spec and wait for the checks."""
        data = {}
        if semantic_spec is not None:
            data["semantic_spec"] = json.dumps(self._semantic(semantic_spec))
        files = {}
        if package is not None:
            path = Path(package).expanduser()
            files["file"] = (path.name, path.open("rb"), "application/zip")
        try:
            self._json("PUT", f"/learnwares/{learnware_id}", files=files or None, data=data)
        finally:
            for value in files.values():
                value[1].close()
        return self.wait(learnware_id, full=True)

    def delete(self, learnware_id: str) -> None:
        self._request("DELETE", f"/learnwares/{learnware_id}")

    # -- reads ----------------------------------------------------------------------------------
    def get(self, learnware_id: str) -> Learnware:
        return self._learnware(self.status(learnware_id))

    def list(
        self, status: Status | None = None, *, limit: int | None = None, offset: int = 0
    ) -> builtins.list[Learnware]:
        """Learnwares in id order (fetched a page at a time)."""
        found: builtins.list[Learnware] = []
        per_page = 100
        params: dict[str, Any] = {} if status is None else {"status": status.name}
        page = offset // per_page + 1
        skip = offset % per_page
        while limit is None or len(found) < limit:
            data = self._json(
                "GET", "/learnwares", params={**params, "page": page, "per_page": per_page}
            )
            items = data["items"][skip:]
            found += [self._learnware(item) for item in items]
            if page * per_page >= data["total"] or not data["items"]:
                break
            page, skip = page + 1, 0
        return found if limit is None else found[:limit]

    def __len__(self) -> int:
        return int(self._json("GET", "/learnwares", params={"per_page": 1})["total"])

    def __contains__(self, learnware_id: object) -> bool:
        try:
            self.get(str(learnware_id))
        except UnknownLearnwareError:
            return False
        return True

    def __iter__(self) -> Iterator[Learnware]:
        return iter(self.list())

    def search(
        self,
        query: UserInfo | SemanticLike,
        *,
        searcher: str | None = None,
        limit: int = 10,
    ) -> SearchResult:
        """Search like ``Market.search``; the best ``limit`` singles and the mixture."""
        info = query if isinstance(query, UserInfo) else UserInfo(semantic_spec=_spec(query))
        data = self.search_page(info, searcher=searcher, per_page=max(1, min(limit, 100)))
        result = converter.structure(data, SearchResult)
        local = self._local
        return attrs.evolve(
            result,
            singles=tuple(attrs.evolve(m, learnware=local(m.learnware)) for m in result.singles),
            mixtures=tuple(
                attrs.evolve(m, learnwares=tuple(map(local, m.learnwares))) for m in result.mixtures
            ),
        )

    def search_page(
        self, info: UserInfo, *, searcher: str | None = None, page: int = 1, per_page: int = 10
    ) -> dict[str, Any]:
        """The server's JSON answer to one page of a search (the converter's shape)."""
        query = {"searcher": searcher, "page": page, "per_page": per_page}
        body = {**converter.unstructure(info), **query}
        data: dict[str, Any] = self._json("POST", "/search", json=body)
        return data

    def download(self, learnware: Learnware | str, dest: str | Path | None = None) -> Path:
        """The package zip, fetched once into the cache (checked against its SHA-256);
        copied to ``dest`` when given."""
        lw = learnware if isinstance(learnware, Learnware) else self.get(learnware)
        target = lw.package_path
        if not (target.exists() and sha256_file(target) == lw.sha256):
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_name(f".{target.name}.{os.getpid()}.part")
            try:
                with self.http.stream("GET", f"/learnwares/{lw.id}/package") as response:
                    if not response.is_success:
                        response.read()
                        _raise_for(response)
                    with open(partial, "wb") as out:
                        for chunk in response.iter_bytes(1 << 20):
                            out.write(chunk)
                if sha256_file(partial) != lw.sha256:
                    raise StoreError(f"download of {lw.id} does not match its SHA-256")
                partial.replace(target)
            finally:
                partial.unlink(missing_ok=True)
        if dest is None:
            return target
        out_path = Path(dest).expanduser()
        if out_path.is_dir():
            out_path = out_path / f"{lw.id}.zip"
        out_path.write_bytes(target.read_bytes())
        return out_path

    def load(
        self, learnware: Learnware | str, *, container: str | None = None, **options: Any
    ) -> LoadedModel:
        """Download (once) and start a learnware's model in a local container."""
        from learnware_dock.loading import load_model
        from learnware_dock.plugins import get_plugin_manager
        from learnware_dock.registry import Components

        lw = learnware if isinstance(learnware, Learnware) else self.get(learnware)
        self.download(lw)
        if self._components is None:
            self._components = Components(get_plugin_manager())
        return load_model(self._components, lw, container, **options)

    # -- lifecycle ------------------------------------------------------------------------------
    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"DockClient({self.url!r})"


def _spec(spec: SemanticLike) -> SemanticSpec:
    return spec if isinstance(spec, SemanticSpec) else SemanticSpec.from_dict(spec)


def _raise_for(response: httpx.Response) -> None:
    """The dock exception an error response stands for (nothing on success)."""
    if response.is_success:
        return
    try:
        error = response.json()["error"]
        code, message = str(error["code"]), str(error["message"])
    except (ValueError, KeyError, TypeError):
        code, message = f"http_{response.status_code}", response.text[:300]
    raise error_class(code, response.status_code)(f"{message} [{code}]")
