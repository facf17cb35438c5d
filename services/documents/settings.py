"""Settings of the documents service (environment variables with the ``SHEBAO_`` prefix)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from shared.settings import Settings

MIB = 1024 * 1024


class DocumentsSettings(Settings):
    """The shared knobs plus where files are kept, how large they may be and for how long."""

    service: str = "documents"
    # "local" is the only backend today; an S3-compatible one implements adapters.storage.Storage.
    documents_storage_backend: Literal["local"] = "local"
    documents_storage_dir: Path = Path(".shebao/documents")
    # DOMAIN.md: "up to 10 MB each"; read as 10 MiB.
    documents_max_upload_bytes: int = Field(default=10 * MIB, gt=0)
    # Materials are kept this many years after their dossier closes, then purged.
    documents_retention_years: int = Field(default=10, ge=0)
