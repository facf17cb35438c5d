"""The enrollment service's domain: pure rules and records, no I/O.

- ``retirement``: the statutory retirement age of the 2025 reform.
- ``policy``: the regional policies projected from ``PolicyPublished``.
- ``eligibility``: who may apply for what, against the region's policies and the person's record.
- ``coverage``: start, change and last months; when an overdue bill suspends; the medical waiting period.
- ``lifecycle``: the states of applications and enrolments.
- ``model``: applications and enrolments and the decisions taken on them (approval, change, reinstatement).

Nothing here reads the clock: callers pass "today" (or the approval's date) in.
"""
