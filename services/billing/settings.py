"""Billing's own settings (env prefix ``SHEBAO_``, like every other setting)."""

from __future__ import annotations

import base64
import hashlib
from decimal import Decimal

from pydantic import Field

from shared.settings import Settings, weak_secret

# A development key, like the development JWT secret: set SHEBAO_VOUCHER_SIGNING_KEY in production.
_DEVELOPMENT_VOUCHER_KEY = base64.b64encode(hashlib.sha256(b"shebao-local-development-voucher-key").digest()).decode()


class BillingSettings(Settings):
    """Knobs of the billing service."""

    service: str = "billing"

    # A cycle's bill is issued this many days before the cycle's first month begins
    # (due on the region's due day of that month, so about 25 days before it is due).
    billing_lead_days: int = 10
    # Persons per transaction in the billing run and the overdue scan: each transaction's
    # outbox write takes one advisory lock per person, and the lock table is finite.
    billing_batch_size: int = 1000
    # Connections working on chunks side by side (each chunk is its own persons): while two wait
    # for the database a third builds its events (bench/billing_run.py: 3 beat 2 on 2 cores).
    billing_workers: int = 3
    # The daily jobs are idempotent, so they run every hour for "today" in the region.
    billing_job_interval_s: float = 3600.0
    # A channel's clock may run this far ahead of ours before paid_at counts as "in the future".
    payment_clock_skew_s: float = 120.0
    # The most one channel transaction may carry: a bounded mistake, and a sum far above any
    # year's contributions (split larger back-payments).
    payment_max_amount: Decimal = Decimal("500000.00")

    # Voucher numbers a process reserves of its region's series at a time (operations/voucher_numbers.py):
    # payments do not queue on the series' counter, and a stopped process leaves at most this many
    # unused. 1 is the strict series: a number per payment in commit order, the counter locked to it.
    voucher_block_size: int = Field(default=20, ge=1, le=10_000)

    # Regions whose seeded policy versions this deployment announces ("" = every seeded region).
    # One deployment per region sets its own code, so Beijing never publishes Shanghai's policies.
    billing_seed_regions: str = ""

    @property
    def seed_regions(self) -> list[str] | None:
        regions = [code.strip() for code in self.billing_seed_regions.split(",") if code.strip()]
        return regions or None

    # Where the public reaches this service: the QR code of a certificate points at its
    # verification here (a deployment sets the address residents' schools and banks can open).
    billing_public_url: str = "http://localhost:8103"

    voucher_signing_key: str = _DEVELOPMENT_VOUCHER_KEY
    """Base64 of a 32-byte Ed25519 private seed."""
    voucher_key_id: str = "billing-dev-1"
    # After a rotation: the retired keys' public halves, "key_id=base64,key_id=base64". Vouchers
    # they signed still verify; only the current key signs.
    voucher_retired_public_keys: str = ""

    def secret_problems(self) -> list[str]:
        """The JWT secret's, and the voucher key must be set and not the development one."""
        return super().secret_problems() + weak_secret(
            "SHEBAO_VOUCHER_SIGNING_KEY", self.voucher_signing_key, _DEVELOPMENT_VOUCHER_KEY, min_bytes=44)
