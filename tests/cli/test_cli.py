"""The ``heaters`` command: every lazily loaded subcommand imports and explains itself."""

from __future__ import annotations

import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

from heaters.cli import app

COMMANDS = [
    "db", "detect", "ingest", "retry", "search", "similar", "status", "token", "user", "web",
    "worker",
]  # fmt: skip


def test_help_lists_every_command() -> None:
    res = CliRunner().invoke(app, ["--help"])
    assert res.exit_code == 0, res.output
    for name in COMMANDS:
        assert f"  {name} " in res.output


@pytest.mark.parametrize("name", COMMANDS)
def test_each_command_has_help(name: str) -> None:
    ctx = click.Context(app)
    command = app.get_command(ctx, name)
    assert isinstance(command, click.Command) and command.help
    res = CliRunner().invoke(app, [name, "-h"])
    assert res.exit_code == 0, res.output
    assert res.output.startswith(f"Usage: heaters {name} ")


def test_version_and_unknown_command() -> None:
    runner = CliRunner()
    res = runner.invoke(app, ["--version"])
    assert res.exit_code == 0 and res.output.startswith("heaters, version ")
    res = runner.invoke(app, ["nope"])
    assert res.exit_code == 2 and "No such command 'nope'" in res.output


def test_detect_loads_no_database_or_web_stack() -> None:
    """``heaters detect`` imports only what detection needs (start-up is part of its speed)."""
    code = (
        "import sys\n"
        "from heaters.cli import app\n"
        "try:\n"
        "    app(['detect', '--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = ['asyncpg', 'procrastinate', 'litestar', 'typer', 'rich', 'sqlalchemy']\n"
        "print('loaded:' + ','.join(m for m in heavy if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip().splitlines()[-1] == "loaded:"
