"""The ``shebao`` command line: minting tokens for local use."""

from __future__ import annotations

import uuid

import jwt
import pytest

from shared.auth import Principal, decode_token
from shared.cli import COMMANDS, build_parser, main
from shared.settings import get_settings


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
    assert "token" in COMMANDS
    assert build_parser().parse_args(["token", "--role", "ops", "--region", "110000"]).command == "token"
