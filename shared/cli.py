"""``shebao``: the operator's command line.

Each subcommand is a pair registered with :func:`command`: a function that adds its
arguments to a subparser, and a handler ``(args) -> int`` returning the exit code.
Add a subcommand by writing both next to each other in any module imported here.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta

from shared.auth import ROLES, mint_token
from shared.settings import get_settings

Handler = Callable[[argparse.Namespace], int]
Configure = Callable[[argparse.ArgumentParser], None]


@dataclass(frozen=True)
class Command:
    """A subcommand: its name, one-line help, argument set-up and handler."""

    name: str
    help: str
    configure: Configure
    handler: Handler


COMMANDS: dict[str, Command] = {}


def command(name: str, help: str, configure: Configure) -> Callable[[Handler], Handler]:
    """Decorator registering ``handler`` as subcommand ``name`` with its arguments."""

    def register(handler: Handler) -> Handler:
        COMMANDS[name] = Command(name, help, configure, handler)
        return handler

    return register


def build_parser() -> argparse.ArgumentParser:
    """The ``shebao`` parser with one subparser per registered command."""
    parser = argparse.ArgumentParser(prog="shebao", description="Shebao operator tools.")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for cmd in COMMANDS.values():
        sub = subparsers.add_parser(cmd.name, help=cmd.help, description=cmd.help)
        cmd.configure(sub)
        sub.set_defaults(handler=cmd.handler)
    return parser


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


@command("token", "Print a JWT for local use, signed with the configured secret.", _token_arguments)
def token_command(args: argparse.Namespace) -> int:
    """Mint and print a token; exit 2 with a message when the arguments do not fit."""
    if args.role == "resident" and not args.sub:
        return usage_error("token", "--sub is required for role resident (their person_id)")
    if args.ttl_hours <= 0:
        return usage_error("token", "--ttl-hours must be positive")
    settings = get_settings()
    try:
        token = mint_token(
            sub=args.sub or DEFAULT_SUBS[args.role],
            role=args.role,
            region=args.region,
            secret=settings.jwt_secret,
            issuer=settings.jwt_issuer,
            ttl=timedelta(hours=args.ttl_hours),
        )
    except ValueError as exc:
        return usage_error("token", str(exc))
    print(token)
    return 0


def usage_error(name: str, message: str) -> int:
    """Print ``shebao NAME: error: MESSAGE`` on stderr; return the usage exit code, 2."""
    print(f"shebao {name}: error: {message}", file=sys.stderr)
    return 2


# The operator commands (topics, replay, dlq, outbox, rebuild-projection, events-doc) live in
# shared/ops/commands.py; importing it registers them.
from shared.ops import commands  # noqa: E402,F401

if __name__ == "__main__":
    from shared.cli import main as _main  # the registry that shared.ops.commands filled

    sys.exit(_main())
