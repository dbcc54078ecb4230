"""The OpenAI client and its errors: the only code that talks to OpenAI.

Tier 1 (beside ``wacloud.graph``): imports only ``wacloud.infra`` and ``wacloud.errors``.
The ``openai`` package is heavy, so it is imported inside the calls that need it
(``configured_llm_client`` builds the SDK client on its first use), never here:
importing ``wacloud.llm`` costs a cold start nothing.

Contract (docs/assistant-openai.md)::

    client = configured_llm_client()          # cached per container, key from OPENAI_SECRET_ID
    answer, usage = client.parse(model=CHAT_MODEL, instructions=..., turns=[...], schema=Model)
    vectors, usage = client.embed(["text", ...])
    text = client.transcribe(audio, filename="note.ogg")
    description, usage = client.describe_image(image, mime_type="image/jpeg", prompt=..., model=...)

Every SDK failure leaves as `LLMError` (a `TransientError`) whose ``kind`` says what
happened: ``rate_limited`` (``retry_after`` seconds when OpenAI said), ``unavailable``,
``timeout`` or ``refused``.
"""

from wacloud.llm.client import LLMClient, Turn, configured_llm_client
from wacloud.llm.errors import LLMError, LLMErrorKind
from wacloud.llm.models import (
    CHAT_MODEL,
    EMBED_DIMENSIONS,
    EMBED_MODEL,
    TRANSCRIBE_MODEL,
    VISION_MODEL,
    Usage,
)

__all__ = [
    "CHAT_MODEL",
    "EMBED_DIMENSIONS",
    "EMBED_MODEL",
    "TRANSCRIBE_MODEL",
    "VISION_MODEL",
    "LLMClient",
    "LLMError",
    "LLMErrorKind",
    "Turn",
    "Usage",
    "configured_llm_client",
]
