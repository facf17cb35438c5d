"""What every ``shebao`` operator command shares: connection arguments and settings, running
the async work with one-line failures, ``--json`` output and progress on a terminal.

Exit codes: 0 done, 1 failed (the broker or database unreachable, an unknown topic, the
service still running, ...), 2 wrong usage.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from collections.abc import Coroutine
from datetime import datetime
from typing import Any

from aiokafka.errors import KafkaConnectionError
from tqdm import tqdm

from shared.settings import Settings, get_settings
from tooling import platform_state
from tooling.ops import OpsError


def connection_arguments(parser: argparse.ArgumentParser, *, database: bool = False) -> None:
    """``--bootstrap-servers``, ``--topic-prefix`` and, with ``database``, ``--database-url``."""
    group = parser.add_argument_group(
        "connection (default: the SHEBAO_* / KAFKA_* / DATABASE_URL environment, else the running `make run`)")
    group.add_argument("--bootstrap-servers", help="Kafka bootstrap servers, e.g. kafka-1:9092")
    group.add_argument("--topic-prefix", help="the deployment's topic prefix, e.g. 'bj.'")
    if database:
        group.add_argument("--database-url", help="PostgreSQL URL, e.g. postgresql://shebao@db:5432/shebao")


def json_argument(parser: argparse.ArgumentParser) -> None:
    """``--json``: machine-readable output on stdout (every command has it)."""
    parser.add_argument("--json", action="store_true", help="machine-readable output (JSON on stdout)")


def settings_for(args: argparse.Namespace) -> Settings:
    """The settings a command runs with: its flags, else the environment, else the platform the CLI
    sits beside (``tooling.platform_state``)."""
    settings, _ = platform_state.locate(get_settings())
    overrides = {
        "kafka_bootstrap_servers": getattr(args, "bootstrap_servers", None),
        "topic_prefix": getattr(args, "topic_prefix", None),
        "database_url": getattr(args, "database_url", None),
    }
    return settings.model_copy(update={k: v for k, v in overrides.items() if v is not None})


def run(name: str, work: Coroutine[Any, Any, int]) -> int:
    """Run ``work``; an operator-facing failure becomes one line on stderr and exit code 1."""
    # aiokafka logs each failed connection attempt; the command reports the failure once, itself
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    try:
        return asyncio.run(work)
    except KeyboardInterrupt:
        print(f"shebao {name}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader went away (`shebao topics | head`): nothing more to say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as error:  # unreachable broker or database, refused connection, ...
        print(f"shebao {name}: error: {describe_failure(error)}", file=sys.stderr)
    return 1


def describe_failure(error: Exception) -> str:
    """One line an operator can act on: what failed and which setting points there."""
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


def aware_time(text: str) -> datetime:
    """argparse type: an ISO 8601 time with its UTC offset."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {text!r}") from None
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} needs a UTC offset, e.g. 2025-07-01T08:00:00+08:00 or ...Z")
    return value


def progress(**options: Any) -> tqdm:
    """A progress bar on stderr, shown only on a terminal (never in ``--json`` pipes or logs)."""
    return tqdm(file=sys.stderr, disable=None, leave=False, **options)


async def showing_elapsed(desc: str, work: Coroutine[Any, Any, Any]) -> Any:
    """Await ``work`` with a line on a terminal that counts the seconds (joining a group can take a while)."""
    bar = progress(desc=desc, total=None, bar_format="{desc}: {elapsed}")

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


def print_json(value: Any) -> None:
    """``value`` as indented JSON on stdout (decimals, times and UUIDs as strings)."""
    print(json.dumps(value, indent=2, ensure_ascii=False, default=str))


def error_line(name: str, message: str) -> None:
    """``shebao NAME: MESSAGE`` on stderr (warnings; the output itself stays clean for --json)."""
    print(f"shebao {name}: {message}", file=sys.stderr)
