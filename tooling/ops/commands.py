"""The operator subcommands of ``shebao``: arguments, output and exit codes.

The work itself is in the sibling modules; this one parses, runs and prints. Exit codes:
0 done, 1 failed (the broker or database unreachable, the service still running, ...),
2 wrong usage. Connection settings come from the environment (``shared.settings``) and
can be overridden with ``--bootstrap-servers``, ``--database-url`` and ``--topic-prefix``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import Coroutine
from datetime import datetime
from typing import Any

from aiokafka.errors import KafkaConnectionError
from tqdm import tqdm

from shared.events import EVENT_TYPES, SERVICES, topic_for
from shared.settings import SERVICE_NAMES, Settings, get_settings
from tooling.ops import OpsError, dlq, event_doc, outbox, projections, replay, topics
from tooling.registry import command, usage_error

# --- shared plumbing ------------------------------------------------------------------


def _connection_arguments(parser: argparse.ArgumentParser, *, database: bool = False) -> None:
    group = parser.add_argument_group("connection (default: the SHEBAO_* / KAFKA_* / DATABASE_URL environment)")
    group.add_argument("--bootstrap-servers", help="Kafka bootstrap servers, e.g. kafka-1:9092")
    group.add_argument("--topic-prefix", help="the deployment's topic prefix, e.g. 'bj.'")
    if database:
        group.add_argument("--database-url", help="PostgreSQL URL, e.g. postgresql://shebao@db:5432/shebao")


def _settings(args: argparse.Namespace) -> Settings:
    overrides = {
        "kafka_bootstrap_servers": getattr(args, "bootstrap_servers", None),
        "topic_prefix": getattr(args, "topic_prefix", None),
        "database_url": getattr(args, "database_url", None),
    }
    return get_settings().model_copy(update={k: v for k, v in overrides.items() if v is not None})


def _run(name: str, work: Coroutine[Any, Any, int]) -> int:
    """Run ``work``; an operator-facing failure becomes one line on stderr and exit code 1."""
    # aiokafka logs each failed connection attempt; the command reports the failure once, itself
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    try:
        return asyncio.run(work)
    except KeyboardInterrupt:
        print(f"shebao {name}: interrupted", file=sys.stderr)
        return 130
    except Exception as error:  # unreachable broker or database, refused connection, ...
        print(f"shebao {name}: error: {_describe_failure(error)}", file=sys.stderr)
    return 1


def _describe_failure(error: Exception) -> str:
    if isinstance(error, OpsError):
        return str(error)
    text = str(error)
    if not text.startswith(type(error).__name__):
        text = f"{type(error).__name__}: {text}"
    if isinstance(error, KafkaConnectionError):
        return f"cannot reach the Kafka broker (--bootstrap-servers / KAFKA_BOOTSTRAP_SERVERS): {text}"
    if isinstance(error, OSError):
        return f"cannot reach the database (--database-url / DATABASE_URL): {text}"
    return text


def _aware_time(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {text!r}") from None
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} needs a UTC offset, e.g. 2025-07-01T08:00:00+08:00 or ...Z")
    return value


def _partition_offset(text: str) -> tuple[int, int]:
    partition, sep, offset = text.partition(":")
    if not sep or not partition.isdigit() or not offset.isdigit():
        raise argparse.ArgumentTypeError(f"expected PARTITION:OFFSET with two non-negative integers, got {text!r}")
    return int(partition), int(offset)


def _progress(**options: Any) -> tqdm:
    """A progress bar on stderr, shown only on a terminal."""
    return tqdm(file=sys.stderr, disable=None, leave=False, **options)


async def _showing_elapsed(desc: str, work: Coroutine[Any, Any, Any]) -> Any:
    """Await ``work`` with a line on a terminal that counts the seconds (joining a group can take a while)."""
    bar = _progress(desc=desc, total=None, bar_format="{desc}: {elapsed}")

    async def tick() -> None:
        while True:
            await asyncio.sleep(0.5)
            bar.refresh()

    ticker = asyncio.create_task(tick())
    try:
        return await work
    finally:
        ticker.cancel()
        bar.close()


def _print_json(value: Any) -> None:
    print(json.dumps(value, indent=2, ensure_ascii=False, default=str))


# --- topics -----------------------------------------------------------------------------


def _topics_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--all", action="store_true", help="every topic of the cluster, not only <prefix>shebao.*")
    parser.add_argument("--group", action="append", metavar="GROUP",
                        help="only this consumer group (repeatable; needed where the broker cannot list groups)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    _connection_arguments(parser)


@command("topics", "Topics with partitions and end offsets, and each consumer group's committed offsets and lag.",
         _topics_arguments)
def topics_command(args: argparse.Namespace) -> int:
    async def work() -> int:
        def progress(groups):
            return _progress(iterable=groups, desc="consumer groups", unit="group")

        report = await topics.topics_report(_settings(args), all_topics=args.all, groups=args.group, progress=progress)
        if args.json:
            _print_json(report.as_json())
        else:
            print(topics.format_report(report))
        for warning in report.warnings:
            print(f"shebao topics: warning: {warning}", file=sys.stderr)
        return 0

    return _run("topics", work())


# --- replay -----------------------------------------------------------------------------


def _replay_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--group", required=True, help="consumer group, e.g. shebao.billing (<prefix>shebao.<service>)")
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--to-earliest", action="store_true", help="from the oldest record kept")
    target.add_argument("--to-datetime", type=_aware_time, metavar="T",
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
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    _connection_arguments(parser, database=True)


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
        settings = _settings(args)
        names = [_topic_name(name, settings.topic_prefix) for name in args.topic or []]
        plan = await _showing_elapsed(f"rewinding {args.group}", replay.rewind_group(
            settings, args.group, target, topics=names or None, dry_run=args.dry_run, schema=args.schema,
            force=args.force))
        if args.json:
            _print_json(replay.plan_as_json(args.group, plan))
        else:
            print(replay.format_plan(args.group, target, plan, dry_run=args.dry_run))
        return 0

    return _run("replay", work())


def _topic_name(name: str, prefix: str) -> str:
    return topic_for(name, prefix) if name in SERVICES else name


# --- dlq --------------------------------------------------------------------------------


def _dlq_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="show each dead letter with its error")
    listing.add_argument("topic", metavar="TOPIC", help="e.g. shebao.billing.v1, its .dlq, or a service name")
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    _connection_arguments(listing)
    redrive = actions.add_parser("redrive", help="send dead letters back to their topic, once")
    redrive.add_argument("topic", metavar="TOPIC", help="e.g. shebao.billing.v1, its .dlq, or a service name")
    _connection_arguments(redrive)


@command("dlq", "Dead letters: `dlq list TOPIC` shows them with their errors, `dlq redrive TOPIC` sends them "
         "back once.",
         _dlq_arguments)
def dlq_command(args: argparse.Namespace) -> int:
    async def listing() -> int:
        name, letters = await dlq.list_dead_letters(_settings(args), args.topic)
        if args.json:
            _print_json(dlq.dead_letters_as_json(name, letters))
        else:
            print(dlq.format_dead_letters(name, letters))
        return 0

    async def redrive() -> int:
        bar = _progress(desc="redrive", unit="record")

        def on_progress(done: int, total: int) -> None:
            bar.total = total
            bar.n = done
            bar.refresh()

        try:
            result = await dlq.redrive(_settings(args), args.topic, on_progress=on_progress)
        finally:
            bar.close()
        print(f"{result.dlq}: {result.count} dead letter(s) redriven to {result.topic}")
        return 0

    return _run(f"dlq {args.action}", listing() if args.action == "list" else redrive())


# --- outbox -----------------------------------------------------------------------------


def _outbox_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    republish = actions.add_parser("republish", help="re-emit events the service sent since T")
    republish.add_argument("service", choices=SERVICE_NAMES, metavar="SERVICE", help=", ".join(SERVICE_NAMES))
    republish.add_argument("--since", type=_aware_time, required=True, metavar="T", help="sent at or after T")
    republish.add_argument("--until", type=_aware_time, metavar="T", help="sent before T")
    republish.add_argument("--type", action="append", metavar="EVENT", dest="event_types",
                           help="only this event type (repeatable)")
    republish.add_argument("--schema", help="the service's schema (default: the service's name)")
    republish.add_argument("--dry-run", action="store_true", help="count, change nothing")
    _connection_arguments(republish, database=True)


@command("outbox", "`outbox republish SERVICE --since T`: re-emit sent events from the service's outbox retention.",
         _outbox_arguments)
def outbox_command(args: argparse.Namespace) -> int:
    unknown = sorted(set(args.event_types or ()) - set(EVENT_TYPES))
    if unknown:
        return usage_error("outbox republish", f"unknown event type(s): {', '.join(unknown)}")
    if args.until is not None and args.until <= args.since:
        return usage_error("outbox republish", "--until must be after --since")

    async def work() -> int:
        result = await outbox.republish(_settings(args), args.schema or args.service, args.since, until=args.until,
                                        event_types=args.event_types, dry_run=args.dry_run)
        print(outbox.format_republished(args.service, result))
        return 0

    return _run("outbox republish", work())


# --- rebuild-projection -----------------------------------------------------------------


def _rebuild_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("service", choices=SERVICE_NAMES, metavar="SERVICE", help=", ".join(SERVICE_NAMES))
    parser.add_argument("--schema", help="the service's schema (default: the service's name)")
    parser.add_argument("--dry-run", action="store_true", help="show what would be dropped and replayed")
    _connection_arguments(parser, database=True)


@command("rebuild-projection",
         "Drop a stopped service's projection tables and rewind its group so that replay rebuilds them.",
         _rebuild_arguments)
def rebuild_projection_command(args: argparse.Namespace) -> int:
    async def work() -> int:
        settings = _settings(args)
        if args.dry_run:
            projection = projections.projection_of(args.service)
            print(f"{args.service}: would delete every row of {', '.join(projection.tables)} in schema "
                  f"{args.schema or args.service}, the inbox rows of {', '.join(projection.events)}, and rewind "
                  f"group {projections.group_of(settings, args.service)} to the earliest offset")
            return 0
        result = await _showing_elapsed(f"rebuilding the projections of {args.service}",
                                        projections.rebuild_projection(settings, args.service, args.schema))
        for warning in result.warnings:
            print(f"shebao rebuild-projection: warning: {warning}", file=sys.stderr)
        print(projections.format_rebuilt(result))
        return 0

    return _run("rebuild-projection", work())


# --- events-doc -------------------------------------------------------------------------


def _events_doc_arguments(parser: argparse.ArgumentParser) -> None:
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--write", action="store_true", help="rewrite the catalog table of docs/events.md")
    action.add_argument("--check", action="store_true", help="exit 1 if the table differs from the models")


@command("events-doc", "The event catalog table of docs/events.md, from the models in shared/events.",
         _events_doc_arguments)
def events_doc_command(args: argparse.Namespace) -> int:
    if not event_doc.DOC_PATH.exists():
        print(f"shebao events-doc: error: {event_doc.DOC_PATH} does not exist", file=sys.stderr)
        return 1
    if args.write:
        event_doc.write()
        print(f"wrote the event catalog of {event_doc.DOC_PATH}")
        return 0
    if event_doc.stale():
        print(f"shebao events-doc: {event_doc.DOC_PATH.name} is stale: run `shebao events-doc --write`",
              file=sys.stderr)
        return 1
    return 0
