"""Emulator configuration.

A plain dataclass so the lead's local runtime can build it from env vars or code alike.
Every default that is a *Meta* figure names its docs/meta section; every default that is an
emulator convenience (delays, retry counts) says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field

DEFAULT_PHONE_NUMBER_ID = "100000000000001"
DEFAULT_DISPLAY_PHONE_NUMBER = "15550000001"
DEFAULT_WABA_ID = "200000000000001"
DEFAULT_VERIFIED_NAME = "wacloud Local"


@dataclass
class StatusDelays:
    """Seconds (real time) between an accepted send and each status webhook.

    Emulator convenience: Meta publishes no figures. Tens of milliseconds keep tests fast.
    When ``delivered == read`` the ``delivered`` webhook is skipped, as Meta does when a
    message is delivered and read at the same moment (docs/meta/webhooks.md#statuses).
    """

    sent: float = 0.01
    delivered: float = 0.03
    read: float = 0.06
    auto_read: bool = True


@dataclass
class WebhookDeliveryConfig:
    """How the background worker POSTs webhooks.

    Meta retries for up to 7 days with exponential backoff and publishes no schedule
    (docs/meta/webhooks.md#delivery, CONFLICT 7 days vs 36 h: WhatsApp's 7 days applies). The
    emulator keeps a bounded, fast schedule so tests finish: ``retry_base_delay * 2**attempt``.
    """

    max_attempts: int = 5
    retry_base_delay: float = 0.05
    timeout: float = 5.0
    batch_size: int = 1  # >1 merges queued events into one POST (Meta caps batches at 1000)
    batch_window: float = 0.0  # seconds to wait for more events before flushing a batch
    duplicate_rate: float = 0.0  # probability of re-sending a delivered POST verbatim
    out_of_order: bool = False  # shuffle events inside each batch (seeded)


@dataclass
class EmulatorConfig:
    """Everything needed to start an emulator. ``port=0`` picks a free port."""

    host: str = "127.0.0.1"
    port: int = 0
    token: str = "local-token"
    app_secret: str = "local-app-secret"
    webhook_url: str | None = "http://127.0.0.1:3000/webhook"
    seed: int = 0
    phone_number_id: str = DEFAULT_PHONE_NUMBER_ID
    display_phone_number: str = DEFAULT_DISPLAY_PHONE_NUMBER
    waba_id: str = DEFAULT_WABA_ID
    verified_name: str = DEFAULT_VERIFIED_NAME
    accept_any_phone_number_id: bool = True
    # The webhook payload version (Meta uses the app's configured version, not the send's).
    # v23 and lower include ``conversation`` on statuses; v24+ omit it
    # (docs/meta/webhooks.md#statuses).
    webhook_api_version: str = "v23.0"
    status_delays: StatusDelays = field(default_factory=StatusDelays)
    delivery: WebhookDeliveryConfig = field(default_factory=WebhookDeliveryConfig)
    # 80 mps default per number, upgradable to 1,000 (docs/meta/throughput.md).
    throughput_mps: int = 80
    # Unique users reached outside a CSW per moving 24 h. Meta gives new portfolios 250 and
    # verified ones 2,000 (docs/meta/throughput.md, from 2025-10-07). The emulator defaults to
    # 2,000.
    messaging_limit: int | None = 2000
    # No error code for exceeding the messaging limit was found (docs/meta/throughput.md GAP). The
    # emulator reports a ``failed`` status with this code; 131064 is the closest documented
    # "messaging limit hit" code. NOT CONFIRMED.
    messaging_limit_error_code: int = 131064
    template_review_delay: float = 0.05  # seconds PENDING -> APPROVED/REJECTED (emulator)
    templates_per_waba: int = 250  # unverified portfolio (docs/meta/templates.md#management)
