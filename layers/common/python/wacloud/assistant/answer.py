"""What the model answers, and how that becomes what we send.

`AssistantAnswer` is the structured output asked of the model (one `LLMClient.parse`
call, docs/assistant.md). Every field is required and the types are plain (no
defaults, no numeric bounds) so that the schema stays inside what OpenAI's strict
structured outputs accept; out-of-range values are clamped here instead.

A `ReplyForm` is the model's suggestion of a better shape for the reply: reply
buttons, a list, or a CTA URL. It is turned into an interactive message and validated
by the same outbound models every submission passes (wacloud.models.outbound); a form
that fails them (a 21-character title, four buttons, a URL the knowledge never gave)
is dropped and the reply goes as plain text. The customer is answered either way.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ValidationError

from wacloud.models.outbound.basic import TEXT_BODY_MAX
from wacloud.models.outbound.interactive import LIST_SECTION_TITLE_MAX

Intent = Literal[
    "greeting",
    "question",
    "booking",
    "order_status",
    "complaint",
    "human_request",
    "opt_out",
    "spam",
    "other",
]
ELLIPSIS = "\u2026"
TAGS = ["assistant"]


class FormRow(BaseModel):
    """One row of a list form."""

    id: str
    title: str
    description: str | None


class ReplyForm(BaseModel):
    """A better message form for the reply (the reply text is its body).

    - `buttons`: 1-3 reply buttons, titles of at most 20 characters (`buttons`).
    - `list`: a list opened by `list_button`, with `rows` (at most 10).
    - `cta_url`: one button `url_text` opening `url`.
    Fields the kind does not use are null or empty.
    """

    kind: Literal["buttons", "list", "cta_url"]
    buttons: list[str]
    list_button: str | None
    rows: list[FormRow]
    url: str | None
    url_text: str | None


class AssistantAnswer(BaseModel):
    intent: Intent
    confidence: float  # 0..1
    language: str  # the customer's language, e.g. "es", "en", "pt"
    reply: str  # in the customer's language
    sources: list[str]  # documents used
    form: ReplyForm | None  # reply buttons, a list, or a CTA URL; validated by our outbound models

    @property
    def certainty(self) -> float:
        """`confidence` clamped to 0..1 (a model may say 1.2 or -1)."""
        return min(1.0, max(0.0, float(self.confidence)))


class ConversationSummary(BaseModel):
    """The running summary of the turns that no longer fit the context."""

    summary: str


def fit(body: str, limit: int = TEXT_BODY_MAX) -> str:
    """`body` cut to `limit` characters (code points, as Meta counts), with an ellipsis."""
    body = body.strip()
    return body if len(body) <= limit else body[: limit - 1] + ELLIPSIS


def text_content(body: str) -> dict[str, Any]:
    return {"type": "text", "text": {"body": fit(body) or ELLIPSIS}}


def form_content(reply: str, form: ReplyForm, *, allowed_text: str = "") -> dict[str, Any] | None:
    """The interactive content for `form` with `reply` as its body, or None when the
    form cannot carry it (the caller then sends plain text).

    A CTA URL must appear in `allowed_text` (the knowledge and settings the model was
    given): a link the model made up is never sent.
    """
    body = {"text": reply.strip()}
    if form.kind == "buttons":
        interactive: dict[str, Any] = {
            "type": "button",
            "body": body,
            "action": {
                "buttons": [
                    {"type": "reply", "reply": {"id": f"assist_{n}", "title": title.strip()}}
                    for n, title in enumerate(form.buttons)
                ]
            },
        }
    elif form.kind == "list":
        button = (form.list_button or "").strip()
        interactive = {
            "type": "list",
            "body": body,
            "action": {
                "button": button,
                "sections": [
                    {
                        "title": button[:LIST_SECTION_TITLE_MAX],
                        "rows": [
                            {
                                "id": row.id.strip() or f"row_{n}",
                                "title": row.title.strip(),
                                **({"description": row.description} if row.description else {}),
                            }
                            for n, row in enumerate(form.rows)
                        ],
                    }
                ],
            },
        }
    else:
        url = (form.url or "").strip()
        if not url or url not in allowed_text:
            return None
        interactive = {
            "type": "cta_url",
            "body": body,
            "action": {
                "name": "cta_url",
                "parameters": {"display_text": (form.url_text or "").strip(), "url": url},
            },
        }
    return {"type": "interactive", "interactive": interactive}


def submissions(
    phone_number_id: str,
    wa_id: str,
    wamid: str,
    reply: str,
    form: ReplyForm | None = None,
    *,
    allowed_text: str = "",
) -> list[dict[str, Any]]:
    """The outbound submissions answering `wamid`: the form if our models accept it,
    else the reply as text. Keys `assist:{wamid}:{i}`: a job done twice (an SQS retry,
    a fallback after a crash) submits the same keys, and the sender sends each once."""
    from wacloud.models.outbound.submission import Submission

    envelope = {
        "phone_number_id": phone_number_id,
        # wa_id is international without "+" (docs/meta/messages.md#send).
        "to": f"+{wa_id}",
        "context": {"message_id": wamid},
        "tags": TAGS,
    }
    contents = [text_content(reply)]
    if form is not None:
        shaped = form_content(reply, form, allowed_text=allowed_text)
        if shaped is not None:
            try:
                Submission.model_validate(
                    {**envelope, **shaped, "idempotency_key": f"assist:{wamid}:0"}
                )
                contents = [shaped]
            except ValidationError:
                pass  # plain text instead (the reason is in the form, not the customer)
    return [
        {**envelope, **content, "idempotency_key": f"assist:{wamid}:{i}"}
        for i, content in enumerate(contents)
    ]
