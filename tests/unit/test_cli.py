"""The ``shebao`` command line: minting tokens, and the operator commands' arguments and failures."""

from __future__ import annotations

import uuid

import jwt
import pytest

from shared.auth import Principal, decode_token
from shared.events import EVENT_TYPES
from shared.settings import SERVICE_NAMES, get_settings
from tooling.cli import COMMANDS, build_parser, main
from tooling.ops import event_doc
from tooling.ops.dlq import resolve_topics
from tooling.ops.projections import PROJECTIONS


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out.strip(), captured.err


def decoded(token: str) -> Principal:
    settings = get_settings()
    return decode_token(token, secret=settings.jwt_secret, issuer=settings.jwt_issuer)


def test_token_prints_a_jwt_the_services_accept(capsys):
    person_id = str(uuid.uuid4())

    code, out, _ = run(capsys, "token", "--role", "resident", "--region", "440524", "--sub", person_id)

    assert code == 0
    assert decoded(out) == Principal(person_id, "resident", "440524")


def test_staff_tokens_get_a_default_subject(capsys):
    code, out, _ = run(capsys, "token", "--role", "caseworker", "--region", "110000")

    assert code == 0
    assert decoded(out) == Principal("caseworker-1", "caseworker", "110000")


def test_ttl_hours_sets_the_expiry(capsys):
    _, out, _ = run(capsys, "token", "--role", "ops", "--region", "110000", "--ttl-hours", "1")

    claims = jwt.decode(out, options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 3600


def test_a_resident_token_needs_a_subject(capsys):
    code, out, err = run(capsys, "token", "--role", "resident", "--region", "110000")

    assert code == 2
    assert out == ""
    assert "--sub is required" in err


@pytest.mark.parametrize(
    "argv",
    [
        ["token", "--role", "caseworker", "--region", "1100"],
        ["token", "--role", "resident", "--region", "110000", "--sub", "not-a-uuid"],
        ["token", "--role", "superuser", "--region", "110000"],
        ["token", "--region", "110000"],
        [],
    ],
)
def test_bad_arguments_exit_2_with_a_message(capsys, argv):
    code, out, err = run(capsys, *argv)

    assert code == 2
    assert out == ""
    assert "error" in err


def test_commands_are_registered_as_subparsers():
    assert {"token", "topics", "replay", "dlq", "outbox", "rebuild-projection", "events-doc"} <= set(COMMANDS)
    assert build_parser().parse_args(["token", "--role", "ops", "--region", "110000"]).command == "token"


# --- operator commands: argument validation (no broker or database is reached) -----------

UNREACHABLE = ["--bootstrap-servers", "127.0.0.1:1", "--database-url", "postgresql://nobody@127.0.0.1:1/none"]


@pytest.mark.parametrize(
    ("argv", "complaint"),
    [
        (["replay", "--group", "shebao.billing"], "one of the arguments --to-earliest"),
        (["replay", "--group", "shebao.billing", "--to-earliest", "--to-offset", "0:1"], "not allowed with"),
        (["replay", "--to-earliest"], "--group"),
        (["replay", "--group", "g", "--to-offset", "1"], "PARTITION:OFFSET"),
        (["replay", "--group", "g", "--to-offset", "a:1"], "PARTITION:OFFSET"),
        (["replay", "--group", "g", "--to-offset", "0:-3"], "PARTITION:OFFSET"),
        (["replay", "--group", "g", "--to-offset", "0:1", "--to-offset", "0:2", "--topic", "t"], "partition twice"),
        (["replay", "--group", "g", "--to-offset", "0:1", "--topic", "a", "--topic", "b"], "single --topic"),
        (["replay", "--group", "g", "--to-datetime", "2025-07-01T08:00:00"], "needs a UTC offset"),
        (["replay", "--group", "g", "--to-datetime", "yesterday"], "not an ISO 8601 time"),
        (["outbox", "republish", "billing"], "--since"),
        (["outbox", "republish", "payroll", "--since", "2025-07-01T00:00Z"], "invalid choice"),
        (["outbox", "republish", "billing", "--since", "2025-07-01T00:00Z", "--type", "PremiumPayed"],
         "unknown event type(s): PremiumPayed"),
        (["outbox", "republish", "billing", "--since", "2025-07-02T00:00Z", "--until", "2025-07-01T00:00Z"],
         "--until must be after --since"),
        (["outbox"], "ACTION"),
        (["dlq"], "ACTION"),
        (["dlq", "list"], "TOPIC"),
        (["dlq", "resend", "shebao.billing.v1"], "invalid choice"),
        (["rebuild-projection"], "SERVICE"),
        (["rebuild-projection", "payroll"], "invalid choice"),
        (["events-doc"], "one of the arguments --write --check"),
    ],
)
def test_operator_commands_refuse_bad_arguments_with_exit_2(capsys, argv, complaint):
    code, out, err = run(capsys, *argv)

    assert code == 2
    assert out == ""
    assert complaint in err


@pytest.mark.parametrize(
    "argv",
    [
        ["topics"],
        ["replay", "--group", "shebao.billing", "--to-earliest"],
        ["dlq", "list", "billing"],
        ["dlq", "redrive", "billing"],
        ["outbox", "republish", "billing", "--since", "2025-07-01T00:00:00+08:00"],
        ["rebuild-projection", "enrollment"],
    ],
)
def test_an_unreachable_broker_or_database_fails_with_exit_1_and_says_which(capsys, argv):
    code, out, err = run(capsys, *argv, *_unreachable_for(argv[0]))

    assert code == 1
    assert out == ""
    assert "cannot reach the" in err
    assert "Traceback" not in err


def _unreachable_for(command: str) -> list[str]:
    return UNREACHABLE if command in ("replay", "outbox", "rebuild-projection") else UNREACHABLE[:2]


@pytest.mark.parametrize(
    ("name", "prefix", "expected"),
    [
        ("billing", "", ("shebao.billing.v1", "shebao.billing.v1.dlq")),
        ("shebao.billing.v1", "", ("shebao.billing.v1", "shebao.billing.v1.dlq")),
        ("shebao.billing.v1.dlq", "", ("shebao.billing.v1", "shebao.billing.v1.dlq")),
        ("shebao.billing.v1", "bj.", ("bj.shebao.billing.v1", "bj.shebao.billing.v1.dlq")),
        ("bj.shebao.billing.v1.dlq", "bj.", ("bj.shebao.billing.v1", "bj.shebao.billing.v1.dlq")),
        ("documents", "sh.", ("sh.shebao.documents.v1", "sh.shebao.documents.v1.dlq")),
    ],
)
def test_a_dead_letter_topic_can_be_named_by_service_topic_or_dlq(name, prefix, expected):
    assert resolve_topics(name, prefix) == expected


def test_the_event_catalog_of_docs_events_md_is_up_to_date(capsys):
    code, _, err = run(capsys, "events-doc", "--check")

    assert code == 0, err


def test_the_event_catalog_documents_every_event_type():
    table = event_doc.catalog_table()

    for name, model in EVENT_TYPES.items():
        assert f"| {name} | `shebao.{model.source_service}.v1` |" in table


def test_declared_projections_name_known_services_events_and_plain_table_names():
    for service, projection in PROJECTIONS.items():
        assert service in SERVICE_NAMES
        assert set(projection.events) <= set(EVENT_TYPES)
        assert all(table.isidentifier() and table.islower() for table in projection.tables)
        assert projection.tables and projection.events


def test_declared_projections_are_tables_and_handlers_of_their_service():
    import importlib
    import re
    from pathlib import Path

    from shared.handlers import wire_names

    services_dir = Path(__file__).resolve().parents[2] / "services"
    for service, projection in PROJECTIONS.items():
        handlers = importlib.import_module(f"services.{service}.handlers").HANDLERS
        migrations = " ".join(path.read_text() for path in (services_dir / service / "migrations").glob("*.sql"))
        created = set(re.findall(r"CREATE TABLE (?:IF NOT EXISTS )?(\w+)", migrations))
        assert set(projection.events) <= set(wire_names(handlers)), service
        assert set(projection.tables) <= created, service


# --- every command has --json; the CLI says where it connects ------------------------------


def _leaf_parsers(parser, path=()):
    """(command path, parser) of every command and action that runs something."""
    import argparse

    actions = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not actions:
        yield path, parser
        return
    for name, sub in actions[0].choices.items():
        yield from _leaf_parsers(sub, (*path, name))


def test_every_command_and_action_has_json_output():
    leaves = dict(_leaf_parsers(build_parser()))

    assert {("dlq", "list"), ("dlq", "redrive"), ("outbox", "republish"), ("token",), ("topics",)} <= set(leaves)
    for path, parser in leaves.items():
        assert any("--json" in action.option_strings for action in parser._actions), " ".join(path)


def test_token_json_carries_the_token_and_its_claims(capsys):
    import json

    code, out, _ = run(capsys, "token", "--role", "caseworker", "--region", "110000", "--json")

    answer = json.loads(out)
    assert code == 0
    assert decoded(answer["token"]) == Principal("caseworker-1", "caseworker", "110000")
    assert (answer["role"], answer["region"], answer["sub"]) == ("caseworker", "110000", "caseworker-1")


def test_platform_shows_the_running_make_run_found_in_the_state_dir(capsys, monkeypatch, tmp_path):
    import json
    import os

    from tooling.platform_state import PlatformAddresses, record

    for name in ("KAFKA_BOOTSTRAP_SERVERS", "SHEBAO_KAFKA_BOOTSTRAP_SERVERS", "DATABASE_URL", "SHEBAO_DATABASE_URL",
                 "SHEBAO_TOPIC_PREFIX"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SHEBAO_STATE_DIR", str(tmp_path))
    get_settings.cache_clear()
    record(tmp_path, PlatformAddresses(bootstrap_servers="127.0.0.1:29092", topic_prefix="bj.", pid=os.getpid(),
                                       database_url="postgresql://postgres@127.0.0.1:55555/shebao"))
    try:
        code, out, _ = run(capsys, "platform", "--json", "--database-url", "postgresql://me@db/x")
    finally:
        get_settings.cache_clear()

    answer = json.loads(out)
    assert code == 0
    assert answer["kafka_bootstrap_servers"] == {"value": "127.0.0.1:29092", "source": str(tmp_path / "platform.json")}
    assert answer["topic_prefix"]["value"] == "bj."
    assert answer["database_url"] == {"value": "postgresql://me@db/x", "source": "flag"}
