"""Fixtures shared by the integration tests."""

from __future__ import annotations

import pytest

from .test_delivery import start_pair


@pytest.fixture
async def pair(infrastructure, unique_name):
    """A producing 'enrollment' and a consuming 'documents' runtime (``test_delivery.Pair``), stopped after."""
    pair = await start_pair(infrastructure, unique_name)
    yield pair
    await pair.consumer.stop()
    await pair.producer.stop()
