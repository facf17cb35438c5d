"""A service started by the launcher dies with the process that started it: a bench or launcher
killed outright leaves no service running behind it (as its PostgreSQL and broker already did)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]


def _running(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie waiting to be reaped is not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def test_a_service_dies_with_the_process_that_started_it(infrastructure, unique_name, tmp_path):
    infrastructure.postgres.create_database(unique_name)
    # a parent that starts the platform's documents service on a database of its own, says the
    # service's pid once it is ready, then waits to be killed
    parent_code = textwrap.dedent(f"""
        import sys, time
        from pathlib import Path
        sys.path.insert(0, {str(REPO)!r})
        from shared.settings import SERVICE_NAMES
        from tooling.devstack import free_port
        from tooling.launcher import Platform
        platform = Platform(state_dir=Path({str(tmp_path)!r}), ports={{s: free_port() for s in SERVICE_NAMES}},
                            database_url={infrastructure.postgres.url(unique_name)!r},
                            bootstrap_servers={infrastructure.bootstrap_servers!r}, topic_prefix={unique_name!r},
                            output_dir=Path({str(tmp_path / "logs")!r}))
        platform.start_infrastructure()
        service = platform.start_service("documents")
        platform.wait_until_ready(timeout_s=60)
        print("service pid", service.pid, flush=True)
        time.sleep(120)
    """)
    parent = subprocess.Popen([sys.executable, "-c", parent_code], stdout=subprocess.PIPE, text=True)
    said = ""
    while not said.startswith("service pid") and parent.poll() is None:  # the launcher's own lines first
        said = parent.stdout.readline()
    service_pid = int(said.split()[-1])
    assert _running(service_pid)

    parent.kill()  # no chance to stop what it started
    parent.wait()
    deadline = time.monotonic() + 30
    while _running(service_pid) and time.monotonic() < deadline:
        time.sleep(0.1)

    alive = _running(service_pid)
    if alive:
        os.kill(service_pid, 9)
    assert not alive, "the service outlived the process that started it"
