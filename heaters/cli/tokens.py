"""``heaters token create|revoke``: API tokens for the JSON API."""

from __future__ import annotations

import click

from heaters.cli._common import err_console, out_console, print_json, run, setup_logging
from heaters.cli.options import json_option


@click.group("token")
def token_group() -> None:
    """API tokens of the JSON API (sent as 'Authorization: Bearer <token>')."""


@token_group.command("create")
@click.argument("name")
@json_option
def token_create_command(name: str, json_output: bool) -> None:
    """Create an API token called NAME (who or what uses it) and print it.

    The token is shown only this once: it is stored hashed.
    """
    setup_logging()
    from heaters.api_tokens import TokenError

    try:
        token = run(_create(name))
    except TokenError as exc:
        err_console().print(f"[red]{exc}[/]")
        raise SystemExit(1) from None
    if json_output:
        print_json({"name": name, "token": token})
    else:
        out_console().print(token, highlight=False)
        err_console().print("keep it: it cannot be shown again")


async def _create(name: str) -> str:
    import asyncio

    from heaters.api_tokens import create_token
    from heaters.db import Database
    from heaters.db.migrate import ensure_schema

    await asyncio.to_thread(ensure_schema)
    async with Database.connect() as db:
        return await create_token(db, name)


@token_group.command("revoke")
@click.argument("name")
def token_revoke_command(name: str) -> None:
    """Revoke the API token called NAME: requests with it get 401 from now on."""
    setup_logging()
    ok = run(_revoke(name))
    if not ok:
        err_console().print(f"[red]no live token called {name!r}[/]")
        raise SystemExit(1)
    out_console().print(f"token {name!r} revoked")


async def _revoke(name: str) -> bool:
    import asyncio

    from heaters.api_tokens import revoke_token
    from heaters.db import Database
    from heaters.db.migrate import ensure_schema

    await asyncio.to_thread(ensure_schema)
    async with Database.connect() as db:
        return await revoke_token(db, name)
