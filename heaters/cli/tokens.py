"""``heaters token create|revoke``: API tokens for the JSON API."""

from __future__ import annotations

import typer

from heaters.cli._common import err_console, out_console, print_json, run, setup_logging

token_app = typer.Typer(
    help="API tokens (sent as 'Authorization: Bearer <token>').", no_args_is_help=True
)


@token_app.command("create")
def token_create_command(
    name: str = typer.Argument(..., help="A name for the token (who or what uses it)."),
    json_output: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Create an API token and print it: it is shown only this once (stored hashed)."""
    setup_logging()
    from heaters.api_tokens import TokenError

    try:
        token = run(_create(name))
    except TokenError as exc:
        err_console.print(f"[red]{exc}[/]")
        raise typer.Exit(1) from None
    if json_output:
        print_json({"name": name, "token": token})
    else:
        out_console.print(token, highlight=False)
        err_console.print("keep it: it cannot be shown again")


async def _create(name: str) -> str:
    import asyncio

    from heaters.api_tokens import create_token
    from heaters.db import Database
    from heaters.db.migrate import ensure_schema

    await asyncio.to_thread(ensure_schema)
    async with Database.connect() as db:
        return await create_token(db, name)


@token_app.command("revoke")
def token_revoke_command(name: str = typer.Argument(..., help="The token's name.")) -> None:
    """Revoke an API token: requests with it get 401 from now on."""
    setup_logging()
    ok = run(_revoke(name))
    if not ok:
        err_console.print(f"[red]no live token called {name!r}[/]")
        raise typer.Exit(1)
    out_console.print(f"token {name!r} revoked")


async def _revoke(name: str) -> bool:
    import asyncio

    from heaters.api_tokens import revoke_token
    from heaters.db import Database
    from heaters.db.migrate import ensure_schema

    await asyncio.to_thread(ensure_schema)
    async with Database.connect() as db:
        return await revoke_token(db, name)
