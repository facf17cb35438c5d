"""The pension estimate against figures computed by hand from the formula (DOMAIN.md, Pension
estimate; the choices are in the docstring of ``domain/pension.py``).

The resident: a man born in January 1966 (retirement category male_60). The reform adds
k // 4 + 1 = 12 // 4 + 1 = 4 months (k = months from 1965-01): he retires at 60 years 4 months,
in May 2026, and the divisor for 60 is 139. He paid 2024 at a base of 8 000 and 2025 at 11 000;
this is January 2026 and he pays on at today's base from January to April 2026 (4 months).
The region published W 2024 = 10 000 and W 2025 = 11 000, and the 2024 account rate 2.62%.
"""

from datetime import date
from decimal import Decimal

from services.billing.domain.pension import (
    Assumptions,
    ContributionMonth,
    PensionFigures,
    average_wage,
    estimate,
    figure_problems,
    figures_in_force,
    minimum_months,
    retirement_age_months,
    wages_from_ceilings,
)
from shared.periods import Month

BORN = Month(1966, 1)
RECORD = ([ContributionMonth(Month(2024, m), Decimal("8000")) for m in range(1, 13)]
          + [ContributionMonth(Month(2025, m), Decimal("11000")) for m in range(1, 13)])
FIGURES = PensionFigures(average_wages={2024: Decimal("10000"), 2025: Decimal("11000")},
                         interest_rates={2024: Decimal("0.0262")})


def his_estimate(base: str):
    age = retirement_age_months(BORN, "male_60")
    return estimate(RECORD, future_base=Decimal(base), start=Month(2026, 1), retirement=BORN.plus(age),
                    age_at_retirement_months=age, figures=FIGURES, assumptions=Assumptions())


def test_he_retires_at_60_years_4_months():
    assert retirement_age_months(BORN, "male_60") == 60 * 12 + 4
    assert BORN.plus(724) == Month(2026, 5)


def test_the_estimate_at_todays_base_matches_the_hand_computation_to_the_cent():
    # W 2026 is not published: 11 000 × 1.03 = 11 330.00 (default wage growth)
    # Z = (12 × 8000/10000 + 12 × 11000/11000 + 4 × 11000/11330) / 28
    #   = (9.6 + 12 + 3.883495…) / 28 = 0.910124… → 0.9101
    # basic = W 2025 × (1 + Z) / 2 × 28/12 × 1% = 11000 × 1.9101 / 2 × 28 / 12 / 100 = 245.1295 → 245.13
    # account: 2024 12 × 640.00 = 7 680.00 (no balance to credit yet);
    #          2025 7 680.00 × 2.5% (not published: the default) = 192.00, + 12 × 880.00 → 18 432.00;
    #          2026 (retirement year, no interest) + 4 × 880.00 → 21 952.00
    # personal = 21 952.00 / 139 = 157.928… → 157.93; monthly 245.13 + 157.93 = 403.06
    estimate_ = his_estimate("11000")

    assert estimate_.contribution_months == 28
    assert estimate_.future_months == 4
    assert estimate_.wages_used[2026] == Decimal("11330.00")
    assert estimate_.average_index == Decimal("0.9101")
    assert estimate_.average_wage_at_retirement == Decimal("11000")
    assert estimate_.basic_part == Decimal("245.13")
    assert estimate_.account_balance == Decimal("21952.00")
    assert estimate_.months_divisor == 139
    assert estimate_.personal_account_part == Decimal("157.93")
    assert estimate_.monthly_pension == Decimal("403.06")


def test_he_is_short_of_the_minimum_by_152_months():
    # retiring in 2026: 15 years = 180 months; 180 - 28 = 152 months = 12.666… → 12.67 years
    estimate_ = his_estimate("11000")

    assert (estimate_.minimum_months, estimate_.months_missing, estimate_.years_missing) == (
        180, 152, Decimal("12.67"))


def test_the_same_estimate_at_the_beijing_floor_and_ceiling():
    # floor 7 162: Z = (21.6 + 4 × 7162/11330) / 28 = 0.86173… → 0.8617;
    #   basic 11000 × 1.8617 / 2 × 28/12 / 100 = 238.918… → 238.92
    #   account 18 432.00 + 4 × 572.96 = 20 723.84; / 139 = 149.092… → 149.09; total 388.01
    # ceiling 35 811: Z = (21.6 + 4 × 35811/11330) / 28 = 1.22296… → 1.2230;
    #   basic 11000 × 2.2230 / 2 × 28/12 / 100 = 285.285 → 285.29 (half up)
    #   account 18 432.00 + 4 × 2 864.88 = 29 891.52; / 139 = 215.046… → 215.05; total 500.34
    floor, ceiling = his_estimate("7162"), his_estimate("35811")

    assert (floor.average_index, floor.basic_part, floor.personal_account_part, floor.monthly_pension) == (
        Decimal("0.8617"), Decimal("238.92"), Decimal("149.09"), Decimal("388.01"))
    assert (ceiling.average_index, ceiling.basic_part, ceiling.personal_account_part,
            ceiling.monthly_pension) == (Decimal("1.2230"), Decimal("285.29"), Decimal("215.05"), Decimal("500.34"))


def test_a_year_without_a_published_wage_grows_from_the_nearest_one():
    published = {2025: Decimal("11000")}

    assert average_wage(2027, published, Decimal("0.03")) == Decimal("11669.90")  # 11000 × 1.0609
    assert average_wage(2024, published, Decimal("0.10")) == Decimal("10000.00")  # 11000 / 1.1


def test_where_nothing_is_published_w_is_the_ceiling_divided_by_three():
    assert wages_from_ceilings({2024: Decimal("11761")}, {2025: Decimal("35811"), 2024: Decimal("1")}) == {
        2024: Decimal("11761"), 2025: Decimal("11937.00")}


def test_a_later_version_of_a_figure_supersedes_the_earlier_once_in_force():
    rows = [(2024, Decimal("11000"), Decimal("0.0262"), date(2025, 7, 1)),
            (2024, Decimal("11100"), None, date(2026, 3, 1))]

    assert figures_in_force(rows, date(2026, 1, 1)) == ({2024: Decimal("11000")}, {2024: Decimal("0.0262")})
    assert figures_in_force(rows, date(2026, 3, 1)) == ({2024: Decimal("11100")}, {2024: Decimal("0.0262")})


def test_the_minimum_rises_six_months_a_year_from_2030_to_twenty_years():
    assert [minimum_months(y) for y in (2029, 2030, 2035, 2039, 2045)] == [180, 186, 216, 240, 240]


def test_the_reform_table_of_domain_md():
    assert retirement_age_months(Month(1964, 12), "male_60") == 720
    assert retirement_age_months(Month(1965, 1), "male_60") == 721
    assert retirement_age_months(Month(1976, 9), "male_60") == 756
    assert retirement_age_months(Month(1981, 9), "female_55") == 58 * 12
    assert retirement_age_months(Month(1984, 11), "female_50") == 55 * 12


def test_nobody_paying_on_gets_only_the_record():
    estimate_ = estimate(RECORD, future_base=None, start=Month(2026, 1), retirement=Month(2026, 5),
                         age_at_retirement_months=724, figures=FIGURES, assumptions=Assumptions())

    assert (estimate_.future_months, estimate_.contribution_months) == (0, 24)
    assert estimate_.account_balance == Decimal("18432.00")  # 2026 adds nothing


def test_a_published_figure_changes_estimates_from_its_date_on_only():
    today = date(2026, 12, 3)

    assert figure_problems(2026, date(2027, 1, 1), Decimal("13000"), Decimal("0.025"), today) == []
    assert figure_problems(2025, date(2026, 12, 1), Decimal("13000"), None, today) == [
        ("body.effective_from", "a version takes effect today or later, never in the past")]
    assert figure_problems(2028, today, None, Decimal("0.3"), today) == [
        ("body.account_interest_rate", "an account interest rate is at most 0.20"),
        ("body.year", "a figure is for a year from 1990 up to the year it takes effect")]
    assert figure_problems(2026, today, None, None, today) == [
        ("body.average_wage", "give the average wage, the interest rate or both")]
