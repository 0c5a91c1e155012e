"""The search API's server against held-open connections and oversized requests: the real API process (python -m
search, started by the local stack) with a short header timeout, and raw sockets (search/server.py)."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterator

import httpx
import pytest

from local_stack.services import SEARCH_API, start, stop
from settings import Settings

HEADER_TIMEOUT_S = 2.0
SLOW_CLIENTS = 50
MAX_CONNECTIONS = 60  # above the slow clients and the normal request beside them


@pytest.fixture(scope="module")
def api(stack: Settings) -> Iterator[Settings]:
    with pytest.MonkeyPatch.context() as env:
        env.setenv("SEARCH_HEADER_TIMEOUT_S", str(HEADER_TIMEOUT_S))  # the API process reads them at start
        env.setenv("SEARCH_MAX_CONNECTIONS", str(MAX_CONNECTIONS))
        cfg = Settings.from_env()
        start(cfg, SEARCH_API, print)
        try:
            yield cfg
        finally:
            stop(cfg, SEARCH_API.name, print)


async def slowloris(port: int, opened: float) -> tuple[float, bytes]:
    """A client sending its request head a byte every 0.2 s, never finishing: (seconds until the server closed the
    connection, what it answered)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = b"GET /api/clusters HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 10_000
    answer = b""
    try:
        for byte in head:
            writer.write(bytes([byte]))
            await writer.drain()
            try:
                answer += await asyncio.wait_for(reader.read(4096), timeout=0.2)
            except TimeoutError:
                continue
            if reader.at_eof():
                break
    except (ConnectionError, OSError):
        pass  # the server closed it while we wrote
    answer += await reader.read()
    writer.close()
    return time.monotonic() - opened, answer


def test_slow_headers_are_cut_off_at_the_header_timeout_while_others_are_served(api: Settings) -> None:
    """50 connections that send their headers byte by byte are answered 408 and closed within the header timeout
    (uvicorn alone kept all of them open for a minute and more); meanwhile a normal request is answered."""
    async def run() -> tuple[list[tuple[float, bytes]], int]:
        opened = time.monotonic()
        clients = [asyncio.create_task(slowloris(api.search_port, opened)) for _ in range(SLOW_CLIENTS)]
        await asyncio.sleep(0.5)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{api.search_port}", timeout=10) as client:
            normal = await client.get("/api/clusters")
        return await asyncio.wait_for(asyncio.gather(*clients), timeout=HEADER_TIMEOUT_S + 10), normal.status_code

    closed, normal_status = asyncio.run(run())
    assert normal_status == 200
    assert len(closed) == SLOW_CLIENTS
    for seconds, answer in closed:
        assert HEADER_TIMEOUT_S - 0.5 < seconds < HEADER_TIMEOUT_S + 3, seconds
        assert answer.startswith(b"HTTP/1.1 408 "), answer[:100]
        assert b"x-content-type-options: nosniff" in answer and b'{"detail":' in answer


def raw_request(port: int, request: bytes) -> bytes:
    """Send ``request`` whole, then read the answer to its end."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


def test_a_megabyte_request_line_gets_414_and_huge_headers_431_not_a_reset(api: Settings) -> None:
    long_line = b"GET /api/search?q=" + b"a" * 1_000_000 + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    answer = raw_request(api.search_port, long_line)
    assert answer.startswith(b"HTTP/1.1 414 "), answer[:200]
    assert b"content-type: application/json" in answer and b"x-frame-options: DENY" in answer
    huge_headers = b"GET /api/clusters HTTP/1.1\r\nHost: 127.0.0.1\r\n" + b"X-Big: " + b"b" * 1_000_000 + b"\r\n\r\n"
    assert raw_request(api.search_port, huge_headers).startswith(b"HTTP/1.1 431 ")
    within = b"GET /api/suggest?q=" + b"a" * 201 + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    assert raw_request(api.search_port, within).startswith(b"HTTP/1.1 422 ")  # within the limits: the API judges


def test_keep_alive_connections_serve_several_requests_each_with_its_own_header_timeout(api: Settings) -> None:
    """The header timeout starts again after each answer: a connection kept alive serves one request after another,
    and is closed when idle (SEARCH_KEEP_ALIVE_S)."""
    with httpx.Client(base_url=f"http://127.0.0.1:{api.search_port}", timeout=10) as client:
        for _ in range(3):
            assert client.get("/api/clusters").status_code == 200
            time.sleep(HEADER_TIMEOUT_S * 0.6)  # together longer than the header timeout: each request has its own


def test_a_connection_past_the_limit_gets_a_json_503_and_the_others_are_served(api: Settings) -> None:
    """MAX_CONNECTIONS open (idle) connections, then one more: it is answered 503 as JSON with the security headers
    (uvicorn's own answer was plain text) and closed; once they are gone a request is served again."""
    held = [socket.create_connection(("127.0.0.1", api.search_port), timeout=5) for _ in range(MAX_CONNECTIONS)]
    try:
        time.sleep(0.3)  # the server has accepted them all
        answer = raw_request(api.search_port, b"GET /api/clusters HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    finally:
        for sock in held:
            sock.close()
    assert answer.startswith(b"HTTP/1.1 503 "), answer[:200]
    assert b"content-type: application/json" in answer and b"x-content-type-options: nosniff" in answer
    time.sleep(0.5)
    with httpx.Client(base_url=f"http://127.0.0.1:{api.search_port}", timeout=10) as client:
        assert client.get("/api/clusters").status_code == 200
