"""Payment vouchers: what was paid, for which months, and a signature anyone can check.

A voucher is a JSON document signed with the service's Ed25519 key over its canonical
form (keys sorted, no spaces, UTF-8; money as "1234.50" strings). Whoever holds the
public key (``GET /v1/vouchers/public-key``) can verify a voucher years later without
asking us; changing any field breaks the signature.

Keys rotate: the newest key signs, and the public keys of the retired ones stay published
under their key ids, so a voucher signed years ago still verifies (``VoucherKeys``).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

ALGORITHM = "Ed25519"


def voucher_number(region: str, year: int, sequence: int) -> str:
    """Unique per region and year: ``110000-2025-00000042``."""
    return f"{region}-{year:04d}-{sequence:08d}"


@dataclass(frozen=True)
class VoucherBill:
    """One bill a payment went to, as printed on the voucher."""

    bill_id: UUID
    lines: tuple[tuple[str, str], ...]  # (programme, "YYYY-MM")
    principal: Decimal
    late_fee: Decimal
    settled: bool


def voucher_document(
    *,
    voucher_no: str,
    payment_id: UUID,
    person_id: UUID,
    region: str,
    bills: Iterable[VoucherBill],
    amount: Decimal,
    credit: Decimal,
    channel: str,
    channel_txn_id: str,
    paid_at: datetime,
    issued_at: datetime,
) -> dict[str, Any]:
    """The voucher of one payment. Months count as covered once their bill is settled."""
    bills = list(bills)
    covered: dict[str, set[str]] = {}
    for bill in bills:
        if bill.settled:
            for programme, month in bill.lines:
                covered.setdefault(programme, set()).add(month)
    return {
        "voucher_no": voucher_no,
        "payment_id": str(payment_id),
        "payer": str(person_id),
        "region": region,
        "programmes": sorted({programme for bill in bills for programme, _ in bill.lines}),
        "months_covered": {programme: sorted(months) for programme, months in sorted(covered.items())},
        "bills": [
            {"bill_id": str(bill.bill_id), "principal": _money(bill.principal), "late_fee": _money(bill.late_fee),
             "settled": bill.settled}
            for bill in bills
        ],
        "principal": _money(sum((bill.principal for bill in bills), Decimal(0))),
        "late_fee": _money(sum((bill.late_fee for bill in bills), Decimal(0))),
        "credit": _money(credit),
        "total": _money(amount),
        "channel": channel,
        "channel_txn_id": channel_txn_id,
        "paid_at": paid_at.isoformat(),
        "issued_at": issued_at.isoformat(),
    }


def _money(value: Decimal) -> str:
    return f"{value:.2f}"


def canonical_bytes(document: Mapping[str, Any]) -> bytes:
    """The exact bytes that are signed: sorted keys, no whitespace, UTF-8."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


class VoucherSigner:
    """Signs and verifies vouchers with one Ed25519 key (a base64 32-byte private seed)."""

    def __init__(self, private_seed_b64: str, key_id: str) -> None:
        try:
            seed = base64.b64decode(private_seed_b64, validate=True)
        except binascii.Error as error:
            raise ValueError("the voucher signing key must be base64") from error
        if len(seed) != 32:
            raise ValueError("the voucher signing key must be 32 bytes (base64 of an Ed25519 seed)")
        self._private = Ed25519PrivateKey.from_private_bytes(seed)
        self.public_key: Ed25519PublicKey = self._private.public_key()
        self.key_id = key_id

    @property
    def public_key_b64(self) -> str:
        raw = self.public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)
        return base64.b64encode(raw).decode()

    def sign(self, document: Mapping[str, Any]) -> str:
        """The base64 signature of ``document``."""
        return base64.b64encode(self._private.sign(canonical_bytes(document))).decode()

    def verify(self, document: Mapping[str, Any], signature: str) -> bool:
        """Whether ``signature`` is this key's signature of exactly ``document``."""
        return verify_with(self.public_key_b64, document, signature)


def verify_with(public_key_b64: str, document: Mapping[str, Any], signature: str) -> bool:
    """Check a voucher with nothing but the public key (what any third party does)."""
    try:
        key = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key_b64, validate=True))
        key.verify(base64.b64decode(signature, validate=True), canonical_bytes(document))
    except (InvalidSignature, ValueError, binascii.Error, TypeError):
        return False
    return True


@dataclass(frozen=True)
class VoucherKeys:
    """The key that signs now and the public keys of the retired ones, by key id."""

    signer: VoucherSigner
    retired: Mapping[str, str] = field(default_factory=dict)  # key id -> base64 public key

    def __post_init__(self) -> None:
        if self.signer.key_id in self.retired:
            raise ValueError(f"key id {self.signer.key_id} is both the signing key and a retired one")

    def public_keys(self) -> dict[str, str]:
        """Every key a voucher of ours may be signed with, the current one first."""
        return {self.signer.key_id: self.signer.public_key_b64, **self.retired}

    def public_key_of(self, key_id: str) -> str | None:
        return self.public_keys().get(key_id)

    def verifying_key(self, document: Mapping[str, Any], signature: str, key_id: str | None = None) -> str | None:
        """The id of our key that signed exactly ``document`` (only ``key_id`` when it is named),
        or None: not ours, or altered since."""
        candidates = self.public_keys()
        if key_id is not None:
            candidates = {key_id: candidates[key_id]} if key_id in candidates else {}
        for candidate, public_key in candidates.items():
            if verify_with(public_key, document, signature):
                return candidate
        return None


def parse_public_keys(text: str) -> dict[str, str]:
    """``"id-1=<base64>,id-2=<base64>"`` as ``{"id-1": "<base64>", ...}``; each must be a raw
    32-byte Ed25519 public key. Raises ``ValueError`` saying which entry is wrong."""
    keys: dict[str, str] = {}
    for entry in filter(None, (part.strip() for part in text.split(","))):
        key_id, separator, public_key = entry.partition("=")
        key_id, public_key = key_id.strip(), public_key.strip()
        if not separator or not key_id or not public_key:
            raise ValueError(f"retired voucher key {entry!r}: expected key_id=base64")
        try:
            Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key, validate=True))
        except (ValueError, binascii.Error) as error:
            raise ValueError(f"retired voucher key {key_id}: not a base64 Ed25519 public key") from error
        if key_id in keys:
            raise ValueError(f"retired voucher key {key_id} is given twice")
        keys[key_id] = public_key
    return keys
