"""The same rooms in every service, and the import contracts that keep lines inside them."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("enrollment", "documents", "billing", "notifications")
EVERY_SERVICE_HAS = {"domain", "operations", "repository", "handlers", "api", "app", "settings", "migrations",
                     "README.md", "__init__", "__main__"}
SOME_SERVICES_HAVE = {"adapters", "views"}
CLOCK_READS = {("datetime", "now"), ("datetime", "utcnow"), ("date", "today"), ("time", "time"), (None, "now_utc")}


def rooms_of(service: str) -> set[str]:
    entries = (ROOT / "services" / service).iterdir()
    return {entry.stem if entry.suffix == ".py" else entry.name for entry in entries if entry.name != "__pycache__"}


@pytest.mark.parametrize("service", SERVICES)
def test_every_service_has_the_same_rooms_and_no_others(service):
    rooms = rooms_of(service)

    assert EVERY_SERVICE_HAS <= rooms
    assert rooms - EVERY_SERVICE_HAS <= SOME_SERVICES_HAVE


def clock_reads_in(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if not isinstance(node, ast.Call):
            continue
        function = node.func
        if isinstance(function, ast.Name) and (None, function.id) in CLOCK_READS:
            found.append(f"{path.name}:{node.lineno} {function.id}()")
        elif (isinstance(function, ast.Attribute) and isinstance(function.value, ast.Name)
              and (function.value.id, function.attr) in CLOCK_READS):
            found.append(f"{path.name}:{node.lineno} {function.value.id}.{function.attr}()")
    return found


@pytest.mark.parametrize("service", SERVICES)
def test_the_domain_reads_no_clock(service):
    domain = ROOT / "services" / service / "domain"
    files = sorted(domain.rglob("*.py")) if domain.is_dir() else [domain.with_suffix(".py")]

    assert [read for path in files for read in clock_reads_in(path)] == []


def test_the_clock_check_finds_a_clock_read(tmp_path):
    module = tmp_path / "rule.py"
    module.write_text("from datetime import date\n\ndef today():\n    return date.today()\n")

    assert clock_reads_in(module) == ["rule.py:4 date.today()"]


def lint_imports(tree: Path) -> subprocess.CompletedProcess:
    lint = Path(sys.executable).with_name("lint-imports")
    environment = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run([str(lint), "--config", str(tree / "pyproject.toml"), "--no-cache"], cwd=tree,
                          env=environment, capture_output=True, text=True, timeout=300)


@pytest.fixture
def copy_of_the_code(tmp_path) -> Path:
    for package in ("shared", "services", "tooling"):
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_the_contracts_hold_and_fail_when_a_route_imports_the_database_driver(copy_of_the_code):
    kept = lint_imports(copy_of_the_code)
    api = copy_of_the_code / "services" / "enrollment" / "api.py"
    api.write_text(api.read_text() + "\nimport asyncpg  # noqa: E402,F401\n")

    broken = lint_imports(copy_of_the_code)

    assert kept.returncode == 0, kept.stdout + kept.stderr
    assert broken.returncode != 0
    assert "Routes and handlers reach the database only through operations BROKEN" in broken.stdout
    assert "services.enrollment.api -> asyncpg" in broken.stdout


def test_the_contracts_fail_when_one_service_imports_another(copy_of_the_code):
    handlers = copy_of_the_code / "services" / "billing" / "handlers.py"
    handlers.write_text(handlers.read_text() + "\nimport services.enrollment.domain  # noqa: E402,F401\n")

    broken = lint_imports(copy_of_the_code)

    assert broken.returncode != 0
    assert "Services never import each other BROKEN" in broken.stdout
