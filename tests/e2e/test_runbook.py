"""docs/operations.md, the runbook: every command in its ``sh`` blocks runs as written against the
platform ``make run`` starts (here the end-to-end one, its addresses in the variables the runbook's
first block sets), and every alert of deploy/prometheus/rules/ has its section there."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
RUNBOOK = REPO / "docs" / "operations.md"
RULES = REPO / "deploy" / "prometheus" / "rules"
SERVICE_VARIABLES = {"enrollment": "ENROLLMENT", "documents": "DOCUMENTS", "billing": "BILLING",
                     "notifications": "NOTIFICATIONS"}


def sh_blocks() -> list[str]:
    return re.findall(r"^```sh\n(.*?)^```", RUNBOOK.read_text(), flags=re.MULTILINE | re.DOTALL)


def sections() -> dict[str, str]:
    """Each alert's section: the text from its ``### Name`` to the next heading."""
    parts = re.split(r"^### (\w+)\s*$", RUNBOOK.read_text(), flags=re.MULTILINE)
    pairs = zip(parts[1::2], parts[2::2], strict=True)
    return {name: re.split(r"^##? ", body, flags=re.MULTILINE)[0] for name, body in pairs}


def alerts() -> list[str]:
    return [rule["alert"] for path in sorted(RULES.glob("*.yml"))
            for group in yaml.safe_load(path.read_text())["groups"] for rule in group["rules"]]


def test_every_alert_says_what_it_means_how_to_look_and_how_to_fix_with_commands_to_run():
    found = sections()
    for alert in alerts():
        text = found.get(alert, "")
        assert "**What it means.**" in text and "**How to look.**" in text and "**How to fix.**" in text, alert
        assert "```sh" in text, f"{alert}: no command to run"


@pytest.mark.parametrize("block", range(1, len(sh_blocks())), ids=lambda i: f"block{i}")
def test_each_command_runs_as_written_against_the_platform(platform, block):
    blocks = sh_blocks()
    environment = {**platform.service_env("enrollment"), "PATH": f"{REPO / '.venv' / 'bin'}:/usr/bin:/bin"}
    environment |= {variable: f"http://127.0.0.1:{platform.ports[service]}"
                    for service, variable in SERVICE_VARIABLES.items()}

    # the first block sets the addresses once per shell, as an operator would
    ran = subprocess.run(["bash", "-euo", "pipefail", "-c", blocks[0] + "\n" + blocks[block]], cwd=REPO,
                         env=environment, capture_output=True, text=True, timeout=180)

    assert ran.returncode == 0, f"{blocks[block]}\n--- stdout\n{ran.stdout}\n--- stderr\n{ran.stderr}"
    assert ran.stdout.strip(), f"{blocks[block]} printed nothing"
    assert "Traceback" not in ran.stderr
