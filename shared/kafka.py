"""Kafka client settings shared by the relay producer, the consumers and the operator tools."""

from __future__ import annotations

import ssl
from typing import Any

from aiokafka import AIOKafkaProducer

from shared.settings import Settings


def client_options(settings: Settings) -> dict[str, Any]:
    """Connection options (bootstrap, TLS, SASL) passed through to aiokafka."""
    options: dict[str, Any] = {
        "bootstrap_servers": settings.kafka_bootstrap_servers,
        "security_protocol": settings.kafka_security_protocol,
    }
    if settings.kafka_security_protocol in ("SSL", "SASL_SSL"):
        options["ssl_context"] = ssl.create_default_context(cafile=settings.kafka_ssl_cafile)
    if settings.kafka_sasl_mechanism:
        options.update(
            sasl_mechanism=settings.kafka_sasl_mechanism,
            sasl_plain_username=settings.kafka_sasl_username,
            sasl_plain_password=settings.kafka_sasl_password,
        )
    return options


def new_producer(settings: Settings) -> AIOKafkaProducer:
    """A producer with the durability settings of this environment (acks, idempotence)."""
    acks: Any = "all" if settings.kafka_acks == "all" else int(settings.kafka_acks)
    return AIOKafkaProducer(
        **client_options(settings),
        acks=acks,
        enable_idempotence=settings.kafka_idempotent_producer,
        linger_ms=5,
        max_batch_size=1024 * 1024,
        request_timeout_ms=10_000,
        retry_backoff_ms=200,
    )


def faststream_security(settings: Settings):
    """The same TLS/SASL settings in FastStream's terms, for the consuming broker."""
    from faststream.security import BaseSecurity, SASLPlaintext, SASLScram256, SASLScram512

    use_ssl = settings.kafka_security_protocol in ("SSL", "SASL_SSL")
    context = ssl.create_default_context(cafile=settings.kafka_ssl_cafile) if use_ssl else None
    mechanism = settings.kafka_sasl_mechanism
    credentials = {"username": settings.kafka_sasl_username or "", "password": settings.kafka_sasl_password or ""}
    if mechanism == "PLAIN":
        return SASLPlaintext(**credentials, ssl_context=context, use_ssl=use_ssl)
    if mechanism == "SCRAM-SHA-256":
        return SASLScram256(**credentials, ssl_context=context, use_ssl=use_ssl)
    if mechanism == "SCRAM-SHA-512":
        return SASLScram512(**credentials, ssl_context=context, use_ssl=use_ssl)
    return BaseSecurity(ssl_context=context, use_ssl=use_ssl) if use_ssl else None
