"""The CLI finds the platform it sits beside: flag, then environment, then the state file of a
running ``make run``, then ``make run``'s own defaults (tooling/platform_state.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from shared.settings import Settings
from tooling import platform_state
from tooling.platform_state import PlatformAddresses, locate, record, running


def a_running_platform(state_dir, **overrides) -> PlatformAddresses:
    values = dict(bootstrap_servers="127.0.0.1:29092", database_url="postgresql://postgres@127.0.0.1:55555/shebao",
                  topic_prefix="bj.", ports={"billing": 8103}, pid=os.getpid(), started_at=platform_state.now_stamp())
    values.update(overrides)
    addresses = PlatformAddresses(**values)
    record(state_dir, addresses)
    return addresses


def settings_from(env: dict[str, str]) -> Settings:
    """Settings as a process with exactly ``env`` would read them."""
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        return Settings()
    finally:
        os.environ.clear()
        os.environ.update(saved)


def test_with_nothing_set_and_no_platform_running_the_cli_uses_make_runs_embedded_ports(tmp_path):
    settings, sources = locate(settings_from({}), tmp_path, env={})

    assert settings.kafka_bootstrap_servers == "127.0.0.1:19092"
    assert settings.database_url == "postgresql://postgres@127.0.0.1:54329/shebao"
    assert settings.topic_prefix == ""
    assert set(sources.values()) == {"make run defaults"}


def test_make_runs_port_variables_move_the_defaults_as_they_move_make_run(tmp_path):
    env = {"SHEBAO_EMBEDDED_KAFKA_PORT": "29999", "SHEBAO_EMBEDDED_PG_PORT": "55999"}

    settings, _ = locate(settings_from(env), tmp_path, env=env)

    assert settings.kafka_bootstrap_servers == "127.0.0.1:29999"
    assert settings.database_url.endswith("@127.0.0.1:55999/shebao")


def test_a_running_make_run_is_found_through_its_state_file(tmp_path):
    a_running_platform(tmp_path)

    settings, sources = locate(settings_from({}), tmp_path, env={})

    assert (settings.kafka_bootstrap_servers, settings.topic_prefix) == ("127.0.0.1:29092", "bj.")
    assert settings.database_url == "postgresql://postgres@127.0.0.1:55555/shebao"
    assert set(sources.values()) == {str(tmp_path / "platform.json")}


def test_the_environment_wins_over_the_state_file_setting_by_setting(tmp_path):
    a_running_platform(tmp_path)
    env = {"KAFKA_BOOTSTRAP_SERVERS": "kafka-1:9092", "SHEBAO_TOPIC_PREFIX": ""}

    settings, sources = locate(settings_from(env), tmp_path, env=env)

    assert settings.kafka_bootstrap_servers == "kafka-1:9092"
    assert settings.topic_prefix == ""  # set, although empty
    assert settings.database_url == "postgresql://postgres@127.0.0.1:55555/shebao"
    assert sources["kafka_bootstrap_servers"] == sources["topic_prefix"] == "environment"


def test_the_state_file_of_a_platform_that_died_is_ignored(tmp_path):
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                              text=True, check=True)
    a_running_platform(tmp_path, pid=int(finished.stdout))

    assert running(tmp_path) is None
    settings, _ = locate(settings_from({}), tmp_path, env={})
    assert settings.kafka_bootstrap_servers == "127.0.0.1:19092"


@pytest.mark.parametrize("content", ["", "{not json", '{"pid": 1}', "[]"])
def test_an_unreadable_state_file_is_ignored(tmp_path, content):
    (tmp_path / "platform.json").write_text(content)

    assert running(tmp_path) is None


def test_the_state_file_never_holds_a_password_and_only_its_owner_reads_it(tmp_path):
    a_running_platform(tmp_path, database_url="postgresql://shebao:s3cret@db.example:5432/shebao")

    path = tmp_path / "platform.json"
    assert "s3cret" not in path.read_text()
    assert json.loads(path.read_text())["database_url"] == "postgresql://shebao@db.example:5432/shebao"
    assert path.stat().st_mode & 0o077 == 0


def test_the_state_dir_is_the_variable_then_the_working_directorys_then_the_checkouts(tmp_path):
    assert platform_state.default_state_dir({"SHEBAO_STATE_DIR": "/x/y"}, tmp_path) == platform_state.Path("/x/y")
    assert platform_state.default_state_dir({}, tmp_path) == platform_state.CHECKOUT_STATE_DIR
    (tmp_path / ".shebao").mkdir()
    assert platform_state.default_state_dir({}, tmp_path) == tmp_path / ".shebao"


def test_forget_removes_the_state_file(tmp_path):
    a_running_platform(tmp_path)

    platform_state.forget(tmp_path)

    assert running(tmp_path) is None
    platform_state.forget(tmp_path)  # twice is fine
