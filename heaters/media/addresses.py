"""Which network addresses a download may connect to (SSRF), and a guard that enforces it on
every TCP connection the downloading thread opens.

What is allowed (:func:`download_policy`): every address when the caller says so
(``allow_private``: the stage passes ``HEATERS_API_ALLOW_PRIVATE_URLS``); otherwise public
addresses, plus exactly the address and port that the URL names *as an IP literal* (an operator
who ingests ``http://127.0.0.1:8080/a.mp4`` from the command line means that server), plus the
configured HTTP(S) proxies. Any other non-public address and port is refused, whether a
redirect leads there or a host name resolves to it. :func:`guard_connections` checks each
connection through the interpreter's ``socket.connect`` audit event, so neither a redirect
nor a DNS answer that changed since the submit can reach a refused address. Pure policy: no
settings are read here.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import sys
import threading
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

__all__ = [
    "AddressPolicy",
    "AddressRefusedError",
    "IPAddress",
    "download_policy",
    "guard_connections",
    "refused_reason",
]


IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def refused_reason(ip: IPAddress) -> str | None:
    """Why ``ip`` is not a public address (``"a loopback address"``, ``"a link-local address"``,
    ``"a private address"``, ``"a reserved address"``), or None when it is."""
    mapped = getattr(ip, "ipv4_mapped", None)
    if mapped is not None:  # ::ffff:127.0.0.1 is 127.0.0.1
        ip = mapped
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_private:
        return "a private address"
    if ip.is_multicast or ip.is_reserved or ip.is_unspecified:
        return "a reserved address"
    return None


class AddressRefusedError(OSError):
    """A connection to a refused address, stopped before it was made (permanent)."""


@dataclass(frozen=True)
class AddressPolicy:
    """Which addresses a download may connect to (see the module docstring)."""

    allow_private: bool = False
    allowed: frozenset[tuple[IPAddress, int]] = field(default_factory=frozenset)
    """(address, port) pairs allowed even though they are not public."""

    def refusal(self, host: str, port: int) -> str | None:
        """Why connecting to ``host`` (an IP address) on ``port`` is refused, or None."""
        if self.allow_private:
            return None
        try:
            ip = ipaddress.ip_address(host.split("%", 1)[0])
        except ValueError:
            return f"{host} is not an IP address"
        reason = refused_reason(ip)
        if reason is None or (ip, port) in self.allowed:
            return None
        return reason


def _literal(host: str | None) -> IPAddress | None:
    if not host:
        return None
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def _proxy_addresses() -> set[tuple[IPAddress, int]]:
    """The configured HTTP(S) proxies' addresses (connections go to them, not to the host)."""
    found: set[tuple[IPAddress, int]] = set()
    for scheme, proxy in urllib.request.getproxies().items():
        if scheme not in ("http", "https", "all"):
            continue
        parts = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
        try:
            port = parts.port or 8080
            infos = socket.getaddrinfo(parts.hostname or "", port, type=socket.SOCK_STREAM)
        except (OSError, ValueError, UnicodeError):
            continue
        found |= {(ipaddress.ip_address(i[4][0]), port) for i in infos}
    return found


def download_policy(url: str, *, allow_private: bool = False) -> AddressPolicy:
    """The addresses a download of ``url`` may connect to (see the module docstring)."""
    if allow_private:
        return AddressPolicy(allow_private=True)
    parts = urlsplit(url)
    allowed = _proxy_addresses()
    ip = _literal(parts.hostname)
    if ip is not None:
        with contextlib.suppress(ValueError):
            allowed.add((ip, parts.port or (443 if parts.scheme == "https" else 80)))
    return AddressPolicy(allowed=frozenset(allowed))


_active = threading.local()
_hook_lock = threading.Lock()
_hook_installed = False


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if event != "socket.connect":
        return
    guard: tuple[AddressPolicy, str] | None = getattr(_active, "guard", None)
    if guard is None:
        return
    sock, address = args
    if getattr(sock, "family", None) not in (socket.AF_INET, socket.AF_INET6):
        return
    host, port = str(address[0]), int(address[1])
    policy, url = guard
    reason = policy.refusal(host, port)
    if reason is not None:
        raise AddressRefusedError(
            f"refused to connect to {host} port {port}, {reason} (fetching {url})"
        )


@contextlib.contextmanager
def guard_connections(policy: AddressPolicy, url: str) -> Iterator[None]:
    """Check every TCP connection this thread opens inside the block against ``policy``.

    A refused connection raises :class:`AddressRefusedError` (an ``OSError``) from
    ``socket.connect`` before any packet is sent; its message names the address, e.g.
    ``"refused to connect to 127.0.0.1 port 80, a loopback address (fetching <url>)"``.
    Connections of other threads are not affected. Blocks may not nest.
    """
    global _hook_installed
    with _hook_lock:
        if not _hook_installed:
            sys.addaudithook(_audit)  # process-wide and permanent; idle outside a block
            _hook_installed = True
    _active.guard = (policy, url)
    try:
        yield
    finally:
        _active.guard = None
