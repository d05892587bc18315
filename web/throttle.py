"""Sign-in throttling per account and per client address, shared by every web process.

Each sign-in attempt is counted against two keys, the account name as typed and the client
address, in fixed windows of ``HEATERS_LOGIN_WINDOW_SECONDS`` kept in Postgres (table
``login_attempts``, queries in ``heaters/db/queries/auth.sql``), so several web processes,
on one machine or several, count the same attempts. Past a key's limit the sign-in answers
429 with ``Retry-After`` until that key's window ends, *before* the password is looked at:

- the answer is the same whether the account exists or not, and whether the password was
  right (a guess that is refused teaches nothing);
- an attempt is counted before its password is checked, in one UPSERT for both keys, and
  given back when it succeeds, so parallel guesses cannot slip past the limit while their
  (slow, argon2) hashes are checked, and a reviewer's successful sign-ins never add up;
- a refused attempt counts too (the window does not move, so this only keeps a hammering
  client refused until the window ends);
- a success does not reset a key: an attacker with one valid account cannot clear his
  address's count by signing in between guesses.

Limits (``HEATERS_LOGIN_ACCOUNT_LIMIT``, ``HEATERS_LOGIN_ADDRESS_LIMIT``) and why:

- **50 failures per account per minute**: the 51st wrong password within a minute is refused
  (issue 15). No person mistypes a password 50 times in a minute, so a reviewer never meets
  it; a guesser gets at most 72,000 tries a day per account instead of the thousands a
  minute argon2 allows on a few cores. An attacker can hold an account refused only while
  he keeps hammering it, and never any other account.
- **100 failures per client address per minute** (an IPv6 client is counted by its /64,
  which one host usually has whole): it stops one address spraying a password across many
  names, which the per-account limit cannot see. Twice the account limit, so an office
  behind one NAT address is not locked out by one reviewer's typos, and one address can use
  up at most two accounts' budgets a minute.

The client address is the one uvicorn gives: the peer, or ``X-Forwarded-For`` when the peer
is a trusted proxy (uvicorn's ``--forwarded-allow-ips``, by default only 127.0.0.1); behind
a proxy on another host, set ``FORWARDED_ALLOW_IPS`` to its address or every client counts
as the proxy.

Why not a library: Litestar's ``RateLimitConfig`` middleware counts every request per
client before the handler runs (it cannot see the account in the form or whether the
password was wrong), and reads then writes its ``Store`` under a lock of its own process, so
two web processes on one database could both let a request through; pyrate-limiter's
Postgres bucket is synchronous (a psycopg pool beside the web's asyncpg one) and has no way
to give back an attempt that succeeded. The table and three queries here are all that is
needed.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
from dataclasses import dataclass
from datetime import datetime

from heaters.config import Settings
from heaters.db import Database
from heaters.db.pool import fetch_all

log = logging.getLogger(__name__)

_ACCOUNT = "account:"
_ADDRESS = "address:"


def account_key(name: str) -> str:
    """The throttle key of an account name as typed (hashed: the table never holds what was
    typed, which is sometimes a password put in the wrong field)."""
    return _ACCOUNT + hashlib.sha256(name.encode()).hexdigest()


def address_key(host: str | None) -> str:
    """The throttle key of a client address: IPv4 as is, IPv6 by its /64 (an IPv4-mapped
    IPv6 address as the IPv4 one), anything else (a unix socket's name) by its printable
    characters, no address as ``unknown``."""
    if not host:
        return _ADDRESS + "unknown"
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:  # printable characters only: it is logged
        return _ADDRESS + "".join(c for c in host[:100] if c.isprintable() and not c.isspace())
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return _ADDRESS + str(ip.ipv4_mapped)
        return _ADDRESS + str(ipaddress.IPv6Network((ip, 64), strict=False))
    return _ADDRESS + str(ip)


@dataclass(frozen=True)
class Attempt:
    """One counted sign-in attempt.

    ``keys`` / ``window_starts``: the windows it was counted in (to give it back when the
    password was right); ``retry_after``: seconds until the sign-in may be tried again when
    the attempt is refused, else None.
    """

    keys: list[str]
    window_starts: list[datetime]
    retry_after: int | None

    @property
    def refused(self) -> bool:
        """True when a key is past its limit: answer 429, do not check the password."""
        return self.retry_after is not None


class LoginThrottle:
    """The sign-in limits of :class:`~heaters.config.Settings` applied to one database."""

    def __init__(self, settings: Settings) -> None:
        self.window_seconds = float(settings.login_window_seconds)
        self.account_limit = settings.login_account_limit
        self.address_limit = settings.login_address_limit

    async def take(self, db: Database, name: str, address: str | None) -> Attempt:
        """Count an attempt to sign in as ``name`` from ``address``; refused when either key
        is past its limit in its window. The first refusal of a key in a window is logged
        (exactly once, whichever web process it happens in)."""
        client = address_key(address)
        keys = {account_key(name): self.account_limit, client: self.address_limit}
        async with db.acquire() as conn:
            await db.q.prune_login_attempts(conn, window_seconds=self.window_seconds)
            rows = await fetch_all(
                db.q.take_login_attempts(conn, keys=list(keys), window_seconds=self.window_seconds)
            )
        waits = []
        for row in rows:
            limit = keys[row["key"]]
            if row["failures"] > limit:
                waits.append(int(row["retry_after"]))
            if row["failures"] == limit + 1:
                what = f"account {name[:64]!r}" if row["key"] != client else "address"
                log.warning(
                    "sign-in throttled for %s: %d failed attempts in %g s (last from %s); "
                    "refused for %d s",
                    what,
                    limit,
                    self.window_seconds,
                    client.removeprefix(_ADDRESS),
                    row["retry_after"],
                )
        return Attempt(
            keys=[r["key"] for r in rows],
            window_starts=[r["window_start"] for r in rows],
            retry_after=max(waits) if waits else None,
        )

    async def give_back(self, db: Database, attempt: Attempt) -> None:
        """The attempt succeeded: it no longer counts against its keys."""
        async with db.acquire() as conn:
            await db.q.give_back_login_attempts(
                conn, keys=attempt.keys, window_starts=attempt.window_starts
            )


__all__ = ["Attempt", "LoginThrottle", "account_key", "address_key"]
