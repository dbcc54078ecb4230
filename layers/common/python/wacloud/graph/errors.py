"""Cloud API error codes and what the sender should do about each (docs/meta/errors.md).

Meta advises acting on the error ``code`` (and ``details``), not on the title or
the HTTP status, so the decision table is keyed by code. The HTTP status is only
used for codes we have never seen: a 5xx is Meta's problem and worth retrying,
anything else is assumed to be ours and final.

Classes, and what the sender does with them:

* RETRYABLE      -- transient on Meta's side; retry with backoff, bounded attempts.
* TERMINAL       -- the request or account is wrong; retrying cannot help.
* NEEDS_TEMPLATE -- 131047: outside the 24 h window; only a template can be sent.
* AUTH           -- 0, 190: the access token is bad. Keep the message and retry it
                    once the token is fixed; it is not the message's fault.
* RATE_LIMITED   -- deferred, not failed: 130429 (number throughput), 131056 (pair
                    rate), 80007 (WABA call rate), 4 (app call rate), 131057
                    (maintenance during a throughput upgrade, <= 1 min) and 132069
                    (flow throttled).
* BLOCKED        -- 130403: we blocked this user; unblock first.
* OPTED_OUT      -- 131050: the user stopped marketing messages; never retry.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from wacloud.errors import GraphError


class ErrorClass(enum.StrEnum):
    RETRYABLE = "retryable"
    TERMINAL = "terminal"
    NEEDS_TEMPLATE = "needs_template"
    AUTH = "auth"
    RATE_LIMITED = "rate_limited"
    BLOCKED = "blocked"
    OPTED_OUT = "opted_out"


@dataclass(frozen=True, slots=True)
class GraphErrorInfo:
    """One row of the table in docs/meta/errors.md#codes.

    ``http_status`` comes from the older Meta table (ERR-OLD); ``None`` where that
    table had no row. ``retry_after_seconds`` is a first-retry hint, ``None`` when
    Meta gives no figure.
    """

    code: int
    title: str
    http_status: int | None
    error_class: ErrorClass
    retry_after_seconds: int | None = None


R, T, A, RL = ErrorClass.RETRYABLE, ErrorClass.TERMINAL, ErrorClass.AUTH, ErrorClass.RATE_LIMITED

PAIR_RATE_BASE = 4  # docs/meta/throughput.md: retry a 131056 after 4^X seconds, X = 0, 1, 2...
# docs/meta/throughput.md: a throughput upgrade takes <= 1 min (131057)
MAINTENANCE_WAIT_SECONDS = 60
# docs/meta/limits.md#flow-messages: 10 messages with the flow in the last hour
FLOW_THROTTLE_WINDOW_SECONDS = 3600
REREGISTER_WAIT_SECONDS = 300  # docs/meta/errors.md#codes 133015: wait 5 min

_ROWS: tuple[GraphErrorInfo, ...] = (
    GraphErrorInfo(0, "AuthException", 401, A),
    # 1 is "invalid request or possible server error": retried, bounded by the
    # sender's attempt limit, because Meta's advice is to check status and retry.
    GraphErrorInfo(1, "API Unknown", 400, R),
    GraphErrorInfo(2, "API Service", 503, R),
    GraphErrorInfo(3, "API Method", 500, T),
    GraphErrorInfo(4, "API Too Many Calls", 400, RL),
    GraphErrorInfo(10, "Permission Denied", 403, T),
    GraphErrorInfo(33, "Parameter value is not valid", 400, T),
    GraphErrorInfo(100, "Invalid parameter", 400, T),
    GraphErrorInfo(190, "Access token has expired", 401, A),
    GraphErrorInfo(200, "API Permission", 403, T),
    GraphErrorInfo(368, "Temporarily blocked for policies violations", 403, T),
    GraphErrorInfo(80007, "Rate limit issues", 400, RL),
    GraphErrorInfo(130403, "Business has blocked this user", None, ErrorClass.BLOCKED),
    GraphErrorInfo(130429, "Rate limit hit", 400, RL),
    GraphErrorInfo(130472, "User's number is part of an experiment", 400, T),
    GraphErrorInfo(
        130497, "Business account restricted from messaging users in this country", None, T
    ),
    GraphErrorInfo(131000, "Something went wrong", 500, R),
    GraphErrorInfo(131005, "Access denied", 403, T),
    GraphErrorInfo(131008, "Required parameter is missing", 400, T),
    GraphErrorInfo(131009, "Parameter value is not valid", 400, T),
    GraphErrorInfo(131016, "Service unavailable", 500, R),
    GraphErrorInfo(131021, "Recipient cannot be sender", 400, T),
    GraphErrorInfo(131026, "Message Undeliverable", 400, T),
    GraphErrorInfo(131030, "Recipient not in allowed list", None, T),
    GraphErrorInfo(131031, "Account has been locked", 403, T),
    GraphErrorInfo(131037, "Display name not approved for test number", None, T),
    GraphErrorInfo(131042, "Business eligibility payment issue", 400, T),
    GraphErrorInfo(131045, "Incorrect certificate", 500, T),
    GraphErrorInfo(131047, "Re-engagement message", 400, ErrorClass.NEEDS_TEMPLATE),
    # Spam/quality restriction: waiting helps only once quality recovers, and more
    # sends from a flagged number make it worse, so the message fails.
    GraphErrorInfo(131048, "Spam rate limit hit", 400, T),
    # Per-user marketing cap: Meta says do not retry for >= 24 h; resending is a
    # campaign decision, not the sender's.
    GraphErrorInfo(
        131049,
        "This message was not delivered to maintain healthy ecosystem engagement.",
        None,
        T,
    ),
    GraphErrorInfo(131050, "User stopped marketing messages", None, ErrorClass.OPTED_OUT),
    GraphErrorInfo(131051, "Unsupported message type", 400, T),
    GraphErrorInfo(131052, "Media download error", 400, T),
    GraphErrorInfo(131053, "Media upload error", 400, T),
    # CONFLICT: 400 in ERR-OLD, 429 in one third-party copy; we record ERR-OLD's 400.
    # The class is keyed on the code, so the status does not change the decision.
    GraphErrorInfo(131056, "(Business Account, Consumer Account) pair rate limit hit", 400, RL, 1),
    GraphErrorInfo(131057, "Account in maintenance mode", 500, RL, MAINTENANCE_WAIT_SECONDS),
    GraphErrorInfo(131063, "Marketing templates disabled for Cloud API", None, T),
    GraphErrorInfo(131064, "Messaging limit hit (template-classification violations)", None, T),
    GraphErrorInfo(132000, "Template Param Count Mismatch", 400, T),
    GraphErrorInfo(132001, "Template does not exist", 404, T),
    GraphErrorInfo(132005, "Template Hydrated Text Too Long", 400, T),
    GraphErrorInfo(132007, "Template Format Character Policy Violated", 400, T),
    GraphErrorInfo(132012, "Template Parameter Format Mismatch", 400, T),
    GraphErrorInfo(132015, "Template is Paused", 400, T),
    GraphErrorInfo(132016, "Template is Disabled", 400, T),
    GraphErrorInfo(132018, "Template validation error", 400, T),
    GraphErrorInfo(132068, "Flow is blocked", 400, T),
    GraphErrorInfo(132069, "Flow is throttled", 400, RL, FLOW_THROTTLE_WINDOW_SECONDS),
    GraphErrorInfo(133000, "Incomplete Deregistration", 500, T),
    GraphErrorInfo(133004, "Server Temporarily Unavailable", 503, R),
    GraphErrorInfo(133005, "Two step verification PIN Mismatch", 400, T),
    GraphErrorInfo(133006, "Phone number re-verification needed", 400, T),
    GraphErrorInfo(133008, "Too Many two step verification PIN Guesses", 400, T),
    GraphErrorInfo(133009, "Two step verification PIN Guessed Too Fast", 400, T),
    GraphErrorInfo(133010, "Phone number Not Registered", 400, T),
    GraphErrorInfo(
        133015,
        "Please wait a few minutes before attempting to register this phone number",
        400,
        R,
        REREGISTER_WAIT_SECONDS,
    ),
    # Blocked for 72 h after too many (de)register attempts: not worth a retry loop.
    GraphErrorInfo(133016, "Account register deregister rate limit exceeded", 400, T),
    GraphErrorInfo(134011, "WhatsApp Payments ToS acceptance pending", None, T),
    GraphErrorInfo(135000, "Generic user error", 400, T),
    # ---- families listed below the table (titles are those of docs/meta/errors.md#codes)
    GraphErrorInfo(2388019, "Template limit reached", None, T),
    GraphErrorInfo(2388039, "Template character limit", None, T),
    GraphErrorInfo(2388040, "Template character limit", None, T),
    GraphErrorInfo(2388047, "Template header format", None, T),
    GraphErrorInfo(2388072, "Template body format", None, T),
    GraphErrorInfo(2388073, "Template footer format", None, T),
    GraphErrorInfo(2388293, "Too many template variables for the length", None, T),
    GraphErrorInfo(2388299, "Template variable at start or end", None, T),
    GraphErrorInfo(139000, "Flows management error", None, T),
    GraphErrorInfo(139001, "Flows management error", None, T),
    GraphErrorInfo(139002, "Flows management error", None, T),
    GraphErrorInfo(139003, "Flows management error", None, T),
    GraphErrorInfo(139004, "Flows management error", None, T),
    GraphErrorInfo(139100, "Bulk block partly or fully failed", None, T),
    GraphErrorInfo(139101, "Blocklist limit reached", None, T),
    GraphErrorInfo(139102, "Block list changed during pagination", None, T),
    GraphErrorInfo(139103, "Block users internal error", None, R),
    GraphErrorInfo(131055, "Marketing Messages API error", None, T),
    GraphErrorInfo(134100, "Marketing Messages API error", None, T),
    GraphErrorInfo(134101, "Marketing Messages API error", None, T),
    GraphErrorInfo(134102, "Marketing Messages API error", 500, R),
)

ERRORS: dict[int, GraphErrorInfo] = {row.code: row for row in _ROWS}
"""Every code of docs/meta/errors.md#codes with an explicit row."""

# Ranges documented as families: (first, last, info template).
_RANGES: tuple[tuple[int, int, str, ErrorClass], ...] = (
    # docs/meta/errors.md#codes: 200-299 permission not granted/removed
    (200, 299, "API Permission", T),
    # docs/meta/errors.md#codes families: calling 138000-138xxx
    (138000, 138999, "Calling API error", T),
)


def lookup(code: int) -> GraphErrorInfo | None:
    """The table row for ``code`` (explicit or from a documented range), if known."""
    info = ERRORS.get(code)
    if info is not None:
        return info
    for first, last, title, cls in _RANGES:
        if first <= code <= last:
            return GraphErrorInfo(code, title, 403 if first == 200 else None, cls)
    return None


def classify(code: int, http_status: int | None = None) -> ErrorClass:
    """Decide by code; unknown codes fall back to the HTTP status (5xx retry, else fail)."""
    info = lookup(code)
    if info is not None:
        return info.error_class
    if http_status is not None and http_status >= 500:
        return ErrorClass.RETRYABLE
    return ErrorClass.TERMINAL


def pair_rate_retry_seconds(attempt: int) -> int:
    """Wait before retry number ``attempt`` (0-based) after 131056: 4^X seconds
    (docs/meta/throughput.md)."""
    return int(PAIR_RATE_BASE ** max(attempt, 0))


def _int_or_none(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return None


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


class GraphAPIError(GraphError):
    """A Graph error envelope (``{"error": {...}}``, docs/meta/errors.md#envelope) as an exception.

    ``code`` is ``None`` when the response had no usable error object (e.g. an HTML
    502 from a proxy); the class then follows the HTTP status alone.
    """

    def __init__(
        self,
        *,
        code: int | None,
        message: str,
        http_status: int | None = None,
        subcode: int | None = None,
        type: str | None = None,  # mirrors Meta's field name
        details: str | None = None,
        fbtrace_id: str | None = None,
        is_transient: bool | None = None,
        user_title: str | None = None,
        user_message: str | None = None,
    ) -> None:
        super().__init__(f"({code}) {message}" if code is not None else message)
        self.code = code
        self.message = message
        self.http_status = http_status
        self.subcode = subcode
        self.type = type
        self.details = details
        self.fbtrace_id = fbtrace_id
        self.is_transient = is_transient
        self.user_title = user_title
        self.user_message = user_message

    @classmethod
    def from_response(cls, status: int, body: dict[str, Any] | None) -> GraphAPIError:
        """Build from an HTTP status and the decoded JSON body (``None`` if not JSON)."""
        err = body.get("error") if isinstance(body, dict) else None
        if not isinstance(err, dict):
            return cls(
                code=None, message=f"HTTP {status} without a Graph error body", http_status=status
            )
        data = err.get("error_data")
        details = data.get("details") if isinstance(data, dict) else None
        transient = err.get("is_transient")
        return cls(
            code=_int_or_none(err.get("code")),
            message=str(err.get("message") or f"HTTP {status}"),
            http_status=status,
            subcode=_int_or_none(err.get("error_subcode")),
            type=_str_or_none(err.get("type")),
            details=_str_or_none(details),
            fbtrace_id=_str_or_none(err.get("fbtrace_id")),
            is_transient=transient if isinstance(transient, bool) else None,
            user_title=_str_or_none(err.get("error_user_title")),
            user_message=_str_or_none(err.get("error_user_msg")),
        )

    @property
    def info(self) -> GraphErrorInfo | None:
        return lookup(self.code) if self.code is not None else None

    @property
    def error_class(self) -> ErrorClass:
        if self.code is None:
            if self.http_status is not None and self.http_status >= 500:
                return ErrorClass.RETRYABLE
            return ErrorClass.TERMINAL
        return classify(self.code, self.http_status)

    @property
    def retry_after_seconds(self) -> int | None:
        """First-retry hint from the table (see ``pair_rate_retry_seconds`` for 131056)."""
        info = self.info
        return info.retry_after_seconds if info is not None else None

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe summary for the message record's ``last_error``."""
        out: dict[str, Any] = {
            "code": self.code,
            "subcode": self.subcode,
            "message": self.message,
            "type": self.type,
            "details": self.details,
            "fbtrace_id": self.fbtrace_id,
            "http_status": self.http_status,
            "error_class": self.error_class.value,
        }
        return {k: v for k, v in out.items() if v is not None}
