"""`LLMError`: every way a call to OpenAI can fail, as one transient error.

The assistant answers every failure the same way (a short fallback answer and a
handoff), so one class is enough; ``kind`` says what happened for metrics and for a
caller that wants to wait (``retry_after``). The message is built here from the
status and the kind only: OpenAI's own error text may quote the prompt, so it never
reaches an exception, a log line or a metric (wacloud.infra.privacy).
"""

from __future__ import annotations

from typing import Literal

from wacloud.errors import TransientError

LLMErrorKind = Literal["rate_limited", "unavailable", "timeout", "refused"]


class LLMError(TransientError):
    """OpenAI refused, failed or did not answer in time.

    ``kind``: ``rate_limited`` (HTTP 429; ``retry_after`` seconds when OpenAI sent a
    Retry-After), ``unavailable`` (5xx or no connection), ``timeout`` (no answer
    within the client's timeout) or ``refused`` (any other 4xx: a bad key, a model the
    account lacks, a request OpenAI will not serve; retrying the same call fails the
    same way). ``status`` is the HTTP status when there was one.
    """

    def __init__(
        self,
        kind: LLMErrorKind,
        *,
        status: int | None = None,
        retry_after: float | None = None,
        operation: str = "call",
    ) -> None:
        detail = f"OpenAI {operation} failed: {kind}"
        if status is not None:
            detail += f" (HTTP {status})"
        if retry_after is not None:
            detail += f", retry after {retry_after:g}s"
        super().__init__(detail)
        self.kind: LLMErrorKind = kind
        self.status = status
        self.retry_after = retry_after
        self.operation = operation
