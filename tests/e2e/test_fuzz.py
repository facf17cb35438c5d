"""Fuzzing every route of the four services, as each role, against the platform running as processes.

Schemathesis reads each service's published OpenAPI document (``/openapi.json``, fetched when the
test runs, never at import) and sends what the document allows (positive data) and what it
forbids (negative data: wrong types, out-of-pattern strings, missing fields, exponent money,
full-width digits ...) with a token of each role. Two properties must hold for every request:

- **no 5xx**: whatever a client sends, the answer is the client's fault (4xx) or a success;
- **no 2xx for input outside the schema**: the published patterns are what is enforced.

The fuzzer gets past the obvious refusals where it can: the path identifiers, the payer and the
channel are most of the time those of one resident who really applied, was enrolled, billed and
paid (so GETs find records and writes reach the operations), and sometimes random ones (so the
404 and 403 answers are fuzzed too). The platform is this module's own — its own database and
topic prefix — because a fuzzed admin publishes policies and a fuzzed ops token runs billing, which
must not change what the journey tests of the session's shared platform expect.

Bounded for CI: a fixed seed, deterministic generation and ``MAX_EXAMPLES`` per operation, role and
generation mode — about two minutes on two cores, the platform's start included. Schemathesis runs
through its engine (every phase its CLI runs: examples, coverage, fuzzing), not its pytest plugin,
which does not work with pytest 9.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import pytest
import schemathesis
from schemathesis import engine
from schemathesis.engine import Status, events

from shared.periods import CLOCK_FILE_ENV, Month, now_utc
from shared.resident_id import check_character
from shared.settings import SERVICE_NAMES
from tooling.devstack import free_port
from tooling.journey import (
    Operator,
    PaymentChannel,
    billing_date_for,
    enrol_resident,
    today_in_region,
)
from tooling.journey import Platform as PlatformClient
from tooling.launcher import Platform

from .conftest import serving

pytestmark = pytest.mark.e2e

ROLES = ("resident", "caseworker", "admin", "ops", "channel")
CHANNEL = "unionpay"
REGION = "110000"
MAX_EXAMPLES = 12
SEED = 20261208
KNOWN_ID_PROBABILITY = 0.8
"""How often a path identifier, payer or channel is the known resident's rather than a random one."""


@dataclass(frozen=True)
class KnownRecords:
    """One resident's records, created through the APIs before the fuzzing starts."""

    person_id: str
    id_number: str
    application_id: str
    enrollment_id: str
    document_id: str
    voucher_no: str
    today: str


@pytest.fixture(scope="module")
def fuzzed_platform(infrastructure) -> Iterator[Platform]:
    """The four services as processes on the session's PostgreSQL and broker, with their own
    database and topics."""
    infrastructure.postgres.create_database("shebao_fuzz")
    state_dir = Path(tempfile.mkdtemp(prefix="shebao-fuzz-"))
    (state_dir / "clock").write_text("0")
    platform = Platform(
        state_dir=state_dir,
        database_url=infrastructure.postgres.url("shebao_fuzz"),
        bootstrap_servers=infrastructure.bootstrap_servers,
        topic_prefix="fuzz.",
        ports={service: free_port() for service in SERVICE_NAMES},
        extra_env={
            "SHEBAO_OUTBOX_POLL_INTERVAL_S": "0.2",
            "SHEBAO_CONSUMER_RETRY_BACKOFF_S": "0.05",
            "SHEBAO_DOCUMENTS_STORAGE_DIR": str(state_dir / "documents"),
            "SHEBAO_NOTIFICATIONS_SINK_DIR": str(state_dir / "sinks"),
            CLOCK_FILE_ENV: str(state_dir / "clock"),
        },
    )
    with serving(platform):
        yield platform


@pytest.fixture(scope="module")
def known(fuzzed_platform) -> KnownRecords:
    """A resident who applied, handed in materials, was enrolled, billed and paid."""
    client = PlatformClient(ports=dict(fuzzed_platform.ports), region=REGION)
    resident, enrollments = enrol_resident(client, say=lambda _: None)
    today = today_in_region(client)
    Operator(client).billing_run(billing_date_for(enrollments[0]["start_month"], today))
    [bill] = resident.wait_for_bills(1)
    payment = PaymentChannel(client, name=CHANNEL).pay(resident.person_id, bill["total"])
    dossier = resident.dossier()
    return KnownRecords(
        person_id=str(resident.person_id), id_number=resident.id_number, application_id=resident.application_id,
        enrollment_id=enrollments[0]["enrollment_id"], document_id=dossier["materials"][0]["document_id"],
        voucher_no=payment["voucher_no"], today=str(today),
    )


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("service", SERVICE_NAMES)
def test_no_input_is_answered_with_a_5xx_and_no_out_of_schema_input_is_accepted(service, role, fuzzed_platform,
                                                                                  known):
    client = PlatformClient(ports=dict(fuzzed_platform.ports), region=REGION)
    subject = {"resident": known.person_id, "channel": CHANNEL}.get(role)
    config = schemathesis.Config.from_dict(_fuzzing_config(known, client.headers(role, subject)))
    schema = schemathesis.openapi.from_url(client.url(service, "/openapi.json"), config=config)

    report = _fuzz(schema)

    print(f"{service} as {role}: {report.requests} requests;",
          ", ".join(f"{key} {count}" for key, count in sorted(report.statuses.items())))
    assert report.requests > 0, "the fuzzer sent nothing"
    assert report.problems == [], "\n\n".join(report.problems)


@dataclass
class FuzzReport:
    """What one run of the fuzzer sent and what it found wrong."""

    requests: int = 0
    problems: list[str] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)
    """Answers by operation and status class (``POST /v1/payments 2xx``): how deep the fuzzer got."""


def _fuzz(schema: schemathesis.BaseSchema) -> FuzzReport:
    """Run every phase of schemathesis over ``schema`` (as its CLI does) and collect each failed check
    and each error (a reset connection counts: the connection must stay usable after any answer)."""
    report = FuzzReport()
    for event in engine.from_schema(schema).execute():
        if isinstance(event, (events.ScenarioFinished, events.FuzzScenarioFinished)):
            report.requests += len(event.recorder.interactions)
            report.statuses.update(_status_classes(event.recorder))
            report.problems.extend(_failed_checks(event.recorder))
            if event.status == Status.ERROR:
                report.problems.append(f"{event.recorder.label}: a request ended in an error (see the log)")
        elif isinstance(event, events.NonFatalError):
            report.problems.append(f"{event.label}: {event.info.title}: {event.info.message}")
        elif isinstance(event, events.FatalError):
            report.problems.append(f"the fuzzer stopped: {event.exception!r}")
    return report


def _status_classes(recorder) -> list[str]:
    return [f"{recorder.label} {interaction.response.status_code // 100}xx"
            for interaction in recorder.interactions.values() if interaction.response is not None]


def _failed_checks(recorder) -> list[str]:
    return [f"{recorder.label}: {node.failure_info.failure.title}\n{node.failure_info.failure.message}\n"
            f"{node.failure_info.code_sample}"
            for nodes in recorder.checks.values() for node in nodes
            if node.status == Status.FAILURE and node.failure_info is not None]


def _fuzzing_config(known: KnownRecords, headers: dict[str, str]) -> dict:
    """Schemathesis settings: both generation modes, bounded and reproducible, only the two checks
    this test is about, and the known records offered as the values of the parameters naming them."""
    dictionaries = {
        "person": [known.person_id], "application": [known.application_id], "enrollment": [known.enrollment_id],
        "document": [known.document_id], "voucher": [known.voucher_no], "channel": [CHANNEL], "region": [REGION],
        "job_date": [known.today, str(_days_after(known.today, 7)), str(_days_after(known.today, -3))],
        "instant": [now_utc().isoformat(), (now_utc() - timedelta(days=1)).isoformat()],
        "next_month": [str(Month.of(_days_after(known.today, 31)).first_day),
                       str(Month.of(_days_after(known.today, 62)).first_day)],
        # the resident's own (a resident applies only for themself) and two strangers' (staff apply for anyone)
        "id_number": [known.id_number, _id_number("19850301012"), _id_number("19920715023")],
        "base": ["8000.00", "7162"],
    }
    bindings = {
        "path.person_id": "person", "body.person_id": "person", "path.application_id": "application",
        "path.enrollment_id": "enrollment", "path.document_id": "document", "path.voucher_no": "voucher",
        "body.channel": "channel", "body.region": "region", "query.region": "region", "body.as_of": "job_date",
        "body.paid_at": "instant", "body.effective_from": "next_month", "body.id_number": "id_number",
        "body.declared_base": "base", "body.base": "base",
    }
    return {
        "seed": SEED,
        "headers": headers,
        "workers": 1,
        "dictionaries": {name: {"values": values} for name, values in dictionaries.items()},
        "parameters": {key: {"dictionary": name, "probability": KNOWN_ID_PROBABILITY}
                       for key, name in bindings.items()},
        "generation": {"mode": "all", "max-examples": MAX_EXAMPLES, "deterministic": True, "database": "none",
                       "allow-x00": True},
        "checks": {"enabled": False, "not_a_server_error": {"enabled": True},
                   "negative_data_rejection": {"enabled": True}},
        "phases": {"stateful": {"enabled": False}},
        "cache": {"enabled": False},
        "request-timeout": 30,
    }


def _id_number(birth_and_sequence: str) -> str:
    """A valid resident ID number of someone from Beijing's Xicheng district (fixed: reproducible runs)."""
    first17 = f"110102{birth_and_sequence}"
    return first17 + check_character(first17)


def _days_after(day: str, days: int) -> date:
    return date.fromisoformat(day) + timedelta(days=days)
