"""Click options shared by several commands."""

from __future__ import annotations

import click

verbose_option = click.option(
    "--verbose", "-v", count=True, help="More logging (-v: info, -vv: debug)."
)
"""The ``-v/--verbose`` counter shared by the long-running commands."""

json_option = click.option(
    "--json", "json_output", is_flag=True, help="Print JSON (one object per line) for scripts."
)
"""The ``--json`` flag of the commands that print results."""
