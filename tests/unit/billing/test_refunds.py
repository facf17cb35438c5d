from datetime import UTC, datetime
from decimal import Decimal
from uuid import UUID

import pytest

from services.billing.domain.refunds import RefundSource, channels_of, refund_problems, split_refund

UNIONPAY, ALIPAY, WECHAT = UUID(int=1), UUID(int=2), UUID(int=3)


def payment(payment_id, channel, day, amount, credit_added, refunded="0.00") -> RefundSource:
    return RefundSource(payment_id, channel, f"T-{channel}", datetime(2025, 7, day, tzinfo=UTC), Decimal(amount),
                        Decimal(credit_added), Decimal(refunded))


def test_the_payment_that_left_the_credit_gets_it_back():
    paid = [payment(UNIONPAY, "unionpay", 5, "1432.40", "0.00"), payment(ALIPAY, "alipay", 6, "1500.00", "1500.00")]

    [part] = split_refund(Decimal("1000.00"), paid)

    assert (part.payment_id, part.channel, part.amount) == (ALIPAY, "alipay", Decimal("1000.00"))


def test_credit_left_by_two_payments_goes_back_newest_first():
    paid = [payment(UNIONPAY, "unionpay", 5, "2000.00", "567.60"), payment(ALIPAY, "alipay", 6, "300.00", "300.00")]

    parts = split_refund(Decimal("800.00"), paid)

    assert [(p.channel, p.amount) for p in parts] == [("alipay", Decimal("300.00")), ("unionpay", Decimal("500.00"))]
    assert channels_of(parts) == "alipay,unionpay"


def test_credit_from_missed_months_goes_to_the_newest_payments_up_to_what_they_carried():
    # 1432.40 paid on a bill later missed came back as credit; no payment left credit itself
    paid = [payment(UNIONPAY, "unionpay", 5, "1000.00", "0.00"), payment(WECHAT, "wechat", 6, "432.40", "0.00")]

    parts = split_refund(Decimal("1432.40"), paid)

    assert [(p.channel, p.amount) for p in parts] == [("wechat", Decimal("432.40")), ("unionpay", Decimal("1000.00"))]


def test_what_was_refunded_before_is_not_refunded_again():
    paid = [payment(UNIONPAY, "unionpay", 5, "1432.40", "0.00"),
            payment(ALIPAY, "alipay", 6, "1500.00", "1500.00", refunded="1000.00")]

    parts = split_refund(Decimal("600.00"), paid)

    assert [(p.channel, p.amount) for p in parts] == [("alipay", Decimal("500.00")), ("unionpay", Decimal("100.00"))]


def test_more_than_the_payments_carried_is_a_broken_record():
    with pytest.raises(ValueError):
        split_refund(Decimal("10.00"), [payment(UNIONPAY, "unionpay", 5, "5.00", "5.00")])


def test_a_refund_is_positive_in_cents_and_within_the_credit():
    assert refund_problems(Decimal("1500.01"), Decimal("1500.00")) == [
        ("body.amount", "a refund cannot exceed the credit of 1500.00")]
    assert refund_problems(Decimal("0"), Decimal("10.00")) == [("body.amount", "a refund must be a positive amount")]
    assert refund_problems(Decimal("1.005"), Decimal("10.00")) == [
        ("body.amount", "money has at most two decimal places")]
    assert refund_problems(Decimal("1.00"), Decimal("0.00")) == [("body.amount", "there is no credit to refund")]
    assert refund_problems(Decimal("1500.00"), Decimal("1500.00")) == []
