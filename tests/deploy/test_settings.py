"""Settings for real Kafka: in production the producer is durable (acks=all, idempotent)
unless told otherwise; locally (Tansu, which has no idempotent producer) it is not. TLS and
SASL settings reach aiokafka."""

from __future__ import annotations

import ssl

import certifi
import pytest
from pydantic import ValidationError

from shared.kafka import client_options, faststream_security, new_producer
from shared.settings import Settings
from tests.deploy.deployfiles import settings_from_env


def test_locally_the_producer_uses_acks_1_without_idempotence():
    settings = settings_from_env(Settings, {})
    assert settings.environment == "local"
    assert (settings.kafka_acks, settings.kafka_idempotent_producer) == ("1", False)


def test_in_production_acks_all_and_idempotence_are_the_default():
    settings = settings_from_env(Settings, {"SHEBAO_ENVIRONMENT": "production"})
    assert (settings.kafka_acks, settings.kafka_idempotent_producer) == ("all", True)


def test_in_production_an_explicit_choice_wins():
    settings = settings_from_env(Settings, {"SHEBAO_ENVIRONMENT": "production",
                                            "SHEBAO_KAFKA_IDEMPOTENT_PRODUCER": "false"})
    assert (settings.kafka_acks, settings.kafka_idempotent_producer) == ("all", False)


def test_in_production_acks_1_turns_the_idempotence_default_off():
    # aiokafka refuses an idempotent producer without acks=all
    settings = settings_from_env(Settings, {"SHEBAO_ENVIRONMENT": "production", "SHEBAO_KAFKA_ACKS": "1"})
    assert (settings.kafka_acks, settings.kafka_idempotent_producer) == ("1", False)


def test_the_same_defaults_apply_to_settings_given_in_code():
    assert Settings(environment="production").kafka_acks == "all"
    assert Settings(environment="production", kafka_acks="1").kafka_acks == "1"


def test_an_unknown_environment_is_refused():
    with pytest.raises(ValidationError, match="environment"):
        settings_from_env(Settings, {"SHEBAO_ENVIRONMENT": "staging"})


async def test_the_production_producer_is_idempotent_with_acks_all():
    producer = new_producer(Settings(environment="production"))
    assert producer._sender._acks == -1  # aiokafka's spelling of acks=all
    assert producer._txn_manager is not None  # present exactly when idempotence is on


async def test_the_local_producer_waits_for_the_leader_only():
    producer = new_producer(Settings())
    assert producer._sender._acks == 1
    assert producer._txn_manager is None


def test_tls_uses_the_configured_ca_bundle():
    settings = Settings(kafka_security_protocol="SSL", kafka_ssl_cafile=certifi.where())
    context = client_options(settings)["ssl_context"]
    assert isinstance(context, ssl.SSLContext)
    assert context.cert_store_stats()["x509_ca"] > 0


def test_a_missing_ca_bundle_is_an_error_not_a_silent_fallback(tmp_path):
    settings = Settings(kafka_security_protocol="SASL_SSL", kafka_ssl_cafile=str(tmp_path / "missing.crt"))
    with pytest.raises(FileNotFoundError):
        client_options(settings)


def test_sasl_credentials_reach_aiokafka():
    settings = settings_from_env(Settings, {
        "SHEBAO_KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "SHEBAO_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
        "SHEBAO_KAFKA_SASL_USERNAME": "shebao-bj", "SHEBAO_KAFKA_SASL_PASSWORD": "s3cret",
    })
    options = client_options(settings)
    assert options["security_protocol"] == "SASL_SSL"
    assert (options["sasl_mechanism"], options["sasl_plain_username"], options["sasl_plain_password"]) == (
        "SCRAM-SHA-512", "shebao-bj", "s3cret")


def test_the_consuming_broker_gets_the_same_tls_and_sasl_settings():
    settings = Settings(kafka_security_protocol="SASL_SSL", kafka_ssl_cafile=certifi.where(),
                        kafka_sasl_mechanism="SCRAM-SHA-512", kafka_sasl_username="shebao-sh",
                        kafka_sasl_password="s3cret")
    security = faststream_security(settings)
    assert security.use_ssl and security.ssl_context.cert_store_stats()["x509_ca"] > 0
    assert (security.username, security.password) == ("shebao-sh", "s3cret")
