"""Handoff keywords and the customer's language, read from folded text.

Customers write "Quiero hablar con un HUMANO", "falar com atendente", "Agent please":
matching is on text folded for case and accents (NFKD, combining marks dropped,
casefold) and on whole words or phrases, so "agente" matches "Agente!" but not
"reagentes", and "persona" does not match "personalizar".
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache

#: Spanish, English and Portuguese ways to ask for a person. A tenant may replace
#: the list (wacloud.conversations.settings).
DEFAULT_KEYWORDS: tuple[str, ...] = (
    # es
    "humano",
    "agente",
    "persona",
    "asesor",
    "asesora",
    "operador",
    "operadora",
    "hablar con",
    "ejecutivo",
    # en
    "human",
    "agent",
    "representative",
    "person",
    "operator",
    "real person",
    "talk to someone",
    "speak to someone",
    # pt
    "atendente",
    "pessoa",
    "falar com",
    "assessor",
)


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_WORDS: dict[str, frozenset[str]] = {
    "es": _words(
        "hola quiero hablar con un una por favor gracias necesito ayuda buenas buenos dias"
        " tardes noches que como donde cuando puedo tengo mi es el la los las y de humano"
        " persona asesor agente usted estoy"
    ),
    "pt": _words(
        "ola oi quero falar com um uma por favor obrigado obrigada preciso ajuda bom dia boa"
        " tarde noite que como onde quando posso tenho meu minha e o a os as de atendente"
        " pessoa voce estou nao"
    ),
    "en": _words(
        "hi hello hey i want to talk speak with a an please thanks thank you need help good"
        " morning afternoon evening what how where when can have my is the and of human"
        " person agent representative someone real"
    ),
}


def fold(text: str) -> str:
    """Lower case without accents, punctuation as spaces, single-spaced."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    return " ".join(re.sub(r"[^\w]+", " ", stripped).split())


@lru_cache(maxsize=64)
def _pattern(keywords: tuple[str, ...]) -> re.Pattern[str] | None:
    folded = sorted({fold(k) for k in keywords if fold(k)}, key=len, reverse=True)
    if not folded:
        return None
    return re.compile(r"\b(?:" + "|".join(re.escape(k) for k in folded) + r")\b")


def find_keyword(text: str | None, keywords: Iterable[str]) -> str | None:
    """The first handoff keyword (folded) in ``text`` as a whole word or phrase, or None."""
    if not text:
        return None
    pattern = _pattern(tuple(keywords))
    if pattern is None:
        return None
    found = pattern.search(fold(text))
    return found.group(0) if found else None


def guess_language(text: str | None) -> str | None:
    """ "es", "pt" or "en" by the most common words it shares with each; None if none."""
    words = fold(text or "").split()
    if not words:
        return None
    scores = {lang: sum(w in vocabulary for w in words) for lang, vocabulary in _WORDS.items()}
    best = max(scores, key=lambda lang: scores[lang])
    if scores[best] == 0 or list(scores.values()).count(scores[best]) > 1:
        return None
    return best
