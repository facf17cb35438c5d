"""Production sign-in: OpenID Connect through authlib against the configured issuer, and the
mapping of its claims to the platform's role, region and person."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from services.portal.settings import PortalSettings
from shared.auth import ROLES


class ClaimsRefused(ValueError):
    """The identity provider's claims do not name a role, region and person we accept."""


@dataclass(frozen=True)
class SignedIn:
    sub: str
    role: str
    region: str


def principal_from_claims(claims: dict[str, Any], settings: PortalSettings) -> SignedIn:
    """Role, region and subject from the ID token's claims: a resident's subject is the person id
    claim; staff are the provider's ``sub``."""
    role = claims.get(settings.oidc_role_claim)
    region = claims.get(settings.oidc_region_claim)
    if role not in ROLES or role == "channel":
        raise ClaimsRefused(f"claim {settings.oidc_role_claim} must name a person's role, got {role!r}")
    if not isinstance(region, str) or len(region) != 6 or not region.isdigit():
        raise ClaimsRefused(f"claim {settings.oidc_region_claim} must be a 6-digit region")
    sub = claims.get(settings.oidc_person_claim) if role == "resident" else claims.get("sub")
    if not isinstance(sub, str) or not sub:
        claim = settings.oidc_person_claim if role == "resident" else "sub"
        raise ClaimsRefused(f"claim {claim} is missing")
    return SignedIn(sub=sub, role=role, region=region)


def oauth_client(settings: PortalSettings) -> Any:
    """The authlib client of the configured issuer (discovery document at its well-known address)."""
    from authlib.integrations.starlette_client import OAuth

    oauth = OAuth()
    oauth.register(
        "shebao", client_id=settings.oidc_client_id, client_secret=settings.oidc_client_secret,
        server_metadata_url=f"{settings.oidc_issuer.rstrip('/')}/.well-known/openid-configuration",
        client_kwargs={"scope": "openid profile"},
    )
    return oauth.shebao
