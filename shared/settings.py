"""Settings of one service process, read from the environment (prefix ``SHEBAO_``).

``DATABASE_URL`` and ``KAFKA_BOOTSTRAP_SERVERS`` are also accepted without the prefix,
so the same code points at the embedded platform or at a real PostgreSQL and Kafka.

Secrets may also come from files: with ``SHEBAO_SECRETS_DIR=/run/secrets`` (compose secrets,
a mounted Kubernetes Secret) a file named after the variable (``shebao_jwt_secret``) holds
the value; an environment variable of the same name wins. In production a service refuses to
start while a secret is missing, a public development default or too short
(``Settings.secret_problems``).
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import AliasChoices, Field, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SecretsSettingsSource, SettingsConfigDict

from shared.jobs import JobWindow

DEVELOPMENT_JWT_SECRET = "shebao-local-development-secret-change-me"
MIN_SECRET_BYTES = 32
SECRETS_DIR_ENV = "SHEBAO_SECRETS_DIR"

SERVICE_NAMES = ("enrollment", "documents", "billing", "notifications")
DEFAULT_PORTS = {"enrollment": 8101, "documents": 8102, "billing": 8103, "notifications": 8104}


class Settings(BaseSettings):
    """Every knob a Shebao service reads; defaults suit the local platform."""

    model_config = SettingsConfigDict(env_prefix="SHEBAO_", extra="ignore", populate_by_name=True)

    service: str = "enrollment"
    # "production" (the container image's default): Apache Kafka, durable producer defaults.
    environment: Literal["local", "production"] = "local"
    region: str = Field(default="110000", pattern=r"^\d{6}$")
    timezone: str = "Asia/Shanghai"

    database_url: str = Field(
        default="postgresql://postgres@127.0.0.1:5432/shebao",
        validation_alias=AliasChoices("SHEBAO_DATABASE_URL", "DATABASE_URL"),
    )
    db_pool_min: int = 1
    db_pool_max: int = 10
    # how long an HTTP request waits in line for a connection of a pool before it is answered
    # 503 service_busy (shared/db.py PoolBusy); consumers, relays and jobs wait however long it takes
    db_pool_wait_limit_s: float = Field(default=2.0, gt=0)
    # HTTP requests a process serves at once; one more is answered 503 service_busy at once
    # (shared/request_guard.py) instead of queueing in an event loop that already has more work
    # than CPU. 0: no cap. Health and metrics routes are never refused.
    http_max_in_flight: int = Field(default=32, ge=0)
    # Young objects allocated before the cyclic garbage collector runs (Python's default: 700);
    # see shared/runtime.py tune_garbage_collection. 0 keeps Python's defaults.
    gc_young_threshold: int = Field(default=20_000, ge=0)

    kafka_bootstrap_servers: str = Field(
        default="127.0.0.1:9092",
        validation_alias=AliasChoices("SHEBAO_KAFKA_BOOTSTRAP_SERVERS", "KAFKA_BOOTSTRAP_SERVERS"),
    )
    topic_prefix: str = ""
    topic_partitions: int = 12  # divides evenly among 1, 2, 3, 4, 6 and 12 replicas; deploy/README.md "Partitions"
    # Tansu (the local broker) has no idempotent producer: locally acks=1 without idempotence;
    # in production both default to the durable choice (acks=all, idempotent) unless set.
    kafka_acks: str = "1"
    kafka_idempotent_producer: bool = False
    kafka_security_protocol: str = "PLAINTEXT"
    # CA bundle of the brokers' TLS certificates (e.g. a Strimzi cluster CA); system CAs when unset
    kafka_ssl_cafile: str | None = None
    kafka_sasl_mechanism: str | None = None
    kafka_sasl_username: str | None = None
    kafka_sasl_password: str | None = None

    http_host: str = "127.0.0.1"
    http_port: int | None = None

    jwt_secret: str = DEVELOPMENT_JWT_SECRET
    jwt_issuer: str = "shebao"
    # The bureau's identity provider: tokens verified against the keys it publishes here
    # (RS256/ES256, issuer jwt_issuer, audience jwt_audience); the HS256 secret is then refused.
    jwt_jwks_url: str | None = None
    jwt_audience: str | None = None
    # The regions this deployment serves ("" = its own region only, "*" = any); tokens of others get 403.
    served_regions_list: str = Field(default="", validation_alias=AliasChoices("SHEBAO_SERVED_REGIONS",
                                                                                "served_regions_list"))

    outbox_poll_interval_s: float = 1.0
    outbox_batch_size: int = 500
    # after a wake-up the relay waits this long for more rows, so that a busy service publishes a
    # few per pass (a statement, a produce request and a commit each) instead of one
    outbox_linger_ms: float = Field(default=10.0, ge=0, le=1000)
    outbox_retention_days: int = 7
    outbox_retry_backoff_max_s: float = 5.0
    # refusals of a row by the broker (not outages) before it is parked and the rest go on
    outbox_max_refusals: int = Field(default=5, ge=1)

    consumer_max_attempts: int = 5
    consumer_retry_backoff_s: float = 0.1
    consumer_batch_size: int = 500
    # A new consumer-group member waits about half of this before its first assignment (Tansu).
    kafka_session_timeout_ms: int = 10_000
    kafka_heartbeat_interval_ms: int = 3_000

    # operator job runs (shared/jobs.py): how far back without a back_run_reason, how far ahead at all
    jobs_behind_days: int = Field(default=31, ge=0)
    jobs_ahead_days: int = Field(default=62, ge=0)

    log_level: str = "INFO"
    log_format: str = "json"

    @classmethod
    def settings_customise_sources(
        cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource, dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Arguments, then the environment, then the secret files of ``SHEBAO_SECRETS_DIR`` if set."""
        sources: tuple[PydanticBaseSettingsSource, ...] = (init_settings, env_settings, dotenv_settings)
        secrets_dir = os.environ.get(SECRETS_DIR_ENV)
        if secrets_dir:
            sources += (SecretsSettingsSource(settings_cls, secrets_dir=secrets_dir),)
        return sources

    def secret_problems(self) -> list[str]:
        """Why this process must not run in production: one ``VARIABLE: reason`` per weak secret.

        Services extend it with their own secrets (billing's voucher key, notifications'
        channel credentials).
        """
        if self.jwt_jwks_url:  # tokens come from the identity provider; the shared secret is not used
            return []
        return weak_secret("SHEBAO_JWT_SECRET", self.jwt_secret, DEVELOPMENT_JWT_SECRET)

    @model_validator(mode="after")
    def _production_defaults(self) -> Settings:
        if self.environment != "production":
            return self
        explicit = self.model_fields_set
        if "kafka_acks" not in explicit:
            self.kafka_acks = "all"
        if "kafka_idempotent_producer" not in explicit:
            # the idempotent producer requires acks=all
            self.kafka_idempotent_producer = self.kafka_acks == "all"
        return self

    @property
    def served_regions(self) -> list[str]:
        """The region codes this deployment answers for (its own region unless listed)."""
        listed = [code.strip() for code in self.served_regions_list.split(",") if code.strip()]
        return listed or [self.region]

    def serves(self, region: str) -> bool:
        """Whether this deployment answers for ``region``."""
        served = self.served_regions
        return region in served or "*" in served

    @property
    def job_window(self) -> JobWindow:
        return JobWindow(behind_days=self.jobs_behind_days, ahead_days=self.jobs_ahead_days)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def port(self) -> int:
        return self.http_port or DEFAULT_PORTS.get(self.service, 8100)

    @property
    def schema(self) -> str:
        """The Postgres schema this service owns (its own name)."""
        return self.service


def weak_secret(variable: str, value: str | None, development_default: str | None = None,
                min_bytes: int = MIN_SECRET_BYTES) -> list[str]:
    """``["VARIABLE: reason"]`` when ``value`` is missing, the development default or too short."""
    if not value:
        return [f"{variable}: not set"]
    if value == development_default:
        return [f"{variable}: is the public development default"]
    if len(value.encode()) < min_bytes:
        return [f"{variable}: shorter than {min_bytes} bytes"]
    return []


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (read once)."""
    return Settings()
