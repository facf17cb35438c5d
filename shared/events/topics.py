"""Topic names and Kafka header names.

One topic per producing service and major version (``shebao.billing.v1``), an optional
deployment prefix in front (``bj.shebao.billing.v1``), dead letters on ``<topic>.dlq``.
"""

from __future__ import annotations

SERVICES = ("enrollment", "documents", "billing", "notifications")
TOPIC_VERSION = "v1"

TYPE_HEADER = "ce_type"
ID_HEADER = "ce_id"
SOURCE_HEADER = "ce_source"
CORRELATION_HEADER = "ce_correlationid"


def topic_for(service: str, prefix: str = "") -> str:
    """The topic that ``service`` publishes to, e.g. ``shebao.billing.v1``.

    ``prefix`` comes from the deployment's settings and is used verbatim ("bj.").
    """
    if service not in SERVICES:
        raise ValueError(f"unknown service {service!r}; expected one of {', '.join(SERVICES)}")
    return f"{prefix}shebao.{service}.{TOPIC_VERSION}"


def dlq_topic(topic: str) -> str:
    """The dead-letter topic of ``topic``."""
    return f"{topic}.dlq"


def all_topics(prefix: str = "") -> list[str]:
    """Every topic a deployment needs: the four service topics, then their dead letters."""
    topics = [topic_for(service, prefix) for service in SERVICES]
    return topics + [dlq_topic(topic) for topic in topics]
