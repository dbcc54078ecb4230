"""`AssistantResponder`: hands a customer message to the assistant's queue.

The model takes seconds; the inbound queue must not wait for it. When the tenant's
assistant is on, the message becomes a job on ASSISTANT_QUEUE_URL (answered by
functions/assistant) and the responder reports that an answer is on its way, so the
customer sees the typing indicator and gets no reply from here. Otherwise (assistant
off, or a message type it does not answer) the inner responder (the menu) answers.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from wacloud.inbound import Response, as_response
from wacloud.infra.clock import now
from wacloud.store.assistant import AssistantSettings, load_settings

#: Message types the assistant answers (a voice note via its transcript, an image
#: via its caption or description); anything else goes to the inner responder.
ANSWERED_TYPES = frozenset({"text", "interactive", "button", "audio", "image"})


#: No reply now, an answer is on its way: the inbound core shows the typing indicator.
ON_ITS_WAY = Response(pending=True)


def answer_pending(answer: object) -> bool:
    return isinstance(answer, Response) and answer.pending


class Message(Protocol):
    """The fields of wacloud.inbound's IncomingMessage the responder reads (`at` and
    `media`, the stored media reference, are read when present)."""

    @property
    def phone_number_id(self) -> str: ...
    @property
    def wa_id(self) -> str: ...
    @property
    def wamid(self) -> str: ...
    @property
    def type(self) -> str: ...
    @property
    def text(self) -> str | None: ...
    @property
    def reply_id(self) -> str | None: ...


class Inner(Protocol):
    def respond(self, message: Any) -> Response | Sequence[dict[str, Any]]: ...


def _enqueue(job: dict[str, Any]) -> None:
    from wacloud.infra.config import settings
    from wacloud.infra.queues import send_bodies

    cfg = settings()
    send_bodies(
        cfg.require(cfg.assistant_queue_url, "ASSISTANT_QUEUE_URL"),
        [json.dumps(job, separators=(",", ":"), default=str)],
    )


def job_for(message: Message) -> dict[str, Any]:
    """The queued job: `{phone_number_id, wa_id, wamid, type, text, at, media}`."""
    media = getattr(message, "media", None)
    at = getattr(message, "at", None)
    return {
        "phone_number_id": message.phone_number_id,
        "wa_id": message.wa_id,
        "wamid": message.wamid,
        "type": message.type,
        "text": message.text or None,
        "at": float(at) if at is not None else now(),
        "media": dict(media) if isinstance(media, dict) else _media_dict(media),
    }


def _media_dict(media: Any) -> dict[str, Any] | None:
    """A media reference given as an object (bucket, key, mime type) as a dict."""
    if media is None:
        return None
    names = ("bucket", "s3_key", "key", "mime_type")
    found = {n: getattr(media, n) for n in names if getattr(media, n, None) is not None}
    return found or None


@dataclass
class AssistantResponder:
    inner: Inner
    enqueue: Callable[[dict[str, Any]], None] = _enqueue
    settings: Callable[[str], AssistantSettings] = field(default=load_settings)

    def respond(self, message: Message) -> Response:
        if message.type not in ANSWERED_TYPES or not self.settings(message.phone_number_id).enabled:
            return as_response(self.inner.respond(message))
        self.enqueue(job_for(message))
        return ON_ITS_WAY
