"""Request bodies are limited while they stream in: an over-long body is refused with 413 after little more
than the limit has been read, whether it declares its length or comes in chunks, and the server neither
reads nor holds the rest."""

from __future__ import annotations

import select
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import httpx
import pytest
import uvicorn
from sqlalchemy.orm import Session

from kgys.runtime import Runtime
from kgys.web.app import create_app
from kgys.web.limits import MB, BodyLimits, body_limits
from tests import factories
from tests.waiting import run_apart, wait_for

CHUNK = 64 * 1024
HUGE = 200 * MB


@dataclass
class Counted:
    """A body of ``total`` bytes sent in chunks, counting how much of it the receiver pulled."""

    total: int
    pulled: int = 0

    async def chunks(self) -> AsyncIterator[bytes]:
        """The body, one chunk at a time, pulled only as the application reads it."""
        while self.pulled < self.total:
            size = min(CHUNK, self.total - self.pulled)
            self.pulled += size
            yield b" " * size


def _post(rt: Runtime, path: str, body: Counted, headers: dict[str, str] | None = None) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=create_app(rt))
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            return await client.post(path, content=body.chunks(), headers={
                "Content-Type": "application/json", **(headers or {})})

    return run_apart(go())


def test_a_chunked_body_over_the_limit_is_refused_after_reading_little_more_than_the_limit(rt: Runtime) -> None:
    body = Counted(HUGE)
    r = _post(rt, "/api/v1/sites", body)
    assert r.status_code == 413
    assert r.json() == {"error": {"type": "TooLarge", "message": "the request body is larger than 1 MB"}}
    assert r.headers["connection"] == "close"
    assert MB < body.pulled <= MB + CHUNK  # the limit and the one chunk that passed it; not 200 MB


def test_a_declared_length_over_the_limit_is_refused_before_reading_any_of_it(rt: Runtime) -> None:
    body = Counted(HUGE)
    r = _post(rt, "/api/v1/sites", body, headers={"Content-Length": str(HUGE)})
    assert r.status_code == 413
    assert r.json()["error"]["type"] == "TooLarge"
    assert body.pulled == 0


def test_a_body_within_the_limit_is_read_whole(rt: Runtime) -> None:
    body = Counted(MB - 10)
    r = _post(rt, "/api/v1/sites", body)
    assert r.status_code == 422  # blanks are not JSON, but they were all read and judged
    assert body.pulled == MB - 10


def test_imports_take_bodies_up_to_their_own_larger_limit(rt: Runtime, session: Session) -> None:
    factories.tree(session)
    user = factories.user(session, "admin", scope=["TR"])
    session.commit()
    from kgys.accounts import service as account_service

    token = account_service.issue_token(session=session, settings=rt.settings.security, user=user)
    session.commit()
    rt.settings.web.max_upload_mb = 3
    boundary = "kgysboundary"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.csv\"\r\n"
            "Content-Type: text/csv\r\n\r\ncode,name\r\n").encode()
    tail = f"\r\n--{boundary}--\r\n".encode()

    def multipart(size: int) -> bytes:
        return head + b"x" * (size - len(head) - len(tail)) + tail

    def send(data: bytes) -> httpx.Response:
        async def go() -> httpx.Response:
            async def chunks() -> AsyncIterator[bytes]:
                for i in range(0, len(data), CHUNK):
                    yield data[i:i + CHUNK]

            transport = httpx.ASGITransport(app=create_app(rt))
            async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
                return await client.post("/api/v1/imports", content=chunks(), headers={
                    "Authorization": f"Bearer {token}",
                    "Content-Type": f"multipart/form-data; boundary={boundary}"})

        return run_apart(go())

    within = send(multipart(2 * MB))  # over the 1 MB default, within the imports' 3 MB
    assert within.status_code == 422, within.text
    assert within.json()["error"]["type"] == "ValidationFailed"
    over = send(multipart(4 * MB))
    assert over.status_code == 413
    assert over.json()["error"]["message"] == "the request body is larger than 3 MB"


def test_the_limits_are_declared_in_one_place(rt: Runtime) -> None:
    limits = body_limits(rt.settings.web)
    assert limits.for_request("POST", "/api/v1/sites") == MB
    assert limits.for_request("post", "/api/v1/imports/") == 20 * MB
    assert limits.for_request("POST", "/import") == 20 * MB
    assert BodyLimits(default=5).for_request("PUT", "/x") == 5


@pytest.fixture
def server(rt: Runtime) -> Iterator[tuple[str, int]]:
    """The app served by a real uvicorn on a free loopback port, for as long as the test runs."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(create_app(rt), log_level="warning", lifespan="off")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    wait_for("uvicorn to start", lambda: srv.started or not thread.is_alive(), 30, every=0.01)
    assert srv.started, "uvicorn did not start"
    try:
        yield sock.getsockname()
    finally:
        srv.should_exit = True
        thread.join(timeout=30)
        sock.close()


def test_a_real_server_answers_a_chunked_flood_early_and_stops_reading(server: tuple[str, int]) -> None:
    frame = b"%x\r\n" % CHUNK + b" " * CHUNK + b"\r\n"
    sent = 0
    with socket.create_connection(server, timeout=30) as conn:
        conn.sendall(b"POST /api/v1/sites HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                     b"Transfer-Encoding: chunked\r\n\r\n")
        while sent < HUGE:
            readable, _, _ = select.select([conn], [], [], 0)
            if readable:  # the answer came while the body was still being sent
                break
            try:
                conn.sendall(frame)
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += CHUNK
        answer = b""
        while b"\r\n\r\n" not in answer:
            data = conn.recv(65536)
            if not data:
                break
            answer += data
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]
    assert b"connection: close" in answer.lower()
    # the limit, plus what the two kernels' socket buffers held; nowhere near the 200 MB offered
    assert sent < MB + 16 * MB, sent
