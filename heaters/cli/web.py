"""``heaters web`` (the review UI under uvicorn) and ``heaters user add`` (reviewer accounts)."""

from __future__ import annotations

import sys

import typer

from heaters.cli._common import err_console, out_console, run, setup_logging

user_app = typer.Typer(help="Reviewer accounts (sign-in of the review UI).", no_args_is_help=True)


@user_app.callback()
def user_group() -> None:
    """Reviewer accounts: `heaters user add NAME`."""


def web_command(
    host: str | None = typer.Option(
        None, "--host", help="Address to listen on (default: HEATERS_WEB_HOST, 127.0.0.1)."
    ),
    port: int | None = typer.Option(
        None, "--port", "-p", help="Port to listen on (default: HEATERS_WEB_PORT, 8000)."
    ),
    reload: bool = typer.Option(False, "--reload", help="Restart on code changes (development)."),
    verbose: int = typer.Option(0, "--verbose", "-v", count=True, help="More logging."),
) -> None:
    """Serve the review UI (sign in with an account made by `heaters user add`)."""
    import uvicorn

    from heaters.config import get_settings

    setup_logging(verbose, default=20)
    settings = get_settings()
    host = host or settings.web_host
    port = port if port is not None else settings.web_port
    out_console.print(f"review UI on http://{host}:{port}/ (Ctrl-C stops it)", highlight=False)
    uvicorn.run(
        "web.app:create_app",
        factory=True,
        host=host,
        port=port,
        reload=reload,
        log_level="info" if verbose else "warning",
        proxy_headers=True,
    )


@user_app.command("add")
def user_add_command(
    name: str = typer.Argument(..., help="The reviewer's name (1 to 64 characters)."),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the password from the first line of stdin."
    ),
) -> None:
    """Create a reviewer account, or set a new password for an existing one."""
    setup_logging()
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    from heaters.review.users import UserError

    try:
        user_id = run(_add_user(name, password))
    except UserError as exc:
        err_console.print(f"[red]{exc}[/]")
        raise typer.Exit(1) from None
    out_console.print(f"user {name.strip()} (id {user_id}) can sign in", highlight=False)


async def _add_user(name: str, password: str) -> int:
    import asyncio

    from heaters.db import Database
    from heaters.db.migrate import ensure_schema
    from heaters.review.users import add_user

    await asyncio.to_thread(ensure_schema)
    async with Database.connect(max_size=1) as db:
        return await add_user(db, name, password)


__all__ = ["user_add_command", "user_app", "web_command"]
