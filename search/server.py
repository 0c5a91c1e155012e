"""Serving the search API: uvicorn's h11 protocol with the limits a deployment needs against held-open connections.

uvicorn closes idle keep-alive connections (SEARCH_KEEP_ALIVE_S), but has no header-read timeout, answers an
oversized request head with a plain-text 400 and an abrupt close (the client, still sending, sees a reset), and
past its connection limit a plain-text 503. ``GuardedH11Protocol`` (uvicorn 0.54's h11 protocol, subclassed) adds:

- a header timeout: a connection whose request line and headers are not complete SEARCH_HEADER_TIMEOUT_S after it
  opened (or after its previous response) gets 408 and is closed: a slowloris client holds a socket that long;
- size limits on the request head: a request line longer than SEARCH_MAX_REQUEST_LINE_BYTES gets 414, a head
  (line and headers) longer than SEARCH_MAX_HEADER_BYTES 431, both JSON with the API's security headers, then a
  lingering close: the rest of what the client sends is read and dropped for a moment, so it reads the answer
  instead of a reset. A request h11 cannot parse gets the same kind of 400;
- a connection limit: past SEARCH_MAX_CONNECTIONS open connections a new one gets the same kind of 503 and is
  closed (requests running at once are the API's own SEARCH_MAX_CONCURRENT, answered 429).
"""

from __future__ import annotations

import json
from typing import Any

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from search.api import NOTHING_POLICY
from settings import Settings

LINGER_S = 2.0  # how long an answered-and-closing connection still reads (and drops) what its client sends


def error_response(status: int, reason: str, detail: str) -> bytes:
    """A complete HTTP/1.1 answer that closes the connection: JSON ``detail`` with the API's security headers."""
    body = json.dumps({"detail": detail}).encode()
    head = (f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\ncontent-length: {len(body)}\r\n"
            f"connection: close\r\nx-content-type-options: nosniff\r\nx-frame-options: DENY\r\n"
            f"referrer-policy: no-referrer\r\ncontent-security-policy: {NOTHING_POLICY}\r\n\r\n")
    return head.encode() + body


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a header timeout and request-head size limits (see the module's docstring)."""

    # uvicorn builds one protocol per connection from the class: ``serve`` sets these from the settings
    header_timeout_s = 10.0
    max_request_line = 8192
    max_head = 65536
    max_connections = 256

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_timer: Any = None
        self._head_bytes = 0  # of the request head being received
        self._line_done = False  # its request line is complete
        self._closing = False  # answered with an error: what comes now is dropped

    def connection_made(self, transport: Any) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.max_connections:  # this one counted: uvicorn's own 503 is plain text
            self._refuse(503, "Service Unavailable", f"more than {self.max_connections} open connections")
            return
        self._expect_head()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_timer()
        super().connection_lost(exc)

    def _expect_head(self) -> None:
        """A new request head may come now: count it from zero and give it header_timeout_s to be complete."""
        self._head_bytes, self._line_done = 0, False
        self._cancel_head_timer()
        self._head_timer = self.loop.call_later(self.header_timeout_s, self._head_timed_out)

    def _cancel_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if not self.transport.is_closing():
            self.logger.info("%s: request head not complete after %.0f s, closed", self.client, self.header_timeout_s)
            self._refuse(408, "Request Timeout", "the request's headers took too long")

    def _refuse(self, status: int, reason: str, detail: str) -> None:
        """Answer ``status`` and close once the client has had a moment to stop sending (a lingering close)."""
        self._cancel_head_timer()
        self._closing = True
        self.transport.write(error_response(status, reason, detail))
        if self.transport.can_write_eof():
            self.transport.write_eof()  # the client reads the answer, then the end
        self.loop.call_later(LINGER_S, self.transport.close)

    def data_received(self, data: bytes) -> None:
        if self._closing:
            return  # dropped: answered already
        if self.conn.their_state is h11.IDLE:  # (part of) a request head
            self._head_bytes += len(data)
            self._line_done = self._line_done or b"\n" in data
            if not self._line_done and self._head_bytes > self.max_request_line:
                self._refuse(414, "URI Too Long", f"the request line is longer than {self.max_request_line} bytes")
                return
            if self._head_bytes > self.max_head:
                self._refuse(431, "Request Header Fields Too Large",
                             f"the request's head is longer than {self.max_head} bytes")
                return
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE:
            self._cancel_head_timer()  # the head is complete: the request runs

    def send_400_response(self, msg: str) -> None:
        """uvicorn's answer to a request h11 cannot parse, as JSON with the security headers."""
        self._refuse(400, "Bad Request", msg)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self._expect_head()  # the next request on this connection has its own header timeout


def serve(app: Any, cfg: Settings, log_config: dict[str, Any] | None = None) -> None:
    """Serve ``app`` on SEARCH_HOST:SEARCH_PORT with the connection limits of the settings."""

    class SearchProtocol(GuardedH11Protocol):
        header_timeout_s = cfg.search_header_timeout_s
        max_request_line = cfg.search_max_request_line_bytes
        max_head = cfg.search_max_header_bytes
        max_connections = cfg.search_max_connections

    uvicorn.run(app, host=cfg.search_host, port=cfg.search_port, log_config=log_config, http=SearchProtocol,
                timeout_keep_alive=cfg.search_keep_alive_s, h11_max_incomplete_event_size=cfg.search_max_header_bytes)
