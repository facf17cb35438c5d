"""The embedded PostgreSQL: the platform's services reach it on its Unix socket when they can (a round
trip costs less there than over TCP on the loopback), and it runs with the settings it is given
(the platform's own: README, Performance)."""

from __future__ import annotations

from pathlib import Path

from tooling.devstack import EmbeddedPostgres
from tooling.launcher import Platform


def test_a_short_data_directory_gives_the_socket_url():
    postgres = EmbeddedPostgres(Path("/tmp/shebao-x/postgres"), 54329)

    assert postgres.local_url("shebao") == "postgresql://postgres@/shebao?host=/tmp/shebao-x/postgres&port=54329"
    assert "unix_socket_directories=/tmp/shebao-x/postgres" in postgres._server_options()


def test_a_socket_path_past_the_system_limit_falls_back_to_tcp():
    postgres = EmbeddedPostgres(Path("/tmp") / ("d" * 100) / "postgres", 54329)

    assert postgres.local_url("shebao") == "postgresql://postgres@127.0.0.1:54329/shebao"
    assert "unix_socket_directories=" in postgres._server_options()


def test_settings_given_reach_the_servers_command_line_over_its_defaults():
    postgres = EmbeddedPostgres(Path("/tmp/shebao-x/postgres"), 54329, durable=False,
                                settings={"autovacuum_naptime": "5s", "fsync": "on"})

    options = postgres._server_options()

    assert options[options.index("autovacuum_naptime=5s") - 1] == "-c"
    assert "fsync=on" in options and "fsync=off" not in options


def test_the_platforms_own_postgresql_analyzes_growing_tables_every_few_seconds():
    # its plans follow tables that start empty and grow under load (tooling/launcher.py)
    options = Platform(state_dir=Path("/tmp/shebao-x")).embedded_postgres()._server_options()

    assert "autovacuum_naptime=5s" in options
