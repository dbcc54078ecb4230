"""What the model is told about the conversation: recent turns, summary, who is writing.

Turns come from the stored history (index gsi1, both directions; store/history.py),
newest first, and are kept while they fit a token budget; the current message is
always the last turn. What falls out of the window is not lost: once enough turns
have fallen out since the last summary, they are folded into a running summary kept
on the conversation (`summary`, `summary_upto` = the sort key of the last turn it
covers), which goes into the instructions.

Tokens are estimated as characters / 4, OpenAI's rule of thumb for English text
(https://help.openai.com/en/articles/4936856-what-are-tokens-and-how-to-count-them;
Spanish and Portuguese run a little over that). An exact count needs the model's
tokenizer (tiktoken: a dependency and its BPE files on a cold start) for a budget
that only has to keep the context bounded, not exact: the model's usage report,
which is what budgets and costs are recorded from, is exact.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from wacloud.assistant.ports import Turn
from wacloud.store import contacts, history

CHARS_PER_TOKEN = 4
#: Tokens of history sent with each question (the instructions and knowledge come on top).
HISTORY_TOKEN_BUDGET = 1500
#: Items read from the history at most (one Query page): more never fit the budget.
HISTORY_LIMIT = 40
#: Turns fallen out of the window before they are folded into the summary (one extra
#: model call per this many turns, not per message).
SUMMARY_EVERY = 6
# Outbound records that never reached the customer are not part of the conversation.
_NOT_SENT = frozenset({"failed", "rejected", "cancelled", "expired"})


def estimate_tokens(text: str) -> int:
    return (len(text) + CHARS_PER_TOKEN - 1) // CHARS_PER_TOKEN


@dataclass(frozen=True, slots=True)
class HistoryTurn:
    sort_key: str
    role: str  # "user" | "assistant"
    content: str


@dataclass(frozen=True)
class ConversationContext:
    turns: list[Turn]
    """Oldest first; the last is the current customer message."""
    summary: str | None = None
    profile_name: str | None = None
    tags: tuple[str, ...] = ()
    to_summarize: list[HistoryTurn] = field(default_factory=list)
    """Turns that fell out of the window since the summary, oldest first (empty until
    there are SUMMARY_EVERY of them)."""


def inbound_text(item: Mapping[str, Any]) -> str | None:
    """What a customer message says, as text (transcript or description for media)."""
    content = item.get("content") or {}
    kind = str(item.get("type") or content.get("type") or "")
    if item.get("transcript"):
        return f"[voice note] {item['transcript']}"
    text = (content.get("text") or {}).get("body")
    if text:
        return str(text)
    interactive = content.get("interactive") or {}
    for reply in (interactive.get("button_reply"), interactive.get("list_reply")):
        if reply and reply.get("title"):
            return str(reply["title"])
    button = content.get("button") or {}
    if button.get("text"):
        return str(button["text"])
    media = content.get(kind) if isinstance(content.get(kind), dict) else {}
    caption = media.get("caption") if media else None
    described = item.get("description")
    if caption or described:
        return " ".join(p for p in (f"[{kind}]", caption, described and f"({described})") if p)
    return f"[{kind}]" if kind else None


def outbound_text(item: Mapping[str, Any]) -> str | None:
    """What we sent, as text (the body of a text or interactive message, a template's name)."""
    if str(item.get("state") or "") in _NOT_SENT:
        return None
    raw = item.get("submission")
    try:
        sent = json.loads(raw) if isinstance(raw, str) else dict(raw or {})
    except (TypeError, ValueError):
        return None
    kind = sent.get("type")
    if kind == "text":
        return str((sent.get("text") or {}).get("body") or "") or None
    if kind == "interactive":
        body = ((sent.get("interactive") or {}).get("body") or {}).get("text")
        return str(body) if body else "[interactive message]"
    if kind == "template":
        return f"[template {(sent.get('template') or {}).get('name', '')}]".replace(" ]", "]")
    return f"[{kind}]" if kind else None


def history_turns(items: Sequence[Mapping[str, Any]], *, skip_wamid: str) -> list[HistoryTurn]:
    """Stored messages (oldest first) as turns, without the current message."""
    turns = []
    for item in items:
        if item.get("direction") == "in":
            if item.get("wamid") == skip_wamid:
                continue
            text, role = inbound_text(item), "user"
        else:
            text, role = outbound_text(item), "assistant"
        if text:
            turns.append(HistoryTurn(str(item.get("gsi1sk", "")), role, text))
    return turns


def fit_window(
    turns: Sequence[HistoryTurn], budget_tokens: int
) -> tuple[list[HistoryTurn], list[HistoryTurn]]:
    """(kept, dropped): the newest turns that fit the budget, and the older rest."""
    used = 0
    start = len(turns)
    for index in range(len(turns) - 1, -1, -1):
        cost = estimate_tokens(turns[index].content)
        if used + cost > budget_tokens:
            break
        used += cost
        start = index
    return list(turns[start:]), list(turns[:start])


def build_context(
    phone_number_id: str,
    wa_id: str,
    wamid: str,
    current: str | None,
    *,
    conversation: Mapping[str, Any] | None,
    budget_tokens: int = HISTORY_TOKEN_BUDGET,
    limit: int = HISTORY_LIMIT,
) -> ConversationContext:
    """The context for answering `current` (the customer's message `wamid`).

    `current` None: the message's text as recorded (a button's title, a caption).
    The current message's own cost is taken from the budget first, so a long message
    leaves less room for history, never the other way round.
    """
    items = history.recent(phone_number_id, wa_id, limit)
    if current is None:
        recorded = [i for i in items if i.get("wamid") == wamid and i.get("direction") == "in"]
        current = (inbound_text(recorded[0]) if recorded else None) or "[message]"
    past = history_turns(items, skip_wamid=wamid)
    kept, dropped = fit_window(past, max(0, budget_tokens - estimate_tokens(current)))
    conversation = conversation or {}
    upto = str(conversation.get("summary_upto") or "")
    pending = [t for t in dropped if t.sort_key > upto]
    contact = contacts.load(phone_number_id, wa_id) or {}
    tags = contact.get("tags") or ()
    return ConversationContext(
        turns=[
            *({"role": t.role, "content": t.content} for t in kept),
            {"role": "user", "content": current},
        ],
        summary=str(conversation["summary"]) if conversation.get("summary") else None,
        profile_name=contact.get("profile_name"),
        tags=tuple(sorted(str(t) for t in tags)),
        to_summarize=pending if len(pending) >= SUMMARY_EVERY else [],
    )
