"""The ``heaters`` command."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="heaters",
    help=(
        "Heaters: turn long source videos into reviewed, searchable clips.\n\n"
        "With no DATABASE_URL an embedded Postgres runs under HEATERS_HOME."
    ),
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
)


def _register() -> None:
    from heaters.cli import detect, ingest, ops, search, tokens, web

    app.command("ingest")(ingest.ingest_command)
    app.command("detect")(detect.detect_command)
    app.command("worker")(ops.worker_command)
    app.command("status")(ops.status_command)
    app.command("retry")(ops.retry_command)
    app.command("similar")(search.similar_command)
    app.command("search")(search.search_command)
    app.add_typer(ops.db_app, name="db")
    app.add_typer(tokens.token_app, name="token")
    app.command("web")(web.web_command)
    app.add_typer(web.user_app, name="user")


_register()


def main() -> None:
    """Entry point of the ``heaters`` console script."""
    app()
