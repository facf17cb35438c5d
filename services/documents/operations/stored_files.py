"""Removing stored files no version points at any more (after a failed upload, after a purge).

Each batch of files is one short unit of work that takes the same per-file lock an upload
holds while it promotes and records a file, so a file is never deleted between another
upload's promote and its commit; the locks are released batch by batch.
"""

from __future__ import annotations

from collections.abc import Sequence

from services.documents import repository
from services.documents.adapters.storage import Storage
from shared.unit_of_work import UnitOfWork, UnitsOfWork

PURGE_BATCH = 500


async def discard_unreferenced(units: UnitsOfWork, storage: Storage, keys: Sequence[str]) -> int:
    """Delete the files under ``keys`` that no version points at any more; returns how many."""
    deleted = 0
    keys = sorted(set(keys))
    for start in range(0, len(keys), PURGE_BATCH):
        async with units.begin() as uow:
            deleted += await _discard_batch(uow, storage, keys[start:start + PURGE_BATCH])
    return deleted


async def _discard_batch(uow: UnitOfWork, storage: Storage, batch: list[str]) -> int:
    await repository.lock_stored_files(uow.conn, batch)
    still_used = await repository.referenced_keys(uow.conn, batch)
    deleted = 0
    for key in batch:
        if key not in still_used and await storage.exists(key):
            await storage.delete(key)
            deleted += 1
    return deleted
