"""Meta's error envelope and code table (docs/meta/errors.md).

``GraphError`` is raised anywhere in request handling and rendered by the app as Meta's
envelope. HTTP statuses come from the "HTTP" column of docs/meta/errors.md#codes (ERR-OLD). Codes
that column leaves blank ("—") answer 400 here; that status is NOT CONFIRMED.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

ERROR_HREF = "/documentation/business-messaging/whatsapp/support/error-codes"

# code -> (title, HTTP status). Titles and statuses from docs/meta/errors.md#codes.
_TABLE: dict[int, tuple[str, int | None]] = {
    0: ("AuthException", 401),
    1: ("API Unknown", 400),
    2: ("API Service", 503),
    3: ("API Method", 500),
    4: ("API Too Many Calls", 400),
    10: ("Permission Denied", 403),
    33: ("Parameter value is not valid", 400),
    100: ("Invalid parameter", 400),
    190: ("Access token has expired", 401),
    200: ("API Permission", 403),
    368: ("Temporarily blocked for policies violations", 403),
    80007: ("Rate limit issues", 400),
    130403: ("Business has blocked this user", None),
    130429: ("Rate limit hit", 400),
    130472: ("User's number is part of an experiment", 400),
    130497: ("Business account is restricted from messaging users in this country", None),
    131000: ("Something went wrong", 500),
    131005: ("Access denied", 403),
    131008: ("Required parameter is missing", 400),
    131009: ("Parameter value is not valid", 400),
    131016: ("Service unavailable", 500),
    131021: ("Recipient cannot be sender", 400),
    131026: ("Message Undeliverable", 400),
    131030: ("Recipient phone number not in allowed list", None),
    131031: ("Account has been locked", 403),
    131042: ("Business eligibility payment issue", 400),
    131045: ("Incorrect certificate", 500),
    131047: ("Re-engagement message", 400),
    131048: ("Spam rate limit hit", 400),
    131049: (
        "This message was not delivered to maintain healthy ecosystem engagement.",
        None,
    ),
    131050: ("User stopped marketing messages", None),
    131051: ("Unsupported message type", 400),
    131052: ("Media download error", 400),
    131053: ("Media upload error", 400),
    # CONFLICT (docs/meta/errors.md#codes/docs/meta/conflicts.md#error-http-status): ERR-OLD says
    # 400, one 3P page says 429. The emulator follows ERR-OLD, the only copy of Meta's own table,
    # and returns 400.
    131056: ("(Business Account, Consumer Account) pair rate limit hit", 400),
    131057: ("Account in maintenance mode", 500),
    131063: ("Marketing templates disabled for Cloud API", None),
    131064: ("Messaging limit hit", None),
    132000: ("Template Param Count Mismatch", 400),
    132001: ("Template does not exist", 404),
    132005: ("Template Hydrated Text Too Long", 400),
    132007: ("Template Format Character Policy Violated", 400),
    132012: ("Template Parameter Format Mismatch", 400),
    132015: ("Template is Paused", 400),
    132016: ("Template is Disabled", 400),
    132018: ("Template validation error", 400),
    132068: ("Flow is blocked", 400),
    132069: ("Flow is throttled", 400),
    133000: ("Incomplete Deregistration", 500),
    133004: ("Server Temporarily Unavailable", 503),
    133005: ("Two step verification PIN Mismatch", 400),
    133010: ("Phone number Not Registered", 400),
    133016: ("Account register deregister rate limit exceeded", 400),
    135000: ("Generic user error", 400),
    139100: ("Failed to block/unblock users", None),
    139101: ("Blocklist limit reached", None),
    139102: ("Blocklist changed during pagination", None),
    139103: ("Internal error", None),
}

# Used when a code's status is "—" in docs/meta/errors.md#codes. NOT CONFIRMED.
_DEFAULT_STATUS = 400


def title_for(code: int) -> str:
    return _TABLE.get(code, ("Error", None))[0]


def http_status_for(code: int) -> int:
    if 200 <= code <= 299:
        return 403  # "API Permission" family (docs/meta/errors.md#codes)
    status = _TABLE.get(code, ("", None))[1]
    return status if status is not None else _DEFAULT_STATUS


def known_codes() -> list[int]:
    return sorted(_TABLE)


@dataclass
class GraphError(Exception):
    """An error answered synchronously with Meta's envelope (docs/meta/errors.md#envelope)."""

    code: int
    details: str = ""
    subcode: int | None = None
    title: str | None = None
    http_status: int | None = None
    user_title: str | None = None
    user_msg: str | None = None

    def __post_init__(self) -> None:
        Exception.__init__(self, f"({self.code}) {self.details}")

    @property
    def status(self) -> int:
        return self.http_status if self.http_status is not None else http_status_for(self.code)

    def envelope(self, fbtrace_id: str) -> dict[str, Any]:
        title = self.title or title_for(self.code)
        err: dict[str, Any] = {
            "message": f"(#{self.code}) {title}",
            "type": "OAuthException",
            "code": self.code,
            "error_data": {"messaging_product": "whatsapp", "details": self.details or title},
        }
        # error_subcode is "deprecated since v16" yet shown in Meta's example (CONFLICT
        # docs/meta/errors.md#envelope): the emulator sends it only where a subcode carries meaning.
        if self.subcode is not None:
            err["error_subcode"] = self.subcode
        if self.user_title is not None:
            err["error_user_title"] = self.user_title
        if self.user_msg is not None:
            err["error_user_msg"] = self.user_msg
        err["fbtrace_id"] = fbtrace_id
        return {"error": err}


def webhook_error(code: int, details: str, title: str | None = None) -> dict[str, Any]:
    """Error object as it appears inside webhooks
    (docs/meta/webhooks.md#statuses/docs/meta/webhooks.md#value-errors): a different shape."""
    t = title or title_for(code)
    return {
        "code": code,
        "title": t,
        "message": t,
        "error_data": {"details": details},
        "href": ERROR_HREF,
    }


def missing(path: str) -> GraphError:
    return GraphError(131008, f"The parameter {path} is required.")


def invalid(path: str, why: str) -> GraphError:
    """A value that is present but not acceptable (131009)."""
    return GraphError(131009, f"Param {path} {why}")


def bad_param(path: str, why: str) -> GraphError:
    """Schema problems: wrong type, too long, too many, unknown key (100)."""
    return GraphError(100, f"Param {path} {why}")
