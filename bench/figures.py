"""How the benches sum up repeated runs: a figure's median with its range."""

from __future__ import annotations

import statistics


def spread(values: list[float], digits: int) -> dict[str, float]:
    """The median, the smallest and the largest of ``values``, rounded to ``digits`` (0: whole numbers)."""
    return {name: round(value, digits) if digits else round(value)
            for name, value in (("median", statistics.median(values)), ("min", min(values)), ("max", max(values)))}
