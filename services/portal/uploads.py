"""A material's upload form, read as it streams in.

The portal used to parse the whole form (Starlette spools it, unbounded) and then read the file
into memory before sending it to documents. Here the body is parsed chunk by chunk
(python-multipart's streaming parser, as documents' own intake): the small fields (the CSRF
token) are kept, the bytes of the part named ``file`` go to a spooled temporary file (in memory up
to ``SPOOL_IN_MEMORY``, then on disk) and stop being kept once they pass the documents service's
limit — the upload is then ``too_large`` and documents is never called. A body whose declared
``Content-Length`` cannot hold a file within the limit keeps nothing of the file from its first
byte. The rest of an over-limit body is still read (and dropped) so that the browser, which sends
the whole body before it reads the answer, gets the page with the size error and not a reset
connection. The kept file is handed to documents as a file object: httpx streams it in chunks.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from typing import IO

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request

from services.portal.backend import Answer

FILE_FIELD = "file"
MULTIPART_OVERHEAD = 64 * 1024
"""What a body may carry besides the file's bytes (boundaries, part headers, the CSRF token): the
same allowance as documents' intake."""
SPOOL_IN_MEMORY = 1024 * 1024
FIELD_LIMIT = 4096
"""The bytes kept of a field that is not the file (the CSRF token is 32 characters)."""
MAX_FIELDS = 16


def file_too_large(limit: int) -> Answer:
    """The refusal documents answers for a file over ``limit`` (so that the page says the same)."""
    problem = {"field": f"body.{FILE_FIELD}", "reason": f"a file may have at most {limit} bytes"}
    return Answer(413, {"error": "file_too_large", "detail": [problem]})


@dataclass
class UploadForm:
    """The fields and the file of one upload form; :meth:`close` drops the spooled file."""

    fields: dict[str, str] = field(default_factory=dict)
    filename: str = ""
    content_type: str = ""
    file: IO[bytes] | None = None
    size: int = 0
    too_large: bool = False
    malformed: bool = False

    def get(self, name: str) -> str | None:
        return self.fields.get(name)

    def close(self) -> None:
        if self.file is not None:
            self.file.close()
            self.file = None


class _Collector:
    """python-multipart callbacks: the small fields, and the first ``file`` part up to ``limit``."""

    def __init__(self, form: UploadForm, limit: int, keep_file: bool) -> None:
        self.form = form
        self.limit = limit
        self.keep_file = keep_file
        self.ended = False
        self._files = 0
        self._name = ""
        self._field: bytearray | None = None
        self._in_file = False
        self._header_name = b""
        self._header_value = b""
        self._headers: dict[bytes, bytes] = {}

    def callbacks(self) -> dict:
        return {
            "on_part_begin": self._part_begin,
            "on_header_field": lambda data, start, end: self._add(name=data[start:end]),
            "on_header_value": lambda data, start, end: self._add(value=data[start:end]),
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._part_data,
            "on_part_end": self._part_end,
            "on_end": self._end,
        }

    def _part_begin(self) -> None:
        self._headers = {}
        self._in_file = False
        self._field = None

    def _add(self, name: bytes = b"", value: bytes = b"") -> None:
        self._header_name += name
        self._header_value += value

    def _header_end(self) -> None:
        self._headers[self._header_name.strip().lower()] = self._header_value.strip()
        self._header_name = self._header_value = b""

    def _headers_finished(self) -> None:
        _, options = parse_options_header(self._headers.get(b"content-disposition", b"").decode("latin-1"))
        self._name = options.get(b"name", b"").decode("utf-8", "replace")
        if self._name == FILE_FIELD and b"filename" in options:
            self._files += 1
            self._in_file = self._files == 1
            if self._in_file:
                self.form.filename = options[b"filename"].decode("utf-8", "replace")
                self.form.content_type = self._headers.get(b"content-type", b"").decode("latin-1")
                if self.keep_file:
                    self.form.file = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)
        elif len(self.form.fields) < MAX_FIELDS:
            self._field = bytearray()

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self._in_file:
            self.form.size += end - start
            if self.form.size > self.limit:
                self.form.too_large = True
                self.form.close()
            elif self.form.file is not None:
                self.form.file.write(data[start:end])
        elif self._field is not None and len(self._field) < FIELD_LIMIT:
            self._field += data[start:min(end, start + FIELD_LIMIT - len(self._field))]

    def _part_end(self) -> None:
        if self._field is not None:
            self.form.fields.setdefault(self._name, self._field.decode("utf-8", "replace"))
        self._field = None
        self._in_file = False

    def _end(self) -> None:
        self.ended = True


async def read_upload(request: Request, limit: int) -> UploadForm:
    """The upload form of ``request``, its file kept only while within ``limit`` bytes.

    The whole body is read either way; a body that is not multipart/form-data, or is malformed,
    gives the fields found so far and ``malformed``."""
    form = UploadForm()
    declared = request.headers.get("content-length", "")
    form.too_large = declared.isdigit() and int(declared) > limit + MULTIPART_OVERHEAD
    media_type, options = parse_options_header(request.headers.get("content-type"))
    parser: MultipartParser | None = None
    collector = _Collector(form, limit, keep_file=not form.too_large)
    if media_type == b"multipart/form-data" and options.get(b"boundary"):
        try:
            parser = MultipartParser(options[b"boundary"], collector.callbacks())
        except FormParserError:
            parser = None
    form.malformed = parser is None
    try:
        async for chunk in request.stream():
            if parser is None or not chunk:
                continue  # read, and dropped
            try:
                parser.write(chunk)
            except FormParserError:
                form.malformed, parser = True, None
                form.close()
    except BaseException:
        form.close()
        raise
    if parser is not None and not collector.ended:
        form.malformed = True
    if form.too_large or form.malformed:
        form.close()
    elif form.file is not None:
        form.file.seek(0)
    return form
