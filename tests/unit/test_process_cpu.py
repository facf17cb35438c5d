"""The benches' CPU meter (bench/process_cpu.py): a process tree's CPU from /proc, and what a
request costs once the idle share is taken off."""

from __future__ import annotations

import subprocess
import sys

import pytest

from bench.process_cpu import CpuMeter, Reading, busy_share, cost_per_request

# a child that burns about 0.4 s of CPU, says so, then sleeps (alive, not reaped yet)
BURN_THEN_SLEEP = (
    "import sys, time\n"
    "start = time.process_time()\n"
    "while time.process_time() - start < 0.4: pass\n"
    "print('burnt', flush=True)\n"
    "time.sleep(30)\n"
)
# a parent that runs a burning child to its end (reaped: counted in the parent's children's time)
# and then starts a second one that stays alive
PARENT = (
    "import subprocess, sys\n"
    "subprocess.run([sys.executable, '-c', 'import time\\ns = time.process_time()\\n"
    "while time.process_time() - s < 0.4: pass'])\n"
    f"subprocess.run([sys.executable, '-c', {BURN_THEN_SLEEP!r}])\n"
)

def test_a_tree_counts_its_living_and_its_reaped_children():
    parent = subprocess.Popen([sys.executable, "-c", PARENT], stdout=subprocess.PIPE, text=True)
    try:
        meter = CpuMeter({"tree": [parent.pid], "elsewhere": [1]})
        before = meter.read()
        assert parent.stdout.readline().strip() == "burnt"  # the second child is alive, sleeping
        after = meter.read()
    finally:
        parent.kill()
        parent.wait()
    # two children of 0.4 s each (one reaped, one alive), the interpreters' start-up on top
    assert after.seconds["tree"] - before.seconds["tree"] >= 0.7
    assert set(after.seconds) == {"tree", "elsewhere"}


def test_a_process_that_has_gone_counts_nothing():
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    assert CpuMeter({"gone": [gone.pid]}).read().seconds == {"gone": 0.0}


def test_a_request_costs_the_cpu_of_the_window_less_what_the_idle_platform_takes():
    before = Reading(at=100.0, seconds={"billing": 1.0, "postgres": 2.0})
    after = Reading(at=110.0, seconds={"billing": 3.0, "postgres": 2.4})
    idle = {"billing": 0.05, "postgres": 0.1}  # a core's share, busy with nothing

    assert busy_share(before, after) == pytest.approx({"billing": 0.2, "postgres": 0.04})
    # billing: 2.0 s, less 0.5 s idle, over 1,000 requests; postgres: less than idle, so nothing
    assert cost_per_request(idle, before, after, 1000) == pytest.approx({"billing": 1.5, "postgres": 0.0})
