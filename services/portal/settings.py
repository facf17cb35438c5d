"""Settings of the portal, read from the environment (prefix ``SHEBAO_PORTAL_``, plus the platform's
``SHEBAO_ENVIRONMENT``, ``SHEBAO_JWT_SECRET``, ``SHEBAO_JWT_ISSUER`` and ``SHEBAO_REGION``)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from services.portal.payment_channels import DEFAULT_CHANNELS
from shared.settings import DEFAULT_PORTS, DEVELOPMENT_JWT_SECRET

PORTAL_PORT = 8100
DEVELOPMENT_SESSION_SECRET = "shebao-portal-local-session-secret-change-me"


def _default_url(service: str) -> str:
    return f"http://127.0.0.1:{DEFAULT_PORTS[service]}"


class PortalSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SHEBAO_PORTAL_", extra="ignore", populate_by_name=True)

    environment: str = Field(default="local", validation_alias=AliasChoices("SHEBAO_ENVIRONMENT", "environment"))
    region: str = Field(default="110000", validation_alias=AliasChoices("SHEBAO_REGION", "region"))
    jwt_secret: str = Field(default=DEVELOPMENT_JWT_SECRET,
                            validation_alias=AliasChoices("SHEBAO_JWT_SECRET", "jwt_secret"))
    jwt_issuer: str = Field(default="shebao", validation_alias=AliasChoices("SHEBAO_JWT_ISSUER", "jwt_issuer"))

    host: str = "127.0.0.1"
    port: int = PORTAL_PORT
    # the address the public reaches the portal at (the voucher QR code points here)
    public_url: str = f"http://127.0.0.1:{PORTAL_PORT}"
    session_secret: str = DEVELOPMENT_SESSION_SECRET
    cookie_secure: bool = True

    enrollment_url: str = _default_url("enrollment")
    documents_url: str = _default_url("documents")
    billing_url: str = _default_url("billing")
    notifications_url: str = _default_url("notifications")
    # production: the token the public verification page reads vouchers with (a channel-role token)
    verifier_token: str | None = None
    # the simulated payment channel of local use
    simulated_channel: str = "portal-sim"
    # production: the channels a bill is paid through, comma-separated in the order shown; the codes
    # of payment_channels.KNOWN_CHANNELS are explained in the page's language, any other entry is
    # shown as a channel's name
    payment_channels: Annotated[list[str], NoDecode] = Field(default_factory=lambda: list(DEFAULT_CHANNELS))

    # the largest material file, in bytes: the documents service's limit (its
    # SHEBAO_DOCUMENTS_MAX_UPLOAD_BYTES is read when the portal's own is not set, so that one
    # setting keeps both in step); a larger upload is refused by the portal before documents is called
    max_upload_bytes: int = Field(default=10 * 1024 * 1024, gt=0, validation_alias=AliasChoices(
        "SHEBAO_PORTAL_MAX_UPLOAD_BYTES", "SHEBAO_DOCUMENTS_MAX_UPLOAD_BYTES", "max_upload_bytes"))

    # production sign-in: OpenID Connect
    oidc_issuer: str | None = None
    oidc_client_id: str | None = None
    oidc_client_secret: str | None = None
    oidc_role_claim: str = "shebao_role"
    oidc_region_claim: str = "shebao_region"
    oidc_person_claim: str = "shebao_person_id"

    @field_validator("payment_channels", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @property
    def production(self) -> bool:
        return self.environment == "production"

    def production_problems(self) -> list[str]:
        """Why this portal must not serve in production (a public session secret, no sign-in)."""
        if not self.production:
            return []
        problems = []
        if len(self.session_secret.encode()) < 32 or self.session_secret == DEVELOPMENT_SESSION_SECRET:
            problems.append("SHEBAO_PORTAL_SESSION_SECRET: set a secret of at least 32 bytes")
        if not (self.oidc_issuer and self.oidc_client_id):
            problems.append("SHEBAO_PORTAL_OIDC_ISSUER and SHEBAO_PORTAL_OIDC_CLIENT_ID: production signs in by OIDC")
        if not self.payment_channels:
            problems.append("SHEBAO_PORTAL_PAYMENT_CHANNELS: name the channels a bill can be paid through")
        return problems

    def service_url(self, service: str) -> str:
        return getattr(self, f"{service}_url")
