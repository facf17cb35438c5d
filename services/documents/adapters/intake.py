"""Reading an uploaded file out of a multipart/form-data body as it streams in.

The body is parsed chunk by chunk (python-multipart's streaming parser); the bytes of the
part named ``file`` go straight to a staged storage object while their SHA-256 and size
are taken. Nothing is kept in memory beyond one chunk: a file over the limit is refused
with 413 as soon as the limit is crossed, and one whose first bytes are not JPEG, PNG or
PDF with 415 as soon as they arrive — the rest of the body is never read.

An adapter: it speaks the wire format of the outside world (a multipart body, parsed by
python-multipart) into the store, and its refusals are the upload's HTTP answers (400,
413, 415, 422), raised as ``ApiError`` while the body streams; the upload operation calls it.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header

from services.documents.adapters.storage import StagedObject
from services.documents.domain import ACCEPTED_FILE_TYPES, SIGNATURE_LENGTH, FileType, detect_file_type
from shared.errors import ApiError

FILE_FIELD = "file"
MULTIPART_OVERHEAD = 64 * 1024
"""What a body may carry besides the file's bytes: boundaries, part headers, small fields."""
_ACCEPTED = ", ".join(file_type.name.upper() for file_type in ACCEPTED_FILE_TYPES)


@dataclass(frozen=True)
class ReceivedFile:
    """A file fully written to its staged object."""

    file_type: FileType
    sha256: str
    size: int


def too_large(limit: int) -> ApiError:
    return ApiError(413, "file_too_large",
                    [{"field": f"body.{FILE_FIELD}", "reason": f"a file may have at most {limit} bytes"}])


def refuse_oversized_body(content_length: str | None, limit: int) -> None:
    """413 at once when the declared body cannot hold a file within ``limit``."""
    if content_length is not None and content_length.isdigit() and int(content_length) > limit + MULTIPART_OVERHEAD:
        raise too_large(limit)


def _unsupported_type() -> ApiError:
    return ApiError(415, "unsupported_file_type",
                    [{"field": f"body.{FILE_FIELD}", "reason": f"the file's bytes are not {_ACCEPTED}"}])


def _unprocessable(code: str, reason: str) -> ApiError:
    return ApiError(422, code, [{"field": f"body.{FILE_FIELD}", "reason": reason}])


class _FileSink:
    """Checks, hashes and stages the file part's bytes as they come."""

    def __init__(self, staged: StagedObject, limit: int) -> None:
        self._staged = staged
        self._limit = limit
        self._hash = hashlib.sha256()
        self._head = b""
        self.file_type: FileType | None = None
        self.size = 0

    async def write(self, data: bytes) -> None:
        self.size += len(data)
        if self.size > self._limit:
            raise too_large(self._limit)
        if self.file_type is None:
            self._head += data[:SIGNATURE_LENGTH]
            if len(self._head) >= SIGNATURE_LENGTH:
                self._decide_type()
        self._hash.update(data)
        await self._staged.write(data)

    def _decide_type(self) -> None:
        self.file_type = detect_file_type(self._head)
        if self.file_type is None:
            raise _unsupported_type()

    def finish(self) -> ReceivedFile:
        if self.size == 0:
            raise _unprocessable("empty_file", "the file is empty")
        if self.file_type is None:
            self._decide_type()  # a file shorter than the longest signature
        return ReceivedFile(self.file_type, self._hash.hexdigest(), self.size)


class _FilePartCollector:
    """python-multipart callbacks that keep the data of the ``file`` part until it is drained."""

    def __init__(self) -> None:
        self.pending: list[bytes] = []
        self.file_parts = 0
        self.ended = False
        self._in_file = False
        self._header_name = b""
        self._header_value = b""
        self._disposition = b""

    def callbacks(self) -> dict:
        return {
            "on_part_begin": self._part_begin,
            "on_header_field": lambda data, start, end: self._add_name(data[start:end]),
            "on_header_value": lambda data, start, end: self._add_value(data[start:end]),
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._part_data,
            "on_end": self._end,
        }

    def drain(self) -> list[bytes]:
        pending, self.pending = self.pending, []
        return pending

    def _part_begin(self) -> None:
        self._in_file = False
        self._disposition = b""

    def _add_name(self, data: bytes) -> None:
        self._header_name += data

    def _add_value(self, data: bytes) -> None:
        self._header_value += data

    def _header_end(self) -> None:
        if self._header_name.strip().lower() == b"content-disposition":
            self._disposition = self._header_value
        self._header_name = self._header_value = b""

    def _headers_finished(self) -> None:
        _, options = parse_options_header(self._disposition.decode("latin-1"))
        self._in_file = options.get(b"name") == FILE_FIELD.encode()
        if self._in_file:
            self.file_parts += 1

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self._in_file and self.file_parts == 1:
            self.pending.append(bytes(data[start:end]))

    def _end(self) -> None:
        self.ended = True


def _boundary_of(content_type: str | None) -> bytes:
    media_type, options = parse_options_header(content_type)
    boundary = options.get(b"boundary")
    if media_type != b"multipart/form-data" or not boundary:
        raise ApiError(422, "multipart_required",
                       [{"field": "header.content-type",
                         "reason": f"send the file as multipart/form-data in a part named {FILE_FIELD!r}"}])
    return boundary


async def receive_file(
    body: AsyncIterator[bytes], content_type: str | None, staged: StagedObject, limit: int
) -> ReceivedFile:
    """Stream the ``file`` part of a multipart body into ``staged``; raise ``ApiError`` for
    413 (over ``limit``), 415 (not JPEG/PNG/PDF), 422 (no file, empty, several) or 400."""
    collector = _FilePartCollector()
    try:
        parser = MultipartParser(_boundary_of(content_type), collector.callbacks())
    except FormParserError as exc:
        raise ApiError(400, "malformed_multipart", [{"reason": str(exc)}]) from exc
    sink = _FileSink(staged, limit)
    body_limit = limit + MULTIPART_OVERHEAD
    received = 0
    async for chunk in body:
        received += len(chunk)
        if received > body_limit:
            raise too_large(limit)
        try:
            parser.write(chunk)
        except FormParserError as exc:
            raise ApiError(400, "malformed_multipart", [{"reason": str(exc)}]) from exc
        for data in collector.drain():
            await sink.write(data)
    if not collector.ended:
        raise ApiError(400, "malformed_multipart", [{"reason": "the body ended before the closing boundary"}])
    if collector.file_parts == 0:
        raise _unprocessable("file_missing", f"no part named {FILE_FIELD!r} in the form")
    if collector.file_parts > 1:
        raise _unprocessable("several_files", "one file per material and upload")
    return sink.finish()
