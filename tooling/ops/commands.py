"""The operator subcommands of ``shebao``: arguments, output and exit codes.

The work itself is in the sibling modules; this one parses, runs and prints (the plumbing
every command shares is ``cli_support``). Exit codes: 0 done, 1 failed (the broker or
database unreachable, an unknown topic, the service still running, ...), 2 wrong usage.
Connection settings: the flags, else the environment (``shared.settings``), else the
``make run`` the CLI sits beside (``tooling.platform_state``). Every command has ``--json``.
"""

from __future__ import annotations

import argparse

from shared.events import EVENT_TYPES, SERVICES, topic_for
from shared.settings import SERVICE_NAMES, get_settings
from tooling import platform_state
from tooling.ops import dlq, event_doc, outbox, projections, replay, topics
from tooling.ops.cli_support import (
    aware_time,
    connection_arguments,
    error_line,
    json_argument,
    print_json,
    progress,
    run,
    settings_for,
    showing_elapsed,
)
from tooling.registry import command, usage_error


def _partition_offset(text: str) -> tuple[int, int]:
    partition, sep, offset = text.partition(":")
    if not sep or not partition.isdigit() or not offset.isdigit():
        raise argparse.ArgumentTypeError(f"expected PARTITION:OFFSET with two non-negative integers, got {text!r}")
    return int(partition), int(offset)


# --- platform ---------------------------------------------------------------------------


def _platform_arguments(parser: argparse.ArgumentParser) -> None:
    json_argument(parser)
    connection_arguments(parser, database=True)


@command("platform", "Where the CLI connects: broker, database and topic prefix, and where each setting comes from.",
         _platform_arguments)
def platform_command(args: argparse.Namespace) -> int:
    """Print the located connection settings; reaches nothing, so it always exits 0."""
    settings, sources = platform_state.locate(get_settings())
    flags = {"kafka_bootstrap_servers": args.bootstrap_servers, "database_url": args.database_url,
             "topic_prefix": args.topic_prefix}
    sources.update({name: "flag" for name, value in flags.items() if value is not None})
    settings = settings_for(args)
    values = {"kafka_bootstrap_servers": settings.kafka_bootstrap_servers,
              "database_url": platform_state.without_password(settings.database_url),
              "topic_prefix": settings.topic_prefix}
    if args.json:
        print_json({name: {"value": value, "source": sources[name]} for name, value in values.items()})
    else:
        for name, value in values.items():
            print(f"{name:<24} {value!r:<50} ({sources[name]})")
    return 0


# --- topics -----------------------------------------------------------------------------


def _topics_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--all", action="store_true", help="every topic of the cluster, not only <prefix>shebao.*")
    parser.add_argument("--group", action="append", metavar="GROUP",
                        help="only this consumer group (repeatable; needed where the broker cannot list groups)")
    json_argument(parser)
    connection_arguments(parser)


@command("topics", "Topics with partitions and end offsets, and each consumer group's committed offsets and lag.",
         _topics_arguments)
def topics_command(args: argparse.Namespace) -> int:
    async def work() -> int:
        def over_groups(groups):
            return progress(iterable=groups, desc="consumer groups", unit="group")

        report = await topics.topics_report(settings_for(args), all_topics=args.all, groups=args.group,
                                            progress=over_groups)
        if args.json:
            print_json(report.as_json())
        else:
            print(topics.format_report(report))
        for warning in report.warnings:
            error_line("topics", f"warning: {warning}")
        return 0

    return run("topics", work())


# --- replay -----------------------------------------------------------------------------


def _replay_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--group", required=True, help="consumer group, e.g. shebao.billing (<prefix>shebao.<service>)")
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--to-earliest", action="store_true", help="from the oldest record kept")
    target.add_argument("--to-datetime", type=aware_time, metavar="T",
                        help="from the first record at or after T (ISO 8601 with offset)")
    target.add_argument("--to-offset", type=_partition_offset, action="append", metavar="P:O",
                        help="partition P from offset O (repeatable; needs a single topic)")
    parser.add_argument("--topic", action="append", metavar="TOPIC",
                        help="only this topic (repeatable; a service name means its topic); "
                             "default: every topic the group has committed offsets on")
    parser.add_argument("--schema", help="for a service's group: the service's schema (default: the service's name)")
    parser.add_argument("--force", action="store_true",
                        help="for any other group: go ahead although the broker lists members (Tansu lists "
                             "members that have left); live members still make it fail")
    parser.add_argument("--dry-run", action="store_true", help="show the new offsets, commit nothing")
    json_argument(parser)
    connection_arguments(parser, database=True)


@command("replay", "Rewind a stopped service's consumer group so that it consumes again (inbox dedup makes it safe).",
         _replay_arguments)
def replay_command(args: argparse.Namespace) -> int:
    if args.to_offset:
        partitions = [partition for partition, _ in args.to_offset]
        if len(partitions) != len(set(partitions)):
            return usage_error("replay", "--to-offset names a partition twice")
        if args.topic and len(args.topic) != 1:
            return usage_error("replay", "--to-offset needs a single --topic")
    target = replay.Target(earliest=args.to_earliest, at=args.to_datetime,
                           offsets=dict(args.to_offset) if args.to_offset else None)

    async def work() -> int:
        settings = settings_for(args)
        names = [_topic_name(name, settings.topic_prefix) for name in args.topic or []]
        plan = await showing_elapsed(f"rewinding {args.group}", replay.rewind_group(
            settings, args.group, target, topics=names or None, dry_run=args.dry_run, schema=args.schema,
            force=args.force))
        if args.json:
            print_json(replay.plan_as_json(args.group, plan))
        else:
            print(replay.format_plan(args.group, target, plan, dry_run=args.dry_run))
        return 0

    return run("replay", work())


def _topic_name(name: str, prefix: str) -> str:
    return topic_for(name, prefix) if name in SERVICES else name


# --- dlq --------------------------------------------------------------------------------


def _dlq_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="show each dead letter with its error")
    listing.add_argument("topic", metavar="TOPIC", help="e.g. shebao.billing.v1, its .dlq, or a service name")
    json_argument(listing)
    connection_arguments(listing)
    redrive = actions.add_parser("redrive", help="send dead letters back to their topic, once")
    redrive.add_argument("topic", metavar="TOPIC", help="e.g. shebao.billing.v1, its .dlq, or a service name")
    json_argument(redrive)
    connection_arguments(redrive)


@command("dlq", "Dead letters: `dlq list TOPIC` shows them with their errors, `dlq redrive TOPIC` sends them "
         "back once.",
         _dlq_arguments)
def dlq_command(args: argparse.Namespace) -> int:
    async def listing() -> int:
        with progress(desc="reading dead letters", unit="record") as bar:
            name, letters = await dlq.list_dead_letters(settings_for(args), args.topic,
                                                        on_progress=_updating(bar))
        if args.json:
            print_json(dlq.dead_letters_as_json(name, letters))
        else:
            print(dlq.format_dead_letters(name, letters))
        return 0

    async def redrive() -> int:
        with progress(desc="redrive", unit="record") as bar:
            result = await dlq.redrive(settings_for(args), args.topic, on_progress=_updating(bar))
        if args.json:
            print_json(dlq.redriven_as_json(result))
        else:
            print(f"{result.dlq}: {result.count} dead letter(s) redriven to {result.topic}")
        return 0

    return run(f"dlq {args.action}", listing() if args.action == "list" else redrive())


def _updating(bar):
    """An ``on_progress(done, total)`` callback that moves ``bar``."""

    def on_progress(done: int, total: int) -> None:
        bar.total = total
        bar.n = done
        bar.refresh()

    return on_progress


# --- outbox -----------------------------------------------------------------------------


def _outbox_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    status = actions.add_parser("status", help="pending rows, and the parked ones with their errors")
    status.add_argument("service", choices=SERVICE_NAMES, metavar="SERVICE", help=", ".join(SERVICE_NAMES))
    status.add_argument("--schema", help="the service's schema (default: the service's name)")
    json_argument(status)
    connection_arguments(status, database=True)
    republish = actions.add_parser("republish", help="re-emit events the service sent since T, or parked rows")
    republish.add_argument("service", choices=SERVICE_NAMES, metavar="SERVICE", help=", ".join(SERVICE_NAMES))
    which = republish.add_mutually_exclusive_group(required=True)
    which.add_argument("--since", type=aware_time, metavar="T", help="sent at or after T")
    which.add_argument("--parked", action="store_true", help="the parked rows (once their cause is fixed)")
    republish.add_argument("--until", type=aware_time, metavar="T", help="sent before T")
    republish.add_argument("--type", action="append", metavar="EVENT", dest="event_types",
                           help="only this event type (repeatable)")
    republish.add_argument("--schema", help="the service's schema (default: the service's name)")
    republish.add_argument("--dry-run", action="store_true", help="count, change nothing")
    json_argument(republish)
    connection_arguments(republish, database=True)


@command("outbox", "`outbox status SERVICE`: pending and parked rows; `outbox republish SERVICE --since T | "
         "--parked`: re-emit sent events, or put parked rows back in line.", _outbox_arguments)
def outbox_command(args: argparse.Namespace) -> int:
    if args.action == "status":
        return _outbox_status(args)
    if args.parked and (args.until is not None or args.event_types):
        return usage_error("outbox republish", "--parked takes neither --until nor --type")
    unknown = sorted(set(args.event_types or ()) - set(EVENT_TYPES))
    if unknown:
        return usage_error("outbox republish", f"unknown event type(s): {', '.join(unknown)}")
    if args.until is not None and args.since is not None and args.until <= args.since:
        return usage_error("outbox republish", "--until must be after --since")

    async def work() -> int:
        schema = args.schema or args.service
        if args.parked:
            marking = outbox.republish_parked(settings_for(args), schema, dry_run=args.dry_run)
        else:
            marking = outbox.republish(settings_for(args), schema, args.since, until=args.until,
                                       event_types=args.event_types, dry_run=args.dry_run)
        result = await showing_elapsed(f"marking {args.service}'s events pending", marking)
        if args.json:
            print_json(outbox.republished_as_json(args.service, result))
        else:
            print(outbox.format_republished(args.service, result, parked=args.parked))
        return 0

    return run("outbox republish", work())


def _outbox_status(args: argparse.Namespace) -> int:
    async def work() -> int:
        result = await outbox.status(settings_for(args), args.schema or args.service)
        if args.json:
            print_json(outbox.status_as_json(args.service, result))
        else:
            print(outbox.format_status(args.service, result))
        return 0

    return run("outbox status", work())


# --- rebuild-projection -----------------------------------------------------------------


def _rebuild_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("service", choices=SERVICE_NAMES, metavar="SERVICE", help=", ".join(SERVICE_NAMES))
    parser.add_argument("--schema", help="the service's schema (default: the service's name)")
    parser.add_argument("--dry-run", action="store_true", help="show what would be dropped and replayed")
    json_argument(parser)
    connection_arguments(parser, database=True)


@command("rebuild-projection",
         "Drop a stopped service's projection tables and rewind its group so that replay rebuilds them.",
         _rebuild_arguments)
def rebuild_projection_command(args: argparse.Namespace) -> int:
    async def work() -> int:
        settings = settings_for(args)
        if args.dry_run:
            plan = projections.plan_as_json(settings, args.service, args.schema)
            if args.json:
                print_json(plan)
            else:
                print(f"{args.service}: would delete every row of {', '.join(plan['tables'])} in schema "
                      f"{plan['schema']}, the inbox rows of {', '.join(plan['events'])}, and rewind "
                      f"group {plan['group']} to the earliest offset")
            return 0
        result = await showing_elapsed(f"rebuilding the projections of {args.service}",
                                       projections.rebuild_projection(settings, args.service, args.schema))
        for warning in result.warnings:
            error_line("rebuild-projection", f"warning: {warning}")
        if args.json:
            print_json(projections.rebuilt_as_json(result))
        else:
            print(projections.format_rebuilt(result))
        return 0

    return run("rebuild-projection", work())


# --- events-doc -------------------------------------------------------------------------


def _events_doc_arguments(parser: argparse.ArgumentParser) -> None:
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--write", action="store_true", help="rewrite the catalog table of docs/events.md")
    action.add_argument("--check", action="store_true", help="exit 1 if the table differs from the models")
    json_argument(parser)


@command("events-doc", "The event catalog table of docs/events.md, from the models in shared/events.",
         _events_doc_arguments)
def events_doc_command(args: argparse.Namespace) -> int:
    path = event_doc.DOC_PATH
    if not path.exists():
        error_line("events-doc", f"error: {path} does not exist")
        return 1
    if args.write:
        event_doc.write()
        print_json({"path": str(path), "written": True}) if args.json else print(f"wrote the event catalog of {path}")
        return 0
    stale = event_doc.stale()
    if args.json:
        print_json({"path": str(path), "stale": stale})
    if stale:
        error_line("events-doc", f"{path.name} is stale: run `shebao events-doc --write`")
        return 1
    return 0
