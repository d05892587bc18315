"""Read timeouts for slow clients: uvicorn's HTTP/1.1 protocol (h11) with a header and a body
timeout.

uvicorn times out only an idle keep-alive connection *after* a response
(``timeout_keep_alive``); a client that connects and sends nothing, or half of its request
headers, or a body slower than it promised, holds its connection (and a file descriptor,
and memory) for ever: a slowloris attack holds thousands. :func:`timed_protocol` makes a
protocol class that adds what nginx calls ``client_header_timeout`` and
``client_body_timeout``:

- **header timeout**: the request line and every header must arrive within this many seconds
  of the connection opening (the first request) or of the request's first byte (the next
  requests of a keep-alive connection, whose idle wait before that byte is uvicorn's
  keep-alive timeout);
- **body timeout**: while a request's body is being received, at most this many seconds may
  pass between two reads (a long upload at any steady speed goes on; a stalled one does
  not). Time during which the app has not asked for more (uvicorn paused reading) does not
  count.

A connection that runs out of time is closed (no response: its request is incomplete), and
logged on one line at info level. ``heaters web`` serves with it
(``HEATERS_WEB_HEADER_TIMEOUT_SECONDS``, ``HEATERS_WEB_BODY_TIMEOUT_SECONDS``).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

log = logging.getLogger(__name__)


class _TimedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with the header and body timeouts of :func:`timed_protocol`."""

    header_timeout: float = 10.0
    body_timeout: float = 30.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._read_timer: asyncio.TimerHandle | None = None
        self._reading: str | None = None  # "headers" | "body": what the timer waits for

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm("headers", self.header_timeout)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._follow()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._follow()

    def _follow(self) -> None:
        """Arm, re-arm or disarm the read timer for what the connection waits for now."""
        their = self.conn.their_state
        if self.transport.is_closing():
            self._disarm()
        elif their is h11.SEND_BODY:
            self._arm("body", self.body_timeout)  # restarted at every read
        elif their is h11.IDLE and self.conn.trailing_data[0]:
            if self._reading != "headers":  # a request has begun: its headers' deadline
                self._arm("headers", self.header_timeout)
        elif their is h11.IDLE and self.timeout_keep_alive_task is None:
            pass  # a fresh connection, nothing sent yet: the deadline set when it opened
        else:
            self._disarm()  # a request received, or the keep-alive wait after a response

    def _arm(self, reading: str, seconds: float) -> None:
        self._disarm()
        self._reading = reading
        self._read_timer = self.loop.call_later(seconds, self._timed_out)

    def _disarm(self) -> None:
        if self._read_timer is not None:
            self._read_timer.cancel()
        self._read_timer = None
        self._reading = None

    def _timed_out(self) -> None:
        reading, self._read_timer = self._reading, None
        if self.transport.is_closing() or reading is None:
            return
        if reading == "body" and self.flow.read_paused:
            # the app has not asked for more of the body yet: the client is not slow
            self._arm("body", self.body_timeout)
            return
        if reading == "headers":
            why = f"request headers not complete within {self.header_timeout:g} s"
        else:
            why = f"request body stalled for {self.body_timeout:g} s"
        client = f"{self.client[0]}:{self.client[1]}" if self.client else "a client"
        log.info("closed the connection of %s: %s", client, why)
        self._reading = None
        self.transport.close()


def timed_protocol(*, header_timeout: float, body_timeout: float) -> type[H11Protocol]:
    """uvicorn's ``http`` protocol class (``uvicorn.Config(http=...)``) with read timeouts.

    Parameters
    ----------
    header_timeout
        Seconds (> 0) within which a request's line and headers must all arrive, from the
        connection's opening or the request's first byte.
    body_timeout
        Seconds (> 0) that may pass between two reads of a request body.

    Returns
    -------
    type[H11Protocol]
        A subclass of uvicorn's h11 protocol carrying the two timeouts.
    """
    if header_timeout <= 0 or body_timeout <= 0:
        raise ValueError("read timeouts are positive numbers of seconds")
    return type(
        "TimedH11Protocol",
        (_TimedH11Protocol,),
        {"header_timeout": header_timeout, "body_timeout": body_timeout},
    )


__all__ = ["timed_protocol"]
