"""``shebao``: the operator's command line.

The subcommands are registered in ``tooling.registry`` by the modules that define them:
``token`` here, the operator commands (platform, topics, replay, dlq, outbox,
rebuild-projection, events-doc) in ``tooling/ops/commands.py``, the analysts' ``events
export|tail`` in ``tooling/ops/event_commands.py``. Every command has ``--json``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from shared.auth import ROLES, mint_token
from shared.settings import get_settings
from tooling.ops import commands as _operator_commands  # noqa: F401  (registers them)
from tooling.ops import event_commands as _event_commands  # noqa: F401  (registers them)
from tooling.ops.cli_support import json_argument, print_json
from tooling.registry import COMMANDS, build_parser, command, usage_error

__all__ = ["COMMANDS", "build_parser", "main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``shebao`` with ``argv`` (default: the process arguments); return the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits on --help and on usage errors
        return exc.code if isinstance(exc.code, int) else 2
    return args.handler(args)


# --- token ---------------------------------------------------------------------------

DEFAULT_SUBS = {role: f"{role}-1" for role in ROLES if role != "resident"}


def _token_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--role", required=True, choices=ROLES)
    parser.add_argument("--region", required=True, help="6-digit region code, e.g. 110000")
    parser.add_argument("--sub", help="subject; a resident's person_id (required for resident)")
    parser.add_argument("--ttl-hours", type=float, default=8.0, help="validity (default 8)")
    json_argument(parser)


@command("token", "Print a JWT for local use, signed with the configured secret.", _token_arguments)
def token_command(args: argparse.Namespace) -> int:
    """Mint and print a token; exit 2 with a message when the arguments do not fit."""
    if args.role == "resident" and not args.sub:
        return usage_error("token", "--sub is required for role resident (their person_id)")
    if args.ttl_hours <= 0:
        return usage_error("token", "--ttl-hours must be positive")
    settings = get_settings()
    sub = args.sub or DEFAULT_SUBS[args.role]
    ttl = timedelta(hours=args.ttl_hours)
    try:
        token = mint_token(sub=sub, role=args.role, region=args.region, secret=settings.jwt_secret,
                           issuer=settings.jwt_issuer, ttl=ttl)
    except ValueError as exc:
        return usage_error("token", str(exc))
    if args.json:
        expires = (datetime.now(UTC) + ttl).isoformat(timespec="seconds")
        print_json({"token": token, "sub": sub, "role": args.role, "region": args.region, "expires_at": expires})
    else:
        print(token)
    return 0


if __name__ == "__main__":
    sys.exit(main())
