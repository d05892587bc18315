"""The ``heaters`` command (click).

Subcommands are imported only when they run (:class:`LazyGroup`, the pattern of click's
"Lazily Loading Subcommands" documentation), so ``heaters detect`` loads neither the database
nor the web stack: a command's start-up is Python, click and what that command needs.
"""

from __future__ import annotations

import importlib
from typing import Any

import click

__all__ = ["LazyGroup", "app", "main"]


class LazyGroup(click.Group):
    """A click group whose subcommands are ``"module:attribute"`` strings, imported on use."""

    def __init__(self, *args: Any, lazy: dict[str, str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = dict(lazy or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *self.lazy])

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy:
            module, _, attr = self.lazy[cmd_name].partition(":")
            command = getattr(importlib.import_module(module), attr)
            if not isinstance(command, click.Command):
                raise TypeError(f"{self.lazy[cmd_name]} is not a click command")
            return command
        return super().get_command(ctx, cmd_name)


CONTEXT_SETTINGS: dict[str, Any] = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


@click.group(
    "heaters",
    cls=LazyGroup,
    context_settings=CONTEXT_SETTINGS,
    lazy={
        "ingest": "heaters.cli.ingest:ingest_command",
        "detect": "heaters.cli.calibrate:detect_group",
        "worker": "heaters.cli.ops:worker_command",
        "status": "heaters.cli.ops:status_command",
        "retry": "heaters.cli.ops:retry_command",
        "db": "heaters.cli.ops:db_group",
        "export": "heaters.cli.export:export_group",
        "similar": "heaters.cli.search:similar_command",
        "search": "heaters.cli.search:search_command",
        "token": "heaters.cli.tokens:token_group",
        "tag": "heaters.cli.tags:tag_group",
        "web": "heaters.cli.web:web_command",
        "user": "heaters.cli.web:user_group",
        "split": "heaters.cli.split:split_command",
    },
)
@click.version_option(package_name="heaters", prog_name="heaters")
def app() -> None:
    """Heaters: turn long source videos into reviewed, searchable clips.

    With no DATABASE_URL an embedded Postgres runs under HEATERS_HOME.
    """


def main() -> None:
    """Entry point of the ``heaters`` console script; settings that cannot be used (e.g. a
    stall timeout shorter than three heartbeats) are one line each, exit status 2."""
    try:
        app()
    except Exception as exc:
        from heaters.config import settings_problems

        problems = settings_problems(exc)
        if problems is None:
            raise
        click.echo("\n".join(problems), err=True)
        raise SystemExit(2) from None
