from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from shared.money import CENT, MoneyField, NonNegativeMoney, Rate, round_line, to_money


class Priced(BaseModel):
    amount: MoneyField
    refund: NonNegativeMoney | None = None
    rate: Rate | None = None


@pytest.mark.parametrize(
    ("base", "rate", "line"),
    [
        (7162, "0.20", "1432.40"),
        (7460, "0.20", "1492.00"),
        (7460, "0.11", "820.60"),
        (7162, "0.01", "71.62"),
        ("7460.4", "0.08", "596.83"),
        ("0.05", "0.1", "0.01"),
        ("0.049", "0.1", "0.00"),
    ],
)
def test_a_line_is_base_times_rate_rounded_half_up(base, rate, line):
    assert round_line(base, rate) == Decimal(line)
    assert str(round_line(base, rate)) == line


@pytest.mark.parametrize(
    ("value", "money"),
    [
        ("0.005", "0.01"),
        ("2.675", "2.68"),
        ("0.004", "0.00"),
        ("-2.675", "-2.68"),
        (7, "7.00"),
        (Decimal("1.5"), "1.50"),
    ],
)
def test_to_money_rounds_half_up_to_two_places(value, money):
    assert str(to_money(value)) == money


def test_a_negative_amount_that_rounds_to_zero_is_plain_zero():
    assert str(to_money("-0.001")) == "0.00"


@pytest.mark.parametrize("value", [1.5, 0.1, True])
def test_floats_are_refused_before_they_lose_cents(value):
    with pytest.raises(TypeError):
        to_money(value)
    with pytest.raises(TypeError):
        round_line(value, "0.2")


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity", "ten", ""])
def test_non_finite_or_non_numeric_text_is_refused(value):
    with pytest.raises(ValueError):
        to_money(value)


@given(st.decimals(min_value=0, max_value=10**9, places=4))
def test_to_money_matches_half_up_on_integer_cents(value):
    ten_thousandths = int(value * 10_000)
    cents, remainder = divmod(ten_thousandths, 100)
    expected = Decimal(cents + (1 if remainder >= 50 else 0)) / 100
    assert to_money(value) == expected
    assert to_money(to_money(value)) == to_money(value)


@given(
    st.integers(min_value=0, max_value=100_000),
    st.decimals(min_value=0, max_value=1, places=4),
)
def test_round_line_has_two_places_and_is_within_half_a_cent(base, rate):
    line = round_line(base, rate)
    assert line.as_tuple().exponent == -2
    assert abs(line - Decimal(base) * rate) <= Decimal("0.005")


def test_money_field_accepts_decimal_text_and_decimals_from_code():
    assert Priced(amount="1234.5").amount == Decimal("1234.50")
    assert Priced(amount="7162").amount == Decimal("7162.00")
    assert Priced(amount=Decimal("0.01")).amount == CENT
    assert Priced(amount="999999999999.99").amount == Decimal("999999999999.99")


@pytest.mark.parametrize("value, reason", [
    ("１００", 'must be a decimal string like "1234.50" (ASCII digits, no exponent, no spaces)'),
    ("1e2", 'must be a decimal string like "1234.50" (ASCII digits, no exponent, no spaces)'),
    (" 100", 'must be a decimal string like "1234.50" (ASCII digits, no exponent, no spaces)'),
    ("100 ", 'must be a decimal string like "1234.50" (ASCII digits, no exponent, no spaces)'),
    ("+100", 'must be a decimal string like "1234.50" (ASCII digits, no exponent, no spaces)'),
    ("1_000", 'must be a decimal string like "1234.50" (ASCII digits, no exponent, no spaces)'),
    ("100\x00", 'must be a decimal string like "1234.50" (ASCII digits, no exponent, no spaces)'),
    ("1.500", "money has at most 2 decimal places, got 1.500"),
    ("1000000000000", "money has at most 12 digits before the point"),
    ("9" * 40, "money has at most 12 digits before the point"),
])
def test_money_from_outside_is_plain_ascii_decimal_text(value, reason):
    assert _error(amount=value)["msg"] == reason


@pytest.mark.parametrize("document", ['{"amount": 100}', '{"amount": 1e2}', '{"amount": null}'])
def test_a_json_number_is_not_money(document):
    with pytest.raises(ValidationError, match="must be a decimal string"):
        Priced.model_validate_json(document)


def test_money_serializes_as_a_string_with_two_places():
    priced = Priced(amount="1234.5", refund="0", rate="0.0005")
    assert priced.model_dump_json() == '{"amount":"1234.50","refund":"0.00","rate":"0.0005"}'
    assert Priced.model_validate_json(priced.model_dump_json()) == priced


def test_money_stays_a_decimal_in_python():
    assert Priced(amount="3").model_dump()["amount"] == Decimal("3.00")


def _error(**fields) -> dict:
    with pytest.raises(ValidationError) as caught:
        Priced(**fields)
    (error,) = caught.value.errors()
    return error


@pytest.mark.parametrize("value", [1234.5, 1.0, False])
def test_money_field_refuses_floats_and_bools(value):
    error = _error(amount=value)
    assert error["loc"] == ("amount",)
    assert "not a" in error["msg"]


def test_money_field_refuses_a_float_in_json():
    with pytest.raises(ValidationError, match="not a float"):
        Priced.model_validate_json('{"amount": 1234.5}')


def test_money_field_does_not_round_input():
    error = _error(amount="1.005")
    assert error["msg"] == "money has at most 2 decimal places, got 1.005"
    assert _error(amount=Decimal("1.005"))["msg"] == "money has at most two decimal places, got 1.005"


@pytest.mark.parametrize("value", ["NaN", "Infinity", "one"])
def test_money_field_refuses_what_is_not_a_finite_number(value):
    assert _error(amount=value)["loc"] == ("amount",)


def test_non_negative_money_refuses_negative_amounts():
    assert Priced(amount="-5").amount == Decimal("-5.00")
    assert _error(amount="1", refund="-0.01")["msg"] == "must not be negative, got -0.01"


def test_rates_keep_their_places_and_stay_between_zero_and_one():
    assert Priced(amount="1", rate="0.0005").rate == Decimal("0.0005")
    assert _error(amount="1", rate="1.2")["loc"] == ("rate",)
    assert _error(amount="1", rate=0.2)["loc"] == ("rate",)
    assert _error(amount="1", rate="0.000000001")["msg"] == "a rate has at most 8 decimal places, got 0.000000001"
    assert _error(amount="1", rate="10.5")["msg"] == "a rate has at most 1 digits before the point"


def test_money_json_schema_says_decimal_string():
    schema = Priced.model_json_schema()["properties"]["amount"]
    assert schema["type"] == "string"
