"""Exit codes scripts can trust, and the one error type commands raise.

0 ok; 1 the API refused the request (4xx other than 401/403); 2 usage error (typer);
3 not logged in or the token was refused (401/403); 4 the server failed or could not be
reached (5xx, connection, timeout); 5 the outcome waited for was not success (a watched
campaign ended cancelled, `health --check` found the stack degraded).
"""

from __future__ import annotations

import enum
from typing import Any


class ExitCode(enum.IntEnum):
    OK = 0
    REFUSED = 1
    USAGE = 2
    AUTH = 3
    UNAVAILABLE = 4
    OUTCOME = 5


class CliError(Exception):
    """A failure the command line reports on stderr and turns into its exit code."""

    def __init__(
        self,
        exit_code: ExitCode,
        message: str,
        *,
        code: str | None = None,
        status: int | None = None,
        fields: list[dict[str, Any]] | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.exit_code = exit_code
        self.message = message
        self.code = code
        self.status = status
        self.fields = fields or []
        self.request_id = request_id

    def as_dict(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code or self.exit_code.name.lower()}
        error["message"] = self.message
        if self.status is not None:
            error["status"] = self.status
        if self.fields:
            error["fields"] = self.fields
        body: dict[str, Any] = {"error": error, "exit_code": int(self.exit_code)}
        if self.request_id:
            body["request_id"] = self.request_id
        return body


def exit_code_for_status(status: int) -> ExitCode:
    if status in (401, 403):
        return ExitCode.AUTH
    if 400 <= status < 500:
        return ExitCode.REFUSED
    return ExitCode.UNAVAILABLE


def from_response(status: int, body: Any) -> CliError:
    """The API's error body (`{"error": {"code", "message", "fields"}, "request_id"}`)
    as a CliError; a body of another shape (a gateway's `{"message": ...}`) still maps
    by status."""
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        code = str(error.get("code") or f"http_{status}")
        message = str(error.get("message") or "")
        fields = [f for f in error.get("fields") or [] if isinstance(f, dict)]
    else:
        code = {401: "unauthorized", 403: "forbidden"}.get(status, f"http_{status}")
        message = str(body.get("message") or "") if isinstance(body, dict) else ""
        fields = []
    if not message:
        message = _DEFAULT_MESSAGES.get(status, f"the API answered HTTP {status}")
    if status == 401:
        message += " (log in again: wacloud login)"
    request_id = body.get("request_id") if isinstance(body, dict) else None
    return CliError(
        exit_code_for_status(status),
        message,
        code=code,
        status=status,
        fields=fields,
        request_id=str(request_id) if request_id else None,
    )


_DEFAULT_MESSAGES = {
    401: "the API refused the token (missing, expired or not valid for this stack)",
    403: "your role may not do this",
    404: "not found",
    429: "too many requests; try again shortly",
    500: "the API failed",
    502: "the API's gateway got no good answer from the function",
    503: "the API is unavailable",
    504: "the API timed out",
}
