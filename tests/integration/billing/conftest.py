"""One billing service (its own schema and topic prefix) for every billing integration test.

Tests share it and keep to their own persons; small chunks make every run and scan
exercise the chunked walk over persons.
"""

from __future__ import annotations

import uuid

import pytest

from services.billing.app import SERVICE
from tests.service_harness import running_service


@pytest.fixture(scope="package")
async def billing(infrastructure):
    name = f"b{uuid.uuid4().hex[:10]}"
    # the policy stories run jobs for months a year ahead, further than a deployment allows by default
    async with running_service(infrastructure, SERVICE, prefix=f"{name}.", billing_batch_size=3,
                               jobs_ahead_days=366) as service:
        yield service
