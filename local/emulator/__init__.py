"""A strict local emulator of the WhatsApp Cloud API (Graph API v21-v23).

    from local.emulator import Emulator, EmulatorConfig
    with Emulator(EmulatorConfig(port=0, webhook_url="http://127.0.0.1:3000/webhook")) as emu:
        emu.url  # point the Graph base URL here

See README.md for the HTTP control API and the CLI.
"""

from .config import (
    DEFAULT_DISPLAY_PHONE_NUMBER,
    DEFAULT_PHONE_NUMBER_ID,
    DEFAULT_WABA_ID,
    EmulatorConfig,
    StatusDelays,
    WebhookDeliveryConfig,
)
from .emulator import Emulator
from .webhooks import sign

__all__ = [
    "DEFAULT_DISPLAY_PHONE_NUMBER",
    "DEFAULT_PHONE_NUMBER_ID",
    "DEFAULT_WABA_ID",
    "Emulator",
    "EmulatorConfig",
    "StatusDelays",
    "WebhookDeliveryConfig",
    "sign",
]
