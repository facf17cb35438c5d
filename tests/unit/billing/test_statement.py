from decimal import Decimal

from services.billing.domain.statement import RecordedLine, build_record, contribution_years


def pension(month: str, status: str) -> RecordedLine:
    return RecordedLine("pension", month, Decimal("1432.40"), Decimal("572.96"), status)


def test_only_settled_months_count_towards_the_record():
    record = build_record([pension("2025-07", "paid"), pension("2025-08", "paid"), pension("2025-09", "overdue"),
                           pension("2025-10", "missed")])["pension"]

    assert record.months_paid == ["2025-07", "2025-08"]
    assert record.months_due == ["2025-09"]
    assert record.months_missed == ["2025-10"]
    assert record.total_paid == Decimal("2864.80")
    assert record.personal_account == Decimal("1145.92")


def test_contribution_years_are_never_rounded_up():
    assert contribution_years(179) == Decimal("14.91")
    assert contribution_years(180) == Decimal("15.00")
