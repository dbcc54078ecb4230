"""Meta's webhook subscription handshake (GET with hub.* parameters)."""

from __future__ import annotations

import hmac
from collections.abc import Mapping


def subscription_challenge(params: Mapping[str, str], verify_token: str) -> str | None:
    """The challenge to echo when the request is a valid subscription, else None.

    An empty configured token never verifies (a half-configured stack must not accept
    anyone's subscription).
    """
    if params.get("hub.mode") != "subscribe" or not verify_token:
        return None
    offered = params.get("hub.verify_token", "")
    if not hmac.compare_digest(offered.encode(), verify_token.encode()):
        return None
    challenge = params.get("hub.challenge")
    return challenge if challenge else None
