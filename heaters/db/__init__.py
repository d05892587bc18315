"""Database access: the asyncpg pool, the named SQL queries and the embedded Postgres."""

from heaters.db.pool import Database, queries

__all__ = ["Database", "queries"]
