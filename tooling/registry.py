"""The registry of ``shebao`` subcommands.

Each subcommand is a pair registered with :func:`command`: a function that adds its
arguments to a subparser, and a handler ``(args) -> int`` returning the exit code.
Modules that define commands import this one; ``tooling.cli`` imports them all and
builds the parser, so nothing imports the command line back.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass

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


def usage_error(name: str, message: str) -> int:
    """Print ``shebao NAME: error: MESSAGE`` on stderr; return the usage exit code, 2."""
    print(f"shebao {name}: error: {message}", file=sys.stderr)
    return 2
