import base64
import uuid
from datetime import UTC, datetime
from decimal import Decimal

from services.billing.domain.voucher import VoucherBill, VoucherSigner, verify_with, voucher_document, voucher_number

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
    signer = VoucherSigner(KEY, "k1")
    voucher = a_voucher()
    signature = signer.sign(voucher)

    assert signer.still_valid("k1", voucher, signature)
    assert not signer.still_valid("k0", voucher, signature)
    assert not signer.still_valid("k1", {**voucher, "total": "1.00"}, signature)
