from datetime import date
from decimal import Decimal

from services.billing.domain.policy import all_in_force, bill_terms, in_force, policy_problems
from tests.unit.billing.examples import beijing_medical, beijing_pension, shanghai_pension

TODAY = date(2026, 3, 10)


def fields(problems):
    return {problem.field for problem in problems}


def test_a_well_formed_future_version_can_be_published():
    assert policy_problems(beijing_pension(effective_from=date(2026, 7, 1)), TODAY) == []
    assert policy_problems(beijing_medical(effective_from=date(2026, 4, 1)), TODAY) == []


def test_a_version_takes_effect_on_the_first_of_a_future_month():
    assert fields(policy_problems(beijing_pension(effective_from=date(2026, 3, 1)), TODAY)) == {"body.effective_from"}
    assert fields(policy_problems(beijing_pension(effective_from=date(2026, 7, 15)), TODAY)) == {"body.effective_from"}


def test_a_programme_is_priced_by_a_rate_or_a_flat_amount_not_both():
    both = beijing_medical(effective_from=date(2026, 7, 1), rate=Decimal("0.1"))
    neither = beijing_pension(effective_from=date(2026, 7, 1), rate=None, personal_account_rate=None)

    assert "body.rate" in fields(policy_problems(both, TODAY))
    assert "body.rate" in fields(policy_problems(neither, TODAY))


def test_a_base_range_is_whole_yuan_with_the_floor_under_the_ceiling():
    upside_down = beijing_pension(effective_from=date(2026, 7, 1), base_floor=Decimal("40000"))
    in_fen = beijing_pension(effective_from=date(2026, 7, 1), base_floor=Decimal("7460.4"))

    assert fields(policy_problems(upside_down, TODAY)) == {"body.base_ceiling"}
    assert fields(policy_problems(in_fen, TODAY)) == {"body.base_floor"}


def test_the_personal_account_is_a_share_of_the_rate():
    greedy = beijing_pension(effective_from=date(2026, 7, 1), personal_account_rate=Decimal("0.3"))

    assert fields(policy_problems(greedy, TODAY)) == {"body.personal_account_rate"}


def test_frequencies_and_days_are_checked():
    odd = beijing_pension(effective_from=date(2026, 7, 1), frequencies=("weekly",), due_day=30, grace_days=-1)

    assert fields(policy_problems(odd, TODAY)) == {"body.frequencies", "body.due_day", "body.grace_days"}


def test_the_version_in_force_is_the_latest_that_has_started():
    new = beijing_pension(effective_from=date(2026, 7, 1), base_floor=Decimal("7500"))
    versions = [beijing_pension(), new, beijing_medical()]

    assert in_force(versions, "110000", "pension", date(2026, 6, 30)) == beijing_pension()
    assert in_force(versions, "110000", "pension", date(2026, 7, 1)) == new
    assert in_force(versions, "110000", "pension", date(2025, 6, 30)) is None
    assert all_in_force(versions + [shanghai_pension()], date(2026, 7, 1), "110000") == [beijing_medical(), new]


def test_a_bill_mixing_programmes_takes_the_strictest_terms():
    lenient = beijing_medical(due_day=20, grace_days=5)
    strict = shanghai_pension(due_day=15, grace_days=0, late_fee_daily_rate=Decimal("0.001"))

    assert bill_terms([lenient, strict]) == (15, 0, Decimal("0.001"), False, 90)
    assert bill_terms([beijing_pension(), beijing_medical()]) == (15, 0, Decimal("0.0005"), True, None)
