"""Logging: structlog over the standard library, JSON lines when asked or not on a terminal.

Every record, Heaters' own and libraries' (procrastinate, asyncpg, uvicorn, Litestar…), goes
through one structlog formatter: a readable console line on a terminal, one JSON object per
line otherwise (for log shippers). ``HEATERS_LOG_FORMAT`` chooses: ``json`` (always JSON
lines), ``console`` (always console lines), ``auto`` or unset (JSON unless stderr is a
terminal). Stage runs log ``stage_start`` / ``stage_end`` events with the stage, item,
attempt, outcome, duration and the reason of a failure.
"""

from __future__ import annotations

import logging
import os
import sys
import warnings

import structlog

_NOISY = ("procrastinate", "alembic", "pgserver", "asyncio", "aiobotocore", "botocore", "urllib3")
#: The environment variable that picks the log format, and its values.
FORMAT_ENV = "HEATERS_LOG_FORMAT"
FORMATS = ("auto", "json", "console")


def json_lines_wanted(value: str | None = None) -> bool:
    """Whether logs are JSON lines: ``value`` (default: ``$HEATERS_LOG_FORMAT``) ``json`` →
    True, ``console`` → False, ``auto``/unset/empty → True unless stderr is a terminal.

    Raises
    ------
    ValueError
        For another value (naming the variable and its values).
    """
    raw = os.environ.get(FORMAT_ENV, "") if value is None else value
    fmt = raw.strip().lower() or "auto"
    if fmt not in FORMATS:
        raise ValueError(f"{FORMAT_ENV}={raw!r}: use one of {', '.join(FORMATS)}")
    if fmt == "auto":
        return not sys.stderr.isatty()
    return fmt == "json"


def configure_logging(level: int = logging.INFO, *, json_lines: bool | None = None) -> None:
    """Route all logging through structlog at ``level``: JSON lines when ``json_lines``, by
    default as :func:`json_lines_wanted` says (``HEATERS_LOG_FORMAT``, else JSON unless
    stderr is a terminal). Another ``HEATERS_LOG_FORMAT`` is taken as ``auto``, with a
    warning saying so.
    """
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
    bad_format = None
    if json_lines is None:
        try:
            json_lines = json_lines_wanted()
        except ValueError as exc:
            bad_format = f"{exc}; using auto"
            json_lines = json_lines_wanted("auto")
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
    if bad_format:
        logging.getLogger(__name__).warning(bad_format)
