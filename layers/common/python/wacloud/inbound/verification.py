"""Meta's webhook subscription handshake (GET with hub.* parameters)."""

from __future__ import annotations

import hmac
from collections.abc import Mapping

from wacloud.errors import InputError

_HUB_PARAMS = ("hub.mode", "hub.verify_token", "hub.challenge")


class VerificationRequestError(InputError, ValueError):
    """The handshake's query cannot be read; the message names the problem, not values."""


def hub_params(params: object) -> dict[str, str]:
    """The ``hub.*`` query parameters, checked to be text we can compare and echo.

    API Gateway gives strings, but a direct invocation or a lone surrogate in a
    percent-decoded value (``%ED%A0%80``) would otherwise raise deep inside the
    comparison: refused here with a clear error instead.
    """
    if params is None:
        return {}
    if not isinstance(params, Mapping):
        raise VerificationRequestError("query parameters are not a mapping")
    found: dict[str, str] = {}
    for name in _HUB_PARAMS:
        value = params.get(name)
        if value is None:
            continue
        if not isinstance(value, str):
            raise VerificationRequestError(f"{name} is not a string")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise VerificationRequestError(f"{name} is not encodable text") from None
        found[name] = value
    return found


def subscription_challenge(params: Mapping[str, str], verify_token: str) -> str | None:
    """The challenge to echo when the request is a valid subscription, else None.

    An empty configured token never verifies (a half-configured stack must not accept
    anyone's subscription). Raises ``VerificationRequestError`` for unreadable params.
    """
    hub = hub_params(params)
    if hub.get("hub.mode") != "subscribe" or not verify_token:
        return None
    offered = hub.get("hub.verify_token", "")
    if not hmac.compare_digest(offered.encode(), verify_token.encode()):
        return None
    challenge = hub.get("hub.challenge")
    return challenge if challenge else None
