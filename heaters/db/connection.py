"""Where the database is: ``DATABASE_URL`` or the embedded server, decided once per process."""

from __future__ import annotations

import os

from heaters.config import Settings, get_settings

_URL_ENV = "DATABASE_URL"


def database_url(settings: Settings | None = None) -> str:
    """Return the ``postgresql://`` URL to use, starting the embedded Postgres if needed.

    With no ``DATABASE_URL`` the embedded server is started under ``HEATERS_HOME/pgdata`` and
    its URI is exported as ``DATABASE_URL`` so child processes join it instead of starting
    another.
    """
    settings = settings or get_settings()
    if settings.database_url:
        return settings.database_url
    env = os.environ.get(_URL_ENV)
    if env:
        return env
    from heaters.db.embedded import start_embedded

    uri = start_embedded(settings.pgdata)
    os.environ[_URL_ENV] = uri
    return uri


def libpq_to_sqlalchemy(url: str) -> str:
    """``postgresql://…`` → ``postgresql+psycopg://…`` (SQLAlchemy with psycopg 3, for Alembic)."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url
