"""The state table's change stream, read as facts (wacloud.models.facts).

`facts_of` takes one DynamoDB stream record as Lambda delivers it (``eventName``,
``dynamodb.Keys/NewImage/OldImage`` in DynamoDB JSON) and returns the facts it means,
usually none. It is pure: the old and new images say everything, so a record decoded
twice (a retried batch) gives the same facts with the same ids, and decoding costs no
AWS call.

Where the decoding lives: here, one decoder per item kind, dispatched by the key's
shape, with every key shape, state and rank taken from the store module that owns the
item (`messages.message_pk`, `messages.RANK`, `conversations.RESOLVED`...). The owners
write their items and know nothing of the stream; the rules that compare an old image
with a new one (what was newly reached, what first appeared) are the stream's, and
kept together they read as one table of "which change means which fact"
(docs/facts.md). A new item kind is one decoder here plus one filter in template.yaml.

Ids are deterministic: the item's key plus what the change reached (a message's state,
a handoff's time...), never the stream's sequence number, so the same change read from
a replayed or restored stream keeps its id. The keys of conversations and contacts
hold the customer's number; their facts' ids carry a digest of it instead, so an id
can be logged.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from wacloud.infra.dynamo import unmarshal
from wacloud.models.facts import (
    FUNNEL_STEPS,
    AssistantAnswered,
    CampaignCompleted,
    ContactOptedOut,
    ConversationHandoffRequested,
    ConversationOpened,
    ConversationResolved,
    Fact,
    MessageReceived,
    MessageStatusChanged,
    SurveyAnswered,
    TemplateStatusChanged,
)
from wacloud.store import campaigns, contacts, conversations, inbound_log, messages
from wacloud.store import template_mirror as mirror

Image = dict[str, Any]
#: How the assistant keys its answers' parts (wacloud.assistant.answer): ``assist:{wamid}:{i}``.
ASSISTANT_KEY_PREFIX = "assist:"
Decoder = Callable[[str, str, Image, Image], list[Fact]]

#: The states of an outbound message a business hears of (messages.State): Meta's
#: statuses and our final refusals. The others (accepted, queued, sending, deferred,
#: retrying...) are the sender's bookkeeping.
REPORTED_STATES = frozenset(
    {
        messages.State.SENT,
        messages.State.DELIVERED,
        messages.State.READ,
        messages.State.PLAYED,
        messages.State.FAILED,
        messages.State.REJECTED,
        messages.State.CANCELLED,
    }
)


def facts_of(record: Mapping[str, Any]) -> list[Fact]:
    """The facts one stream record means (none for most records).

    A REMOVE (expiry, erasure) means none: the item is gone, nothing happened to it.
    """
    change = record.get("dynamodb") or {}
    new = unmarshal(change.get("NewImage") or {})
    if not new:
        return []
    old = unmarshal(change.get("OldImage") or {})
    pk, sk = str(new.get("pk") or ""), str(new.get("sk") or "")
    decoder = _DECODERS.get(_kind(pk))
    return decoder(pk, sk, old, new) if decoder else []


def _marker(pk_of_empty: str) -> str:
    """The kind segment of an owner's key (``message_pk("", "")`` is ``#OUT#``)."""
    return pk_of_empty.strip("#").split("#")[0]


def _kind(pk: str) -> str:
    """``{pnid}#OUT#{id}`` -> ``OUT``; ``{waba}#TPL`` -> ``TPL``."""
    parts = pk.split("#")
    return parts[1] if len(parts) >= 2 else ""


def _number(pk: str) -> str:
    return pk.split("#", 1)[0]


def _private(pk: str) -> str:
    """A key holding a customer's number, as it may appear in an id (and a log)."""
    number, kind, rest = pk.split("#", 2)
    return f"{number}#{kind}#{hashlib.sha256(rest.encode()).hexdigest()[:16]}"


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


# ------------------------------------------------------------------ outbound messages
def _message(pk: str, sk: str, old: Image, new: Image) -> list[Fact]:
    """A state change to a reported state, or Meta's pricing appearing (`apply_status`
    keeps the first pricing object on the record). Not every change moves the state:
    Meta's `sent` usually finds the record `sent` already (the sender's), and a
    duplicate or late status only fills in `status_at_*`: no fact then, unless it
    brought the first pricing."""
    if sk != "#" or new.get("direction") != "out":
        return []
    state, previous = str(new.get("state") or ""), old.get("state")
    moved = state != previous and state in REPORTED_STATES
    pricing = new.get("pricing") if not old.get("pricing") else None
    if not moved and not isinstance(pricing, dict):
        return []
    rank = int(new.get("state_rank") or messages.RANK.get(state, 0))
    old_rank = int(old.get("state_rank") or 0)
    crossed: tuple[str, ...] = ()
    if moved and state in FUNNEL_STEPS:
        # Every funnel step whose rank this change passed: `sent -> read` crosses
        # delivered and read. `failed` is not a funnel step, so never crossed; a
        # rejected or cancelled message crosses nothing.
        crossed = tuple(s for s in FUNNEL_STEPS if old_rank < messages.RANK[s] <= rank)
    if moved:
        # A state is entered once (ranks only grow), except `failed`: first below
        # `sent` (an unknown outcome given up on) and later by Meta's word.
        suffix = state if rank == messages.RANK.get(state) else f"{state}#{rank}"
    else:
        suffix = "pricing"
    template_name, template_language = _template(new.get("submission"))
    priced = pricing if isinstance(pricing, dict) else {}
    billable = priced.get("billable")
    answered = _assistant_answered(pk, new) if "sent" in crossed else []
    return [
        *answered,
        MessageStatusChanged(
            id=f"{pk}#{suffix}",
            phone_number_id=_number(pk),
            at=_status_time(new, state),
            message_id=str(new.get("message_id") or pk.rsplit("#", 1)[-1]),
            wamid=new.get("wamid"),
            wa_id=str(new.get("recipient_wa_id") or new.get("to") or "").lstrip("+"),
            previous=previous,
            status=state,
            crossed=crossed,
            message_type=new.get("type"),
            template_name=template_name,
            template_language=template_language,
            campaign_id=new.get("campaign_id"),
            variant=new.get("variant"),
            error_codes=_error_codes(new.get("error")) if state == messages.State.FAILED else (),
            pricing_category=priced.get("category"),
            pricing_type=priced.get("type"),
            pricing_model=priced.get("pricing_model"),
            billable=billable if isinstance(billable, bool) else None,
        ),
    ]


def _assistant_answered(pk: str, new: Image) -> list[Fact]:
    """The assistant's answer (its first part: idempotency key ``assist:{wamid}:0``,
    wacloud.assistant) reached `sent`: an answer to the customer's message ``wamid``."""
    key = str(new.get("idempotency_key") or "")
    if not (key.startswith(ASSISTANT_KEY_PREFIX) and key.endswith(":0")):
        return []
    return [
        AssistantAnswered(
            id=f"{pk}#answered",
            phone_number_id=_number(pk),
            at=_status_time(new, "sent"),
            wa_id=str(new.get("to") or "").lstrip("+"),
            message_id=str(new.get("message_id") or pk.rsplit("#", 1)[-1]),
            answered_wamid=key[len(ASSISTANT_KEY_PREFIX) : -len(":0")],
        )
    ]


def _status_time(item: Image, state: str) -> float:
    """Meta's timestamp of the status where there is one, else when we recorded it."""
    for name in (f"status_at_{state}", f"at_{state}", "updated_at", "created_at"):
        if item.get(name) is not None:
            return float(item[name])
    return 0.0


def _template(submission: Any) -> tuple[str | None, str | None]:
    """The template's name and language code from the stored submission (JSON text)."""
    if not isinstance(submission, str) or '"template"' not in submission:
        return None, None
    try:
        template = json.loads(submission).get("template")
    except (ValueError, AttributeError):
        return None, None
    if not isinstance(template, dict):
        return None, None
    language = template.get("language")
    code = language.get("code") if isinstance(language, dict) else language
    return template.get("name"), str(code) if code else None


def _error_codes(error: Any) -> tuple[int, ...]:
    """Meta's codes from the record's `error` (`messages.delivery_error` for a failed
    status, the Graph error for a refused send)."""
    if not isinstance(error, dict):
        return ()
    listed = [e.get("code") for e in error.get("errors") or () if isinstance(e, dict)]
    codes = listed or [error.get("code")]
    return tuple(int(str(c)) for c in codes if isinstance(c, int) or str(c or "").isdigit())


# ------------------------------------------------------------------ inbound messages
def _inbound(pk: str, sk: str, old: Image, new: Image) -> list[Fact]:
    """A customer message recorded (its record inserted once, however often Meta
    delivered it). Later changes (media attached, a transcript) mean nothing new.

    `context_message_id` and `campaign_id` are filled by `with_replies` (two reads
    per quoted message, made by the Facts function, off the hot path), not here: this
    decoding makes no AWS call.
    """
    if sk != "#" or old or new.get("direction") != "in":
        return []
    content = _mapping(new.get("content"))
    context = _mapping(content.get("context"))
    return [
        MessageReceived(
            id=pk,
            phone_number_id=_number(pk),
            at=float(new.get("received_at") or new.get("recorded_at") or 0),
            wamid=str(new.get("wamid") or pk.rsplit("#", 1)[-1]),
            wa_id=str(new.get("wa_id") or ""),
            message_type=str(new.get("type") or content.get("type") or "unknown"),
            context_wamid=context.get("id"),
            referral=bool(content.get("referral")),
        )
    ]


# ------------------------------------------------------------------ conversations
def _conversation(pk: str, sk: str, old: Image, new: Image) -> list[Fact]:
    """Handed to a person (`handoff_at` moved: `enter_handoff`, or an agent taking a
    bot conversation), resolved (`state` became resolved), a survey answered (its
    answer appeared). One change can mean two (a takeover is rare but atomic)."""
    if sk != conversations.SK:
        return []
    number, wa_id, key = _number(pk), str(new.get("wa_id") or ""), _private(pk)
    found: list[Fact] = []
    handoff_at = _float(new.get("handoff_at"))
    if handoff_at is not None and handoff_at != _float(old.get("handoff_at")):
        found.append(
            ConversationHandoffRequested(
                id=f"{key}#handoff#{handoff_at:.6f}",
                phone_number_id=number,
                at=handoff_at,
                wa_id=wa_id,
                reason=new.get("handoff_reason"),
            )
        )
    resolved_at = _float(new.get("resolved_at"))
    if (
        new.get("state") == conversations.RESOLVED
        and resolved_at is not None
        and resolved_at != _float(old.get("resolved_at"))
    ):
        found.append(_resolved(key, number, wa_id, old, new, resolved_at))
    answer = new.get("survey_answer")
    if answer and not old.get("survey_answer"):
        found.append(
            SurveyAnswered(
                id=f"{key}#survey#{new.get('survey_message_id')}",
                phone_number_id=number,
                at=float(new.get("survey_answered_at") or 0),
                wa_id=wa_id,
                score=str(answer),
                agent=new.get("resolved_by"),
            )
        )
    return found


def _resolved(
    key: str, number: str, wa_id: str, old: Image, new: Image, resolved_at: float
) -> ConversationResolved:
    """Resolved by an agent when a person had it since the last resolve; otherwise the
    assistant had carried it alone (someone closed a bot conversation)."""
    handoff_at = _float(old.get("handoff_at"))
    handed_off = handoff_at is not None and handoff_at > (_float(old.get("resolved_at")) or 0)
    agent = old.get("assignee") or (new.get("resolved_by") if handed_off else None)
    return ConversationResolved(
        id=f"{key}#resolved#{resolved_at:.6f}",
        phone_number_id=number,
        at=resolved_at,
        wa_id=wa_id,
        resolved_by="agent" if handed_off else "assistant",
        agent=agent,
        handed_off=handed_off,
        first_response_seconds=_first_response(old, handoff_at) if handed_off else None,
        resolution_seconds=resolved_at - handoff_at if handed_off and handoff_at else None,
    )


def _first_response(old: Image, handoff_at: float | None) -> float | None:
    """A person's first reply after the handoff (``first_reply_at``, set by the inbox's
    reply in the same write that notes the activity); None if nobody replied."""
    first = _float(old.get("first_reply_at"))
    if handoff_at is None or first is None or first < handoff_at:
        return None
    return first - handoff_at


# ------------------------------------------------------------------ campaigns
def _campaign(pk: str, sk: str, old: Image, new: Image) -> list[Fact]:
    """The fan-out's last commit (`campaigns.commit(done=True)`): status completed."""
    if sk != "#" or new.get("status") != "completed" or old.get("status") == "completed":
        return []
    at = float(new.get("completed_at") or new.get("updated_at") or 0)
    campaign_id = str(new.get("campaign_id") or pk.rsplit("#", 1)[-1])
    counts = {
        name: int(value)
        for name, value in new.items()
        if name.startswith(("queued#", "skipped#")) and isinstance(value, int | float)
    }
    return [
        CampaignCompleted(
            id=f"{pk}#completed#{at:.6f}",
            phone_number_id=_number(pk),
            at=at,
            campaign_id=campaign_id,
            counts=counts,
        )
    ]


# ------------------------------------------------------------------ templates
def _template_change(pk: str, sk: str, old: Image, new: Image) -> list[Fact]:
    """A mirrored template's status or quality changed (a webhook or a sync). The
    first mirroring of a template is not a change (no previous state)."""
    if not old:
        return []
    status, quality = new.get("status"), new.get("quality")
    if status == old.get("status") and quality == old.get("quality"):
        return []
    name, _, language = sk.partition("#")
    stamps = [
        float(new[k])
        for k in new
        if (k.endswith("_update_at") or k == "synced_at") and new.get(k) != old.get(k)
    ]
    at = max(stamps) if stamps else float(new.get("deleted_at") or 0)
    return [
        TemplateStatusChanged(
            id=f"{pk}#{sk}#{status}#{quality}#{at:.6f}",
            phone_number_id=_number(pk),
            at=at,
            waba_id=_number(pk),
            template_name=str(new.get("name") or name),
            language=str(new.get("language") or language),
            previous=old.get("status"),
            status=str(status or ""),
            quality=quality,
            reason=new.get("status_reason"),
        )
    ]


# ------------------------------------------------------------------ contacts
def _contact(pk: str, sk: str, old: Image, new: Image) -> list[Fact]:
    """A customer's window opened (`contacts.record_customer_message` moved
    `window_expires_at` while none was open); opted out of marketing
    (`contacts.apply_consent`), from any earlier state."""
    if sk != "#":
        return []
    found: list[Fact] = []
    opened = _window_opened(pk, old, new)
    if opened is not None:
        found.append(opened)
    if new.get("opted_out_marketing") is True and old.get("opted_out_marketing") is not True:
        at = float(new.get("consent_at") or new.get("opted_out_marketing_at") or 0)
        found.append(
            ContactOptedOut(
                id=f"{_private(pk)}#opted_out#{at:.6f}",
                phone_number_id=_number(pk),
                at=at,
                wa_id=str(new.get("wa_id") or ""),
            )
        )
    return found


def _window_opened(pk: str, old: Image, new: Image) -> ConversationOpened | None:
    """The write that recorded a customer message (`last_seen` moved forward) when the
    window had closed before it (`window_expires_at` of the old image at or before the
    message), or the first message ever. A message inside an open window, a
    redelivery or a late older message (`last_seen` unchanged) opens nothing. A free
    entry point window started by the same message makes it a free-entry-point
    conversation (`free_entry_point_expires_at` moved)."""
    seen = _float(new.get("last_seen"))
    if seen is None or seen == _float(old.get("last_seen")):
        return None
    if (_float(old.get("window_expires_at")) or 0.0) > seen:
        return None
    entry = _float(new.get("free_entry_point_expires_at"))
    from_ad = entry is not None and entry != _float(old.get("free_entry_point_expires_at"))
    return ConversationOpened(
        id=f"{_private(pk)}#opened#{seen:.6f}",
        phone_number_id=_number(pk),
        at=seen,
        wa_id=str(new.get("wa_id") or ""),
        origin="free_entry_point" if from_ad else "customer",
    )


_DECODERS: dict[str, Decoder] = {
    _marker(messages.message_pk("", "")): _message,
    _marker(inbound_log.inbound_pk("", "")): _inbound,
    _marker(conversations.conversation_pk("", "")): _conversation,
    _marker(campaigns.campaign_pk("", "")): _campaign,
    _marker(mirror.template_pk("")): _template_change,
    _marker(contacts.contact_pk("", "")): _contact,
}


def with_replies(facts: Sequence[Fact]) -> list[Fact]:
    """The facts, with each customer message that quotes one of OUR messages tied to it
    (`context_message_id`, and the message's `campaign_id`): a reply, as the aggregates
    and the lake both count it (docs/analytics.md, "replied"); and each answer of the
    assistant with its response time (`_with_response_time`).

    The only reads of the feed: the wamid lookup and our record, per quoting message
    (a minority of messages), in the Facts function rather than the inbound path. A
    customer quoting their own message, or a message another system sent, stays
    unmatched."""
    return [_with_reply(_with_response_time(fact)) for fact in facts]


def _with_response_time(fact: Fact) -> Fact:
    """The assistant's answer, with the time from the customer's message (when Meta
    says it was sent, `received_at` of its record: one read per answer)."""
    if not isinstance(fact, AssistantAnswered) or fact.response_seconds is not None:
        return fact
    asked = inbound_log.load_inbound(fact.phone_number_id, fact.answered_wamid)
    at = _float((asked or {}).get("received_at"))
    if at is None:
        return fact
    return dataclasses.replace(fact, response_seconds=max(fact.at - at, 0.0))


def _with_reply(fact: Fact) -> Fact:
    if not isinstance(fact, MessageReceived) or not fact.context_wamid or fact.context_message_id:
        return fact
    ours = messages.message_id_for_wamid(fact.phone_number_id, fact.context_wamid)
    if ours is None:
        return fact
    campaign = (messages.load(fact.phone_number_id, ours) or {}).get("campaign_id")
    return dataclasses.replace(
        fact, context_message_id=ours, campaign_id=str(campaign) if campaign else None
    )
