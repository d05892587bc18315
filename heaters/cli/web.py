"""``heaters web`` (the review UI under uvicorn) and ``heaters user add`` (reviewer accounts)."""

from __future__ import annotations

import sys

import click

from heaters.cli._common import err_console, out_console, run, setup_logging, verbose_option


@click.group("user")
def user_group() -> None:
    """Reviewer accounts (sign-in of the review UI): `heaters user add NAME`."""


@click.command("web")
@click.option("--host", help="Address to listen on (default: HEATERS_WEB_HOST, 127.0.0.1).")
@click.option(
    "--port",
    "-p",
    type=click.IntRange(0, 65535),
    help="Port to listen on (default: HEATERS_WEB_PORT, 8000).",
)
@click.option("--reload", is_flag=True, help="Restart on code changes (development).")
@verbose_option
def web_command(host: str | None, port: int | None, reload: bool, verbose: int) -> None:
    """Serve the review UI (sign in with an account made by `heaters user add`)."""
    import uvicorn

    from heaters.config import get_settings

    setup_logging(verbose, default=20)
    settings = get_settings()
    host = host or settings.web_host
    port = port if port is not None else settings.web_port
    out_console().print(f"review UI on http://{host}:{port}/ (Ctrl-C stops it)", highlight=False)
    uvicorn.run(
        "web.app:create_app",
        factory=True,
        host=host,
        port=port,
        reload=reload,
        log_level="info" if verbose else "warning",
        proxy_headers=True,
    )


@user_group.command("add")
@click.argument("name")
@click.option(
    "--password-stdin", is_flag=True, help="Read the password from the first line of stdin."
)
def user_add_command(name: str, password_stdin: bool) -> None:
    """Create the reviewer account NAME (1 to 64 characters), or set a new password for it.

    The password is asked for twice on the terminal unless --password-stdin is given.
    """
    setup_logging()
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    from heaters.review.users import UserError

    try:
        user_id = run(_add_user(name, password))
    except UserError as exc:
        err_console().print(f"[red]{exc}[/]")
        raise SystemExit(1) from None
    out_console().print(f"user {name.strip()} (id {user_id}) can sign in", highlight=False)


async def _add_user(name: str, password: str) -> int:
    import asyncio

    from heaters.db import Database
    from heaters.db.migrate import ensure_schema
    from heaters.review.users import add_user

    await asyncio.to_thread(ensure_schema)
    async with Database.connect(max_size=1) as db:
        return await add_user(db, name, password)


__all__ = ["user_add_command", "user_group", "web_command"]
