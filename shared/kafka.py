"""Kafka client settings shared by the relay producer, the consumers and the operator tools."""

from __future__ import annotations

import asyncio
import functools
import ssl
from collections.abc import Sequence
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.errors import MessageSizeTooLargeError
from aiokafka.partitioner import murmur2
from aiokafka.record.default_records import DefaultRecordBatchBuilder

from shared.settings import Settings

MAX_REQUEST_BYTES = 1024 * 1024
"""The largest record the relay sends (aiokafka's default request size, made explicit)."""


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
        max_batch_size=MAX_REQUEST_BYTES,
        max_request_size=MAX_REQUEST_BYTES,
        request_timeout_ms=10_000,
        retry_backoff_ms=200,
    )


class PartitionBatches:
    """Records gathered into one record batch per topic partition, then sent together.

    The partition of a keyed record is the one aiokafka's default partitioner would choose
    (murmur2 of the key over the topic's partitions), so records sent this way and records sent
    one by one with ``producer.send`` land alike. Records are appended in the caller's order and
    the accumulator sends a partition's batches one after the other: per-key order is kept.
    It spares the per-record work of ``producer.send`` (a metadata wait, a future, a partitioner
    call per record), which was most of the relay's time.
    """

    def __init__(self, producer: AIOKafkaProducer) -> None:
        self.producer = producer
        self._open: dict[tuple[str, int], Any] = {}
        self._partitions: dict[str, list[int]] = {}
        self._deliveries: list[asyncio.Future] = []

    async def append(self, topic: str, key: bytes, value: bytes, headers: Sequence[tuple[str, bytes]]) -> None:
        """Add one record; a full batch is handed to the producer and a new one begun.

        A record over ``MAX_REQUEST_BYTES`` raises ``MessageSizeTooLargeError``, as ``producer.send`` does.
        """
        size = DefaultRecordBatchBuilder.estimate_size_in_bytes(key, value, headers)
        if size > MAX_REQUEST_BYTES:
            raise MessageSizeTooLargeError(f"The message is {size} bytes when serialized, over {MAX_REQUEST_BYTES}")
        partition = await self._partition_of(topic, key)
        batch = self._open.get((topic, partition))
        if batch is not None and batch.append(key=key, value=value, timestamp=None, headers=headers) is not None:
            return
        if batch is not None:
            await self._send(topic, partition, batch)
        batch = self.producer.create_batch()
        batch.append(key=key, value=value, timestamp=None, headers=headers)  # a batch takes its first record
        self._open[topic, partition] = batch

    async def send_all(self) -> None:
        """Hand every open batch to the producer and wait for the broker's acknowledgements."""
        for (topic, partition), batch in list(self._open.items()):
            await self._send(topic, partition, batch)
        await asyncio.gather(*self._deliveries)

    async def _send(self, topic: str, partition: int, batch: Any) -> None:
        del self._open[topic, partition]
        batch.close()  # complete: an open batch would wait out the producer's linger_ms before it is sent
        self._deliveries.append(await self.producer.send_batch(batch, topic, partition=partition))

    async def _partition_of(self, topic: str, key: bytes) -> int:
        partitions = self._partitions.get(topic)
        if partitions is None:
            partitions = self._partitions[topic] = sorted(await self.producer.partitions_for(topic))
        return partitions[_key_slot(key, len(partitions))]


@functools.lru_cache(maxsize=65_536)
def _key_slot(key: bytes, partition_count: int) -> int:
    """The default partitioner's choice, cached: murmur2 is pure Python and keys (people) recur."""
    return (murmur2(key) & 0x7FFFFFFF) % partition_count


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
