"""Logging that never leaks customers' phone numbers or message text.

Log lines carry ids (wamid, our message id, phone number id of the *business*) and
masked customer numbers; message bodies are never logged.
"""

from __future__ import annotations


def mask_phone(value: str | None) -> str:
    """Keep the country-code-ish prefix and the last two digits: enough to correlate."""
    if not value:
        return ""
    digits = "".join(ch for ch in value if ch.isdigit())
    if len(digits) <= 4:
        return "*" * len(digits)
    return f"{digits[:2]}{'*' * (len(digits) - 4)}{digits[-2:]}"
