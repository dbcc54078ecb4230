"""Deterministic text embeddings: a hashed bag of words plus character trigrams.

Not a language model, but retrieval with it really works for the local stack's
purposes: texts sharing words (or word fragments: "horario"/"horarios"/"hours" do not
match, "envío"/"envio"/"enviamos" partly do) get a high cosine, unrelated texts a
low one. Accents and case are folded and common function words of English, Spanish
and Portuguese are dropped, so "¿Cuál es el horario?" and "horario de atención"
meet on the word that matters. Vectors are L2-normalised like OpenAI's, any length.
"""

from __future__ import annotations

import hashlib
import math
import re
import unicodedata
from collections.abc import Iterable, Sequence

WORD_WEIGHT = 1.0
TRIGRAM_WEIGHT = 0.35


def wordset(text: str) -> frozenset[str]:
    """Words from a whitespace-separated block (word lists stay readable in source)."""
    return frozenset(text.split())


def phrases(text: str) -> tuple[str, ...]:
    """Phrases from a ``|``-separated block (a phrase may hold spaces)."""
    return tuple(p.strip() for p in " ".join(text.split()).split("|") if p.strip())


STOPWORDS = wordset(
    """
    a an the and or but if of to in on at by for with from as is are was were be
    been it its this that these those i you he she we they me my your our their do
    does did what which who whom how when where why can could would should will
    shall may might have has had not no yes so than then there here about into over
    please hi hello el la los las un una unos unas y o pero si de del al en con por
    para como es son era fue ser esta este esto estos estas ese esa eso que cual
    cuales quien como cuando donde porque yo tu usted ustedes nosotros ellos ellas
    mi mis su sus nuestro se lo le les me te nos hay tiene tienen tengo puedo puede
    quiero favor hola gracias muy mas o os as um uma uns umas e ou mas se do da dos
    das no na nos nas em com por para pelo pela como e sao era foi ser esta este
    isto estes estas esse essa isso que qual quais quem quando onde porque eu voce
    voces nos eles elas meu minha seu sua tem tenho posso pode quero ola obrigado
    obrigada muito mais
    """
)

_WORD = re.compile(r"\w+", re.UNICODE)


def fold(text: str) -> str:
    """Lower case without accents ("Atención" -> "atencion")."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def words(text: str) -> list[str]:
    """The folded words of ``text`` (stop words included)."""
    return _WORD.findall(fold(text))


def content_words(text: str) -> list[str]:
    """Folded words without stop words and short numbers ("9:00" says little about
    what a passage is about, and would make every timetable look alike)."""
    return [
        w for w in words(text) if w not in STOPWORDS and (len(w) > 2 if w.isdigit() else len(w) > 1)
    ]


_SUFFIXES = ("ings", "ing", "edly", "ed", "es", "s")


def stem(word: str) -> str:
    """A crude stem: plurals and -ing/-ed off ("openings" -> "open", "horas" -> "hora"),
    enough for a question and a passage to share their words' roots."""
    for suffix in _SUFFIXES:
        if len(word) > len(suffix) + 2 and word.endswith(suffix):
            root = word[: -len(suffix)]
            # "shipping" -> "shipp" -> "ship"
            return root[:-1] if root[-1] == root[-2] and root[-1] not in "aeiou" else root
    return word


def _features(text: str) -> Iterable[tuple[str, float]]:
    for word in map(stem, content_words(text)):
        yield "w:" + word, WORD_WEIGHT
        padded = f"#{word}#"
        for i in range(len(padded) - 2):
            yield "c:" + padded[i : i + 3], TRIGRAM_WEIGHT


def _slot(feature: str, dimensions: int) -> tuple[int, float]:
    digest = hashlib.blake2b(feature.encode(), digest_size=8).digest()
    value = int.from_bytes(digest, "little")
    return value % dimensions, (1.0 if (value >> 63) & 1 else -1.0)


def embed(text: str, dimensions: int = 1536) -> list[float]:
    """A unit vector of ``dimensions`` floats for ``text`` (all zeros for a text with
    no content word, as no direction is better than a random one)."""
    vector = [0.0] * dimensions
    for feature, weight in _features(text):
        index, sign = _slot(feature, dimensions)
        vector[index] += sign * weight
    norm = math.sqrt(sum(v * v for v in vector))
    if norm == 0:
        return vector
    return [v / norm for v in vector]


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    """Cosine of two vectors (unit vectors: their dot product)."""
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    na = math.sqrt(sum(x * x for x in a))
    nb = math.sqrt(sum(y * y for y in b))
    return dot / (na * nb) if na and nb else 0.0


def token_count(text: str) -> int:
    """The stand-in's "tokens": words, at least one per non-empty text (OpenAI's are
    about 3/4 of a word; close enough for budgets to be exercised)."""
    return len(words(text)) or (1 if text else 0)
