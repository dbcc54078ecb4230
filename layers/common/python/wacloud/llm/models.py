"""Default OpenAI models, their dimensions and their published prices.

Prices are USD per 1M tokens as published on OpenAI's pricing page,
https://developers.openai.com/api/docs/pricing (also https://openai.com/api/pricing/),
read in 2026; docs/assistant-openai.md turns them into a cost per 1,000
conversations. They are here for estimates and budgets only: OpenAI's bill is the
truth, and a tenant may pick another model in its assistant settings.

- ``CHAT_MODEL`` gpt-4.1-mini: structured outputs, image input, no reasoning tokens
  (so the output a customer reads is the output billed, and latency stays low).
- ``EMBED_MODEL`` text-embedding-3-small with ``dimensions`` 512: OpenAI's embeddings
  can be shortened by the API (the ``dimensions`` parameter) with little loss, and a
  shorter vector makes a 10,000-chunk index a third of the default 1,536's size.
- ``TRANSCRIBE_MODEL`` gpt-4o-mini-transcribe: billed per audio minute (estimated
  $0.003/min on the pricing page).
"""

from __future__ import annotations

from dataclasses import dataclass

CHAT_MODEL = "gpt-4.1-mini"
VISION_MODEL = CHAT_MODEL
EMBED_MODEL = "text-embedding-3-small"
EMBED_DIMENSIONS = 512
TRANSCRIBE_MODEL = "gpt-4o-mini-transcribe"


@dataclass(frozen=True, slots=True)
class Price:
    """USD per 1M tokens (``per_minute``: USD per audio minute, for transcription)."""

    input: float
    output: float = 0.0
    cached_input: float | None = None
    per_minute: float | None = None


PRICES: dict[str, Price] = {
    "gpt-4.1-mini": Price(input=0.40, output=1.60, cached_input=0.10),
    "gpt-4.1-nano": Price(input=0.10, output=0.40, cached_input=0.025),
    "gpt-5-mini": Price(input=0.25, output=2.00, cached_input=0.025),
    "gpt-4o-mini": Price(input=0.15, output=0.60, cached_input=0.075),
    "text-embedding-3-small": Price(input=0.02),
    "text-embedding-3-large": Price(input=0.13),
    "gpt-4o-mini-transcribe": Price(input=1.25, output=5.00, per_minute=0.003),
}


@dataclass(frozen=True, slots=True)
class Usage:
    """Tokens one call consumed, as OpenAI reported them (budgets add ``total``)."""

    input_tokens: int = 0
    output_tokens: int = 0

    @property
    def total(self) -> int:
        return self.input_tokens + self.output_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.input_tokens + other.input_tokens, self.output_tokens + other.output_tokens
        )


def cost_usd(model: str, usage: Usage) -> float | None:
    """The list-price cost of ``usage`` on ``model``; None for a model without a price here."""
    price = PRICES.get(model)
    if price is None:
        return None
    return (usage.input_tokens * price.input + usage.output_tokens * price.output) / 1_000_000
