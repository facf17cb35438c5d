"""A person's contribution record: months paid and missed per programme, what was paid,
contribution years, and the pension personal account (Σ base × personal share)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class RecordedLine:
    """One month of one programme as billed, with how its bill ended up."""

    programme: str
    month: str
    amount: Decimal
    personal_account: Decimal | None
    bill_status: str  # open, overdue, paid, missed, cancelled


@dataclass
class ProgrammeRecord:
    programme: str
    months_paid: list[str] = field(default_factory=list)
    months_missed: list[str] = field(default_factory=list)
    months_due: list[str] = field(default_factory=list)
    total_paid: Decimal = ZERO
    personal_account: Decimal = ZERO

    @property
    def contribution_months(self) -> int:
        return len(self.months_paid)

    @property
    def contribution_years(self) -> Decimal:
        return contribution_years(self.contribution_months)


def contribution_years(months: int) -> Decimal:
    """Months as years with two places, never rounded up (15 years means 180 months)."""
    return (Decimal(months) / 12).quantize(Decimal("0.01"), rounding=ROUND_DOWN)


def build_record(lines: Iterable[RecordedLine]) -> dict[str, ProgrammeRecord]:
    """Per programme: a month counts as paid once its bill is settled, missed once it is missed."""
    records: dict[str, ProgrammeRecord] = {}
    for line in sorted(lines, key=lambda item: (item.programme, item.month)):
        record = records.setdefault(line.programme, ProgrammeRecord(line.programme))
        if line.bill_status == "paid":
            record.months_paid.append(line.month)
            record.total_paid += line.amount
            record.personal_account += line.personal_account or ZERO
        elif line.bill_status == "missed":
            record.months_missed.append(line.month)
        elif line.bill_status in ("open", "overdue"):
            record.months_due.append(line.month)
    return records
