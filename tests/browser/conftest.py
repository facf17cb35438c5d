"""Browser tests: Debian's chromium (through Playwright, no browser download) against the portal,
served as its own process on a free port beside the whole platform of the e2e tests."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

from shared.periods import CLOCK_FILE_ENV
from shared.settings import SERVICE_NAMES
from tests.e2e.conftest import serving
from tooling.devstack import free_port
from tooling.journey import Platform as PlatformClient
from tooling.launcher import Platform

CHROMIUM = "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "services" / "portal" / "docs" / "screenshots"
BROWSER_PREFIX = "browser."


@pytest.fixture(scope="package")
def platform(infrastructure) -> Iterator[Platform]:
    """The whole platform as processes, as the e2e tests start it (tests/e2e/conftest.py), in its own
    database and topic prefix so that it never shares consumer groups with theirs."""
    state_dir = Path(tempfile.mkdtemp(prefix="shebao-browser-"))
    (state_dir / "clock").write_text("0")
    infrastructure.postgres.create_database("shebao_browser")
    platform = Platform(
        state_dir=state_dir,
        database_url=infrastructure.postgres.url("shebao_browser"),
        bootstrap_servers=infrastructure.bootstrap_servers,
        topic_prefix=BROWSER_PREFIX,
        ports={service: free_port() for service in SERVICE_NAMES},
        extra_env={
            "SHEBAO_KAFKA_SESSION_TIMEOUT_MS": "2000",
            "SHEBAO_KAFKA_HEARTBEAT_INTERVAL_MS": "500",
            "SHEBAO_OUTBOX_POLL_INTERVAL_S": "0.2",
            "SHEBAO_CONSUMER_RETRY_BACKOFF_S": "0.05",
            "SHEBAO_DOCUMENTS_STORAGE_DIR": str(state_dir / "documents"),
            "SHEBAO_NOTIFICATIONS_SINK_DIR": str(state_dir / "sinks"),
            CLOCK_FILE_ENV: str(state_dir / "clock"),
        },
    )
    with serving(platform):
        yield platform


@pytest.fixture
def client(platform) -> PlatformClient:
    """The journey driver (for the operator's billing run), pointed at this platform."""
    return PlatformClient(ports=dict(platform.ports))


@pytest.fixture(scope="package")
def portal_url(platform) -> Iterator[str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "SHEBAO_PORTAL_PORT": str(port), "SHEBAO_PORTAL_PUBLIC_URL": url,
           **{f"SHEBAO_PORTAL_{service.upper()}_URL": f"http://127.0.0.1:{p}" for service, p in platform.ports.items()}}
    process = subprocess.Popen([sys.executable, "-m", "services.portal"], env=env, cwd=ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{url}/healthz", timeout=1):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the portal did not start") from None
                time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(10)


@pytest.fixture(scope="package")
def browser(portal_url) -> Iterator[Browser]:
    # after the platform: Playwright's sync API keeps an event loop running in this thread
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make test` (it installs it) or "
                    "`apt-get install -y --no-install-recommends chromium`")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield launched
        launched.close()


@pytest.fixture
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
