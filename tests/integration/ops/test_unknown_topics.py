"""A topic the operator mistyped is an error that names the topics there are, and is never
created (the local broker creates any topic a metadata request names). Long work shows
progress on a terminal and nothing when piped."""

from __future__ import annotations

import fcntl
import os
import pty
import struct
import subprocess
import sys
import termios

import pytest
from aiokafka.admin import AIOKafkaAdminClient

from shared.events import all_topics, dlq_topic, topic_for
from tests.integration.harness import publish_raw
from tooling.devstack import ensure_topics

pytestmark = pytest.mark.integration


async def topic_names(infrastructure) -> set[str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=infrastructure.bootstrap_servers)
    await admin.start()
    try:
        return set(await admin.list_topics())
    finally:
        await admin.close()


@pytest.mark.parametrize(
    ("argv", "missing", "meant"),
    [
        (["dlq", "list", "billling"], "{prefix}billling.dlq", "{prefix}shebao.billing.v1.dlq"),
        (["dlq", "list", "shebao.biling.v1.dlq"], "{prefix}shebao.biling.v1.dlq", "{prefix}shebao.billing.v1.dlq"),
        (["dlq", "redrive", "shebao.billing.v2"], "{prefix}shebao.billing.v2.dlq", "{prefix}shebao.billing.v1.dlq"),
        # replay takes topic names as given (a service name gets the prefix)
        (["replay", "--group", "analytics.x", "--topic", "{prefix}shebao.enrolment.v1", "--to-earliest"],
         "{prefix}shebao.enrolment.v1", "{prefix}shebao.enrollment.v1"),
    ],
)
async def test_an_unknown_topic_is_an_error_and_is_not_created(infrastructure, operator, argv, missing, meant):
    await ensure_topics(infrastructure.bootstrap_servers, all_topics(operator.prefix), 3)
    missing, meant = missing.format(prefix=operator.prefix), meant.format(prefix=operator.prefix)

    outcome = await operator(*[arg.format(prefix=operator.prefix) for arg in argv], database=argv[0] == "replay")

    assert outcome.code == 1, outcome.out + outcome.err
    assert f"topic {missing} does not exist (nothing was created)" in outcome.err
    assert f"did you mean {meant}" in outcome.err
    assert missing not in await topic_names(infrastructure)


async def test_a_wrong_prefix_fails_rebuild_projection_without_creating_topics(infrastructure, operator):
    outcome = await operator("rebuild-projection", "enrollment", "--schema", "nosuchschema", database=True)

    assert outcome.code == 1
    assert "does not exist (nothing was created)" in outcome.err
    assert not {t for t in await topic_names(infrastructure) if t.startswith(operator.prefix)}


async def test_dlq_list_shows_progress_on_a_terminal_and_none_in_a_pipe(infrastructure, operator):
    await ensure_topics(infrastructure.bootstrap_servers, all_topics(operator.prefix), 3)
    dead_letters = dlq_topic(topic_for("billing", operator.prefix))
    for n in range(3):
        await publish_raw(infrastructure.bootstrap_servers, dead_letters, b"{}", f"k{n}".encode())
    argv = [sys.executable, "-m", "tooling.cli", "dlq", "list", "billing", "--json",
            "--bootstrap-servers", infrastructure.bootstrap_servers, "--topic-prefix", operator.prefix]

    on_terminal = run_with_stderr_on_a_terminal(argv)
    piped = subprocess.run(argv, capture_output=True, text=True, timeout=60)

    assert on_terminal.returncode == 0 and piped.returncode == 0
    assert "reading dead letters" in on_terminal.stderr and "/3" in on_terminal.stderr
    assert piped.stderr == ""
    assert on_terminal.stdout == piped.stdout  # --json output is the same either way


def run_with_stderr_on_a_terminal(argv: list[str]) -> subprocess.CompletedProcess:
    """Run ``argv`` with stdout piped and stderr on a pseudo-terminal; both captured."""
    controller, terminal = pty.openpty()
    # a terminal of 24 x 100 (a new pseudo-terminal is 0 wide, and tqdm draws nothing in no width)
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=terminal, text=True)
    os.close(terminal)
    chunks = []
    while True:
        try:
            chunk = os.read(controller, 4096)
        except OSError:  # the terminal closed: the process exited
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(controller)
    stdout = process.stdout.read()
    process.wait(60)
    return subprocess.CompletedProcess(argv, process.returncode, stdout, b"".join(chunks).decode(errors="replace"))
