"""After one resident's journey, each service's ``GET /metrics`` shows what that journey did: the
application, its approval, two enrolments, one bill and its amount, one payment and its amount,
the notices by channel and outcome, the requests by route, readiness, lag and dead letters.

The platform is shared with the other end-to-end tests, so first whatever they left billable is
billed and the platform is let settle; from then on the counters move by this journey alone.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from decimal import Decimal

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from services.billing.app import SERVICE as BILLING
from services.documents.app import SERVICE as DOCUMENTS
from services.enrollment.app import SERVICE as ENROLLMENT
from services.notifications.app import SERVICE as NOTIFICATIONS
from shared import metrics
from shared.events import dlq_topic
from shared.periods import Month
from shared.settings import SERVICE_NAMES
from tests.e2e.conftest import E2E_PREFIX
from tooling.journey import (
    Caseworker,
    Operator,
    PaymentChannel,
    Resident,
    a_resident_id_number,
    billing_date_for,
    sample_files,
    today_in_region,
)
from tooling.journey import Platform as PlatformClient

pytestmark = pytest.mark.e2e

REGION = "110000"
DEFINITIONS = {definition.name: definition for definition in (BILLING, DOCUMENTS, ENROLLMENT, NOTIFICATIONS)}

Samples = dict[tuple[str, frozenset], float]


def test_each_services_metrics_show_what_one_journey_did(platform):
    client = PlatformClient(ports=dict(platform.ports), region=REGION)
    today = today_in_region(client)
    Operator(client).billing_run(billing_date_for(str(Month.of(today).next()), today))  # what others left
    before = settled(platform)

    resident, bill, payment = journey(client)

    deliveries = settled_deliveries(resident)
    expected = {
        "enrollment": {("shebao_applications_submitted_total", ()): 1,
                       ("shebao_enrolments_activated_total", (("programme", "pension"),)): 1,
                       ("shebao_enrolments_activated_total", (("programme", "medical_employee"),)): 1},
        "documents": {("shebao_applications_approved_total", ()): 1},
        "billing": {("shebao_bills_issued_total", ()): 1,
                    ("shebao_bills_issued_cny_total", ()): Decimal(bill["total"]),
                    ("shebao_payments_received_total", (("channel", "unionpay"),)): 1,
                    ("shebao_payments_received_cny_total", (("channel", "unionpay"),)): Decimal(payment["amount"])},
        "notifications": {("shebao_notifications_total", (("channel", channel), ("outcome", outcome))): count
                          for (channel, outcome), count in deliveries.items()},
    }
    assert Decimal(bill["total"]) == Decimal("2017.32")  # 7162 × 20% + 584.92, DOMAIN.md
    assert deliveries[("inbox", "delivered")] >= 5
    for service, figures in expected.items():
        moved = wait_for(lambda s=service, f=figures: business_deltas(before[s], scrape(platform, s), f),
                         lambda found, f=figures: found == _as_floats(f))
        assert moved == _as_floats(figures), service

    for service in SERVICE_NAMES:
        after = wait_for(lambda s=service: scrape(platform, s), lambda found, s=service: caught_up(found, s))
        assert exposed_families(platform, service) >= FAMILIES, service
        assert after[("shebao_ready", _labels(service=service, region=REGION))] == 1
        assert after[("shebao_outbox_pending", _labels(service=service, region=REGION))] == 0
        for topic in DEFINITIONS[service].consumed_topics(E2E_PREFIX):
            assert ("shebao_dlq_records", _labels(service=service, topic=dlq_topic(topic), region=REGION)) in after
    assert request_count(scrape(platform, "enrollment"), "POST", "/v1/applications", "202") >= 1
    assert request_count(scrape(platform, "documents"), "PUT",
                    "/v1/dossiers/{application_id}/materials/{material}", "201") >= 4
    assert request_count(scrape(platform, "billing"), "POST", "/v1/payments", "201") >= 1


# --- the journey ----------------------------------------------------------------------------


def journey(client: PlatformClient) -> tuple[Resident, dict, dict]:
    """Apply at Beijing's base floor, hand in and have approved the materials, be billed once, pay."""
    resident = Resident(client, a_resident_id_number(), language="en")
    resident.apply(["pension", "medical_employee"], "7162.00")
    required = {item["material"] for item in resident.dossier()["materials"]}
    for material, file in sample_files().items():
        if material in required:
            resident.upload(material, file)
    Caseworker(client).review_all(resident.application_id)
    enrollments = resident.wait_for_enrollments("active", 2)
    resident.wait_until_billing_knows_me(2)
    Operator(client).billing_run(billing_date_for(enrollments[0]["start_month"], today_in_region(client)))
    [bill] = resident.wait_for_bills(1)
    payment = PaymentChannel(client).pay(resident.person_id, bill["total"])
    resident.wait_for_notice("payment_received")
    return resident, bill, payment


def settled_deliveries(resident: Resident) -> Counter:
    """(channel, outcome) of the resident's deliveries once none is being sent; an SMS held back by
    quiet hours stays pending and counts nowhere."""

    def settled() -> Counter | None:
        deliveries = [d for notice in resident.inbox() for d in notice["deliveries"]]
        if any(d["status"] == "sending" or (d["status"] == "pending" and d["channel"] != "sms") for d in deliveries):
            return None
        return Counter((d["channel"], d["status"]) for d in deliveries if d["status"] in ("delivered", "failed"))

    return resident.platform.wait_for("every delivery sent", settled)


# --- reading /metrics -----------------------------------------------------------------------

FAMILIES = {
    "shebao_http_request_duration_seconds", "shebao_consumer_lag_records", "shebao_dlq_records",
    "shebao_outbox_pending", "shebao_outbox_oldest_pending_seconds", "shebao_ready", "shebao_dependency_up",
    "shebao_job_runs", "shebao_job_last_success_timestamp_seconds", "shebao_events_consumed",
    "shebao_handler_seconds", "shebao_event_loop_lag_seconds", "shebao_db_pool_wait_seconds",
    "shebao_applications_submitted",
    "shebao_applications_approved",
    "shebao_enrolments_activated", "shebao_bills_issued", "shebao_bills_issued_cny", "shebao_payments_received",
    "shebao_payments_received_cny", "shebao_bills_overdue", "shebao_enrolments_suspended", "shebao_notifications",
}


def settled(platform, timeout_s: float = 60.0) -> dict[str, Samples]:
    """Every service's samples once no outbox holds anything and the business counters stopped moving."""
    deadline = time.monotonic() + timeout_s
    previous = None
    while True:
        now = {service: scrape(platform, service) for service in SERVICE_NAMES}
        quiet = all(value == 0 for samples in now.values() for (name, _), value in samples.items()
                    if name == "shebao_outbox_pending")
        business = {service: {key: value for key, value in samples.items() if key[0] in BUSINESS}
                    for service, samples in now.items()}
        if quiet and business == previous:
            return now
        assert time.monotonic() < deadline, "the platform never settled"
        previous = business
        time.sleep(1.5)


BUSINESS = {f"{name}_total" for name in (
    "shebao_applications_submitted", "shebao_applications_approved", "shebao_enrolments_activated",
    "shebao_bills_issued", "shebao_bills_issued_cny", "shebao_payments_received", "shebao_payments_received_cny",
    "shebao_bills_overdue", "shebao_enrolments_suspended", "shebao_notifications", "shebao_events_consumed",
)}


def scrape(platform, service: str) -> Samples:
    text = httpx.get(f"http://127.0.0.1:{platform.ports[service]}/metrics", timeout=10).text
    return {(sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}



def exposed_families(platform, service: str) -> set[str]:
    text = httpx.get(f"http://127.0.0.1:{platform.ports[service]}/metrics", timeout=10).text
    return {family.name for family in text_string_to_metric_families(text)}


def business_deltas(before: Samples, after: Samples, figures: dict) -> dict:
    """How far each counter named in ``figures`` moved for the region, by its own labels."""
    return {
        (name, labels): round(after.get(key := (name, _labels(region=REGION, **dict(labels))), 0.0)
                              - before.get(key, 0.0), 2)
        for name, labels in figures
    }


def caught_up(samples: Samples, service: str) -> bool:
    """Every partition of the service's group committed to its end."""
    group = f"{E2E_PREFIX}shebao.{service}"
    lags = [value for (name, labels), value in samples.items()
            if name == "shebao_consumer_lag_records" and ("group", group) in labels]
    return bool(lags) and not any(lags)


def request_count(samples: Samples, method: str, route: str, status: str) -> float:
    return sum(value for (name, labels), value in samples.items()
               if name == "shebao_http_request_duration_seconds_count"
               and {("method", method), ("route", route), ("status", status)} <= labels)


def wait_for(read: Callable[[], object], done: Callable[[object], bool], timeout_s: float = 30.0):
    """``read()`` again until ``done`` says so; the last reading either way (the assert shows it)."""
    deadline = time.monotonic() + timeout_s
    while True:
        found = read()
        if done(found) or time.monotonic() > deadline:
            return found
        time.sleep(0.5)


def _labels(**labels: str) -> frozenset:
    return frozenset(labels.items())


def _as_floats(figures: dict) -> dict:
    return {key: round(float(value), 2) for key, value in figures.items()}


def test_the_families_checked_here_are_the_kernels_own():
    kernel = {collector._name for collector in vars(metrics).values() if hasattr(collector, "_name")}
    assert FAMILIES <= kernel
