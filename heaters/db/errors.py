"""Is the database unreachable? The classification the worker, the stages and the web share.

- :func:`unavailable` tells an error that means the database cannot be reached now (a
  refused or lost connection, a server shutting down or starting up, a timeout) from
  everything else (a bug, bad SQL, a wrong password: waiting would not help), with a short
  reason for a one-line log: ``database unavailable (connection refused at 10.0.0.1:5432):
  retrying in 2 s``. ``workers/resilient.py`` and ``workers/app.py`` retry on it.
- :func:`database_error` finds the exception, in what was raised, that the database (its
  driver) raised because it cannot be reached: a Postgres error whose SQLSTATE says so, a
  psycopg ``OperationalError``, asyncpg's "connection is closed", or an ``OSError`` (a
  missing socket file, a refused connection, a connect or pool timeout) raised *inside* a
  driver, so a missing media file or a refused connection to a storage server is not the
  database's. ``web/errors.py`` answers 503 on it.
- :func:`stage_lost_database` is both: what :func:`heaters.pipeline.runner.run_stage`
  re-raises instead of spending the item's attempt (a job retried by ``workers/app.py``).
"""

from __future__ import annotations

import errno
from collections.abc import Iterator
from types import TracebackType


class DatabaseUnavailable(Exception):
    """The database could not be reached; ``str()`` is the one-line reason."""


# (words in the driver's message, what the line says); first match wins.
_WORDS: tuple[tuple[str, str], ...] = (
    ("connection refused", "connection refused"),
    ("no route to host", "no route to host"),
    ("network is unreachable", "network unreachable"),
    ("could not translate host name", "host name not found"),
    ("name or service not known", "host name not found"),
    ("temporary failure in name resolution", "host name not found"),
    ("timeout expired", "timed out"),
    ("timed out", "timed out"),
    ("the database system is shutting down", "the server is shutting down"),
    ("the database system is starting up", "the server is starting up"),
    ("the database system is in recovery mode", "the server is recovering"),
    ("terminating connection", "the server closed the connection"),
    ("server closed the connection", "the server closed the connection"),
    ("connection was closed", "the connection was lost"),
    ("connection is closed", "the connection was lost"),
    ("connection is lost", "the connection was lost"),
    ("consuming input failed", "the connection was lost"),
    ("sending query failed", "the connection was lost"),
    ("connection reset", "the connection was lost"),
    ("broken pipe", "the connection was lost"),
    ("couldn't get a connection", "no connection could be opened in time"),
    # asyncpg, when the server goes away while a pooled connection's last operation is
    # still unfinished: the next query on it finds the protocol mid-operation
    ("another operation", "the connection was lost"),
)
_ERRNOS = {
    errno.ECONNREFUSED: "connection refused",
    errno.EHOSTUNREACH: "no route to host",
    errno.ENETUNREACH: "network unreachable",
    errno.ETIMEDOUT: "timed out",
    errno.ECONNRESET: "the connection was lost",
    errno.EPIPE: "the connection was lost",
}


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen and len(seen) < 10:
        seen.add(id(e))
        yield e
        e = e.__cause__ or e.__context__


def unavailable(exc: BaseException) -> str | None:
    """What went wrong when ``exc`` (or what caused it) says the database cannot be reached
    now: ``"connection refused"``, ``"timed out"``, ``"the server is shutting down"``, …;
    None for anything else (a bug, bad SQL, a wrong password: waiting would not help)."""
    import asyncpg
    import psycopg

    for e in _chain(exc):
        if isinstance(e, DatabaseUnavailable):
            return str(e)
        if isinstance(e, (psycopg.errors.InvalidPassword, psycopg.errors.InvalidCatalogName,
                          psycopg.errors.InvalidAuthorizationSpecification)):  # fmt: skip
            return None
        message = str(e).lower()
        specific = isinstance(
            e,
            (psycopg.OperationalError, asyncpg.PostgresConnectionError,
             asyncpg.CannotConnectNowError, asyncpg.AdminShutdownError,
             asyncpg.CrashShutdownError, asyncpg.ConnectionDoesNotExistError),
        )  # fmt: skip
        generic = isinstance(
            e, (asyncpg.InterfaceError, asyncpg.InternalClientError, OSError, TimeoutError)
        )
        if not (specific or generic):
            continue
        if "password authentication failed" in message or "does not exist" in message:
            return None
        for words, what in _WORDS:
            if words in message:
                return what
        if isinstance(e, OSError) and e.errno in _ERRNOS:
            return _ERRNOS[e.errno]
        if isinstance(e, TimeoutError):
            return "timed out"
        if specific:
            return "the connection was lost"
    return None


# SQLSTATEs of a server that cannot take the connection: class 08 (connection exceptions,
# e.g. asyncpg's ConnectionDoesNotExistError, 08003), admin shutdown, crash shutdown, cannot
# connect now (57P01-03), too many connections (53300).
_CONNECTION_SQLSTATES = frozenset({"57P01", "57P02", "57P03", "53300"})
# Where an OSError (FileNotFoundError of a gone socket, ConnectionRefusedError, a connect
# TimeoutError) must have passed through to mean the database: the drivers and their pools.
_DRIVERS = frozenset({"asyncpg", "psycopg", "psycopg_pool", "sqlalchemy", "procrastinate"})


def database_error(exc: BaseException) -> BaseException | None:
    """The exception in ``exc``'s chain (what it was raised from or while handling, members
    of exception groups) that says the database cannot be reached, else None (see the module
    doc)."""
    import asyncpg
    import psycopg

    for e in _all(exc):
        if isinstance(e, DatabaseUnavailable):
            return e
        sqlstate = getattr(e, "sqlstate", None)
        if isinstance(e, asyncpg.PostgresError | psycopg.Error) and isinstance(sqlstate, str):
            if sqlstate.startswith("08") or sqlstate in _CONNECTION_SQLSTATES:
                return e
        elif (
            isinstance(e, psycopg.OperationalError)
            or (isinstance(e, asyncpg.InterfaceError) and "connection is closed" in str(e))
            or (isinstance(e, asyncpg.InternalClientError) and "another operation" in str(e))
        ):
            return e
        if isinstance(e, OSError) and _raised_in_driver(e.__traceback__):
            return e
    return None


def stage_lost_database(exc: BaseException) -> str | None:
    """The short reason (:func:`unavailable`) when ``exc``, raised by a stage's work, is the
    database's (:func:`database_error`) and says it cannot be reached, else None."""
    if database_error(exc) is None:
        return None
    return unavailable(exc)


def _all(exc: BaseException) -> Iterator[BaseException]:
    """``exc``, what it was raised from or while handling, and the members of exception
    groups, each once."""
    todo, seen = [exc], set()
    while todo:
        e = todo.pop()
        if id(e) in seen:
            continue
        seen.add(id(e))
        yield e
        if isinstance(e, BaseExceptionGroup):
            todo.extend(e.exceptions)
        todo.extend(x for x in (e.__cause__, e.__context__) if x is not None)


def _raised_in_driver(tb: TracebackType | None) -> bool:
    while tb is not None:
        module = tb.tb_frame.f_globals.get("__name__", "")
        if isinstance(module, str) and module.partition(".")[0] in _DRIVERS:
            return True
        tb = tb.tb_next
    return False


__all__ = ["DatabaseUnavailable", "database_error", "stage_lost_database", "unavailable"]
