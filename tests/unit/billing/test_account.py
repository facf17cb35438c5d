from datetime import date

from services.billing.domain.account import change_applies_now, resume_month
from shared.periods import Month


def test_a_change_waits_for_the_first_cycle_starting_at_or_after_its_month():
    assert change_applies_now(Month(2025, 10), next_cycle_start=Month(2025, 10))
    assert change_applies_now(Month(2025, 9), next_cycle_start=Month(2025, 10))
    assert not change_applies_now(Month(2025, 11), next_cycle_start=Month(2025, 10))


def test_billing_resumes_with_the_month_after_a_reinstatement():
    assert resume_month(Month(2025, 8), date(2025, 11, 20)) == Month(2025, 12)
    assert resume_month(Month(2026, 1), date(2025, 11, 20)) == Month(2026, 1)
