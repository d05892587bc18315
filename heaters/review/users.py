"""Reviewer accounts: names and argon2 password hashes (argon2-cffi) kept in Postgres."""

from __future__ import annotations

import asyncio
import functools

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from heaters.db import Database
from heaters.errors import HeatersError

_hasher = PasswordHasher()


class UserError(HeatersError):
    """A user name or password that cannot be accepted."""


async def add_user(db: Database, name: str, password: str) -> int:
    """Create ``name`` (or set a new password for it); returns the user id.

    Raises UserError for an empty name or a password shorter than 8 characters.
    """
    name = name.strip()
    if not name or len(name) > 64:
        raise UserError("a user name has 1 to 64 characters")
    if len(password) < 8:
        raise UserError("a password has at least 8 characters")
    hashed = await asyncio.to_thread(_hasher.hash, password)
    async with db.transaction() as conn:
        user_id: int = await db.q.add_user(conn, name=name, password_hash=hashed)
    return user_id


async def verify_user(db: Database, name: str, password: str) -> bool:
    """True when ``name`` exists and ``password`` matches its hash."""
    async with db.acquire() as conn:
        row = await db.q.get_user(conn, name=name.strip())
    if row is None:
        # Spend the same time as a real check, so names cannot be probed by timing.
        await asyncio.to_thread(_safe_verify, _dummy_hash(), password)
        return False
    return await asyncio.to_thread(_safe_verify, row["password_hash"], password)


def _safe_verify(hashed: str, password: str) -> bool:
    try:
        return _hasher.verify(hashed, password)
    except (VerificationError, InvalidHashError):
        return False


@functools.cache
def _dummy_hash() -> str:
    """A hash to verify against for unknown names; made on first use, not at import (an
    argon2 hash costs ~0.5 s of CPU, which every process importing the web app paid)."""
    return _hasher.hash("not a real password")


async def end_sessions(db: Database, name: str) -> bool:
    """End every sign-in session of ``name`` at once (its cookies answer 401 from now on).

    Returns False when there is no such user."""
    async with db.transaction() as conn:
        epoch = await db.q.end_sessions(conn, name=name.strip())
    return epoch is not None


async def remove_user(db: Database, name: str) -> bool:
    """Delete the account ``name``; its sessions end with it. False when there is none.

    The review log keeps the name on the actions the user made."""
    async with db.transaction() as conn:
        user_id = await db.q.remove_user(conn, name=name.strip())
    return user_id is not None
