"""Who is calling: HS256 bearer tokens carrying ``sub``, ``role`` and ``region``.

A resident's ``sub`` is their ``person_id``; staff tokens are scoped to one region.
Routes take a :class:`Principal` from :func:`current_principal` or
:func:`require_role` and, for person data, call :func:`ensure_person_access`.
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt
import structlog
from fastapi import Depends, Request

from shared.audit import note_staff_request
from shared.errors import ApiError
from shared.jobs import JobRun, is_back_run, job_date_problems
from shared.periods import business_date, now_utc
from shared.settings import Settings, get_settings

log = structlog.get_logger(__name__)

ROLES = ("resident", "caseworker", "admin", "ops", "channel")
ALGORITHM = "HS256"
IDENTITY_PROVIDER_ALGORITHMS = ("RS256", "ES256")
REQUIRED_CLAIMS = ("sub", "role", "region", "iss", "iat", "exp")
REGIONAL_STAFF = ("caseworker", "admin", "ops")

_REGION = re.compile(r"^\d{6}$")
_BEARER = "bearer"


@dataclass(frozen=True)
class Principal:
    """The authenticated caller: subject, role and the region the token is scoped to."""

    sub: str
    role: str
    region: str


class AuthError(Exception):
    """A token that cannot be trusted; ``code`` is machine-readable, ``detail`` human."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail


def _check_claims(sub: object, role: object, region: object) -> str | None:
    """Why these claims are unacceptable, or None when they are fine."""
    if not isinstance(sub, str) or not sub:
        return "sub must be a non-empty string"
    if role not in ROLES:
        return f"role must be one of {', '.join(ROLES)}"
    if not isinstance(region, str) or not _REGION.match(region):
        return "region must be a 6-digit region code"
    if role == "resident" and not _is_uuid(sub):
        return "a resident's sub must be their person_id (a UUID)"
    return None


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def mint_token(
    *,
    sub: str,
    role: str,
    region: str,
    secret: str,
    issuer: str = "shebao",
    ttl: timedelta = timedelta(hours=8),
    now: datetime | None = None,
) -> str:
    """Sign an HS256 token for ``sub`` in ``role`` and ``region``, valid for ``ttl``.

    Raises ``ValueError`` for an unknown role, a region that is not 6 digits, or a
    resident whose ``sub`` is not a UUID.
    """
    problem = _check_claims(sub, role, region)
    if problem:
        raise ValueError(problem)
    issued = now or datetime.now(UTC)
    claims = {
        "sub": sub,
        "role": role,
        "region": region,
        "iss": issuer,
        "iat": int(issued.timestamp()),
        "exp": int((issued + ttl).timestamp()),
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def decode_token(token: str, *, secret: str, issuer: str) -> Principal:
    """Verify an HS256 ``token`` (signature, issuer, expiry, claims) and return its principal.

    Raises :class:`AuthError` with code ``token_expired``, ``bad_signature``,
    ``bad_issuer``, ``missing_claim``, ``unknown_role``, ``invalid_claim`` or
    ``invalid_token``.
    """
    seen = (token, secret, issuer)
    principal = _RECENT_TOKENS.get(seen)
    if principal is None:
        claims = _verified_claims(lambda: jwt.decode(token, secret, algorithms=[ALGORITHM], issuer=issuer,
                                                     options={"require": list(REQUIRED_CLAIMS)}))
        principal = _principal_from(claims)
        _RECENT_TOKENS.put(seen, principal, float(claims["exp"]))
    return principal


class RecentTokens:
    """The principals of tokens verified lately, by the token's exact text and the key and issuer
    it was checked with, until the token's own expiry (the wall clock, as PyJWT checks it).

    A payment channel, or a signed-in resident, sends the same token with every request; checking
    it again (signature, JSON, claims) was a few percent of a request's time under load.
    """

    def __init__(self, size: int = 4096) -> None:
        self.size = size
        self._seen: dict[tuple[str, str, str], tuple[Principal, float]] = {}

    def get(self, seen: tuple[str, str, str]) -> Principal | None:
        hit = self._seen.get(seen)
        if hit is None:
            return None
        principal, expires_at = hit
        if time.time() < expires_at:
            return principal
        del self._seen[seen]
        return None

    def put(self, seen: tuple[str, str, str], principal: Principal, expires_at: float) -> None:
        if len(self._seen) >= self.size:
            del self._seen[next(iter(self._seen))]  # the oldest
        self._seen[seen] = (principal, expires_at)


_RECENT_TOKENS = RecentTokens()


class IdentityProviderKeys:
    """Tokens of the bureau's identity provider: RS256/ES256, checked against the keys it
    publishes at its JWKS address (fetched when a token names a key id not seen yet — at most
    once per ``cooldown_s``, so random key ids cannot flood the provider — cached and refreshed
    every ``lifespan_s``), with its issuer and our audience."""

    def __init__(self, jwks_url: str, *, issuer: str, audience: str, lifespan_s: float = 300,
                 cooldown_s: float = 30) -> None:
        self.client = jwt.PyJWKClient(jwks_url, cache_keys=True, lifespan=lifespan_s, timeout=5,
                                      cooldown_duration=cooldown_s)
        self.issuer = issuer
        self.audience = audience

    async def principal(self, token: str) -> Principal:
        """The caller of ``token``, or :class:`AuthError` (``unknown_key`` when the provider
        does not publish the token's key)."""
        try:
            key = await asyncio.to_thread(self.client.get_signing_key_from_jwt, token)
        except jwt.PyJWKClientConnectionError as exc:
            raise AuthError("keys_unavailable", "the identity provider's keys cannot be fetched now") from exc
        except (jwt.PyJWKClientError, jwt.DecodeError) as exc:
            raise AuthError("unknown_key", f"the token's signing key is not published: {exc}") from exc
        return _principal_from(_verified_claims(lambda: jwt.decode(
            token, key.key, algorithms=list(IDENTITY_PROVIDER_ALGORITHMS), issuer=self.issuer,
            audience=self.audience, options={"require": [*REQUIRED_CLAIMS, "aud"]})))


def _verified_claims(decode: Callable[[], dict]) -> dict:
    try:
        return decode()
    except jwt.ExpiredSignatureError as exc:
        raise AuthError("token_expired", "the token has expired") from exc
    except jwt.InvalidSignatureError as exc:
        raise AuthError("bad_signature", "the token signature does not verify") from exc
    except jwt.MissingRequiredClaimError as exc:
        raise AuthError("missing_claim", f"the token lacks the {exc.claim!r} claim") from exc
    except jwt.InvalidIssuerError as exc:
        raise AuthError("bad_issuer", "the token was not issued by this platform") from exc
    except jwt.InvalidAudienceError as exc:
        raise AuthError("bad_audience", "the token is not meant for this platform") from exc
    except jwt.InvalidTokenError as exc:
        raise AuthError("invalid_token", f"the token is not valid: {exc}") from exc


def _principal_from(claims: dict) -> Principal:
    if claims.get("role") not in ROLES:
        raise AuthError("unknown_role", f"role {claims.get('role')!r} is not known")
    problem = _check_claims(claims.get("sub"), claims.get("role"), claims.get("region"))
    if problem:
        raise AuthError("invalid_claim", problem)
    return Principal(sub=claims["sub"], role=claims["role"], region=claims["region"])


def unauthorized(code: str, detail: str) -> ApiError:
    """The 401 answer for a missing or untrusted token."""
    return ApiError(
        401,
        "unauthorized",
        [{"field": "header.authorization", "reason": detail, "code": code}],
        headers={"WWW-Authenticate": "Bearer"},
    )


def forbidden(reason: str) -> ApiError:
    """The 403 answer for a caller who is known but not allowed."""
    return ApiError(403, "forbidden", [{"reason": reason}])


def _bearer_token(request: Request) -> str:
    header = request.headers.get("authorization")
    if not header:
        raise unauthorized("missing_token", "an Authorization: Bearer token is required")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != _BEARER or not token.strip():
        raise unauthorized("malformed_header", "the Authorization header must be 'Bearer <token>'")
    return token.strip()


def _settings_of(request: Request) -> Settings:
    # Apps set app.state.settings at start-up; the process settings are the fallback.
    return getattr(request.app.state, "settings", None) or get_settings()


async def current_principal(request: Request) -> Principal:
    """FastAPI dependency: the caller of this request, or a 401 ``unauthorized``; a 403 when the
    token is scoped to a region this deployment does not serve.

    With ``SHEBAO_JWT_JWKS_URL`` set, tokens come from the identity provider (RS256/ES256,
    checked against its published keys, issuer and audience) and shared-secret tokens are
    refused; without it, the shared HS256 secret (local use and tests).
    """
    token = _bearer_token(request)
    settings = _settings_of(request)
    try:
        if settings.jwt_jwks_url:
            principal = await _identity_provider(request, settings).principal(token)
        else:
            principal = decode_token(token, secret=settings.jwt_secret, issuer=settings.jwt_issuer)
    except AuthError as exc:
        raise unauthorized(exc.code, exc.detail) from exc
    if not settings.serves(principal.region):
        raise forbidden(f"this deployment serves region {', '.join(settings.served_regions)}, "
                        f"not {principal.region}")
    await note_staff_request(request, principal.sub, principal.role, principal.region)
    return principal


def _identity_provider(request: Request, settings: Settings) -> IdentityProviderKeys:
    """One key client per app (its cache is what keeps the provider from being asked each time)."""
    keys = getattr(request.app.state, "identity_provider_keys", None)
    if keys is None:
        keys = IdentityProviderKeys(settings.jwt_jwks_url, issuer=settings.jwt_issuer,
                                    audience=settings.jwt_audience or "shebao")
        request.app.state.identity_provider_keys = keys
    return keys


def require_role(*roles: str) -> Callable[..., Awaitable[Principal]]:
    """FastAPI dependency factory: the caller, who must hold one of ``roles`` (else 403)."""
    unknown = [role for role in roles if role not in ROLES]
    if not roles or unknown:
        raise ValueError(f"require_role needs roles among {ROLES}, got {roles}")

    async def dependency(principal: Principal = Depends(current_principal)) -> Principal:
        if principal.role not in roles:
            raise forbidden(f"role {principal.role} may not do this; needs {' or '.join(roles)}")
        return principal

    return dependency


def ensure_person_access(
    principal: Principal,
    person_id: str | uuid.UUID,
    region: str | None = None,
    *,
    allow_channel: bool = False,
) -> None:
    """Raise a 403 ``forbidden`` unless ``principal`` may see ``person_id``'s records.

    Residents reach only their own ``person_id``; caseworkers, admins and ops reach
    persons of their own region when ``region`` (the person's region) is given; the
    channel role reaches person data only where the route passes ``allow_channel``.
    """
    if principal.role == "resident":
        if not _same_person(principal.sub, person_id):
            raise forbidden("a resident may reach only their own records")
    elif principal.role == "channel":
        if not allow_channel:
            raise forbidden("the channel role may not reach person data here")
    elif principal.role in REGIONAL_STAFF:
        if region is not None and region != principal.region:
            raise forbidden(f"this token is scoped to region {principal.region}")
    else:  # a role added to ROLES without a rule here gets nothing
        raise forbidden(f"role {principal.role} may not reach person data")


def _same_person(sub: str, person_id: str | uuid.UUID) -> bool:
    try:
        return uuid.UUID(str(sub)) == uuid.UUID(str(person_id))
    except ValueError:
        return False


def authorize_job_run(body: JobRun, principal: Principal, settings: Settings) -> str:
    """The region an operator's job run is for — theirs: 403 for another, 422 (``rule_violated``)
    for a date outside the deployment's window around today (in its time zone); a back-run is
    logged with its reason and who asked."""
    today, window = business_date(now_utc(), settings.tz), settings.job_window
    region = body.region or principal.region
    if region != principal.region:
        raise forbidden(f"this token is scoped to region {principal.region}")
    problems = job_date_problems(body.as_of, today, body.back_run_reason, window)
    if problems:
        raise ApiError(422, "rule_violated", [{"field": field, "reason": reason} for field, reason in problems])
    if is_back_run(body.as_of, today, window):
        log.warning("back-run asked for", as_of=body.as_of.isoformat(), reason=body.back_run_reason,
                    by=principal.sub, region=region, dry_run=body.dry_run)
    return region
