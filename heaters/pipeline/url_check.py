"""Checks on URLs submitted through the API: http(s) only, and no addresses inside the
network (loopback, link-local, private, reserved) unless allowed: the download stage would
otherwise fetch from wherever a client points it (SSRF)."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

from pydantic import HttpUrl, TypeAdapter, ValidationError

from heaters.pipeline.submit import SubmitError

#: Longest URL accepted (as documented in the API schema).
MAX_URL_LENGTH = 2048


def _refused(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_private:
        return "a private address"
    if ip.is_multicast or ip.is_reserved or ip.is_unspecified:
        return "a reserved address"
    return None


async def check_url(url: str, *, allow_private: bool = False) -> None:
    """Raise SubmitError unless ``url`` is http(s) and its host resolves only to public
    addresses (any address is fine with ``allow_private``)."""
    if len(url) > MAX_URL_LENGTH:
        raise SubmitError(f"the URL is longer than {MAX_URL_LENGTH} characters")
    if not url.isascii() or any(c.isspace() or not c.isprintable() for c in url):
        raise SubmitError(
            "not a valid URL: use RFC 3986 form (ASCII, percent-encoded, no spaces or control "
            "characters)"
        )
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise SubmitError(f"only http(s) URLs can be submitted, not {parts.scheme or 'none'!r}")
    try:
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError as exc:
        raise SubmitError(f"not a valid URL: {exc}") from exc
    if not host:
        raise SubmitError(f"the URL has no host: {url}")
    try:
        TypeAdapter(HttpUrl).validate_python(url)
    except ValidationError as exc:
        raise SubmitError(f"not a valid http(s) URL: {url}") from exc
    if allow_private:
        return
    try:
        infos = await asyncio.to_thread(socket.getaddrinfo, host, parts.port or 443)
    except (socket.gaierror, UnicodeError) as exc:
        raise SubmitError(f"cannot resolve host {host}") from exc
    for info in infos:
        ip = ipaddress.ip_address(info[4][0])
        reason = _refused(ip)
        if reason:
            raise SubmitError(f"{host} resolves to {ip}, {reason}: refused")
