"""`LLMClient`: the four OpenAI calls the assistant and the knowledge base make.

A thin wrapper over the official ``openai`` SDK (Responses API for structured
answers and image descriptions, Embeddings, Audio transcriptions) whose job is to
keep the SDK's surface out of the features: they pass plain text and a pydantic
schema and get back plain values and a `Usage`; every failure leaves as `LLMError`.

Latency budget: the assistant runs in its own SQS function whose batch must finish
well inside its visibility timeout, so the client waits ``timeout`` seconds (20 by
default) and lets the SDK retry at most once (``max_retries=1``; the SDK honours a
short Retry-After on 429 itself). A second failure is the caller's: it answers
with a fallback and hands the conversation to a person.

``openai`` is imported when the first call is made, not when this module is: it is
the heaviest package in the layer and a container that never calls OpenAI (or only
reads the contract's names) must not pay for it at cold start. pydantic is not imported
here either (the schemas the callers pass bring it), so the inbound path may import
this package without loading it (tests/unit/test_cold_imports.py).
"""

from __future__ import annotations

import base64
import email.utils
import threading
import time
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Literal, TypedDict, TypeVar

from wacloud.errors import ConfigurationError
from wacloud.infra.config import settings
from wacloud.llm.errors import LLMError, LLMErrorKind
from wacloud.llm.models import EMBED_DIMENSIONS, EMBED_MODEL, TRANSCRIBE_MODEL, Usage

if TYPE_CHECKING:
    from openai import OpenAI
    from pydantic import BaseModel

__all__ = ["DEFAULT_TIMEOUT", "LLMClient", "Turn", "configured_llm_client"]

M = TypeVar("M", bound="BaseModel")
R = TypeVar("R")

DEFAULT_TIMEOUT = 20.0
"""Seconds one attempt may take (the SDK's whole-request timeout)."""
MAX_RETRIES = 1
"""Retries the SDK itself makes (429, 5xx, connection errors), so two attempts at most."""


class Turn(TypedDict):
    """One message of the conversation, oldest first: the customer's (``user``) or
    the business's (``assistant``)."""

    role: Literal["user", "assistant"]
    content: str


class LLMClient:
    """OpenAI, reached with one key (and optionally another base URL: the local stack's
    stand-in, an Azure-compatible proxy). Thread-safe; build one per container
    (`configured_llm_client`). The SDK client is created on the first call.
    """

    def __init__(
        self,
        *,
        api_key: str,
        base_url: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        max_retries: int = MAX_RETRIES,
    ) -> None:
        if not api_key:
            raise ConfigurationError("the OpenAI client needs an api_key")
        self._api_key = api_key
        self.base_url = base_url
        self.timeout = timeout
        self.max_retries = max_retries
        self._sdk: OpenAI | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:  # the key never appears in a repr, a log or a traceback
        return f"LLMClient(base_url={self.base_url!r}, timeout={self.timeout})"

    def sdk(self) -> OpenAI:
        """The SDK client (built once, on first use: this is where ``openai`` is imported)."""
        if self._sdk is None:
            with self._lock:
                if self._sdk is None:
                    from openai import OpenAI

                    self._sdk = OpenAI(
                        api_key=self._api_key,
                        base_url=self.base_url,
                        timeout=self.timeout,
                        max_retries=self.max_retries,
                    )
        return self._sdk

    # -- the calls ---------------------------------------------------------------

    def parse(
        self,
        *,
        model: str,
        instructions: str,
        turns: Sequence[Turn],
        schema: type[M],
        max_output_tokens: int | None = None,
    ) -> tuple[M, Usage]:
        """One structured answer: the model reads ``instructions`` (the system prompt)
        and ``turns`` (oldest first) and answers with JSON that validates as ``schema``
        (OpenAI's strict structured outputs, so a well-behaved model cannot answer
        anything else). A refusal or an unparseable answer is `LLMError` ``refused``.
        """
        sdk = self.sdk()
        extra: dict[str, Any] = {}
        if max_output_tokens is not None:
            extra["max_output_tokens"] = max_output_tokens
        response = self._call(
            "parse",
            lambda: sdk.responses.parse(
                model=model,
                instructions=instructions,
                input=[{"role": t["role"], "content": t["content"]} for t in turns],
                text_format=schema,
                store=False,
                **extra,
            ),
        )
        parsed = response.output_parsed
        if parsed is None:
            raise LLMError("refused", operation="parse")
        return parsed, _usage(response.usage)

    def embed(
        self,
        texts: Sequence[str],
        *,
        model: str = EMBED_MODEL,
        dimensions: int = EMBED_DIMENSIONS,
    ) -> tuple[list[list[float]], Usage]:
        """One vector per text, in order (``dimensions`` long, as OpenAI returns them:
        unit length). An empty ``texts`` costs no call."""
        if not texts:
            return [], Usage()
        sdk = self.sdk()
        response = self._call(
            "embed",
            lambda: sdk.embeddings.create(model=model, input=list(texts), dimensions=dimensions),
        )
        rows = sorted(response.data, key=lambda d: d.index)
        vectors = [list(row.embedding) for row in rows]
        if len(vectors) != len(texts):
            raise LLMError("unavailable", operation="embed")
        prompt_tokens = response.usage.prompt_tokens if response.usage else 0
        return vectors, Usage(input_tokens=prompt_tokens, output_tokens=0)

    def transcribe(self, audio: bytes, *, filename: str, model: str = TRANSCRIBE_MODEL) -> str:
        """The text spoken in ``audio`` (``filename``'s extension tells OpenAI the format:
        WhatsApp voice notes are ``.ogg``/Opus, which OpenAI accepts)."""
        sdk = self.sdk()
        result = self._call(
            "transcribe",
            lambda: sdk.audio.transcriptions.create(model=model, file=(filename, audio)),
        )
        return str(result.text or "")

    def describe_image(
        self, image: bytes, *, mime_type: str, prompt: str, model: str
    ) -> tuple[str, Usage]:
        """A short description of ``image`` following ``prompt`` (sent inline as a data
        URL at low detail: a customer's photo needs a sentence, not a survey)."""
        sdk = self.sdk()
        data_url = f"data:{mime_type};base64,{base64.b64encode(image).decode()}"
        response = self._call(
            "describe_image",
            lambda: sdk.responses.create(
                model=model,
                store=False,
                input=[
                    {
                        "role": "user",
                        "content": [
                            {"type": "input_text", "text": prompt},
                            {"type": "input_image", "image_url": data_url, "detail": "low"},
                        ],
                    }
                ],
            ),
        )
        return str(response.output_text or ""), _usage(response.usage)

    # -- error mapping -----------------------------------------------------------

    def _call(self, operation: str, call: Callable[[], R]) -> R:
        """Run one SDK call; any failure becomes `LLMError` without OpenAI's message
        (which may quote the prompt) or its chain (``from None``)."""
        try:
            return call()
        except Exception as exc:  # classified below; anything not the SDK's is re-raised
            mapped = _map_error(exc, operation)
            if mapped is None:
                raise
            raise mapped from None


def _map_error(exc: BaseException, operation: str) -> LLMError | None:
    """The `LLMError` for an SDK exception, or None for anything that is not the SDK's
    (a bug of ours must surface as itself)."""
    import openai
    from pydantic import ValidationError

    if isinstance(exc, ValidationError):
        # The answer did not fit the schema (truncated or malformed JSON).
        return LLMError("refused", operation=operation)
    if isinstance(exc, openai.APITimeoutError):
        return LLMError("timeout", operation=operation)
    if isinstance(exc, openai.APIConnectionError):
        return LLMError("unavailable", operation=operation)
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        kind: LLMErrorKind
        retry_after = None
        if status == 429:
            kind = "rate_limited"
            retry_after = retry_after_seconds(exc.response.headers)
        elif status == 408:
            kind = "timeout"
        elif status >= 500:
            kind = "unavailable"
        else:
            kind = "refused"
        return LLMError(kind, status=status, retry_after=retry_after, operation=operation)
    if isinstance(exc, openai.OpenAIError):
        # Finish-reason errors, a response the SDK could not read: not worth a retry.
        return LLMError("refused", operation=operation)
    return None


def retry_after_seconds(headers: Any) -> float | None:
    """Seconds from ``retry-after-ms`` / ``Retry-After`` (seconds or an HTTP date)."""
    raw_ms = headers.get("retry-after-ms")
    if raw_ms:
        try:
            return max(0.0, float(raw_ms) / 1000)
        except ValueError:
            pass
    raw = headers.get("retry-after")
    if not raw:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _usage(usage: Any) -> Usage:
    if usage is None:
        return Usage()
    return Usage(
        input_tokens=int(getattr(usage, "input_tokens", 0) or 0),
        output_tokens=int(getattr(usage, "output_tokens", 0) or 0),
    )


# -- the configured client -----------------------------------------------------------


def configured_llm_client() -> LLMClient:
    """The container's client, from the secret named by OPENAI_SECRET_ID: JSON
    ``{"api_key": "sk-...", "base_url": "..."?}``.

    The secret is read through Powertools Parameters (cached for
    POWERTOOLS_PARAMETERS_MAX_AGE seconds, like Meta's credentials), and the client is
    cached per (key, base URL): a rotated key gets a new client without a redeploy,
    an unchanged one reuses the SDK client and its connections.
    """
    from aws_lambda_powertools.utilities import parameters

    secret_id = settings().openai_secret_id
    if not secret_id:
        raise ConfigurationError("environment variable OPENAI_SECRET_ID is not set")
    raw = parameters.get_secret(secret_id, transform="json")
    if not isinstance(raw, dict):
        raise ConfigurationError("the OpenAI secret must be a JSON object")
    api_key = str(raw.get("api_key") or "")
    if not api_key:
        raise ConfigurationError("the OpenAI secret has no api_key")
    base_url = str(raw.get("base_url") or "") or None
    return _client_for(api_key, base_url)


@lru_cache(maxsize=4)
def _client_for(api_key: str, base_url: str | None) -> LLMClient:
    return LLMClient(api_key=api_key, base_url=base_url)


configured_llm_client.cache_clear = _client_for.cache_clear  # type: ignore[attr-defined]
