"""The states of an application and of an enrolment, and which moves between them are allowed.

Application: submitted → awaiting_documents → approved / rejected / withdrawn (withdrawn or
rejected also straight from submitted). Documents rejected keeps it awaiting documents.
Enrolment: active ⇄ suspended, either → terminated; a change of base or frequency keeps the state.
"""

from __future__ import annotations

from typing import Literal

ApplicationStatus = Literal["submitted", "awaiting_documents", "approved", "rejected", "withdrawn"]
EnrollmentStatus = Literal["active", "suspended", "terminated"]

OPEN_APPLICATION: frozenset[str] = frozenset({"submitted", "awaiting_documents"})
OPEN_ENROLLMENT: frozenset[str] = frozenset({"active", "suspended"})

_APPLICATION_MOVES: dict[str, frozenset[str]] = {
    "submitted": frozenset({"awaiting_documents", "approved", "rejected", "withdrawn"}),
    "awaiting_documents": frozenset({"awaiting_documents", "approved", "rejected", "withdrawn"}),
}
_ENROLLMENT_MOVES: dict[str, frozenset[str]] = {
    "active": frozenset({"active", "suspended", "terminated"}),
    "suspended": frozenset({"suspended", "active", "terminated"}),
}


class TransitionRefused(Exception):
    """A move the state machine does not allow, e.g. withdrawing an approved application."""

    def __init__(self, what: str, current: str, wanted: str) -> None:
        super().__init__(f"the {what} is {current}; it cannot become {wanted}")
        self.what = what
        self.current = current
        self.wanted = wanted


def can_move_application(current: str, wanted: str) -> bool:
    return wanted in _APPLICATION_MOVES.get(current, frozenset())


def can_move_enrollment(current: str, wanted: str) -> bool:
    return wanted in _ENROLLMENT_MOVES.get(current, frozenset())


def ensure_application_move(current: str, wanted: str) -> None:
    """Raise ``TransitionRefused`` unless an application may go from ``current`` to ``wanted``."""
    if not can_move_application(current, wanted):
        raise TransitionRefused("application", current, wanted)


def ensure_enrollment_move(current: str, wanted: str) -> None:
    """Raise ``TransitionRefused`` unless an enrolment may go from ``current`` to ``wanted``."""
    if not can_move_enrollment(current, wanted):
        raise TransitionRefused("enrollment", current, wanted)
