"""Reading the file out of a streamed multipart body: type, size limit, hash, and how much is read."""

from __future__ import annotations

import hashlib

import pytest

from services.documents.adapters.intake import MULTIPART_OVERHEAD, receive_file, refuse_oversized_body
from shared.errors import ApiError
from tests.unit.documents.sample_files import a_jpeg, a_pdf, a_png, multipart

LIMIT = 10 * 1024 * 1024


class MemoryStaged:
    """A staged object that keeps what it was given, to compare with the upload."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []

    async def write(self, chunk: bytes) -> None:
        self.chunks.append(chunk)

    async def abort(self) -> None:
        self.chunks.clear()


class CountingBody:
    """A request body in chunks that records how many bytes the reader pulled."""

    def __init__(self, body: bytes, chunk_size: int = 4096) -> None:
        self._chunks = [body[i:i + chunk_size] for i in range(0, len(body), chunk_size)]
        self.total = len(body)
        self.pulled = 0

    async def __aiter__(self):
        for chunk in self._chunks:
            self.pulled += len(chunk)
            yield chunk


async def receive(body: bytes, content_type: str, *, limit: int = LIMIT, chunk_size: int = 4096):
    staged = MemoryStaged()
    stream = CountingBody(body, chunk_size)
    return await receive_file(stream.__aiter__(), content_type, staged, limit), staged, stream


@pytest.mark.parametrize("content, expected", [(a_jpeg(), "image/jpeg"), (a_png(), "image/png"),
                                               (a_pdf(), "application/pdf")])
async def test_a_real_file_is_staged_whole_with_its_hash_and_type(content, expected):
    body, content_type = multipart(content)

    received, staged, _ = await receive(body, content_type, chunk_size=7)

    assert received.file_type.content_type == expected
    assert received.size == len(content)
    assert received.sha256 == hashlib.sha256(content).hexdigest()
    assert b"".join(staged.chunks) == content


async def test_the_name_and_declared_type_do_not_matter_only_the_bytes():
    body, content_type = multipart(b"just some text\n" * 10, filename="id_card.jpg", content_type="image/jpeg")

    with pytest.raises(ApiError) as refused:
        await receive(body, content_type)

    assert refused.value.status == 415


async def test_a_wrong_type_is_refused_before_the_rest_of_the_body_is_read():
    body, content_type = multipart(b"MZ\x90\x00" + b"\x00" * 1_000_000)
    stream = CountingBody(body, 4096)

    with pytest.raises(ApiError) as refused:
        await receive_file(stream.__aiter__(), content_type, MemoryStaged(), LIMIT)

    assert refused.value.status == 415
    assert stream.pulled <= 2 * 4096 < stream.total


async def test_a_file_over_the_limit_is_refused_once_the_limit_is_crossed():
    body, content_type = multipart(a_pdf() + b"\x00" * (LIMIT + 1024 * 1024))
    stream = CountingBody(body, 64 * 1024)
    staged = MemoryStaged()

    with pytest.raises(ApiError) as refused:
        await receive_file(stream.__aiter__(), content_type, staged, LIMIT)

    assert refused.value.status == 413
    assert refused.value.code == "file_too_large"
    assert stream.pulled <= LIMIT + 2 * 64 * 1024 < stream.total
    assert sum(map(len, staged.chunks)) <= LIMIT


async def test_a_file_of_exactly_the_limit_is_accepted():
    content = a_pdf()
    content += b"\n" * (4096 - len(content))
    body, content_type = multipart(content)

    received, _, _ = await receive(body, content_type, limit=4096)

    assert received.size == 4096


async def test_an_empty_file_is_unprocessable():
    body, content_type = multipart(b"")

    with pytest.raises(ApiError) as refused:
        await receive(body, content_type)

    assert (refused.value.status, refused.value.code) == (422, "empty_file")


async def test_a_form_without_a_file_part_is_unprocessable():
    body, content_type = multipart(a_png(), field="attachment")

    with pytest.raises(ApiError) as refused:
        await receive(body, content_type)

    assert (refused.value.status, refused.value.code) == (422, "file_missing")


async def test_two_file_parts_are_unprocessable():
    first, content_type = multipart(a_png())
    second, _ = multipart(a_jpeg())
    body = first[: -len(b"--\r\n")] + b"\r\n" + second[len(b"--shebao-boundary-7d1f\r\n"):]

    with pytest.raises(ApiError) as refused:
        await receive(body, content_type)

    assert (refused.value.status, refused.value.code) == (422, "several_files")


async def test_a_body_that_is_not_multipart_is_unprocessable():
    with pytest.raises(ApiError) as refused:
        await receive(a_png(), "image/png")

    assert refused.value.status == 422
    assert refused.value.detail[0]["field"] == "header.content-type"


async def test_a_body_cut_short_is_a_bad_request():
    body, content_type = multipart(a_png())

    with pytest.raises(ApiError) as refused:
        await receive(body[:-20], content_type)

    assert refused.value.status == 400


def test_a_declared_length_beyond_the_limit_is_refused_before_reading():
    with pytest.raises(ApiError) as refused:
        refuse_oversized_body(str(LIMIT + MULTIPART_OVERHEAD + 1), LIMIT)

    assert refused.value.status == 413
    refuse_oversized_body(str(LIMIT + MULTIPART_OVERHEAD), LIMIT)
    refuse_oversized_body(None, LIMIT)
