"""Alembic environment: plain SQL migrations run through SQLAlchemy + psycopg 3."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool

from heaters.db.connection import database_url, libpq_to_sqlalchemy

config = context.config
url = config.attributes.get("url") or libpq_to_sqlalchemy(database_url())


def run_migrations_offline() -> None:
    context.configure(url=url, literal_binds=True, dialect_opts={"paramstyle": "named"})
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, transaction_per_migration=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
