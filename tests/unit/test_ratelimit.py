"""The token buckets behind the public routes' rate limit, on a clock the test moves."""

from __future__ import annotations

import pytest

from shared import ratelimit
from shared.ratelimit import TokenBuckets


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_is_served_then_the_client_waits_for_the_rate():
    clock = Clock()
    buckets = TokenBuckets(per_minute=60, burst=3, clock=clock)

    assert [buckets.take("a") for _ in range(4)] == [True, True, True, False]
    assert buckets.seconds_until_next("a") == 1
    clock.now += 1.0
    assert buckets.take("a")
    assert not buckets.take("a")


def test_each_client_has_its_own_allowance():
    buckets = TokenBuckets(per_minute=60, burst=1, clock=Clock())

    assert buckets.take("a")
    assert not buckets.take("a")
    assert buckets.take("b")


def test_an_idle_client_gets_back_no_more_than_its_burst():
    clock = Clock()
    buckets = TokenBuckets(per_minute=60, burst=2, clock=clock)
    buckets.take("a")
    clock.now += 3600

    assert [buckets.take("a") for _ in range(3)] == [True, True, False]


def test_the_table_of_clients_is_bounded(monkeypatch):
    monkeypatch.setattr(ratelimit, "MAX_CLIENTS", 3)
    buckets = TokenBuckets(per_minute=60, burst=1, clock=Clock())
    for client in ("a", "b", "c", "d"):
        buckets.take(client)

    assert buckets.take("a")  # forgotten as the least recently seen: a fresh allowance
    assert not buckets.take("d")


def test_a_limit_needs_a_positive_rate():
    with pytest.raises(ValueError):
        TokenBuckets(per_minute=0, burst=1)
