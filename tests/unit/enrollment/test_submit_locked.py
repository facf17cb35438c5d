"""The locked path of submitting an application refuses an ID number that is not valid before it
reaches the database — as the path without locks does — rather than relying on an ``assert``,
which ``python -O`` removes."""

from __future__ import annotations

from datetime import date

import pytest

from services.enrollment.domain.eligibility import Violation
from services.enrollment.operations.applications import _submit_locked
from services.enrollment.operations.common import Refused


class NoDatabase:
    """Units of work that fail the test if any is asked for."""

    def __getattr__(self, name: str):
        raise AssertionError(f"the database was reached ({name})")


async def test_an_invalid_id_number_is_refused_before_any_unit_of_work():
    invalid = Violation("id_number", "check_character", "the check character does not match")
    with pytest.raises(Refused) as refused:
        await _submit_locked(NoDatabase(), form=None, contact=None, identity=(None, [invalid]),
                             today=date(2026, 12, 7), cause=None)
    assert refused.value.violations == [invalid]
