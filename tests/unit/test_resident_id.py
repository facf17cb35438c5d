"""Tests for shared.resident_id (GB 11643-1999)."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from shared.resident_id import (
    EARLIEST_BIRTH_DATE,
    PROVINCE_CODES,
    InvalidResidentId,
    ResidentId,
    check_character,
    parse_resident_id,
)

TODAY = date(2025, 7, 1)

# Independent of the module under test: the published province prefixes.
PROVINCES = sorted(
    f"{n:02d}"
    for n in [*range(11, 16), *range(21, 24), *range(31, 38), *range(41, 47),
              *range(50, 55), *range(61, 66), 71, 81, 82]
)


def parse(text: str) -> ResidentId:
    return parse_resident_id(text, today=TODAY)


def rule_of(text: str) -> str:
    with pytest.raises(InvalidResidentId) as info:
        parse(text)
    return info.value.rule


def with_check(first17: str) -> str:
    return first17 + check_character(first17)


# --- check character ----------------------------------------------------------------

@pytest.mark.parametrize(
    "first17, expected",
    [
        ("11010519491231002", "X"),
        ("44052418800101001", "4"),
        ("34052419800101001", "X"),
    ],
)
def test_check_character_known_values(first17, expected):
    assert check_character(first17) == expected


def test_check_character_rejects_wrong_input():
    for bad in ["1101051949123100", "110105194912310021", "1101051949123100X", "١١٠١٠٥١٩٤٩١٢٣١٠٠٢"]:
        with pytest.raises(ValueError):
            check_character(bad)


def test_check_character_mapping_by_hand():
    # sum = 1 * 2 (weight of the 17th digit) = 2 -> "X"
    assert check_character("0" * 16 + "1") == "X"
    # all zeros: sum 0 -> "1"
    assert check_character("0" * 17) == "1"


# --- domain examples ----------------------------------------------------------------

def test_valid_example_female_1949():
    rid = parse("11010519491231002X")
    assert rid.number == "11010519491231002X"
    assert rid.region_code == "110105"
    assert rid.birth_date == date(1949, 12, 31)
    assert rid.sequence == 2
    assert rid.sex == "female"
    assert str(rid) == "11010519491231002X"


def test_valid_example_male_1880():
    rid = parse("440524188001010014")
    assert rid.region_code == "440524"
    assert rid.birth_date == date(1880, 1, 1)
    assert rid.sequence == 1
    assert rid.sex == "male"


def test_invalid_example_check_digit():
    with pytest.raises(InvalidResidentId) as info:
        parse("340524198001010013")
    assert info.value.rule == "check_digit"
    assert "X" in info.value.message
    assert isinstance(info.value, ValueError)


def test_lowercase_x_and_whitespace_accepted():
    rid = parse("  11010519491231002x\n")
    assert rid.number == "11010519491231002X"


def test_default_today_is_used_when_not_given():
    assert parse_resident_id("11010519491231002X").birth_date == date(1949, 12, 31)


# --- format -------------------------------------------------------------------------

@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "11010519491231002",       # 17
        "11010519491231002X1",     # 19
        "110105194912310X2X",      # X not last
        "11010519491231002Y",
        "1101051949 1231002X",
        "110105-19491231-002X",
        "１１０１０５１９４９１２３１００２Ｘ",  # full-width digits
        "١١٠١٠٥١٩٤٩١٢٣١٠٠٢X",    # Arabic-Indic digits pass str.isdigit()
        "110105194912310021"[:15] + "abc",
    ],
)
def test_format_errors(text):
    assert rule_of(text) == "format"


def test_non_string_is_format_error():
    with pytest.raises(InvalidResidentId) as info:
        parse_resident_id(110105194912310021)  # type: ignore[arg-type]
    assert info.value.rule == "format"


# --- region code --------------------------------------------------------------------

def test_province_codes_match_gb_t_2260_list():
    assert sorted(PROVINCE_CODES) == PROVINCES


@pytest.mark.parametrize("prefix", ["00", "10", "16", "20", "24", "30", "38", "40", "47",
                                    "49", "55", "60", "66", "70", "72", "80", "83", "91", "99"])
def test_unknown_province_prefix(prefix):
    assert rule_of(with_check(prefix + "0105194912310020"[:15])) == "region_code"


def test_province_level_code_alone_is_accepted():
    # Only the province prefix is validated; "110000" is allowed.
    assert parse(with_check("11000019900101001")).region_code == "110000"


def test_region_is_checked_before_birth_date_and_check_digit():
    assert rule_of("990105194913310021") == "region_code"


# --- birth date ---------------------------------------------------------------------

def test_feb_29_on_leap_year_is_valid():
    assert parse(with_check("11010520000229001")).birth_date == date(2000, 2, 29)


@pytest.mark.parametrize("digits", ["19000229", "20230229", "19491301", "19490100",
                                    "19491200", "19490001", "19490431", "00000101"])
def test_not_a_calendar_date(digits):
    assert rule_of(with_check("110105" + digits + "002")) == "birth_date"


def test_future_birth_date_rejected():
    assert rule_of(with_check("11010520250702001")) == "birth_date"
    assert parse(with_check("11010520250701001")).birth_date == TODAY


def test_birth_date_lower_bound():
    assert EARLIEST_BIRTH_DATE == date(1850, 1, 1)
    assert parse(with_check("11010518500101001")).birth_date == date(1850, 1, 1)
    assert rule_of(with_check("11010518491231001")) == "birth_date"


def test_birth_date_checked_before_check_digit():
    number = with_check("11010519491331002")
    wrong = number[:17] + ("0" if number[17] != "0" else "1")
    assert rule_of(wrong) == "birth_date"


# --- age ------------------------------------------------------------------------------

def test_age_on_ordinary_birthday():
    rid = parse("11010519491231002X")
    assert rid.age_on(date(2025, 12, 30)) == 75
    assert rid.age_on(date(2025, 12, 31)) == 76
    assert rid.age_on(date(1949, 12, 31)) == 0


def test_age_on_feb_29_birthday_ages_on_march_1_in_non_leap_years():
    rid = parse(with_check("11010520000229001"))
    assert rid.age_on(date(2016, 2, 28)) == 15
    assert rid.age_on(date(2016, 2, 29)) == 16       # leap year: on the day
    assert rid.age_on(date(2017, 2, 28)) == 16       # non-leap: not yet
    assert rid.age_on(date(2017, 3, 1)) == 17


def test_age_before_birth_rejected():
    with pytest.raises(ValueError):
        parse("11010519491231002X").age_on(date(1949, 12, 30))


def test_resident_id_is_frozen_and_sex_is_derived():
    rid = ResidentId("11010519491231001X", "110105", date(1949, 12, 31), 1)
    assert rid.sex == "male"
    with pytest.raises(AttributeError):
        rid.number = "x"  # type: ignore[misc]


# --- properties -----------------------------------------------------------------------

valid_parts = st.tuples(
    st.sampled_from(PROVINCES),
    st.integers(0, 9999),
    st.dates(min_value=date(1850, 1, 1), max_value=TODAY),
    st.integers(0, 999),
)


def build(province: str, county: int, born: date, seq: int) -> str:
    return with_check(f"{province}{county:04d}{born:%Y%m%d}{seq:03d}")


@given(valid_parts)
def test_generated_valid_numbers_round_trip(parts):
    province, county, born, seq = parts
    number = build(*parts)
    rid = parse(number)
    assert rid.number == number
    assert rid.region_code == f"{province}{county:04d}"
    assert rid.birth_date == born
    assert rid.sequence == seq
    assert rid.sex == ("male" if seq % 2 == 1 else "female")
    assert parse(f" {number.lower()} ") == rid


def _is_valid_date(digits: str) -> bool:
    try:
        d = date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError:
        return False
    return EARLIEST_BIRTH_DATE <= d <= TODAY


@given(valid_parts, st.integers(0, 16), st.integers(1, 9))
def test_changing_one_digit_is_detected(parts, position, delta):
    number = build(*parts)
    digit = (int(number[position]) + delta) % 10
    mutated = number[:position] + str(digit) + number[position + 1:]
    # Every weight is non-zero mod 11 and 11 is prime, so the expected check
    # character changes with any single-digit change.
    assert check_character(mutated[:17]) != number[17]
    if mutated[:2] not in PROVINCES:
        expected = "region_code"
    elif not _is_valid_date(mutated[6:14]):
        expected = "birth_date"
    else:
        expected = "check_digit"
    assert rule_of(mutated) == expected


@given(valid_parts, st.sampled_from("0123456789X"))
def test_wrong_check_character_is_detected(parts, replacement):
    number = build(*parts)
    assume(replacement != number[17])
    assert rule_of(number[:17] + replacement) == "check_digit"


@given(
    st.text(alphabet="0123456789Xx", max_size=40).filter(lambda s: len(s) != 18)
    | st.text(max_size=40).filter(lambda s: len(s.strip()) != 18)
)
def test_wrong_length_is_format_error(text):
    assert rule_of(text) == "format"
