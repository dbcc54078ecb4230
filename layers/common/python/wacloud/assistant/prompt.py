"""The instructions the model answers under, built from the tenant's settings.

One text per message: who the business is and how it speaks, its hours with the
customer-facing local time now (so "are you open?" is answered right), what it may
and must not promise, the rules of the answer (the customer's language, the intent
and confidence it must report, sources), the running summary and who is writing,
then the knowledge passages as

    <knowledge document="faq.md" chunk="3">...text...</knowledge>

(the format the OpenAI stand-in reads back, docs/assistant.md). Knowledge text is
escaped so a document cannot close its own tag and speak as the instructions.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from wacloud.assistant.context import ConversationContext
from wacloud.assistant.ports import PassageLike
from wacloud.conversations import from_assistant, is_open
from wacloud.store.assistant import AssistantSettings

RULES = """\
Rules:
- Answer in the customer's language (the language of their last message); report it as
  an ISO 639-1 code in `language`.
- Be brief: a WhatsApp message, a few sentences at most.
- Ground facts about the business in the knowledge below; list the `document` names you
  used in `sources`. If the knowledge does not answer the question, say so and set a low
  `confidence`; never invent prices, dates, links or policies.
- `intent`: greeting, question, booking, order_status, complaint, human_request (they ask
  for a person), opt_out (they want no more messages), spam, or other.
- `confidence`: 0 to 1, how sure you are that your reply answers them correctly.
- `form`: only when it helps the customer choose: reply buttons (1 to 3, titles of at
  most 20 characters), a list (at most 10 rows), or a CTA URL taken from the knowledge.
  Otherwise null."""


def knowledge_block(passage: PassageLike) -> str:
    return (
        f'<knowledge document="{escape(passage.document, quote=True)}" '
        f'chunk="{int(passage.chunk)}">{escape(passage.text, quote=False)}</knowledge>'
    )


def instructions(
    settings: AssistantSettings,
    context: ConversationContext,
    passages: Sequence[PassageLike],
    *,
    at: float,
) -> str:
    local = settings.local_time(at)
    name = settings.business_name or "the business"
    lines = [
        f"You are the WhatsApp assistant of {name}. Tone: {settings.tone}.",
        f"Business hours ({settings.time_zone}): {settings.hours_text()}.",
        f"Local time now: {local:%A %Y-%m-%d %H:%M} "
        f"({'open' if is_open(from_assistant(settings), at) else 'closed'} now).",
    ]
    if settings.may_promise:
        lines.append("You may promise: " + "; ".join(settings.may_promise) + ".")
    if settings.must_not_promise:
        lines.append("Never promise: " + "; ".join(settings.must_not_promise) + ".")
    lines += ["", RULES, ""]
    if context.profile_name:
        lines.append(f"The customer's WhatsApp profile name: {context.profile_name}.")
    if context.tags:
        lines.append("Customer tags: " + ", ".join(context.tags) + ".")
    if context.summary:
        lines.append(f"Summary of the earlier conversation: {context.summary}")
    if passages:
        lines += ["", "Knowledge:", *(knowledge_block(p) for p in passages)]
    else:
        lines += ["", "Knowledge: none found for this message."]
    return "\n".join(lines)


def summary_instructions(previous: str | None) -> str:
    """For folding turns that left the window into the running summary."""
    base = (
        "Summarise this WhatsApp conversation between a customer (user) and a business "
        "(assistant) in at most 5 sentences, in English: what the customer wants, what was "
        "answered or promised, anything still open. Keep names, order and booking numbers."
    )
    return f"{base}\nThe summary so far: {previous}" if previous else base
