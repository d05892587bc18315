"""API tokens: created once, shown once, stored as SHA-256 hashes, sent as bearer tokens.

Tokens are 32 random bytes (``secrets.token_urlsafe``), so a fast hash is the right tool
(a password hash would only slow every request down without adding safety).
"""

from __future__ import annotations

import hashlib
import secrets

from heaters.db import Database
from heaters.errors import HeatersError

PREFIX = "hk_"


class TokenError(HeatersError):
    """A token name that cannot be used."""


def hash_token(token: str) -> str:
    """SHA-256 hex digest of a token (what the database keeps)."""
    return hashlib.sha256(token.encode()).hexdigest()


async def create_token(db: Database, name: str) -> str:
    """Create an API token called ``name`` and return it (the only time it is readable).

    Raises TokenError when the name is empty or already used.
    """
    name = name.strip()
    if not name:
        raise TokenError("a token needs a name")
    token = PREFIX + secrets.token_urlsafe(32)
    async with db.transaction() as conn:
        row = await db.q.create_token(conn, name=name, token_hash=hash_token(token))
    if row is None:
        raise TokenError(f"a token called {name!r} exists already")
    return token


async def verify_token(db: Database, token: str) -> str | None:
    """The name of the live token ``token``, or None; records its last use."""
    if not token.startswith(PREFIX):
        return None
    async with db.acquire() as conn:
        name: str | None = await db.q.use_token(conn, token_hash=hash_token(token))
    return name


async def revoke_token(db: Database, name: str) -> bool:
    """Revoke the token called ``name``; False when there is none."""
    async with db.acquire() as conn:
        row = await db.q.revoke_token(conn, name=name)
    return row is not None
