"""A rate limit for the routes anyone may call without a token (voucher verification).

A token bucket per client address, in the process: ``per_minute`` requests a minute on
average, bursts up to ``burst``. Over the limit the answer is ``429 rate_limited`` with a
``Retry-After`` header. The table of clients is bounded (the least recently seen go first),
so a flood of addresses cannot grow it without end. Behind a proxy, put the limit there too:
this one sees the proxy's address.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from fastapi import Request

from shared.errors import ApiError

MAX_CLIENTS = 10_000


@dataclass
class _Bucket:
    tokens: float
    updated: float


class TokenBuckets:
    """Allowance per client: ``take(client)`` is True while the client is within its limit."""

    def __init__(self, per_minute: int, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        if per_minute <= 0 or burst <= 0:
            raise ValueError("a rate limit needs a positive rate and burst")
        self.rate_per_s = per_minute / 60
        self.burst = burst
        self._clock = clock
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def take(self, client: str) -> bool:
        """Spend one request of ``client``'s allowance; False when it has none left."""
        now = self._clock()
        bucket = self._buckets.pop(client, None) or _Bucket(float(self.burst), now)
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.rate_per_s)
        bucket.updated = now
        self._buckets[client] = bucket
        if len(self._buckets) > MAX_CLIENTS:
            self._buckets.popitem(last=False)
        if bucket.tokens < 1:
            return False
        bucket.tokens -= 1
        return True

    def seconds_until_next(self, client: str) -> int:
        """How long ``client`` waits for its next request (for ``Retry-After``)."""
        bucket = self._buckets.get(client)
        missing = 1 - bucket.tokens if bucket else 0
        return max(1, math.ceil(missing / self.rate_per_s))


def rate_limited(per_minute: int = 60, burst: int = 20) -> Callable[[Request], Awaitable[None]]:
    """A FastAPI dependency refusing a client over ``per_minute`` (bursts up to ``burst``); ``async``
    so that it runs on the event loop, not in FastAPI's thread pool (see ``get_runtime``)."""
    buckets = TokenBuckets(per_minute, burst)

    async def check(request: Request) -> None:
        client = request.client.host if request.client else "unknown"
        if not buckets.take(client):
            wait = buckets.seconds_until_next(client)
            raise ApiError(429, "rate_limited", [{"reason": f"too many requests; try again in {wait} s"}],
                           headers={"Retry-After": str(wait)})

    return check
