"""Vouchers after the payment: the service's keys (the one that signs now, the retired ones that
still verify), and whether a voucher — one we keep, or one someone presents — is ours and unchanged."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from services.billing.domain.voucher import VoucherKeys, VoucherSigner, parse_public_keys
from services.billing.repository.payments import StoredVoucher
from services.billing.settings import BillingSettings


@lru_cache(maxsize=4)
def _keys(key: str, key_id: str, retired: str) -> VoucherKeys:
    return VoucherKeys(VoucherSigner(key, key_id), parse_public_keys(retired))


def voucher_keys(settings: BillingSettings) -> VoucherKeys:
    """The service's keys (built once per setting): raises ``ValueError`` for a malformed one."""
    return _keys(settings.voucher_signing_key, settings.voucher_key_id, settings.voucher_retired_public_keys)


def voucher_signer(settings: BillingSettings) -> VoucherSigner:
    """The key that signs new vouchers."""
    return voucher_keys(settings).signer


def verify_presented(settings: BillingSettings, document: Mapping[str, Any], signature: str,
                     key_id: str | None = None) -> str | None:
    """The id of our key that signed a voucher someone shows us, unchanged, or None: checked with
    nothing but the public keys, as any third party would."""
    return voucher_keys(settings).verifying_key(document, signature, key_id)


def verify_kept(settings: BillingSettings, voucher: StoredVoucher) -> bool:
    """Whether the voucher we keep still carries a valid signature of the key it was signed with."""
    return voucher_keys(settings).verifying_key(voucher.document, voucher.signature, voucher.key_id) is not None
