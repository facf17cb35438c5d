"""The HTTP load generator's applicants: never a person the running platform already knows."""

from __future__ import annotations

import itertools

from bench import http_load
from shared.identity import person_id_for
from tooling.journey import a_resident_id_number


def test_an_applicant_is_never_a_person_the_platform_or_the_run_has_seen(monkeypatch):
    numbers: set[str] = set()
    while len(numbers) < 3:
        numbers.add(a_resident_id_number())
    known, seen_in_run, new = sorted(numbers)
    drawn = itertools.chain([known, seen_in_run, known, seen_in_run, new])
    monkeypatch.setattr(http_load, "a_resident_id_number", lambda: next(drawn))
    mix = http_load.Mix({"enrollment": [1]}, billed=[], known_persons={person_id_for(known)})

    assert mix._new_applicant() == seen_in_run
    assert mix._new_applicant() == new
