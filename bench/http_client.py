"""A lean HTTP/1.1 client for the load generator: keep-alive connections over asyncio streams,
requests prepared as bytes before the clock starts.

httpx spent most of a core at 200 requests/s (its pool, its request and response models), so
the generator, not the platform, set the limit it measured. Here a request is bytes written on
an idle connection and the answer is read up to its status and its body's end, nothing more.
Only what the platform answers is understood: ``Content-Length`` and ``chunked`` bodies.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass(frozen=True)
class PreparedRequest:
    """One request of the load, ready to be written: where it goes and its bytes."""

    route: str
    host: str
    port: int
    payload: bytes


def prepare(route: str, method: str, url: str, *, json_body: object = None,
            headers: dict[str, str] | None = None) -> PreparedRequest:
    """The bytes of ``method url`` with ``headers`` and a JSON body (when given)."""
    parts = urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    body = b"" if json_body is None else json.dumps(json_body).encode()
    lines = [f"{method} {target} HTTP/1.1", f"Host: {parts.hostname}:{parts.port}", "Connection: keep-alive"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    if json_body is not None:
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return PreparedRequest(route, parts.hostname or "127.0.0.1", parts.port or 80,
                           ("\r\n".join(lines) + "\r\n\r\n").encode() + body)


class ProtocolError(Exception):
    """The server's answer was not HTTP/1.1 as this client reads it."""


class Connections:
    """Idle keep-alive connections per (host, port); a new one is opened when none is idle.

    A connection idle longer than the servers keep it (uvicorn: 5 s) is not reused, and a request
    that finds its reused connection closed under it is sent again once on a new one, as browsers
    and httpx do.
    """

    IDLE_S = 4.0

    def __init__(self) -> None:
        self._idle: dict[tuple[str, int], list[tuple[float, asyncio.StreamReader, asyncio.StreamWriter]]] = {}

    async def send(self, request: PreparedRequest) -> int:
        """Send ``request`` and return the answer's status code (its body is read and dropped)."""
        connection = self._reusable(request)
        if connection is not None:
            try:
                return await self._exchange(request, *connection)
            except (ConnectionResetError, BrokenPipeError, asyncio.IncompleteReadError):
                pass  # closed by the server while idle: once more, on a new connection
        return await self._exchange(request, *await asyncio.open_connection(request.host, request.port))

    def _reusable(self, request: PreparedRequest):
        idle = self._idle.get((request.host, request.port), [])
        while idle:
            since, reader, writer = idle.pop()
            if time.monotonic() - since < self.IDLE_S:
                return reader, writer
            writer.close()
        return None

    async def _exchange(self, request: PreparedRequest, reader: asyncio.StreamReader,
                        writer: asyncio.StreamWriter) -> int:
        try:
            writer.write(request.payload)
            status, keep_alive = await _read_response(reader)
        except BaseException:
            writer.close()
            raise
        if keep_alive:
            self._idle.setdefault((request.host, request.port), []).append((time.monotonic(), reader, writer))
        else:
            writer.close()
        return status

    def close(self) -> None:
        for connections in self._idle.values():
            for _, _, writer in connections:
                writer.close()
        self._idle.clear()


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    head = await reader.readuntil(b"\r\n\r\n")
    status_line, *header_lines = head[:-4].decode("latin-1").split("\r\n")
    if not status_line.startswith("HTTP/1.1 "):
        raise ProtocolError(f"not an HTTP/1.1 status line: {status_line[:40]!r}")
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip().lower()
    if headers.get("transfer-encoding") == "chunked":
        await _skip_chunks(reader)
    else:
        await reader.readexactly(int(headers.get("content-length", "0")))
    return int(status_line[9:12]), headers.get("connection") != "close"


async def _skip_chunks(reader: asyncio.StreamReader) -> None:
    while size := int((await reader.readuntil(b"\r\n")).split(b";")[0], 16):
        await reader.readexactly(size + 2)
    await reader.readuntil(b"\r\n")  # the empty trailer
