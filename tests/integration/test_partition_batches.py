"""The relay's batched send, on the real broker: each key lands where aiokafka's default
partitioner puts it (so batched and one-by-one sends agree), in the order it was appended."""

from __future__ import annotations

import itertools
from collections import defaultdict

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.errors import MessageSizeTooLargeError
from aiokafka.partitioner import DefaultPartitioner

from shared.kafka import MAX_REQUEST_BYTES, PartitionBatches
from tooling.devstack import ensure_topics

from .harness import read_topic

pytestmark = pytest.mark.integration

PARTITIONS = 12


async def test_batched_records_land_where_the_default_partitioner_puts_them_in_order(infrastructure, unique_name):
    bootstrap = infrastructure.broker.bootstrap_servers
    await ensure_topics(bootstrap, [unique_name], PARTITIONS)
    keys = [f"person-{n}".encode() for n in range(40)]
    appended = [(key, f"{number}".encode()) for number, key in zip(range(600), itertools.cycle(keys))]
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, max_batch_size=4096)  # small: batches fill up
    await producer.start()
    try:
        batches = PartitionBatches(producer)
        for key, value in appended:
            await batches.append(unique_name, key, value, [("n", value)])
        await batches.send_all()
    finally:
        await producer.stop()

    records = await read_topic(bootstrap, unique_name, len(appended))
    assert len(records) == len(appended)
    by_key = defaultdict(list)
    for record in sorted(records, key=lambda r: (r.partition, r.offset)):
        assert record.partition == DefaultPartitioner()(record.key, list(range(PARTITIONS)), None)
        assert dict(record.headers)["n"] == record.value
        by_key[record.key].append(int(record.value))
    assert {key: values for key, values in by_key.items()} == {
        key: [int(value) for k, value in appended if k == key] for key in keys
    }
    assert len({record.partition for record in records}) > 1


async def test_a_record_over_the_request_size_is_refused_as_the_producer_would(infrastructure, unique_name):
    bootstrap = infrastructure.broker.bootstrap_servers
    await ensure_topics(bootstrap, [unique_name], PARTITIONS)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        batches = PartitionBatches(producer)
        await batches.append(unique_name, b"k", b"fits", [])
        with pytest.raises(MessageSizeTooLargeError):
            await batches.append(unique_name, b"k", b"x" * (MAX_REQUEST_BYTES + 1), [])
        await batches.send_all()
    finally:
        await producer.stop()
    assert [record.value for record in await read_topic(bootstrap, unique_name, 1)] == [b"fits"]


async def test_every_batch_is_handed_over_closed_so_that_none_waits_out_the_linger(infrastructure, unique_name):
    """An open batch lingers in the producer's accumulator for ``linger_ms`` (the relay's producer
    has 5 ms) in case more records come; the relay's batches are complete when handed over."""
    bootstrap = infrastructure.broker.bootstrap_servers
    await ensure_topics(bootstrap, [unique_name], PARTITIONS)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, max_batch_size=4096, linger_ms=5)
    handed_over = []
    send_batch = producer.send_batch

    async def recorded(batch, topic, *, partition):
        handed_over.append(batch.closed())
        return await send_batch(batch, topic, partition=partition)

    producer.send_batch = recorded
    await producer.start()
    try:
        batches = PartitionBatches(producer)
        for number in range(300):  # more than one batch of 4 KB in some partitions
            await batches.append(unique_name, f"person-{number % 30}".encode(), b"x" * 300, [])
        await batches.send_all()
    finally:
        await producer.stop()

    assert len(handed_over) > PARTITIONS
    assert all(handed_over)
    assert len(await read_topic(bootstrap, unique_name, 300)) == 300
