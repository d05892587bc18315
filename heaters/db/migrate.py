"""Alembic, run from code: ``heaters db upgrade`` and the automatic upgrade on first use."""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config

from heaters.db.connection import database_url, libpq_to_sqlalchemy

log = logging.getLogger(__name__)

_ROOT = Path(__file__).resolve().parents[2]


def alembic_config(url: str | None = None) -> Config:
    """The Alembic config of the ``migrations/`` folder, pointed at ``url`` (or the default DB)."""
    ini = _ROOT / "alembic.ini"
    cfg = Config(str(ini)) if ini.exists() else Config()
    cfg.set_main_option("script_location", str(_migrations_dir()))
    cfg.attributes["url"] = libpq_to_sqlalchemy(url or database_url())
    return cfg


def _migrations_dir() -> Path:
    import migrations

    return Path(migrations.__file__).resolve().parent


def upgrade(url: str | None = None, revision: str = "head") -> None:
    """Apply migrations up to ``revision`` (idempotent: applied ones are skipped)."""
    command.upgrade(alembic_config(url), revision)


def current_revision(url: str | None = None) -> str | None:
    """The revision the database is at, or None for an empty database."""
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy import create_engine, pool

    engine = create_engine(libpq_to_sqlalchemy(url or database_url()), poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            rev: str | None = MigrationContext.configure(conn).get_current_revision()
            return rev
    finally:
        engine.dispose()


def head_revision() -> str | None:
    """The newest revision in ``migrations/``."""
    from alembic.script import ScriptDirectory

    head: str | None = ScriptDirectory.from_config(
        alembic_config("postgresql://x")
    ).get_current_head()
    return head


def ensure_schema(url: str | None = None) -> None:
    """Upgrade to head when the database is behind (cheap check first)."""
    if current_revision(url) != head_revision():
        log.info("applying database migrations")
        upgrade(url)
