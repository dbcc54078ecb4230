"""The inbox: people answering customers (issue #13, "conversations").

A conversation a person should answer is taken (`take`), given (`assign`, by hand,
or `auto_assign` round-robin among available agents below their limit when the
tenant's inbox settings say ``auto_assign``), answered (`reply`: free form inside
the 24-hour window, a template any time), released back to the bot
(wacloud.conversations.release) or resolved (`resolve`: the bot answers again and,
when the tenant turned it on and the window is open, a satisfaction survey goes out:
three reply buttons, good / ok / bad). The survey's answer is kept only when the
customer's reply quotes that very survey message (its context id; a button id alone
can be typed or forged): `survey_answer`, called by the handoff gate.

While a conversation is ``assigned`` the assistant and the menu stay silent exactly
as in handoff (`Conversation.in_handoff`); unlike a waiting handoff it does not time
out: it stays with the agent until released, resolved or reassigned.
"""

from __future__ import annotations

import json
import string
import uuid
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger
from pydantic import ValidationError

from wacloud.conversations.events import publish
from wacloud.errors import ConflictError, InputError, NotFoundError
from wacloud.infra.clock import iso
from wacloud.infra.privacy import mask_phone
from wacloud.store import agents as agent_store
from wacloud.store import conversations as store
from wacloud.store import inbox as inbox_store

logger = Logger(child=True)

# `conversation.resolved` reaches the bus from the state table's change stream
# (wacloud.events_out): put here after the conditional resolve, a failed put was lost
# for good, since a retry finds the conversation resolved already (ConflictError).
ASSIGNED_EVENT = "conversation.assigned"
#: The survey's buttons: reply id -> the answer kept.
SURVEY_PREFIX = "survey:"
SURVEY_ANSWERS = ("good", "ok", "bad")
_SURVEY_TEXT = {
    "en": (
        "How did we do? Please rate this conversation.",
        ("Good", "OK", "Bad"),
        "Thanks for your feedback!",
    ),
    "es": (
        "¿Cómo lo hicimos? Califica esta conversación.",
        ("Bien", "Regular", "Mal"),
        "¡Gracias por tu opinión!",
    ),
    "pt": (
        "Como nos saímos? Avalie esta conversa.",
        ("Bom", "Regular", "Ruim"),
        "Obrigado pela sua opinião!",
    ),
}


class WindowClosedError(ConflictError):
    """Free-form text outside the customer's 24-hour window (a template is needed)."""


class AssignedToOtherError(ConflictError):
    """Another agent has the conversation (an admin may take it over)."""


class MissingParamError(InputError):
    """A canned response's ``{param}`` was not given (the message names it)."""


# ------------------------------------------------------------------ transitions
def take(
    phone_number_id: str, wa_id: str, *, agent: str, at: float, force: bool = False
) -> store.Conversation:
    """``agent`` takes the conversation over (state ``assigned``). Taking one another
    agent has is refused unless ``force`` (an admin)."""
    return _assign(phone_number_id, wa_id, agent=agent, at=at, steal=force, by=agent)


def assign(
    phone_number_id: str, wa_id: str, *, agent: str, by: str, at: float
) -> store.Conversation:
    """Give the conversation to ``agent`` by hand (whoever has it now)."""
    return _assign(phone_number_id, wa_id, agent=agent, at=at, steal=True, by=by)


def _assign(
    phone_number_id: str, wa_id: str, *, agent: str, at: float, steal: bool, by: str
) -> store.Conversation:
    for _ in range(5):
        before = store.load(phone_number_id, wa_id)
        if before.state == store.ASSIGNED and before.assignee not in (None, agent) and not steal:
            raise AssignedToOtherError(f"the conversation is assigned to {before.assignee}")
        if store.assign(phone_number_id, wa_id, agent=agent, at=at, expect=before):
            _assigned_event(phone_number_id, wa_id, agent=agent, by=by, at=at)
            return store.load(phone_number_id, wa_id)
    raise ConflictError("the conversation kept changing; try again")


def _assigned_event(phone_number_id: str, wa_id: str, *, agent: str, by: str, at: float) -> None:
    publish(
        ASSIGNED_EVENT,
        {
            "phone_number_id": phone_number_id,
            "wa_id": wa_id,
            "agent": agent,
            "by": by,
            "at": iso(at),
        },
    )
    logger.info("conversation assigned", extra={"to": mask_phone(wa_id), "agent": agent})


def auto_assign(phone_number_id: str, wa_id: str, *, at: float) -> str | None:
    """Round-robin: the waiting conversation goes to the least recently assigned agent
    who is available and below their limit; None (it waits) when there is none, or
    when someone got the conversation first."""
    for candidate in agent_store.round_robin(agent_store.all_agents()):
        before = store.load(phone_number_id, wa_id)
        if not before.waiting(at):
            return None
        if store.assign(
            phone_number_id, wa_id, agent=candidate.name, at=at, expect=before, within_limit=True
        ):
            _assigned_event(phone_number_id, wa_id, agent=candidate.name, by="auto", at=at)
            return candidate.name
    logger.info("no agent to assign; the conversation waits", extra={"to": mask_phone(wa_id)})
    return None


def auto_assign_if_on(phone_number_id: str, wa_id: str, *, at: float) -> str | None:
    """`auto_assign` when the tenant's inbox settings say so (the handoff's hook)."""
    if not inbox_store.load_settings(phone_number_id).auto_assign:
        return None
    return auto_assign(phone_number_id, wa_id, at=at)


@dataclass(frozen=True, slots=True)
class Resolved:
    conversation: store.Conversation
    survey_message_id: str | None


def resolve(phone_number_id: str, wa_id: str, *, by: str, at: float) -> Resolved:
    """Resolve (the bot answers again); send the survey if the tenant has it on and
    the window is open. ConflictError if it was resolved already."""
    from wacloud.store import contacts

    before = store.resolve(phone_number_id, wa_id, by=by, at=at)
    if before is None:
        raise ConflictError("the conversation is resolved already")
    survey_id = None
    if inbox_store.load_settings(phone_number_id).survey and contacts.window_open(
        contacts.load(phone_number_id, wa_id), at
    ):
        survey_id = _send_survey(phone_number_id, wa_id, before.handoff_language, at=at)
    logger.info(
        "conversation resolved", extra={"to": mask_phone(wa_id), "survey": survey_id is not None}
    )
    return Resolved(store.load(phone_number_id, wa_id), survey_id)


def _survey_texts(language: str | None) -> tuple[str, tuple[str, str, str], str]:
    return _SURVEY_TEXT.get(language or "en", _SURVEY_TEXT["en"])


def survey_message(language: str | None) -> dict[str, Any]:
    """The survey: an interactive message with three reply buttons (good / ok / bad)."""
    body, titles, _ = _survey_texts(language)
    return {
        "type": "interactive",
        "interactive": {
            "type": "button",
            "body": {"text": body},
            "action": {
                "buttons": [
                    {"type": "reply", "reply": {"id": f"{SURVEY_PREFIX}{answer}", "title": title}}
                    for answer, title in zip(SURVEY_ANSWERS, titles, strict=True)
                ]
            },
        },
    }


def _send_survey(phone_number_id: str, wa_id: str, language: str | None, *, at: float) -> str:
    message_id = send(
        phone_number_id,
        wa_id,
        survey_message(language),
        key=f"survey:{wa_id}:{at:.6f}",
        fields={"origin": "survey"},
    )
    store.note_survey(phone_number_id, wa_id, message_id=message_id, at=at)
    return message_id


def survey_answer(
    conversation: store.Conversation, *, reply_id: str | None, context_wamid: str | None, at: float
) -> str | None:
    """The thank-you text if this customer message answers the conversation's survey
    (a survey button, replying to THAT survey message), after keeping the answer."""
    from wacloud.store import messages

    if not reply_id or not reply_id.startswith(SURVEY_PREFIX) or not context_wamid:
        return None
    answer = reply_id[len(SURVEY_PREFIX) :]
    if answer not in SURVEY_ANSWERS or conversation.survey_message_id is None:
        return None
    sent = messages.load(conversation.phone_number_id, conversation.survey_message_id) or {}
    if sent.get("wamid") != context_wamid:
        return None
    if not store.record_survey_answer(
        conversation.phone_number_id,
        conversation.wa_id,
        message_id=conversation.survey_message_id,
        answer=answer,
        at=at,
    ):
        return None
    logger.info("survey answered", extra={"to": mask_phone(conversation.wa_id), "answer": answer})
    return _survey_texts(conversation.handoff_language)[2]


# ------------------------------------------------------------------ replies
def render_canned(text: str, params: dict[str, str]) -> str:
    """Fill ``{param}`` placeholders; MissingParamError naming the first missing one."""
    names = [field for _, field, _, _ in string.Formatter().parse(text) if field is not None]
    for name in names:
        if not name.isidentifier():
            raise InputError("canned response: placeholders are {name} with a plain name")
        if name not in params:
            raise MissingParamError(f"params.{name}: missing (the canned response uses it)")
    return text.format_map(params)


def validate_canned(text: str) -> None:
    """InputError if a canned response's placeholders are not plain ``{name}``s."""
    try:
        names = [f for _, f, spec, conv in string.Formatter().parse(text) if f is not None]
    except ValueError:
        raise InputError("text: unbalanced braces (write {name} placeholders)") from None
    if any(not n.isidentifier() for n in names):
        raise InputError("text: placeholders are {name} with a plain name")


def reply(
    phone_number_id: str,
    wa_id: str,
    *,
    agent: str,
    at: float,
    text: str | None = None,
    template: dict[str, Any] | None = None,
    canned: str | None = None,
    params: dict[str, str] | None = None,
    idempotency_key: str | None = None,
) -> str:
    """An agent's reply, through the normal submission path; the message id.

    Free form (``text`` or a ``canned`` response) only inside the 24-hour window:
    WindowClosedError outside it; a ``template`` any time."""
    from wacloud.store import contacts

    if template is not None:
        content: dict[str, Any] = {"type": "template", "template": template}
    else:
        if canned is not None:
            found = inbox_store.canned(phone_number_id, canned)
            if found is None:
                raise NotFoundError("canned: no canned response with this name")
            text = render_canned(found["text"], params or {})
        if not text:
            raise InputError("text, template or canned is required")
        if not contacts.window_open(contacts.load(phone_number_id, wa_id), at):
            raise WindowClosedError(
                "the customer's 24-hour window is closed: only a template can be sent"
            )
        content = {"type": "text", "text": {"body": text}}
    key = f"agent:{wa_id}:{idempotency_key or uuid.uuid4().hex}"
    message_id = send(
        phone_number_id, wa_id, content, key=key, fields={"origin": "agent", "agent": agent}
    )
    conversation = store.load(phone_number_id, wa_id)
    store.touch(phone_number_id, wa_id, conversation, at=at, agent_reply=True)
    logger.info(
        "agent replied",
        extra={"to": mask_phone(wa_id), "agent": agent, "message_id": message_id},
    )
    return message_id


def send(
    phone_number_id: str, wa_id: str, content: dict[str, Any], *, key: str, fields: dict[str, Any]
) -> str:
    """Validate, record (with ``fields``, e.g. origin and agent) and queue one message.

    The record is created ``accepted`` first so the sender keeps our fields; the same
    key again finds it and queues it again, which the sender ignores once it is sent
    (a retry after a failed queue call finishes the send instead of losing it)."""
    from wacloud.infra.queues import submit
    from wacloud.models.outbound.common import describe_validation_error
    from wacloud.models.outbound.submission import Submission
    from wacloud.store import messages

    document = {
        "phone_number_id": phone_number_id,
        "to": f"+{wa_id}",
        **content,
        "idempotency_key": key,
        "tags": ["inbox"],
    }
    try:
        submission = Submission.model_validate(document)
    except ValidationError as exc:
        raise InputError(describe_validation_error(exc)) from None
    message_id = messages.message_id_for(phone_number_id, submission.effective_idempotency_key())
    body = json.dumps(document, separators=(",", ":"))
    messages.record_new(
        phone_number_id,
        message_id,
        messages.State.ACCEPTED,
        {**messages.outbound_fields(submission, body), **fields},
    )
    submit(document)
    return message_id
