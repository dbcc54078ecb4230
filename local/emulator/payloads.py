"""Builders for webhook ``value`` objects in Meta's shapes
(docs/meta/webhooks.md#envelope-docs/meta/webhooks.md#other-fields,
docs/meta/messages.md#customer-service-window)."""

from __future__ import annotations

from typing import Any

from .models import PhoneNumber


def metadata(pn: PhoneNumber) -> dict[str, str]:
    return {"display_phone_number": pn.display_phone_number, "phone_number_id": pn.id}


def inbound_value(
    pn: PhoneNumber, wa_id: str, profile_name: str, message: dict[str, Any]
) -> dict[str, Any]:
    value: dict[str, Any] = {"messaging_product": "whatsapp", "metadata": metadata(pn)}
    # System messages arrive without ``contacts`` (docs/meta/webhooks.md#envelope).
    if message.get("type") != "system":
        value["contacts"] = [{"profile": {"name": profile_name}, "wa_id": wa_id}]
    value["messages"] = [message]
    return value


def statuses_value(pn: PhoneNumber, statuses: list[dict[str, Any]]) -> dict[str, Any]:
    return {"messaging_product": "whatsapp", "metadata": metadata(pn), "statuses": statuses}


def pricing(category: str | None, in_window: bool) -> dict[str, Any]:
    """PMP pricing object (docs/meta/messages.md#customer-service-window).

    Non-template messages are free service messages; utility templates inside an open CSW are
    free with category ``utility``; every other template is billable ``regular``.
    """
    if category is None:
        return {
            "billable": False,
            "pricing_model": "PMP",
            "type": "free_customer_service",
            "category": "service",
        }
    if category == "utility" and in_window:
        return {
            "billable": False,
            "pricing_model": "PMP",
            "type": "free_customer_service",
            "category": "utility",
        }
    return {"billable": True, "pricing_model": "PMP", "type": "regular", "category": category}


def conversation(conv_id: str, category: str | None, expires: int | None) -> dict[str, Any]:
    """v23-and-lower ``conversation`` object (docs/meta/webhooks.md#statuses);
    ``expiration_timestamp`` on sent only."""
    conv: dict[str, Any] = {"id": conv_id}
    if expires is not None:
        conv["expiration_timestamp"] = str(expires)
    conv["origin"] = {"type": category or "service"}
    return conv


def template_status_value(
    event: str,
    template_id: str,
    name: str,
    language: str,
    category: str,
    reason: str | None = "NONE",
) -> dict[str, Any]:
    """``message_template_status_update`` value (docs/meta/webhooks.md#other-fields)."""
    return {
        "event": event,
        "message_template_id": int(template_id),
        "message_template_name": name,
        "message_template_language": language,
        "reason": reason,
        "message_template_category": category.upper(),
    }
