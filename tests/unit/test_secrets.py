"""In production a service refuses to start on a missing, default or short secret, naming it."""

from __future__ import annotations

import base64
import os

import pytest
import structlog

from services.billing.settings import BillingSettings
from services.notifications.settings import NotificationsSettings
from shared.runtime import refuse_weak_secrets_in_production
from shared.settings import SECRETS_DIR_ENV, Settings

STRONG = "x" * 40
VOUCHER_KEY = base64.b64encode(os.urandom(32)).decode()


@pytest.fixture(autouse=True)
def no_secrets_from_the_environment(monkeypatch):
    for name in list(os.environ):
        if name.startswith("SHEBAO_"):
            monkeypatch.delenv(name)


def test_the_development_jwt_secret_is_named():
    assert Settings().secret_problems() == ["SHEBAO_JWT_SECRET: is the public development default"]


@pytest.mark.parametrize("secret, problem", [
    ("", "SHEBAO_JWT_SECRET: not set"),
    ("short-but-not-default", "SHEBAO_JWT_SECRET: shorter than 32 bytes"),
])
def test_a_missing_or_short_jwt_secret_is_named(secret, problem):
    assert Settings(jwt_secret=secret).secret_problems() == [problem]


def test_billing_also_needs_its_own_voucher_key():
    assert BillingSettings(jwt_secret=STRONG).secret_problems() == [
        "SHEBAO_VOUCHER_SIGNING_KEY: is the public development default"]
    assert BillingSettings(jwt_secret=STRONG, voucher_signing_key=VOUCHER_KEY).secret_problems() == []


def test_notifications_needs_the_credentials_of_the_channels_switched_on():
    quiet = NotificationsSettings(jwt_secret=STRONG)
    sms_on = NotificationsSettings(jwt_secret=STRONG, notifications_sms_transport="http")
    smtp_with_login = NotificationsSettings(jwt_secret=STRONG, notifications_email_transport="smtp",
                                            notifications_smtp_username="bureau", notifications_smtp_password="pw")

    assert quiet.secret_problems() == []
    assert sms_on.secret_problems() == ["SHEBAO_NOTIFICATIONS_SMS_GATEWAY_TOKEN: not set"]
    assert smtp_with_login.secret_problems() == ["SHEBAO_NOTIFICATIONS_SMTP_PASSWORD: shorter than 12 bytes"]


def test_secrets_are_read_from_files_named_after_their_variable(tmp_path, monkeypatch):
    (tmp_path / "shebao_jwt_secret").write_text(STRONG)
    (tmp_path / "shebao_voucher_signing_key").write_text(VOUCHER_KEY)
    monkeypatch.setenv(SECRETS_DIR_ENV, str(tmp_path))

    settings = BillingSettings()

    assert (settings.jwt_secret, settings.voucher_signing_key) == (STRONG, VOUCHER_KEY)
    assert settings.secret_problems() == []


def test_production_stops_with_one_line_naming_the_variables():
    with structlog.testing.capture_logs() as logs, pytest.raises(SystemExit) as stopped:
        refuse_weak_secrets_in_production(BillingSettings(environment="production"))

    assert stopped.value.code == 2
    [line] = logs
    assert line["log_level"] == "error"
    assert line["event"] == "refusing to start in production: set SHEBAO_JWT_SECRET, SHEBAO_VOUCHER_SIGNING_KEY"


def test_local_runs_keep_the_development_defaults_and_strong_secrets_pass():
    strong = BillingSettings(environment="production", jwt_secret=STRONG, voucher_signing_key=VOUCHER_KEY)

    assert refuse_weak_secrets_in_production(BillingSettings(environment="local")) is None
    assert refuse_weak_secrets_in_production(strong) is None
