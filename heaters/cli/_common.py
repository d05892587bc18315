"""Shared CLI plumbing: logging, the event loop, JSON output."""

from __future__ import annotations

import json
import logging
import sys
import warnings
from collections.abc import Coroutine
from typing import Any, TypeVar

from rich.console import Console

T = TypeVar("T")

err_console = Console(stderr=True)
out_console = Console()


def setup_logging(verbose: int = 0, *, default: int = logging.WARNING) -> None:
    """Log to stderr: rich on a terminal, plain lines otherwise."""
    level = logging.DEBUG if verbose > 1 else logging.INFO if verbose == 1 else default
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
    if sys.stderr.isatty():
        from rich.logging import RichHandler

        handler: logging.Handler = RichHandler(console=err_console, show_path=False)
        fmt = "%(message)s"
    else:
        handler = logging.StreamHandler(sys.stderr)
        fmt = "%(asctime)s %(levelname)s %(name)s: %(message)s"
    logging.basicConfig(level=level, format=fmt, handlers=[handler], force=True)
    logging.getLogger("heaters").setLevel(level)
    logging.getLogger("workers").setLevel(level)
    for noisy in ("procrastinate", "alembic", "pgserver", "asyncio"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine on a fresh event loop."""
    import asyncio

    return asyncio.run(coro)


def print_json(obj: Any) -> None:
    """One JSON object on one line of stdout."""
    sys.stdout.write(json.dumps(obj, default=str) + "\n")
    sys.stdout.flush()
