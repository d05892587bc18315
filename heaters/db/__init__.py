"""Database access: the asyncpg pool, the named SQL queries and the embedded Postgres."""

from heaters.db.pool import Database, fetch_all, queries

__all__ = ["Database", "fetch_all", "queries"]
