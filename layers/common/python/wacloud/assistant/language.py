"""A guess at the customer's language when the model could not tell us (fallbacks).

Only for choosing the fallback answer after a model error or an exhausted budget:
common words of the three languages the defaults speak (es, pt, en). A message with
none of them gets `None` (the fallback's last resort, English).
"""

from __future__ import annotations

import re

_WORDS = {
    "es": {
        "hola",
        "quiero",
        "necesito",
        "gracias",
        "por",
        "favor",
        "que",
        "qué",
        "el",
        "la",
        "los",
        "las",
        "es",
        "está",
        "estoy",
        "tienen",
        "cuánto",
        "dónde",
        "buenos",
        "días",
        "para",
        "con",
        "una",
        "un",
        "mi",
        "hablar",
        "pedido",
        "y",
    },
    "pt": {
        "olá",
        "ola",
        "oi",
        "quero",
        "preciso",
        "obrigado",
        "obrigada",
        "por",
        "favor",
        "que",
        "o",
        "a",
        "os",
        "as",
        "é",
        "está",
        "estou",
        "vocês",
        "quanto",
        "onde",
        "bom",
        "dia",
        "para",
        "com",
        "uma",
        "um",
        "meu",
        "falar",
        "pedido",
        "não",
        "e",
    },
    "en": {
        "hello",
        "hi",
        "i",
        "want",
        "need",
        "thanks",
        "thank",
        "please",
        "the",
        "is",
        "are",
        "you",
        "what",
        "where",
        "how",
        "much",
        "my",
        "order",
        "to",
        "a",
        "and",
        "speak",
        "with",
    },
}
_WORD = re.compile(r"\w+", re.UNICODE)


def guess_language(text: str | None) -> str | None:
    words = _WORD.findall((text or "").lower())
    scores = {lang: sum(w in vocab for w in words) for lang, vocab in _WORDS.items()}
    best = max(scores, key=lambda lang: scores[lang])
    return best if scores[best] > 0 else None
