"""Prometheus metrics every service exposes on ``GET /metrics``."""

from prometheus_client import Counter, Gauge, Histogram

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
RELAY_FAILURES = Counter("shebao_outbox_relay_failures_total", "Failed publish attempts of the relay", ["service"])
HANDLER_LATENCY = Histogram(
    "shebao_handler_seconds", "Time to apply one consumed event, transaction included",
    ["service", "event_type"], buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
