"""Where the files of materials live: a small interface and its local-filesystem implementation.

Files are content-addressed (the key is derived from the SHA-256 of the bytes), so the same
file uploaded twice is stored once. An upload is first *staged* (written while it streams
in, before its hash is known), then *promoted* to its key: on the filesystem the staged temp
file is fsynced and renamed into place, so a crash never leaves a half-written file under a
key. An S3-compatible store fits the same interface (stage = multipart upload to a staging
key, promote = copy to the content key, delete the staging object).
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Protocol

CHUNK_SIZE = 64 * 1024


class ObjectMissing(LookupError):
    """No stored object under this key."""


class StagedObject(Protocol):
    """An upload being written, not yet visible under any key."""

    async def write(self, chunk: bytes) -> None: ...

    async def abort(self) -> None:
        """Throw the staged bytes away (a no-op once promoted)."""


class Storage(Protocol):
    """What the documents service needs from a file store."""

    def key_for(self, sha256: str) -> str:
        """The key of the object whose bytes hash to ``sha256``."""

    async def stage(self) -> StagedObject:
        """Start writing a new object."""

    async def promote(self, staged: StagedObject, key: str) -> None:
        """Make the staged bytes durable under ``key`` (atomically: all of them or none)."""

    async def open(self, key: str) -> AsyncIterator[bytes]:
        """The object's bytes in chunks; raises :class:`ObjectMissing` if there is none."""

    async def exists(self, key: str) -> bool: ...

    async def delete(self, key: str) -> None:
        """Remove the object (nothing happens if it is already gone)."""


class LocalStagedFile:
    """A temp file in the store's staging directory."""

    def __init__(self, path: Path, handle: Any) -> None:
        self.path = path
        self._handle = handle
        self.promoted = False

    async def write(self, chunk: bytes) -> None:
        await asyncio.to_thread(self._handle.write, chunk)

    async def abort(self) -> None:
        if self.promoted:
            return
        await asyncio.to_thread(self._discard)

    def _discard(self) -> None:
        self._handle.close()
        self.path.unlink(missing_ok=True)

    def _sync_and_close(self) -> None:
        self._handle.flush()
        os.fsync(self._handle.fileno())
        self._handle.close()


class LocalStorage:
    """Files under ``root``: ``objects/sha256/ab/cd/<sha256>``, staged in ``staging/``."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        self.staging = self.root / "staging"

    def key_for(self, sha256: str) -> str:
        return f"sha256/{sha256[:2]}/{sha256[2:4]}/{sha256}"

    def path_of(self, key: str) -> Path:
        path = (self.root / "objects" / key).resolve()
        if self.root.resolve() not in path.parents:
            raise ValueError(f"storage key {key!r} leaves the storage root")
        return path

    async def stage(self) -> LocalStagedFile:
        return await asyncio.to_thread(self._new_staged_file)

    def _new_staged_file(self) -> LocalStagedFile:
        self.staging.mkdir(parents=True, exist_ok=True)
        descriptor, name = tempfile.mkstemp(dir=self.staging, prefix="upload-")
        return LocalStagedFile(Path(name), os.fdopen(descriptor, "wb"))

    async def promote(self, staged: LocalStagedFile, key: str) -> None:
        await asyncio.to_thread(self._promote, staged, self.path_of(key))

    def _promote(self, staged: LocalStagedFile, target: Path) -> None:
        staged._sync_and_close()
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staged.path, target)
        staged.promoted = True
        _fsync_directory(target.parent)

    async def open(self, key: str) -> AsyncIterator[bytes]:
        try:
            handle = await asyncio.to_thread(open, self.path_of(key), "rb")
        except FileNotFoundError as exc:
            raise ObjectMissing(key) from exc
        return _chunks_of(handle)

    async def exists(self, key: str) -> bool:
        return await asyncio.to_thread(self.path_of(key).is_file)

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self.path_of(key).unlink, missing_ok=True)

    def staged_files(self) -> list[Path]:
        """Uploads being written now, or left behind by a crash."""
        return sorted(self.staging.glob("upload-*")) if self.staging.exists() else []

    def object_keys(self) -> list[str]:
        """Every stored key (for operators and tests; a real store would list by prefix)."""
        objects = self.root / "objects"
        if not objects.exists():
            return []
        return sorted(str(path.relative_to(objects)) for path in objects.rglob("*") if path.is_file())


async def _chunks_of(handle: Any) -> AsyncIterator[bytes]:
    try:
        while chunk := await asyncio.to_thread(handle.read, CHUNK_SIZE):
            yield chunk
    finally:
        handle.close()


def _fsync_directory(directory: Path) -> None:
    # the rename itself is durable only once the directory entry is on disk
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def storage_from_settings(settings: Any) -> Storage:
    """The store configured by ``settings.documents_storage_backend`` (only "local" today)."""
    if settings.documents_storage_backend != "local":
        raise ValueError(f"unknown documents storage backend {settings.documents_storage_backend!r}")
    return LocalStorage(settings.documents_storage_dir)
