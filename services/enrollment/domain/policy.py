"""The regional policies enrollment keeps from ``PolicyPublished``: which programmes a region
offers individuals, their base ranges and the payment frequencies allowed.

Policies are versioned by ``effective_from``; the version in force on a day is the latest
one that started on or before it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from shared.events import PolicyPublished


@dataclass(frozen=True)
class Policy:
    """One version of a region's policy for one programme."""

    region: str
    programme: str
    effective_from: date
    base_floor: Decimal | None
    base_ceiling: Decimal | None
    frequencies: tuple[str, ...]

    @property
    def has_base_range(self) -> bool:
        """Whether the programme is priced on a declared base (flat-priced ones are not)."""
        return self.base_floor is not None or self.base_ceiling is not None

    def base_within_range(self, base: Decimal) -> bool:
        """Whether ``base`` lies in [floor, ceiling]; both ends included."""
        if self.base_floor is not None and base < self.base_floor:
            return False
        return self.base_ceiling is None or base <= self.base_ceiling

    @classmethod
    def from_event(cls, event: PolicyPublished) -> Policy:
        return cls(
            region=event.region,
            programme=event.programme,
            effective_from=event.effective_from,
            base_floor=event.base_floor,
            base_ceiling=event.base_ceiling,
            frequencies=tuple(event.frequencies),
        )


def policies_in_force(versions: Iterable[Policy], on: date) -> dict[str, Policy]:
    """The version of each programme's policy in force on ``on`` (programmes not yet offered are absent)."""
    in_force: dict[str, Policy] = {}
    for version in versions:
        if version.effective_from > on:
            continue
        current = in_force.get(version.programme)
        if current is None or version.effective_from > current.effective_from:
            in_force[version.programme] = version
    return in_force
