"""The platform's services reach the embedded PostgreSQL on its Unix socket when they can: a round
trip costs less there than over TCP on the loopback (README, Performance)."""

from __future__ import annotations

from pathlib import Path

from tooling.devstack import EmbeddedPostgres


def test_a_short_data_directory_gives_the_socket_url():
    postgres = EmbeddedPostgres(Path("/tmp/shebao-x/postgres"), 54329)

    assert postgres.local_url("shebao") == "postgresql://postgres@/shebao?host=/tmp/shebao-x/postgres&port=54329"
    assert "unix_socket_directories=/tmp/shebao-x/postgres" in postgres._server_options()


def test_a_socket_path_past_the_system_limit_falls_back_to_tcp():
    postgres = EmbeddedPostgres(Path("/tmp") / ("d" * 100) / "postgres", 54329)

    assert postgres.local_url("shebao") == "postgresql://postgres@127.0.0.1:54329/shebao"
    assert "unix_socket_directories=" in postgres._server_options()
