import base64
import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from services.billing.domain.voucher import (
    VoucherBill,
    VoucherKeys,
    VoucherSigner,
    parse_public_keys,
    verify_with,
    voucher_document,
    voucher_number,
)

KEY = base64.b64encode(bytes(range(32))).decode()
OTHER_KEY = base64.b64encode(bytes(range(1, 33))).decode()


def a_voucher() -> dict:
    bill = VoucherBill(uuid.uuid4(), (("medical_employee", "2025-07"), ("pension", "2025-07")),
                       Decimal("2017.32"), Decimal("0.00"), settled=True)
    return voucher_document(
        voucher_no=voucher_number("110000", 2025, 42), payment_id=uuid.uuid4(), person_id=uuid.uuid4(),
        region="110000", bills=[bill], amount=Decimal("2100.00"), credit=Decimal("82.68"), channel="alipay",
        channel_txn_id="A-1", paid_at=datetime(2025, 7, 10, 2, tzinfo=UTC),
        issued_at=datetime(2025, 7, 10, 2, tzinfo=UTC),
    )


def test_a_voucher_says_what_was_paid_for_which_months():
    voucher = a_voucher()

    assert voucher["voucher_no"] == "110000-2025-00000042"
    assert voucher["programmes"] == ["medical_employee", "pension"]
    assert voucher["months_covered"] == {"medical_employee": ["2025-07"], "pension": ["2025-07"]}
    assert (voucher["principal"], voucher["late_fee"], voucher["credit"], voucher["total"]) == (
        "2017.32", "0.00", "82.68", "2100.00")


def test_anyone_with_the_public_key_can_verify_a_voucher():
    signer = VoucherSigner(KEY, "k1")
    voucher = a_voucher()
    signature = signer.sign(voucher)

    assert verify_with(signer.public_key_b64, voucher, signature)
    assert verify_with(signer.public_key_b64, dict(reversed(list(voucher.items()))), signature)


def test_a_tampered_voucher_fails():
    signer = VoucherSigner(KEY, "k1")
    voucher = a_voucher()
    signature = signer.sign(voucher)

    assert not signer.verify({**voucher, "total": "21000.00"}, signature)
    assert not signer.verify(voucher, signature[:-4] + "AAA=")
    assert not signer.verify(voucher, "not base64!")


def test_a_voucher_signed_with_another_key_fails():
    voucher = a_voucher()

    assert not VoucherSigner(KEY, "k1").verify(voucher, VoucherSigner(OTHER_KEY, "k2").sign(voucher))


def test_a_kept_voucher_is_valid_only_under_the_key_id_it_was_signed_with():
    keys = VoucherKeys(VoucherSigner(KEY, "k1"))
    voucher = a_voucher()
    signature = keys.signer.sign(voucher)

    assert keys.verifying_key(voucher, signature, "k1") == "k1"
    assert keys.verifying_key(voucher, signature, "k0") is None
    assert keys.verifying_key({**voucher, "total": "1.00"}, signature, "k1") is None


def test_after_a_rotation_the_new_key_signs_and_old_vouchers_still_verify():
    old_signer, new_signer = VoucherSigner(KEY, "2025-1"), VoucherSigner(OTHER_KEY, "2026-1")
    old_voucher, new_voucher = a_voucher(), {**a_voucher(), "voucher_no": "110000-2026-00000001"}
    old_signature = old_signer.sign(old_voucher)
    keys = VoucherKeys(new_signer, parse_public_keys(f"2025-1={old_signer.public_key_b64}"))

    assert keys.verifying_key(old_voucher, old_signature, "2025-1") == "2025-1"
    assert keys.verifying_key(old_voucher, old_signature) == "2025-1"  # presented without its key id
    assert keys.verifying_key(new_voucher, keys.signer.sign(new_voucher)) == "2026-1"
    assert keys.verifying_key(old_voucher, old_signature, "2026-1") is None
    assert list(keys.public_keys()) == ["2026-1", "2025-1"]


def test_a_voucher_signed_by_someone_else_verifies_under_no_key():
    keys = VoucherKeys(VoucherSigner(KEY, "k1"))
    voucher = a_voucher()

    assert keys.verifying_key(voucher, VoucherSigner(OTHER_KEY, "k1").sign(voucher)) is None


@pytest.mark.parametrize("text, problem", [
    ("k1", "expected key_id=base64"),
    ("=AAAA", "expected key_id=base64"),
    ("k1=not-base64!", "k1: not a base64 Ed25519 public key"),
    ("k1=AAAA", "k1: not a base64 Ed25519 public key"),
])
def test_retired_keys_must_be_well_formed(text, problem):
    with pytest.raises(ValueError, match=problem):
        parse_public_keys(text)


def test_a_retired_key_id_cannot_be_the_signing_one_nor_given_twice():
    public = VoucherSigner(KEY, "k1").public_key_b64

    with pytest.raises(ValueError, match="given twice"):
        parse_public_keys(f"k0={public}, k0={public}")
    with pytest.raises(ValueError, match="both the signing key and a retired one"):
        VoucherKeys(VoucherSigner(OTHER_KEY, "k1"), {"k1": public})
