"""Checks on URLs at submit (:func:`check_url`): http(s) only, and no addresses inside the
network (loopback, link-local, private, reserved) unless allowed: the download stage would
otherwise fetch from wherever a client points it (SSRF). The check during the download, and
the policy it applies, are :mod:`heaters.media.addresses`.

Two checks, because a name can resolve elsewhere later and a public server can redirect:
:func:`check_url` at submit (scheme, form, every address the host resolves to), and
:func:`heaters.media.addresses.guard_connections` on every connection during the download
(the stage builds its :func:`~heaters.media.addresses.download_policy` from
``HEATERS_API_ALLOW_PRIVATE_URLS``).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

from pydantic import HttpUrl, TypeAdapter, ValidationError

from heaters.media.addresses import refused_reason
from heaters.pipeline.submit import SubmitError

#: Longest URL accepted (as documented in the API schema).
MAX_URL_LENGTH = 2048


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
        reason = refused_reason(ip)
        if reason:
            raise SubmitError(f"{host} resolves to {ip}, {reason}: refused")
