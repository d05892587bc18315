"""Shared CLI plumbing: logging, the event loop, consoles, JSON output (the shared click
options: :mod:`heaters.cli.options`)."""

from __future__ import annotations

import functools
import json
import logging
import sys
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from rich.console import Console

T = TypeVar("T")


@functools.cache
def err_console() -> Console:
    """A rich console on stderr (made on first use: rich costs ~10 ms to import)."""
    from rich.console import Console

    return Console(stderr=True)


@functools.cache
def out_console() -> Console:
    """A rich console on stdout (made on first use)."""
    from rich.console import Console

    return Console()


def setup_logging(verbose: int = 0, *, default: int = logging.WARNING) -> None:
    """Log to stderr through structlog: console lines on a terminal, JSON lines otherwise."""
    from heaters.logs import configure_logging

    level = logging.DEBUG if verbose > 1 else logging.INFO if verbose == 1 else default
    configure_logging(level)


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine on a fresh event loop."""
    import asyncio

    return asyncio.run(coro)


def print_json(obj: Any) -> None:
    """One JSON object on one line of stdout."""
    sys.stdout.write(json.dumps(obj, default=str) + "\n")
    sys.stdout.flush()
