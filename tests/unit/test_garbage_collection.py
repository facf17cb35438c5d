"""The service process keeps the collector off what it built to start (shared/runtime.py)."""

import gc

import pytest

from shared.runtime import tune_garbage_collection
from shared.settings import Settings


@pytest.fixture
def collector_as_it_was():
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


def test_what_lives_at_start_is_frozen_and_the_young_generation_grows(collector_as_it_was):
    built_at_start = [object() for _ in range(10)]
    gc.unfreeze()
    tune_garbage_collection(20_000)
    assert gc.get_threshold()[0] == 20_000
    assert gc.get_freeze_count() >= len(built_at_start)


def test_zero_keeps_pythons_own_settings(collector_as_it_was):
    gc.unfreeze()
    before = gc.get_threshold()
    tune_garbage_collection(0)
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_the_setting_defaults_to_a_large_young_generation_and_refuses_a_negative_one():
    assert Settings().gc_young_threshold == 20_000
    with pytest.raises(ValueError, match="gc_young_threshold"):
        Settings(gc_young_threshold=-1)
