"""``heaters web`` (the review UI under uvicorn) and ``heaters user add|revoke|remove``
(reviewer accounts and their sign-in sessions)."""

from __future__ import annotations

import contextlib
import errno
import socket
import sys
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import click

from heaters.cli._common import err_console, out_console, print_json, run, setup_logging
from heaters.cli.options import verbose_option

if TYPE_CHECKING:
    from heaters.db import Database


@click.group("user")
def user_group() -> None:
    """Reviewer accounts (sign-in of the review UI): add, revoke sessions, remove.

    \b
    heaters user add NAME      create NAME, or give it a new password (ends its sessions)
    heaters user revoke NAME   end every sign-in session of NAME at once
    heaters user remove NAME   delete NAME (its sessions end with it)
    """


@click.command("web")
@click.option("--host", help="Address to listen on (default: HEATERS_WEB_HOST, 127.0.0.1).")
@click.option(
    "--port",
    "-p",
    type=click.IntRange(0, 65535),
    help="Port to listen on (default: HEATERS_WEB_PORT, 8000; 0: any free port).",
)
@click.option("--reload", is_flag=True, help="Restart on code changes (development).")
@click.option(
    "--access-log/--no-access-log",
    default=True,
    show_default=True,
    help="Log every request (method, path, status) to stderr.",
)
@verbose_option
def web_command(
    host: str | None, port: int | None, reload: bool, access_log: bool, verbose: int
) -> None:
    """Serve the review UI (sign in with an account made by `heaters user add`).

    Prints "review UI ready on http://HOST:PORT/" once the server accepts connections (the
    database is migrated and the port is bound), with the port actually bound. The port is
    bound first: when it is taken (or not allowed) the command prints one line saying so and
    exits 1 before touching the database.

    Slow clients are cut off: a request's headers must arrive within
    HEATERS_WEB_HEADER_TIMEOUT_SECONDS (10) and its body may stall for at most
    HEATERS_WEB_BODY_TIMEOUT_SECONDS (30) between reads; an idle keep-alive connection is
    closed after 5 s.
    """
    import uvicorn

    from heaters.config import get_settings
    from web.timeouts import timed_protocol

    setup_logging(verbose, default=20)
    settings = get_settings()
    host = host or settings.web_host
    port = port if port is not None else settings.web_port
    options: dict[str, Any] = {
        "factory": True,
        "host": host,
        "port": port,
        # Our logging (structlog) formats uvicorn's records too: no config of its own.
        "log_config": None,
        "log_level": "debug" if verbose > 1 else "info",
        "access_log": access_log,
        "proxy_headers": True,
        "http": timed_protocol(
            header_timeout=settings.web_header_timeout_seconds,
            body_timeout=settings.web_body_timeout_seconds,
        ),
        "timeout_keep_alive": 5,
    }
    if reload:
        out_console().print(f"review UI on http://{host}:{port}/ (reloading on changes)")
        uvicorn.run("web.app:create_app", reload=True, **options)
        return
    listener = _listen(host, port)
    server = _ready_server_class()(uvicorn.Config("web.app:create_app", **options))
    server.run(sockets=[listener])
    if not server.started:
        raise SystemExit(1)


def _listen(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port`` (as uvicorn binds it), or exit 1 with one line."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        family, kind, proto, _, address = infos[0]
        sock = socket.socket(family, kind, proto)
    except OSError as exc:
        err_console().print(f"[red]cannot listen on {host}:{port}: {exc}[/]", soft_wrap=True)
        raise SystemExit(1) from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            why = f"port {port} on {host} is in use: pick another with --port (0: any free one)"
        elif exc.errno == errno.EACCES:
            why = f"port {port} on {host} needs privileges: pick a port above 1023 with --port"
        else:
            why = f"cannot listen on {host}:{port}: {exc.strerror or exc}"
        err_console().print(f"[red]{why}[/]", highlight=False, soft_wrap=True)
        raise SystemExit(1) from None
    sock.set_inheritable(True)
    return sock


def _ready_server_class() -> type[Any]:
    import uvicorn

    class ReadyServer(uvicorn.Server):
        """A uvicorn server that says it is ready only once it is: after the app's start-up
        (lifespan) and with its sockets listening."""

        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets)
            if not self.started:
                return
            bound = [s.getsockname() for srv in self.servers for s in srv.sockets or ()]
            host, port = (
                (bound[0][0], bound[0][1]) if bound else (self.config.host, self.config.port)
            )
            shown = f"[{host}]" if ":" in str(host) else host
            out_console().print(
                f"review UI ready on http://{shown}:{port}/ (Ctrl-C stops it)", highlight=False
            )

    return ReadyServer


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
    from heaters.review.users import add_user

    async with _users_db() as db:
        return await add_user(db, name, password)


@contextlib.asynccontextmanager
async def _users_db() -> AsyncIterator[Database]:
    import asyncio

    from heaters.db import Database
    from heaters.db.migrate import ensure_schema

    await asyncio.to_thread(ensure_schema)
    async with Database.connect(max_size=1) as db:
        yield db


@user_group.command("revoke")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def user_revoke_command(name: str, as_json: bool) -> None:
    """End every sign-in session of NAME at once (browsers signed in as NAME get the sign-in
    page on their next request); the account and its password stay. Exit 1: no such user."""
    _user_change(name, as_json, "revoke")


@user_group.command("remove")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def user_remove_command(name: str, as_json: bool) -> None:
    """Delete the reviewer account NAME; its sign-in sessions end at once (its past review
    actions keep its name). Exit 1: no such user."""
    _user_change(name, as_json, "remove")


def _user_change(name: str, as_json: bool, action: str) -> None:
    setup_logging()
    name = name.strip()
    found = run(_end_or_remove(name, action))
    if as_json:
        print_json({"user": name, "action": action, "found": found})
    elif found:
        said = "sessions ended" if action == "revoke" else "removed, sessions ended"
        out_console().print(f"user {name}: {said}", highlight=False)
    else:
        err_console().print(f"[red]no user named {name!r}[/]", highlight=False)
    if not found:
        raise SystemExit(1)


async def _end_or_remove(name: str, action: str) -> bool:
    from heaters.review.users import end_sessions, remove_user

    async with _users_db() as db:
        return await (end_sessions if action == "revoke" else remove_user)(db, name)


__all__ = [
    "user_add_command",
    "user_group",
    "user_remove_command",
    "user_revoke_command",
    "web_command",
]
