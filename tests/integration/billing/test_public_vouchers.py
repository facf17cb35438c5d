"""Anyone checks a voucher: the public keys and the verification need no token, and are rate-limited."""

from __future__ import annotations

import httpx
import pytest

from services.billing.app import SERVICE
from shared.runtime import build_http_app
from tests.integration.billing.story import an_active_enrolment, billing_run, on, pay

pytestmark = pytest.mark.integration


async def a_paid_voucher(billing) -> dict:
    person = await an_active_enrolment(billing)
    await billing_run(billing, "2025-06-25")
    paid = await pay(billing, person, "1432.40", paid_at=on("2025-07-12"))
    resident = billing.auth("resident", sub=person.person_id)
    return (await billing.client.get(f"/v1/vouchers/{paid['voucher_no']}", headers=resident)).json()


async def test_a_bank_with_no_token_reads_the_keys_and_verifies_a_voucher(billing):
    voucher = await a_paid_voucher(billing)

    keys = await billing.client.get("/v1/vouchers/public-key")
    presented = await billing.client.post("/v1/vouchers/verify", json={
        "document": voucher["document"], "signature": voucher["signature"]})
    forged = await billing.client.post("/v1/vouchers/verify", json={
        "document": {**voucher["document"], "total": "14324.00"}, "signature": voucher["signature"]})
    under_another_key = await billing.client.post("/v1/vouchers/verify", json={
        "document": voucher["document"], "signature": voucher["signature"], "key_id": "no-such-key"})

    assert keys.status_code == 200
    assert keys.json()["keys"] == [{"key_id": voucher["key_id"], "public_key": voucher["public_key"], "signs": True}]
    assert (presented.status_code, presented.json()["valid"], presented.json()["key_id"]) == (
        200, True, voucher["key_id"])
    assert (forged.status_code, forged.json()["valid"]) == (200, False)
    assert under_another_key.json()["valid"] is False


async def test_the_voucher_itself_still_needs_a_token(billing):
    voucher = await a_paid_voucher(billing)

    anonymous = await billing.client.get(f"/v1/vouchers/{voucher['voucher_no']}")

    assert anonymous.status_code == 401


async def test_one_client_flooding_the_public_routes_is_told_to_wait(billing):
    app = build_http_app(SERVICE, billing.settings, runtime=billing.runtime)
    # a client address of its own, so that the other tests' allowance is untouched
    transport = httpx.ASGITransport(app=app, client=("192.0.2.44", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as flooder:
        answers = [await flooder.get("/v1/vouchers/public-key") for _ in range(100)]

    statuses = [answer.status_code for answer in answers]
    refused = answers[statuses.index(429)]
    assert statuses[0] == 200
    assert refused.json()["error"] == "rate_limited"
    assert int(refused.headers["Retry-After"]) >= 1
    assert (await billing.client.get("/v1/vouchers/public-key")).status_code == 200  # another client is served
