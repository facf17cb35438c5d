"""Vouchers after the payment: the service's signing key, and whether a voucher — one we
keep, or one someone presents — is ours and unchanged."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from services.billing.domain.voucher import VoucherSigner, verify_with
from services.billing.repository.payments import StoredVoucher
from services.billing.settings import BillingSettings


@lru_cache(maxsize=4)
def _signer(key: str, key_id: str) -> VoucherSigner:
    return VoucherSigner(key, key_id)


def voucher_signer(settings: BillingSettings) -> VoucherSigner:
    """The service's signer (built once per key): raises ``ValueError`` for a malformed key."""
    return _signer(settings.voucher_signing_key, settings.voucher_key_id)


def verify_presented(settings: BillingSettings, document: Mapping[str, Any], signature: str) -> bool:
    """Whether a voucher someone shows us is one we signed, unchanged: checked with nothing
    but the public key, as any third party would."""
    return verify_with(voucher_signer(settings).public_key_b64, document, signature)


def verify_kept(settings: BillingSettings, voucher: StoredVoucher) -> bool:
    """Whether the voucher we keep still carries a valid signature of ours (nothing altered it)."""
    return voucher_signer(settings).still_valid(voucher.key_id, voucher.document, voucher.signature)
