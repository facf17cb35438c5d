"""The HTTP load generator: its applicants (never a person the running platform already knows),
its mix, and its warm-up."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import itertools

import pytest

from bench import http_load
from bench.http_client import prepare
from shared.identity import person_id_for
from tooling.journey import a_resident_id_number


def test_an_applicant_is_never_a_person_the_platform_or_the_run_has_seen(monkeypatch):
    numbers: set[str] = set()
    while len(numbers) < 3:
        numbers.add(a_resident_id_number())
    known, seen_in_run, new = sorted(numbers)
    drawn = itertools.chain([known, seen_in_run, known, seen_in_run, new])
    monkeypatch.setattr(http_load, "a_resident_id_number", lambda: next(drawn))
    mix = http_load.Mix({"enrollment": [1]}, billed=[], known_persons={person_id_for(known)})

    assert mix._new_applicant() == seen_in_run
    assert mix._new_applicant() == new


def test_with_only_one_kind_every_request_is_of_that_kind():
    person = person_id_for(a_resident_id_number())
    mix = http_load.Mix({"billing": [1], "enrollment": [2]}, billed=[person], only=http_load.KINDS["payments"])

    assert {mix(i)[0] for i in range(50)} == {"POST /v1/payments"}


def test_the_mix_sends_each_kind_in_its_share():
    person = person_id_for(a_resident_id_number())
    mix = http_load.Mix({"billing": [1], "enrollment": [2]}, billed=[person])
    kinds = collections.Counter(mix(i)[0] for i in range(2000))

    for kind, share in http_load.MIX:
        assert kinds[kind] / 2000 == pytest.approx(share, abs=0.01)


async def test_warm_up_requests_are_sent_first_and_counted_apart():
    answered: list[bytes] = []

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):  # the client closing
            while request := await reader.readuntil(b"\r\n\r\n"):
                answered.append(request.split(b" ")[1])
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok")
                await writer.drain()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    requests = [prepare("GET a", "GET", f"http://127.0.0.1:{port}/{i}") for i in range(10)]
    try:
        figures, _ = await http_load.open_model(200, 5, requests, warmup=4)
    finally:
        server.close()

    assert figures[http_load.WARMUP]["requests"] == 4
    assert figures["GET a"]["requests"] == figures["GET a"]["ok"] == 6
    assert answered[:4] == [b"/0", b"/1", b"/2", b"/3"]


def test_the_timeline_gives_each_second_its_requests_errors_and_each_routes_p99():
    timeline = http_load.Timeline()
    for latency in range(1, 101):  # second 0: 100 reads of 1..100 ms
        timeline.note(0, "GET a", float(latency), "2xx")
    timeline.note(2, "POST b", 900.0, "2xx")
    timeline.note(2, "POST b", 10_000.0, "TimeoutError")
    timeline.note(2, "GET a", 5.0, "2xx")

    rows = timeline.summary()

    assert [row["second"] for row in rows] == [0, 2]  # a second with nothing sent has no row
    assert rows[0] == {"second": 0, "requests": 100, "errors": 0, "p99_ms": {"GET a": 99.0}}
    assert rows[1]["requests"] == 3 and rows[1]["errors"] == 1
    assert rows[1]["p99_ms"] == {"GET a": 5.0, "POST b": 9909.0}  # 900 + 0.99 × 9,100


async def test_the_open_model_notes_each_answer_in_the_second_it_was_sent_in():
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            while await reader.readuntil(b"\r\n\r\n"):
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok")
                await writer.drain()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    requests = [prepare("GET a", "GET", f"http://127.0.0.1:{port}/{i}") for i in range(30)]
    timeline = http_load.Timeline()
    try:
        await http_load.open_model(20, 5, requests, warmup=10, timeline=timeline)  # 1.5 s of sending
    finally:
        server.close()

    rows = timeline.summary()
    assert [(row["second"], row["requests"]) for row in rows] == [(0, 20), (1, 10)]
    assert set(rows[0]["p99_ms"]) == {http_load.WARMUP, "GET a"}  # 10 of the warm-up, then 10 measured
    assert set(rows[1]["p99_ms"]) == {"GET a"} and rows[1]["errors"] == 0
