"""Bearer tokens, roles and who may reach whose records."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import jwt
import pytest
from fastapi import Depends, FastAPI
from pydantic import BaseModel, Field

from shared.auth import (
    ROLES,
    AuthError,
    Principal,
    RecentTokens,
    current_principal,
    decode_token,
    ensure_person_access,
    mint_token,
    require_role,
)
from shared.errors import ApiError, install_error_handlers
from shared.settings import Settings

SECRET = "unit-test-secret-that-is-long-enough-for-hs256"
ISSUER = "shebao"
ALICE = str(uuid.uuid4())
BOB = str(uuid.uuid4())


# --- helpers -------------------------------------------------------------------------


def a_token(role: str = "caseworker", region: str = "110000", sub: str | None = None, **kw) -> str:
    sub = sub or (ALICE if role == "resident" else f"{role}-1")
    kw.setdefault("secret", SECRET)
    return mint_token(sub=sub, role=role, region=region, **kw)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def raw_token(**claims) -> str:
    now = int(datetime.now(UTC).timestamp())
    base = {"sub": "caseworker-1", "role": "caseworker", "region": "110000", "iss": ISSUER,
            "iat": now, "exp": now + 3600}
    base.update(claims)
    return jwt.encode({k: v for k, v in base.items() if v is not None}, SECRET, algorithm="HS256")


class Contact(BaseModel):
    phone: str = Field(pattern=r"^1[3-9]\d{9}$")


class Application(BaseModel):
    region: str
    contact: Contact


def an_app() -> FastAPI:
    app = FastAPI()
    # a deployment serving two regions (the tests use tokens of both)
    app.state.settings = Settings(jwt_secret=SECRET, jwt_issuer=ISSUER, served_regions_list="110000,440524")
    install_error_handlers(app)

    @app.get("/me")
    async def me(principal: Principal = Depends(current_principal)) -> dict:
        return {"sub": principal.sub, "role": principal.role, "region": principal.region}

    @app.post("/ops/billing-run")
    async def billing_run(principal: Principal = Depends(require_role("ops", "admin"))) -> dict:
        return {"ran_by": principal.sub}

    @app.get("/persons/{person_id}")
    async def person(person_id: str, region: str | None = None,
                     principal: Principal = Depends(current_principal)) -> dict:
        ensure_person_access(principal, person_id, region)
        return {"person_id": person_id}

    @app.post("/payments")
    async def payment(principal: Principal = Depends(require_role("channel"))) -> dict:
        ensure_person_access(principal, ALICE, allow_channel=True)
        return {"ok": True}

    @app.post("/applications")
    async def apply(body: Application) -> dict:
        return {"ok": True}

    return app


@pytest.fixture
async def client():
    transport = httpx.ASGITransport(app=an_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


# --- minting and decoding ------------------------------------------------------------


def test_a_minted_token_decodes_to_the_same_principal():
    token = a_token(role="resident", region="440524")

    assert decode_token(token, secret=SECRET, issuer=ISSUER) == Principal(ALICE, "resident", "440524")


def test_a_token_carries_issuer_and_expiry():
    now = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
    token = a_token(now=now, ttl=timedelta(hours=2))

    claims = jwt.decode(token, SECRET, algorithms=["HS256"], options={"verify_exp": False})

    assert claims["iss"] == "shebao"
    assert claims["iat"] == int(now.timestamp())
    assert claims["exp"] == int((now + timedelta(hours=2)).timestamp())


@pytest.mark.parametrize(
    "kwargs",
    [
        {"role": "superuser"},
        {"region": "11000"},
        {"region": "beijing"},
        {"role": "resident", "sub": "not-a-uuid"},
    ],
)
def test_minting_refuses_unknown_roles_bad_regions_and_resident_without_person_id(kwargs):
    with pytest.raises(ValueError):
        a_token(**kwargs)


@pytest.mark.parametrize(
    ("token", "code"),
    [
        (lambda: a_token(now=datetime.now(UTC) - timedelta(hours=9)), "token_expired"),
        (lambda: a_token(secret="another-secret-that-is-long-enough-for-hs256"), "bad_signature"),
        (lambda: a_token(issuer="someone-else"), "bad_issuer"),
        (lambda: raw_token(region=None), "missing_claim"),
        (lambda: raw_token(exp=None), "missing_claim"),
        (lambda: raw_token(role="superuser"), "unknown_role"),
        (lambda: raw_token(region="1100"), "invalid_claim"),
        (lambda: "not.a.token", "invalid_token"),
    ],
)
def test_untrusted_tokens_are_refused_with_a_reason(token, code):
    with pytest.raises(AuthError) as caught:
        decode_token(token(), secret=SECRET, issuer=ISSUER)

    assert caught.value.code == code


def test_require_role_refuses_unknown_roles_at_wiring_time():
    with pytest.raises(ValueError):
        require_role("superuser")


# --- over HTTP -----------------------------------------------------------------------


async def test_a_valid_token_reaches_the_route(client):
    response = await client.get("/me", headers=bearer(a_token(region="440524")))

    assert response.status_code == 200
    assert response.json() == {"sub": "caseworker-1", "role": "caseworker", "region": "440524"}


async def test_a_token_of_a_region_the_deployment_does_not_serve_is_403(client):
    response = await client.get("/me", headers=bearer(a_token(region="310000")))

    assert response.status_code == 403
    assert response.json()["detail"] == [{"reason": "this deployment serves region 110000, 440524, not 310000"}]


def test_a_deployment_serves_its_own_region_unless_it_lists_others():
    assert Settings(region="310000").served_regions == ["310000"]
    assert Settings(region="310000", served_regions_list="310000, 320000").served_regions == ["310000", "320000"]
    assert Settings(region="310000").serves("310000") and not Settings(region="310000").serves("110000")
    assert Settings(served_regions_list="*").serves("650000")  # a deployment for every region


async def test_no_authorization_header_is_401(client):
    response = await client.get("/me")

    assert response.status_code == 401
    assert response.json()["error"] == "unauthorized"
    assert response.json()["detail"]
    assert response.headers["www-authenticate"] == "Bearer"


async def test_a_header_without_bearer_scheme_is_401(client):
    response = await client.get("/me", headers={"Authorization": f"Basic {a_token()}"})

    assert response.status_code == 401


async def test_an_expired_token_is_401(client):
    expired = a_token(now=datetime.now(UTC) - timedelta(hours=9))

    response = await client.get("/me", headers=bearer(expired))

    assert response.status_code == 401
    assert response.json()["error"] == "unauthorized"
    assert response.json()["detail"][0]["code"] == "token_expired"


async def test_a_token_signed_with_another_secret_is_401(client):
    forged = a_token(secret="another-secret-that-is-long-enough-for-hs256")

    response = await client.get("/me", headers=bearer(forged))

    assert response.status_code == 401
    assert response.json()["detail"][0]["code"] == "bad_signature"


async def test_the_wrong_role_is_403(client):
    response = await client.post("/ops/billing-run", headers=bearer(a_token(role="caseworker")))

    assert response.status_code == 403
    assert response.json()["error"] == "forbidden"


async def test_an_allowed_role_passes(client):
    response = await client.post("/ops/billing-run", headers=bearer(a_token(role="ops")))

    assert response.status_code == 200
    assert response.json() == {"ran_by": "ops-1"}


async def test_a_resident_reaches_their_own_records(client):
    response = await client.get(f"/persons/{ALICE}", headers=bearer(a_token(role="resident", sub=ALICE)))

    assert response.status_code == 200


async def test_a_resident_cannot_reach_another_person(client):
    response = await client.get(f"/persons/{BOB}", headers=bearer(a_token(role="resident", sub=ALICE)))

    assert response.status_code == 403
    assert response.json()["error"] == "forbidden"


async def test_a_caseworker_reaches_persons_of_their_region(client):
    token = a_token(role="caseworker", region="110000")

    response = await client.get(f"/persons/{BOB}", params={"region": "110000"}, headers=bearer(token))

    assert response.status_code == 200


async def test_a_caseworker_of_another_region_is_403(client):
    token = a_token(role="caseworker", region="440524")

    response = await client.get(f"/persons/{BOB}", params={"region": "110000"}, headers=bearer(token))

    assert response.status_code == 403


async def test_the_channel_role_reaches_person_data_only_where_allowed(client):
    token = a_token(role="channel")

    refused = await client.get(f"/persons/{ALICE}", headers=bearer(token))
    allowed = await client.post("/payments", headers=bearer(token))

    assert refused.status_code == 403
    assert allowed.status_code == 200


async def test_a_validation_error_is_422_naming_the_field(client):
    response = await client.post("/applications", json={"region": "110000", "contact": {"phone": "12"}})

    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "validation_error"
    assert [d["field"] for d in body["detail"]] == ["body.contact.phone"]
    assert body["detail"][0]["reason"]


async def test_a_missing_field_is_named_too(client):
    response = await client.post("/applications", json={"contact": {"phone": "13812345678"}})

    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == "body.region"


async def test_an_unknown_route_answers_in_the_same_error_shape(client):
    response = await client.get("/nowhere")

    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


# --- the access rule on its own ------------------------------------------------------


@pytest.mark.parametrize("role", ["caseworker", "admin", "ops"])
def test_regional_staff_without_a_given_region_pass(role):
    ensure_person_access(Principal(f"{role}-1", role, "110000"), BOB)


def test_a_resident_matches_their_person_id_whatever_its_spelling():
    ensure_person_access(Principal(ALICE, "resident", "110000"), uuid.UUID(ALICE.upper()))


def test_every_role_has_an_access_rule():
    for role in ROLES:
        principal = Principal(ALICE if role == "resident" else f"{role}-1", role, "110000")
        try:
            ensure_person_access(principal, ALICE, "110000", allow_channel=True)
        except ApiError as exc:  # pragma: no cover - shows which role fell through
            pytest.fail(f"{role}: {exc.detail}")


def test_a_token_checked_once_is_not_checked_again_until_it_expires(monkeypatch):
    someone = str(uuid.uuid4())  # a token no other test has verified
    token = mint_token(sub=someone, role="resident", region="110000", secret=SECRET)
    checks = []
    real_decode = jwt.decode
    monkeypatch.setattr(jwt, "decode", lambda *args, **kwargs: checks.append(1) or real_decode(*args, **kwargs))

    first = decode_token(token, secret=SECRET, issuer=ISSUER)
    again = decode_token(token, secret=SECRET, issuer=ISSUER)

    assert first == again == Principal(sub=someone, role="resident", region="110000")
    assert len(checks) == 1


def test_a_token_seen_with_one_key_is_checked_again_with_another():
    token = mint_token(sub=ALICE, role="resident", region="110000", secret=SECRET)
    decode_token(token, secret=SECRET, issuer=ISSUER)

    with pytest.raises(AuthError) as refused:
        decode_token(token, secret=SECRET + "-rotated", issuer=ISSUER)
    assert refused.value.code == "bad_signature"


def test_a_remembered_token_is_forgotten_at_its_expiry():
    recent = RecentTokens(size=2)
    alice, bob = Principal(ALICE, "resident", "110000"), Principal(BOB, "resident", "110000")
    recent.put(("expired", SECRET, ISSUER), alice, time.time() - 1)
    recent.put(("valid", SECRET, ISSUER), bob, time.time() + 60)

    assert recent.get(("expired", SECRET, ISSUER)) is None
    assert recent.get(("valid", SECRET, ISSUER)) == bob


def test_the_oldest_remembered_token_makes_room_for_a_new_one():
    recent = RecentTokens(size=2)
    for name in ("first", "second", "third"):
        recent.put((name, SECRET, ISSUER), Principal(ALICE, "resident", "110000"), time.time() + 60)

    assert [recent.get((name, SECRET, ISSUER)) is not None for name in ("first", "second", "third")] == [
        False, True, True]
