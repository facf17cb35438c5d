"""Prometheus metrics every service exposes on ``GET /metrics``.

Every family is defined here, so that the alert rules and the dashboard in ``deploy/`` can be
checked against what the services really expose (``tests/deploy``). Names follow the Prometheus
conventions: ``shebao_`` first, base units (``_seconds``), ``_total`` on counters, and money in
``_cny_total`` counters (a float in Prometheus, for graphs only: amounts are reckoned as Decimal
in the services). The region is a label of every sample: the business counters take it from
the event, everything else from the deployment (``exposition``).
"""

from __future__ import annotations

from bisect import bisect_left

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.metrics_core import Metric

# --- delivery: outbox, relay, consumer ------------------------------------------------------

EVENTS_CONSUMED = Counter(
    "shebao_events_consumed_total", "Events taken from a topic, by outcome",
    ["service", "event_type", "outcome"],
)
EVENTS_PUBLISHED = Counter("shebao_events_published_total", "Events published by the outbox relay", ["service"])
EVENTS_DEAD_LETTERED = Counter("shebao_events_dead_lettered_total", "Events sent to a dead-letter topic", ["service"])
OUTBOX_PENDING = Gauge("shebao_outbox_pending", "Outbox rows not yet published", ["service"])
OUTBOX_OLDEST_PENDING_AGE = Gauge(
    "shebao_outbox_oldest_pending_seconds", "Age of the oldest unpublished outbox row", ["service"]
)
OUTBOX_PARKED = Gauge(
    "shebao_outbox_parked", "Outbox rows parked after the broker refused them (status failed)", ["service"]
)
RELAY_FAILURES = Counter("shebao_outbox_relay_failures_total", "Failed publish attempts of the relay", ["service"])
HANDLER_LATENCY = Histogram(
    "shebao_handler_seconds", "Time to apply one consumed event, transaction included",
    ["service", "event_type"], buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
CONSUMER_LAG = Gauge(
    "shebao_consumer_lag_records",
    "Records of a partition the consumer group has not committed yet (end offset - committed offset)",
    ["service", "group", "topic", "partition"],
)
DLQ_RECORDS = Gauge(
    "shebao_dlq_records", "Records held in a dead-letter topic this service writes to", ["service", "topic"]
)

# --- HTTP, readiness, jobs --------------------------------------------------------------------

HTTP_REQUEST_DURATION = Histogram(
    "shebao_http_request_duration_seconds",
    "HTTP requests by route template and status: the count is the rate, 5xx the errors",
    ["service", "method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
READY = Gauge("shebao_ready", "1 when the database and the broker answered the last readiness check", ["service"])
DEPENDENCY_UP = Gauge(
    "shebao_dependency_up", "1 when the dependency answered the last readiness check", ["service", "dependency"]
)
JOB_RUNS = Counter("shebao_job_runs_total", "Runs of a periodic job, by outcome", ["service", "job", "outcome"])
JOB_LAST_SUCCESS = Gauge(
    "shebao_job_last_success_timestamp_seconds", "When a periodic job last finished without an error",
    ["service", "job"],
)
EVENT_LOOP_LAG = Histogram(
    "shebao_event_loop_lag_seconds",
    "How late the event loop woke a task that slept a tenth of a second: the time it spent on other"
    " work first. High while the database pool sits idle: the process wants more CPU than it gets",
    ["service"], buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1),
)
DB_POOL_WAIT = Histogram(
    "shebao_db_pool_wait_seconds",
    "How long a unit of work, consumer batch or relay pass waited for a connection of the service's"
    " pool (units: read-write; readers: one-statement lookups; aside: short writes units wait for),"
    " a new connection's opening included."
    " High while the event loop's lag is low: the pool is too small for the load",
    ["service", "pool"], buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
DB_POOL_SHED = Counter(
    "shebao_db_pool_shed_total",
    "HTTP requests answered 503 service_busy because every connection of the pool stayed taken for"
    " SHEBAO_DB_POOL_WAIT_LIMIT_S: the service is short of capacity (more replicas, or fewer requests)",
    ["service", "pool"],
)
HTTP_SHED = Counter(
    "shebao_http_shed_total",
    "HTTP requests answered 503 service_busy on arrival because the process was already serving"
    " SHEBAO_HTTP_MAX_IN_FLIGHT requests: it is short of CPU (more replicas, or fewer requests)",
    ["service"],
)
REFRESH_FAILURES = Counter(
    "shebao_metrics_refresh_failures_total", "Gauges that could not be refreshed for a scrape, by source",
    ["service", "source"],
)

# --- the trade, counted from committed events (shared/business_metrics.py) --------------------

APPLICATIONS_SUBMITTED = Counter("shebao_applications_submitted_total", "Applications submitted", ["region"])
APPLICATIONS_APPROVED = Counter(
    "shebao_applications_approved_total", "Applications whose materials a caseworker approved (DocumentsVerified)",
    ["region"],
)
ENROLMENTS_ACTIVATED = Counter(
    "shebao_enrolments_activated_total", "Enrolments activated, one per programme", ["region", "programme"]
)
BILLS_ISSUED = Counter("shebao_bills_issued_total", "Bills issued (PremiumDue)", ["region"])
BILLS_ISSUED_AMOUNT = Counter("shebao_bills_issued_cny_total", "Total of the bills issued, CNY", ["region"])
PAYMENTS_RECEIVED = Counter("shebao_payments_received_total", "Payments received (PremiumPaid)", ["region", "channel"])
PAYMENTS_RECEIVED_AMOUNT = Counter(
    "shebao_payments_received_cny_total", "Amount of the payments received, CNY", ["region", "channel"]
)
BILLS_OVERDUE = Counter(
    "shebao_bills_overdue_total", "Overdue notices reached, by escalation level in days (PaymentOverdue)",
    ["region", "level"],
)
ENROLMENTS_SUSPENDED = Counter(
    "shebao_enrolments_suspended_total", "Enrolments suspended (EnrollmentSuspended)", ["region", "programme"]
)
NOTIFICATIONS = Counter(
    "shebao_notifications_total", "Notices by channel and outcome (NotificationDelivered / NotificationFailed)",
    ["region", "channel", "outcome"],
)


# --- exposition -------------------------------------------------------------------------------


class _WithRegion:
    """A view of a registry in which every sample carries a ``region`` label (its own if it has one)."""

    def __init__(self, registry: CollectorRegistry, region: str) -> None:
        self.registry = registry
        self.region = region

    def collect(self):
        for family in self.registry.collect():
            labelled = Metric(family.name, family.documentation, family.type, family.unit)
            labelled.samples = [self._labelled(sample) for sample in family.samples]
            yield labelled

    def _labelled(self, sample):
        if "region" in sample.labels:
            return sample
        return sample._replace(labels={**sample.labels, "region": self.region})


def observe_times(histogram: Histogram, value: float, times: int) -> None:
    """``times`` observations of ``value`` at once: a batch handler's events, each its share of the run.

    prometheus_client observes one value a call (a lock and a walk of the buckets each: about a
    microsecond, a run of 500 events paid it 500 times), so the sum and the value's bucket are
    added to directly; ``tests/unit/test_observability.py`` checks it against ``observe``.
    """
    histogram._sum.inc(value * times)
    histogram._buckets[bisect_left(histogram._upper_bounds, value)].inc(times)


def exposition(region: str, registry: CollectorRegistry = REGISTRY) -> bytes:
    """The text exposition of ``registry``, each sample labelled with the deployment's ``region``
    unless it names its own (a business counter names the region of its event)."""
    return generate_latest(_WithRegion(registry, region))
