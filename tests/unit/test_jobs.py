"""The window in which an operator may run a job, and what a back-run needs."""

from __future__ import annotations

from datetime import date

import pytest

from shared.jobs import JobWindow, is_back_run, job_date_problems

TODAY = date(2026, 12, 2)


@pytest.mark.parametrize("as_of", [TODAY, date(2026, 11, 1), date(2027, 2, 2)])
def test_a_run_within_the_window_needs_nothing(as_of):
    assert job_date_problems(as_of, TODAY, None) == []


def test_a_run_past_the_window_ahead_is_refused_whatever_the_reason():
    assert job_date_problems(date(2027, 2, 3), TODAY, "please") == [
        ("body.as_of", "at most 62 days ahead of today (2026-12-02): 2027-02-02 or earlier")]
    assert job_date_problems(date(9999, 12, 31), TODAY, None)[0][0] == "body.as_of"


def test_a_run_further_back_is_a_back_run_that_says_why():
    assert job_date_problems(date(2026, 10, 31), TODAY, None) == [
        ("body.back_run_reason", "a run more than 31 days back is a back-run: say why in back_run_reason")]
    assert job_date_problems(date(2026, 10, 31), TODAY, "re-run after the outage") == []
    assert is_back_run(date(2026, 10, 31), TODAY) and not is_back_run(date(2026, 11, 1), TODAY)


def test_nothing_runs_before_2000():
    assert job_date_problems(date(1999, 12, 31), TODAY, "history") == [("body.as_of", "no run before 2000-01-01")]


def test_a_deployment_sets_its_own_window():
    window = JobWindow(behind_days=0, ahead_days=0)

    assert job_date_problems(date(2026, 12, 3), TODAY, None, window)[0][0] == "body.as_of"
    assert job_date_problems(date(2026, 12, 1), TODAY, None, window)[0][0] == "body.back_run_reason"
