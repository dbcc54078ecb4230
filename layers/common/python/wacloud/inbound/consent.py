"""Consent: a customer opts out of (or back into) marketing.

Two ways in: a keyword message (STOP, START...; OPT_OUT_KEYWORDS / OPT_IN_KEYWORDS)
answered with a confirmation, and Meta's ``user_preferences`` webhook (the customer
stopped marketing messages in WhatsApp itself), which is not answered. Either is
applied only if newer than the contact's last consent change (store/contacts.py),
so a replay or a late delivery changes nothing, and is not confirmed either.
"""

from __future__ import annotations

from wacloud.inbound.dispatch import FieldChange
from wacloud.inbound.responder import Reply
from wacloud.store import contacts

OPT_OUT_CONFIRMATION = (
    "You will no longer receive marketing messages from us. Reply START to subscribe again."
)
OPT_IN_CONFIRMATION = "You are subscribed to our updates again. Reply STOP to opt out."


def keyword_choice(
    text: str | None, opt_out: frozenset[str], opt_in: frozenset[str]
) -> tuple[str, bool] | None:
    """(keyword, opted_out) when the text is a consent keyword, else None."""
    keyword = (text or "").strip().upper()
    if keyword in opt_out:
        return keyword, True
    if keyword in opt_in:
        return keyword, False
    return None


def apply_keyword(
    phone_number_id: str, wa_id: str, keyword: str, *, opted_out: bool, at: float
) -> tuple[Reply | None, str]:
    """Apply a keyword's choice: the confirmation to send (None if superseded) and a note."""
    if contacts.apply_consent(
        phone_number_id, wa_id, opted_out=opted_out, at=at, reason=f"keyword:{keyword}"
    ):
        body = OPT_OUT_CONFIRMATION if opted_out else OPT_IN_CONFIRMATION
        return {"type": "text", "text": {"body": body}}, "opted_out" if opted_out else "opted_in"
    return None, "consent_superseded"


def user_preferences(change: FieldChange) -> str | None:
    """Subscriber of ``user_preferences``: marketing stopped or resumed in WhatsApp."""
    value = change.value
    wa_id = value.get("wa_id")
    choice = str(value.get("value", "")).lower()
    if (
        not change.phone_number_id
        or not wa_id
        or value.get("category") != "marketing_messages"
        or choice not in ("stop", "resume")
    ):
        return None
    applied = contacts.apply_consent(
        change.phone_number_id,
        wa_id,
        opted_out=choice == "stop",
        at=change.at,
        reason="user_preferences",
    )
    return f"marketing_{choice}" if applied else "consent_superseded"
