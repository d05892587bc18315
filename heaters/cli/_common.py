"""Shared CLI plumbing: logging, the event loop, JSON output."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Coroutine
from typing import Any, TypeVar

from rich.console import Console

T = TypeVar("T")

err_console = Console(stderr=True)
out_console = Console()


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
