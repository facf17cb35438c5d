"""Docs that are true: every command in README.md, docs/events.md and the services' READMEs is
either run as written against a ``make run`` of this test's own, or parsed by the CLI where it
is a pattern with placeholders, or named here with the reason it is not run. A command the
docs gain that fits none of these fails the test, so docs and tests stay together.

What is run, after one resident has enrolled: each line of a ```sh block, and each inline
`shebao ...` span that is a whole command (the CLI's parser accepts it), in the directory that
holds the platform's ``.shebao`` and without any connection variable (the CLI must find the
platform by itself), expecting exit 0 (a script's path is taken from the checkout); each
```python block that is a client of ``make run`` (it names 127.0.0.1:19092), with only that
address replaced by the test broker's. An inline span that is not a whole command (the name
of one in a sentence, a pattern in a table) is checked against the CLI's commands and options.
"""

from __future__ import annotations

import contextlib
import io
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e.local_run.conftest import environment_without_located_variables
from tooling.cli import build_parser
from tooling.journey import Platform as PlatformClient
from tooling.journey import enrol_resident

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[3]
DOCUMENTS = [ROOT / "README.md", ROOT / "docs" / "events.md", *sorted((ROOT / "services").glob("*/README.md"))]
MAKE_RUN_BROKER = "127.0.0.1:19092"
SHEBAO = str(Path(sys.executable).parent / "shebao")  # the console script make install puts in .venv/bin

# (how a command starts, why it is not run here)
NOT_RUN = [
    (("make", "run"), "the platform of this test is started by the same launcher (tooling.launcher.Platform)"),
    (("make", "test"), "is this run"),
    (("make", "bench"), "bench/ prints figures apart from the tests (make bench)"),
    (("make", "schema"), "rewrites the contract files; their --check is run (here and tests/unit)"),
    (("make", "clean"), "would delete this checkout's virtualenv and state"),
    (("make", "demo"), "plays tooling.journey on the fixed ports 8101-8104; tests/e2e/test_journeys.py plays it"),
    (("docker",), "needs Docker, not in CI; deploy/ files are validated offline by tests/deploy"),
    (("kubectl",), "needs a Kubernetes cluster; manifests are validated offline by tests/deploy"),
    (("export",), "sets variables for make run against a real Kafka and PostgreSQL"),
    (("python", "-m", "shared.events.schema", "--write"), "rewrites the contract files; --check is run"),
    (("shebao", "events-doc", "--write"), "rewrites docs/events.md; tests/unit/test_cli.py runs --check"),
    (("python", "-m", "services."), "one service alone; tests/deploy starts one that way"),
]
RUNNABLE = (("shebao",), (".venv/bin/shebao",), ("python", "-m", "tooling.cli"), ("python", "-m", "shared."),
            (".venv/bin/python", "examples/"))
PLACEHOLDER = re.compile(r"^(?:[A-Z][A-Z_]*|P:O|<[^>]+>|\[.*|.*\]|\\?\|)$")


@dataclass(frozen=True)
class Command:
    source: str  # file:line, or file (inline)
    text: str
    tokens: tuple[str, ...]

    @property
    def inline(self) -> bool:
        return self.source.endswith("(inline)")


def documented_commands() -> tuple[list[Command], list[Command]]:
    """(shell commands, python client blocks) of every document."""
    shell, python = [], []
    for path in DOCUMENTS:
        text = path.read_text(encoding="utf-8")
        name = path.relative_to(ROOT)
        for block in re.finditer(r"^```(\w*)\n(.*?)^```", text, re.S | re.M):
            line = text[: block.start()].count("\n") + 2
            if block.group(1) == "sh":
                shell += [Command(f"{name}:{line}", c, tuple(shlex.split(c, comments=True)))
                          for c in _shell_lines(block.group(2))]
            elif block.group(1) == "python":
                python.append(Command(f"{name}:{line}", block.group(2), ()))
        outside = re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)
        for span in re.findall(r"`([^`\n]+)`", outside):
            if re.match(r"(\.venv/bin/)?shebao |python -m |make ", span):
                shell.append(Command(f"{name} (inline)", span, tuple(span.replace("\\|", " | ").split())))
    return shell, python


def _shell_lines(block: str) -> list[str]:
    joined = re.sub(r"\\\n\s*", " ", block)
    return [line for line in joined.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def classify(command: Command) -> str:
    """``not run: <why>``, ``parse`` (a pattern with placeholders) or ``run``; ``unknown`` otherwise."""
    for start, reason in NOT_RUN:
        if _starts_with(command.tokens, start):
            return f"not run: {reason}"
    if any(_starts_with(command.tokens, start) for start in RUNNABLE):
        if any(PLACEHOLDER.match(token) for token in command.tokens):
            return "parse"
        if command.inline and not _whole_command(command.tokens):
            return "parse"
        if _follows_forever(command.tokens):
            return "not run: follows events until Ctrl-C; the documented ones with --limit run"
        return "run"
    return "unknown"


def _whole_command(tokens: tuple[str, ...]) -> bool:
    """Whether the CLI's parser accepts ``tokens`` (a ``shebao`` command) as a complete command."""
    if tokens[0] not in ("shebao", ".venv/bin/shebao"):
        return True
    with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
        try:
            build_parser().parse_args(list(tokens[1:]))
        except SystemExit as exit_:
            return exit_.code == 0  # --help
    return True


def _follows_forever(tokens: tuple[str, ...]) -> bool:
    return "tail" in tokens and not {"--limit", "--idle-exit"} & set(tokens)


def _starts_with(tokens: tuple[str, ...], start: tuple[str, ...]) -> bool:
    if len(tokens) < len(start):
        return False
    *whole, last = start
    # a last part ending in "." or "/" is a prefix (a package, a directory); otherwise a whole word
    return list(tokens[: len(whole)]) == whole and tokens[len(whole)].startswith(last) and (
        last.endswith((".", "/")) or tokens[len(whole)] == last)


def test_every_documented_command_is_run_parsed_or_excused():
    shell, _ = documented_commands()

    unknown = [f"{c.source}: {c.text}" for c in shell if classify(c) == "unknown"]

    assert len(shell) > 20
    assert unknown == [], "a documented command this test neither runs, parses nor excuses"


def test_documented_command_patterns_name_real_commands_and_options():
    shell, _ = documented_commands()
    patterns = [c for c in shell if classify(c) == "parse"]

    problems = [f"{c.source}: {c.text}: {problem}" for c in patterns for problem in pattern_problems(c.tokens)]

    assert patterns
    assert problems == []


def test_documented_commands_work_as_written_against_make_run(make_run, tmp_path):
    platform = make_run()
    enrol_resident(PlatformClient(ports=dict(platform.ports)), say=lambda _: None)
    shell, python = documented_commands()
    runnable = [c for c in shell if classify(c) == "run"]
    clients = [c for c in python if MAKE_RUN_BROKER in c.text]

    failures = [failure for c in runnable if (failure := run_command(c, tmp_path))]
    failures += [failure for c in clients if (failure := run_client(c, platform.bootstrap_servers, tmp_path))]

    assert len(runnable) >= 8 and len(clients) >= 2
    assert failures == []


def run_command(command: Command, cwd: Path) -> str | None:
    """Run one documented command as written; a description of the failure, or None."""
    tokens = list(command.tokens)
    if tokens[0] in ("shebao", ".venv/bin/shebao"):
        tokens[0] = SHEBAO
    elif tokens[0] in ("python", ".venv/bin/python"):
        tokens[0] = sys.executable
        if (ROOT / tokens[1]).is_file():  # a script of the checkout
            tokens[1] = str(ROOT / tokens[1])
    done = subprocess.run(tokens, cwd=cwd, env=environment_without_located_variables(), capture_output=True,
                          text=True, timeout=180)
    if done.returncode != 0:
        return f"{command.source}: `{command.text}` exited {done.returncode}: {done.stderr[-600:]}"
    return None


def run_client(block: Command, bootstrap_servers: str, cwd: Path) -> str | None:
    """Run one documented Python client, pointed at the test's broker instead of 19092."""
    script = cwd / "client.py"
    script.write_text(block.text.replace(MAKE_RUN_BROKER, bootstrap_servers), encoding="utf-8")
    done = subprocess.run([sys.executable, str(script)], cwd=cwd, capture_output=True, text=True, timeout=180)
    if done.returncode != 0:
        return f"{block.source}: the Python client exited {done.returncode}: {done.stderr[-600:]}"
    return None


def pattern_problems(tokens: tuple[str, ...]) -> list[str]:
    """What in a documented pattern the CLI does not have: an unknown command, action or option."""
    words = [t for t in tokens if t not in ("|", "\\|")]
    words = words[3:] if words[0] == "python" else words[1:]
    parser, problems = build_parser(), []
    subparsers = _subparsers(parser)
    while subparsers is not None and words and not words[0].startswith("-"):
        name, words = words[0], words[1:]
        if name not in subparsers.choices:
            return [f"no command or action {name!r}"]
        parser = subparsers.choices[name]
        subparsers = _subparsers(parser)
    options = {option for action in parser._actions for option in action.option_strings}
    for word in words:
        option = word.strip("[]").split("=")[0]
        if option.startswith("--") and option not in options:
            problems.append(f"no option {option}")
    return problems


def _subparsers(parser):
    import argparse

    found = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return found[0] if found else None
