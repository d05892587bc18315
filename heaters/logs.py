"""Logging: structlog over the standard library, JSON lines when stderr is not a terminal.

Every record, Heaters' own and libraries' (procrastinate, asyncpg…), goes through one
structlog formatter: a readable console line on a terminal, one JSON object per line
otherwise (for log shippers). Stage runs log ``stage_start`` / ``stage_end`` events with the
stage, item, attempt, outcome, duration and the reason of a failure.
"""

from __future__ import annotations

import logging
import sys
import warnings

import structlog

_NOISY = ("procrastinate", "alembic", "pgserver", "asyncio", "aiobotocore", "botocore", "urllib3")


def configure_logging(level: int = logging.INFO, *, json_lines: bool | None = None) -> None:
    """Route all logging through structlog at ``level`` (JSON unless stderr is a terminal)."""
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
    if json_lines is None:
        json_lines = not sys.stderr.isatty()
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer()
        if json_lines
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*shared, structlog.stdlib.ExtraAdder()],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            renderer,
        ],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level)
    for name in _NOISY:
        logging.getLogger(name).setLevel(max(level, logging.WARNING))
