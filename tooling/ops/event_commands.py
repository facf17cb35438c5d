"""``shebao events export|tail``: arguments, output and exit codes (the work is in ``events``)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from shared.events import EVENT_TYPES
from tooling.ops import events, export
from tooling.ops.cli_support import (
    aware_time,
    connection_arguments,
    error_line,
    json_argument,
    print_json,
    progress,
    run,
    settings_for,
)
from tooling.registry import command, usage_error

TOKEN_ENV = "SHEBAO_TOKEN"


def _selection_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--topic", action="append", metavar="TOPIC",
                        help="a topic or service name (repeatable; default the four service topics)")
    parser.add_argument("--type", action="append", metavar="EVENT", dest="types",
                        help="only this event type (repeatable), e.g. PremiumPaid")
    parser.add_argument("--since", type=aware_time, metavar="T", help="events whose time is at or after T")
    parser.add_argument("--until", type=aware_time, metavar="T", help="events whose time is before T")
    parser.add_argument("--person", metavar="ID", help="one person: person id (UUID) or resident ID number")
    parser.add_argument("--personal-data", action="store_true",
                        help="show personal data unmasked (needs a caseworker's or admin's token of the region)")
    parser.add_argument("--token", help=f"the token that allows --personal-data (default ${TOKEN_ENV})")


def _events_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    exporting = actions.add_parser("export", help="write the chosen events to JSON Lines or Parquet, resumably")
    exporting.add_argument("--out", type=Path, required=True,
                           help="JSON Lines file (appended), or Parquet directory (one part per run)")
    exporting.add_argument("--format", choices=("jsonl", "parquet"), default="jsonl")
    exporting.add_argument("--limit", type=int, metavar="N", help="read at most N records this run (resume later)")
    _selection_arguments(exporting)
    json_argument(exporting)
    connection_arguments(exporting)
    tailing = actions.add_parser("tail", help="follow events as they arrive")
    start = tailing.add_mutually_exclusive_group()
    start.add_argument("--from-beginning", action="store_true", help="start at the oldest event kept")
    tailing.add_argument("--limit", type=int, metavar="N", help="stop after N events")
    tailing.add_argument("--idle-exit", type=float, metavar="S", help="stop after S seconds without a new record")
    _selection_arguments(tailing)
    json_argument(tailing)
    connection_arguments(tailing)


@command("events", "`events export` writes chosen events to JSON Lines or Parquet (resumable); `events tail` "
         "follows them live. Personal data masked unless authorised.", _events_arguments)
def events_command(args: argparse.Namespace) -> int:
    name = f"events {args.action}"
    unknown = sorted(set(args.types or ()) - set(EVENT_TYPES))
    if unknown:
        return usage_error(name, f"unknown event type(s): {', '.join(unknown)}")
    if args.since and args.until and args.until <= args.since:
        return usage_error(name, "--until must be after --since")
    if args.limit is not None and args.limit <= 0:
        return usage_error(name, "--limit must be positive")
    selection = events.Selection(topics=tuple(args.topic or ()), types=tuple(args.types or ()), since=args.since,
                                 until=args.until, person=args.person)
    return run(name, _export(args, selection) if args.action == "export" else _tail(args, selection))


def _unmasking(args: argparse.Namespace, settings) -> events.Unmasking:
    if not args.personal_data:
        return events.Unmasking()
    return events.Unmasking.from_token(args.token or os.environ.get(TOKEN_ENV), settings)


async def _export(args: argparse.Namespace, selection: events.Selection) -> int:
    settings = settings_for(args)
    unmasking = _unmasking(args, settings)
    with progress(desc=f"exporting to {args.out}", unit="record") as bar:
        def on_progress(done: int, total: int) -> None:
            bar.total, bar.n = total, done
            bar.refresh()

        result = await export.export(settings, selection, args.out, fmt=args.format, unmasking=unmasking,
                                     limit=args.limit, on_progress=on_progress)
    if result.reading.invalid:
        error_line("events export", f"warning: {result.reading.invalid} record(s) that are not valid events skipped")
    if args.json:
        print_json(result.as_json())
    else:
        kinds = ", ".join(f"{n} {t}" for t, n in sorted(result.by_type.items())) or "no new events"
        where = f"{args.out}/*/{result.part}" if result.part else str(args.out)
        more = "" if result.complete else " (stopped at --limit: run again to continue)"
        print(f"exported {result.reading.kept} of {result.reading.read} record(s) read to {where}: {kinds}{more}")
    return 0


async def _tail(args: argparse.Namespace, selection: events.Selection) -> int:
    settings = settings_for(args)
    unmasking = _unmasking(args, settings)

    def show(event: events.Event) -> None:
        print(json.dumps(event.envelope, ensure_ascii=False) if args.json else events.summary(event), flush=True)

    await events.tail(settings, selection, from_beginning=args.from_beginning, unmasking=unmasking,
                      limit=args.limit, idle_exit_s=args.idle_exit, on_event=show)
    sys.stdout.flush()
    return 0
