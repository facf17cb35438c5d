"""Every service's HTTP guard: control characters refused where they arrive, a request id on
every answer, an unexpected error answered as JSON on a connection that stays usable, and no more
requests in flight than the process is set to serve at once."""

from __future__ import annotations

import asyncio

import httpx
import pytest
import structlog
import uvicorn
from fastapi import APIRouter, Request
from prometheus_client import REGISTRY
from pydantic import BaseModel

from shared.runtime import ServiceDefinition, ServiceRuntime, build_http_app
from shared.settings import Settings
from tooling.devstack import free_port

router = APIRouter()


class Note(BaseModel):
    name: str
    lines: list[str] = []


@router.get("/echo/{text}")
async def echo(text: str, q: str = "") -> dict:
    return {"text": text, "q": q}


@router.post("/notes")
async def post_note(note: Note) -> dict:
    return note.model_dump()


@router.get("/slow")
async def slow(request: Request) -> dict:
    """Answers once the test lets it (``app.state.go``): a request that stays in flight."""
    request.app.state.arrived.release()
    await request.app.state.go.wait()
    return {"slow": "done"}


@router.get("/boom")
async def boom() -> dict:
    raise RuntimeError("a bug, not the caller's fault")


@pytest.fixture
def app():
    definition = ServiceDefinition(name="enrollment", migrations_dir=None, router=router)
    settings = Settings()
    return build_http_app(definition, settings, runtime=ServiceRuntime(definition, settings))


@pytest.fixture
async def client(app):
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
                                 base_url="http://test") as client:
        yield client


@pytest.mark.parametrize("path, field", [
    ("/echo/a%00b", "path"),
    ("/echo/ok?q=x%00", "query.q"),
    ("/echo/ok?q=bell%07", "query.q"),
    ("/echo/del%7F", "path"),
])
async def test_a_control_character_in_the_url_is_refused_naming_where(client, path, field):
    answer = await client.get(path)

    assert answer.status_code == 422
    assert answer.json() == {"error": "validation_error", "detail": [
        {"field": field, "reason": "control characters (such as NUL) are not allowed"}]}


async def test_a_control_character_in_any_string_of_a_json_body_is_refused_naming_it(client):
    answer = await client.post("/notes", json={"name": "Li\u0000Lei", "lines": ["fine", "bad\u001b[31m"]})

    assert answer.status_code == 422
    assert [item["field"] for item in answer.json()["detail"]] == ["body.name", "body.lines[1]"]


async def test_ordinary_text_with_line_breaks_and_chinese_passes(client):
    note = {"name": "李雷", "lines": ["第一行\n第二行", "tab\there"]}

    answer = await client.post("/notes", json=note)

    assert (answer.status_code, answer.json()) == (200, note)


async def test_an_unexpected_error_answers_json_with_the_request_id_it_logged(client):
    with structlog.testing.capture_logs() as logs:
        answer = await client.get("/boom", headers={"X-Request-ID": "req-42"})

    assert answer.status_code == 500
    assert answer.headers["x-request-id"] == "req-42"
    assert answer.json() == {"error": "internal_error", "detail": [
        {"reason": "an unexpected error; it has been logged", "request_id": "req-42"}]}
    [logged] = [line for line in logs if line["event"] == "unexpected error answering a request"]
    assert logged["log_level"] == "error"


async def test_every_answer_carries_a_request_id_and_a_malformed_one_is_replaced(client):
    mine = await client.get("/echo/x", headers={"X-Request-ID": "abc-123"})
    odd = await client.get("/echo/x", headers={"X-Request-ID": "not a plain token!"})
    none = await client.get("/echo/x")

    assert mine.headers["x-request-id"] == "abc-123"
    assert len(odd.headers["x-request-id"]) == 32 and odd.headers["x-request-id"] != "not a plain token!"
    assert none.headers["x-request-id"] != odd.headers["x-request-id"]


async def test_after_an_unexpected_error_the_same_connection_serves_the_next_request(app):
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="off"))
    serving = asyncio.create_task(server.serve())
    try:
        for _ in range(200):
            if server.started:
                break
            await asyncio.sleep(0.05)
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", limits=limits) as one_connection:
            failed = await one_connection.get("/boom")
            after = await one_connection.get("/echo/still-here")
            refused = await one_connection.get("/echo/a%00b")
            last = await one_connection.get("/healthz")
    finally:
        server.should_exit = True
        await serving

    assert (failed.status_code, after.status_code, refused.status_code, last.status_code) == (500, 200, 422, 200)
    assert after.json() == {"text": "still-here", "q": ""}


def app_serving_at_most(max_in_flight: int):
    definition = ServiceDefinition(name="enrollment", migrations_dir=None, router=router)
    settings = Settings(http_max_in_flight=max_in_flight)
    app = build_http_app(definition, settings, runtime=ServiceRuntime(definition, settings))
    app.state.arrived, app.state.go = asyncio.Semaphore(0), asyncio.Event()
    return app


def shed_so_far() -> float:
    return REGISTRY.get_sample_value("shebao_http_shed_total", {"service": "enrollment"}) or 0.0


async def test_past_its_requests_in_flight_a_process_answers_busy_at_once_and_serves_probes():
    """Two requests in flight, the cap: a third is answered ``503 service_busy`` with ``Retry-After``
    and its request id without reaching a route, and counted; health checks and scrapes still answer;
    once the two are done (one of them an unexpected error) the slots are free again."""
    capped_app = app_serving_at_most(2)
    transport = httpx.ASGITransport(app=capped_app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        shed_before = shed_so_far()
        in_flight = [asyncio.create_task(client.get("/slow")) for _ in range(2)]
        for _ in in_flight:
            await asyncio.wait_for(capped_app.state.arrived.acquire(), 5)

        refused = await client.get("/echo/x", headers={"X-Request-ID": "req-7"})
        refused_post = await client.post("/notes", json={"name": "Li Lei"})
        probes = [await client.get(path) for path in ("/healthz", "/metrics")]
        capped_app.state.go.set()
        answered = await asyncio.gather(*in_flight)
        failed = await client.get("/boom")
        after = [await client.get("/echo/y") for _ in range(3)]

    assert [answer.status_code for answer in (refused, refused_post)] == [503, 503]
    assert refused.json() == {"error": "service_busy", "detail": [
        {"reason": "the service is busy: it is already serving 2 requests; try again shortly"}]}
    assert refused.headers["retry-after"] == "1" and refused.headers["x-request-id"] == "req-7"
    assert shed_so_far() - shed_before == 2
    assert [probe.status_code for probe in probes] == [200, 200]
    assert [answer.json() for answer in answered] == [{"slow": "done"}] * 2
    assert failed.status_code == 500
    assert [answer.status_code for answer in after] == [200, 200, 200]


async def test_without_a_cap_every_request_is_taken_in():
    """``SHEBAO_HTTP_MAX_IN_FLIGHT=0``: twenty requests in flight at once, all answered."""
    app = app_serving_at_most(0)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        in_flight = [asyncio.create_task(client.get("/slow")) for _ in range(20)]
        for _ in in_flight:
            await asyncio.wait_for(app.state.arrived.acquire(), 5)
        app.state.go.set()
        answered = await asyncio.gather(*in_flight)

    assert [answer.status_code for answer in answered] == [200] * 20
