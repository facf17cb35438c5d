"""The notifications service's own knobs (env prefix SHEBAO_, e.g. SHEBAO_NOTIFICATIONS_SMTP_HOST).

Locally both outside channels default to file sinks under ``notifications_sink_dir``
(``outbox-mail/*.eml`` and ``sms.log``), so nothing leaves the machine; production sets
``notifications_email_transport=smtp`` and ``notifications_sms_transport=http``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from shared.settings import Settings, weak_secret


class NotificationsSettings(Settings):
    service: str = "notifications"

    notifications_email_transport: Literal["file", "smtp"] = "file"
    notifications_smtp_host: str = "127.0.0.1"
    notifications_smtp_port: int = 25
    notifications_smtp_username: str | None = None
    notifications_smtp_password: str | None = None
    notifications_smtp_use_tls: bool = False
    # None: upgrade with STARTTLS when the server offers it
    notifications_smtp_starttls: bool | None = None
    notifications_mail_from: str = "Shebao <noreply@shebao.local>"

    notifications_sms_transport: Literal["file", "http"] = "file"
    notifications_sms_gateway_url: str = "http://127.0.0.1:9099/sms"
    notifications_sms_gateway_token: str | None = None

    notifications_sink_dir: Path = Path(".shebao")

    # the delivery worker: picks due deliveries every second while this is on
    notifications_delivery_worker: bool = True
    notifications_delivery_batch: int = 100
    notifications_delivery_concurrency: int = 10
    notifications_send_timeout_s: float = 10.0
    notifications_max_attempts: int = 5
    notifications_retry_backoff_s: float = 30.0
    notifications_retry_backoff_max_s: float = 3600.0
    # digested notices (domain/model.py: DIGESTED_TEMPLATES) wait this long after the first of a burst,
    # then go out as one message per channel
    notifications_digest_window_s: float = Field(default=600.0, ge=0, le=86400)
    # a delivery claimed by a worker that died is picked again after this
    notifications_sending_lease_s: float = 300.0

    def secret_problems(self) -> list[str]:
        """The JWT secret's, and the credentials of every outside channel that is switched on."""
        problems = super().secret_problems()
        if self.notifications_email_transport == "smtp" and self.notifications_smtp_username:
            problems += weak_secret("SHEBAO_NOTIFICATIONS_SMTP_PASSWORD", self.notifications_smtp_password,
                                    min_bytes=12)
        if self.notifications_sms_transport == "http":
            problems += weak_secret("SHEBAO_NOTIFICATIONS_SMS_GATEWAY_TOKEN", self.notifications_sms_gateway_token,
                                    min_bytes=16)
        return problems
