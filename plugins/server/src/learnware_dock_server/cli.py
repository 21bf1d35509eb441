"""``dock serve`` (the REST API and web page) and ``dock token`` (API tokens)."""

from __future__ import annotations

from typing import Annotated

import typer

from learnware_dock.cli.common import JsonOpt, MarketOpt, emit, make_console
from learnware_dock.config import resolve_market_root

token_app = typer.Typer(
    help="API tokens of a market's server (stored hashed).", no_args_is_help=True
)


def serve(
    market: MarketOpt = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    public_reads: Annotated[
        bool, typer.Option(help="Allow reads (list, get, search, download) without a token.")
    ] = True,
    max_upload_mb: Annotated[float, typer.Option(help="Largest accepted upload, MiB.")] = 64.0,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
) -> None:
    """Serve a market: REST API, OpenAPI at /openapi.json and /docs, web page at /."""
    import uvicorn

    from learnware_dock_server.app import create_app
    from learnware_dock_server.settings import ServerSettings

    settings = ServerSettings(
        market=resolve_market_root(market),
        public_reads=public_reads,
        max_upload_bytes=int(max_upload_mb * (1 << 20)),
    )
    settings.market.mkdir(parents=True, exist_ok=True)
    make_console().print(f"serving market {settings.market} on http://{host}:{port}/")
    uvicorn.run(create_app(settings), host=host, port=port, log_level=log_level)


@token_app.command("create")
def token_create(
    name: Annotated[str, typer.Argument(help="Token name (letters, digits, - and _).")],
    owner: Annotated[
        str | None, typer.Option(help="The user it acts for (default: the name).")
    ] = None,
    days: Annotated[float | None, typer.Option(help="Expire after this many days.")] = None,
    market: MarketOpt = None,
) -> None:
    """Create a token and print it once (only its hash is kept)."""
    from learnware_dock_server.state import ServerState

    state = ServerState.of_market(resolve_market_root(market))
    typer.echo(state.create_token(name, owner, days))


@token_app.command("revoke")
def token_revoke(name: str, market: MarketOpt = None) -> None:
    """Revoke a token: requests with it get 401 from now on."""
    from learnware_dock_server.state import ServerState

    ServerState.of_market(resolve_market_root(market)).revoke_token(name)
    make_console().print(f"revoked token {name!r}")


@token_app.command("list")
def token_list(market: MarketOpt = None, json_out: JsonOpt = False) -> None:
    """List tokens (names, owners, dates; never the tokens)."""
    from rich.table import Table

    from learnware_dock_server.state import ServerState

    tokens = ServerState.of_market(resolve_market_root(market)).tokens()
    rows = [
        {
            "name": t.name,
            "owner": t.owner,
            "created": t.created.isoformat(timespec="seconds"),
            "expires": t.expires.isoformat(timespec="seconds") if t.expires else None,
            "revoked": t.revoked.isoformat(timespec="seconds") if t.revoked else None,
        }
        for t in tokens
    ]
    if json_out:
        emit(rows)
        return
    table = Table("name", "owner", "created", "expires", "revoked")
    for row in rows:
        table.add_row(*(str(v or "") for v in row.values()))
    make_console().print(table)


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
    app.add_typer(token_app, name="token")
