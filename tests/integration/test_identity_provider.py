"""Tokens of the bureau's identity provider: RS256/ES256 against the keys it publishes (a JWKS
served here on 127.0.0.1), its issuer and our audience; the shared secret refused meanwhile."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from fastapi import Depends, FastAPI

from shared.auth import IdentityProviderKeys, Principal, current_principal, mint_token
from shared.errors import install_error_handlers
from shared.settings import Settings

ISSUER = "https://id.bureau.example"
AUDIENCE = "shebao"


class Provider:
    """A JWKS endpoint whose keys the test can change, counting how often it is asked."""

    def __init__(self) -> None:
        self.keys: dict[str, object] = {}  # kid -> private key
        self.fetches = 0
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/jwks.json"

    def add_key(self, kid: str, private_key) -> None:
        self.keys[kid] = private_key

    def token(self, kid: str, *, audience: str = AUDIENCE, issuer: str = ISSUER, region: str = "110000") -> str:
        key = self.keys[kid]
        algorithm = "RS256" if isinstance(key, rsa.RSAPrivateKey) else "ES256"
        now = datetime.now(UTC)
        claims = {"sub": "caseworker-7", "role": "caseworker", "region": region, "iss": issuer, "aud": audience,
                  "iat": int(now.timestamp()), "exp": int((now + timedelta(minutes=5)).timestamp())}
        return jwt.encode(claims, key, algorithm=algorithm, headers={"kid": kid})

    def _jwks(self) -> bytes:
        keys = []
        for kid, private_key in self.keys.items():
            algorithm = jwt.algorithms.RSAAlgorithm if isinstance(private_key, rsa.RSAPrivateKey) \
                else jwt.algorithms.ECAlgorithm
            keys.append({**algorithm.to_jwk(private_key.public_key(), as_dict=True), "kid": kid, "use": "sig"})
        return json.dumps({"keys": keys}).encode()

    def _handler(self):
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (the http.server API)
                provider.fetches += 1
                body = provider._jwks()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        return Handler


@pytest.fixture
def provider() -> Iterator[Provider]:
    provider = Provider()
    provider.add_key("rsa-1", rsa.generate_private_key(public_exponent=65537, key_size=2048))
    provider.add_key("ec-1", ec.generate_private_key(ec.SECP256R1()))
    thread = threading.Thread(target=provider.server.serve_forever, daemon=True)
    thread.start()
    yield provider
    provider.server.shutdown()
    provider.server.server_close()


@pytest.fixture
def app(provider) -> FastAPI:
    app = FastAPI()
    app.state.settings = Settings(jwt_jwks_url=provider.url, jwt_issuer=ISSUER, jwt_audience=AUDIENCE)
    install_error_handlers(app)

    @app.get("/me")
    async def me(principal: Principal = Depends(current_principal)) -> dict:
        return {"sub": principal.sub, "role": principal.role, "region": principal.region}

    return app


@pytest.fixture
async def client(app):
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        yield client


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def refusal(response: httpx.Response) -> tuple[int, str]:
    return response.status_code, response.json()["detail"][0].get("code", "")


@pytest.mark.parametrize("kid", ["rsa-1", "ec-1"])
async def test_a_token_of_the_provider_reaches_the_route(client, provider, kid):
    response = await client.get("/me", headers=bearer(provider.token(kid)))

    assert response.status_code == 200
    assert response.json() == {"sub": "caseworker-7", "role": "caseworker", "region": "110000"}


async def test_the_keys_are_fetched_once_and_cached(client, provider):
    for _ in range(5):
        assert (await client.get("/me", headers=bearer(provider.token("rsa-1")))).status_code == 200

    assert provider.fetches == 1


async def test_a_key_the_provider_adds_later_is_fetched_when_a_token_names_it(app, client, provider):
    # without the cool-down between fetches, which keeps random key ids from flooding the provider
    app.state.identity_provider_keys = IdentityProviderKeys(provider.url, issuer=ISSUER, audience=AUDIENCE,
                                                            cooldown_s=0)
    assert (await client.get("/me", headers=bearer(provider.token("rsa-1")))).status_code == 200
    provider.add_key("rsa-2", rsa.generate_private_key(public_exponent=65537, key_size=2048))

    response = await client.get("/me", headers=bearer(provider.token("rsa-2")))

    assert response.status_code == 200
    assert provider.fetches == 2


async def test_another_audience_or_issuer_is_refused(client, provider):
    other_audience = await client.get("/me", headers=bearer(provider.token("rsa-1", audience="payroll")))
    other_issuer = await client.get("/me", headers=bearer(provider.token("ec-1", issuer="https://evil.example")))

    assert refusal(other_audience) == (401, "bad_audience")
    assert refusal(other_issuer) == (401, "bad_issuer")


async def test_the_shared_secret_and_unpublished_keys_are_refused(client, provider):
    local = mint_token(sub="admin-1", role="admin", region="110000", secret=Settings().jwt_secret, issuer=ISSUER)
    stranger = Provider()
    stranger.add_key("rsa-1", rsa.generate_private_key(public_exponent=65537, key_size=2048))
    stranger.server.server_close()

    assert refusal(await client.get("/me", headers=bearer(local)))[0] == 401
    assert refusal(await client.get("/me", headers=bearer(stranger.token("rsa-1")))) == (401, "bad_signature")


def test_with_an_identity_provider_production_needs_no_shared_secret():
    assert Settings(environment="production", jwt_jwks_url="https://id.bureau.example/jwks").secret_problems() == []
