"""The local-filesystem store: staged, fsynced and renamed into a content-addressed path."""

from __future__ import annotations

import hashlib

import pytest

from services.documents.adapters.storage import LocalStorage, ObjectMissing
from tests.unit.documents.sample_files import a_pdf


async def store(storage: LocalStorage, content: bytes) -> str:
    staged = await storage.stage()
    for start in range(0, len(content), 100):
        await staged.write(content[start:start + 100])
    key = storage.key_for(hashlib.sha256(content).hexdigest())
    await storage.promote(staged, key)
    return key


async def read(storage: LocalStorage, key: str) -> bytes:
    return b"".join([chunk async for chunk in await storage.open(key)])


async def test_a_promoted_file_is_found_under_its_content_key(tmp_path):
    storage = LocalStorage(tmp_path)
    content = a_pdf()

    key = await store(storage, content)

    digest = hashlib.sha256(content).hexdigest()
    assert key == f"sha256/{digest[:2]}/{digest[2:4]}/{digest}"
    assert await read(storage, key) == content
    assert storage.staged_files() == []
    assert storage.object_keys() == [key]


async def test_the_same_bytes_twice_are_one_file(tmp_path):
    storage = LocalStorage(tmp_path)

    first = await store(storage, a_pdf())
    second = await store(storage, a_pdf())

    assert first == second
    assert storage.object_keys() == [first]


async def test_an_aborted_upload_leaves_nothing(tmp_path):
    storage = LocalStorage(tmp_path)
    staged = await storage.stage()
    await staged.write(b"%PDF-half a file")

    await staged.abort()

    assert storage.staged_files() == []
    assert storage.object_keys() == []


async def test_a_file_being_written_is_not_visible_under_any_key(tmp_path):
    storage = LocalStorage(tmp_path)
    staged = await storage.stage()
    await staged.write(a_pdf()[:50])

    assert storage.object_keys() == []
    assert len(storage.staged_files()) == 1
    await staged.abort()


async def test_a_deleted_file_is_gone_and_deleting_again_is_harmless(tmp_path):
    storage = LocalStorage(tmp_path)
    key = await store(storage, a_pdf())

    await storage.delete(key)
    await storage.delete(key)

    assert not await storage.exists(key)
    with pytest.raises(ObjectMissing):
        await storage.open(key)


def test_a_key_cannot_leave_the_storage_root(tmp_path):
    with pytest.raises(ValueError):
        LocalStorage(tmp_path / "store").path_of("../../etc/passwd")
