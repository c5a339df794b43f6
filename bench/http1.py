"""A small HTTP/1.1 client over asyncio streams, for load benchmarks.

httpx keeps its connections in a pool that it walks on every request; with hundreds of connections in one
process the client then spends as much processor time as the server it measures, on the same cores. Here
each simulated user owns one keep-alive connection and nothing is shared, so the client's cost per request
stays flat. It speaks just what kgys and the bare route answer: a status line, headers, and a body sized by
``Content-Length`` or sent in chunks.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any


@dataclass
class Answer:
    """A response: status, headers (lower-case names) and body."""

    status_code: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body)


class Connection:
    """One keep-alive connection to ``host:port``, opened on first use and again after the server closes it."""

    def __init__(self, host: str, port: int, headers: dict[str, str] | None = None) -> None:
        self.host, self.port = host, port
        self.base_headers = {"Host": f"{host}:{port}", "Accept": "application/json", **(headers or {})}
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, body: Any = None) -> Answer:
        """Send one request (``body`` as JSON when given) and read its whole answer."""
        if self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        assert self._reader is not None
        payload = json.dumps(body).encode() if body is not None else b""
        head = [f"{method} {path} HTTP/1.1", *(f"{k}: {v}" for k, v in self.base_headers.items())]
        if body is not None:
            head += ["Content-Type: application/json", f"Content-Length: {len(payload)}"]
        try:
            self._writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + payload)
            answer = await self._read(self._reader)
        except BaseException:
            await self.close()
            raise
        if answer.headers.get("connection", "").lower() == "close":
            await self.close()
        return answer

    async def _read(self, reader: asyncio.StreamReader) -> Answer:
        raw = await reader.readuntil(b"\r\n\r\n")
        lines = raw.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = {}
        for line in lines[1:]:
            if ":" in line:
                name, value = line.split(":", 1)
                headers[name.strip().lower()] = value.strip()
        if "content-length" in headers:
            body = await reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            parts = []
            while True:
                size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
                chunk = await reader.readexactly(size + 2)
                if size == 0:
                    break
                parts.append(chunk[:-2])
            body = b"".join(parts)
        else:
            body = await reader.read()
        return Answer(status, headers, body)

    async def close(self) -> None:
        """Close the connection (a later request opens a new one)."""
        if self._writer is not None:
            self._writer.close()
            try:
                await self._writer.wait_closed()
            except OSError:
                pass
        self._reader = self._writer = None
