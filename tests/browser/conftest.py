"""Browser tests: Debian's chromium (through Playwright, no browser download) against the portal,
served as its own process on a free port beside the whole platform of the e2e tests."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

from tests.e2e.conftest import a_test_platform, serving
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
    infrastructure.postgres.create_database("shebao_browser")
    platform = a_test_platform(infrastructure.postgres.url("shebao_browser"), infrastructure.bootstrap_servers,
                               BROWSER_PREFIX, state_prefix="shebao-browser-")
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
