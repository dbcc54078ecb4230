"""Cut a document's sections into passages small enough to retrieve precisely.

A passage is what the assistant quotes and what one embedding describes: too long and
its vector blurs several topics (the right answer ranks below a passage that merely
shares words), too short and it loses the context that made it an answer. ~300 tokens
(``TARGET_CHARS``, at ~4 characters per token in English text) with a short overlap is
the usual middle ground; headings travel with every passage cut under them.

How: a section's text is split into paragraphs (blank lines), a paragraph longer than
the target into sentences, a sentence longer than that into runs of words; those units
are packed greedily up to the target, and each new passage starts with the previous
passage's last units up to ``OVERLAP_CHARS`` (so a fact split across a boundary is
whole in one of them). An atomic section (an FAQ row) is one passage whatever its size,
unless it is over ``MAX_CHARS``. Pure and deterministic: the same document always gives
the same passages, so re-indexing an unchanged document changes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from wacloud.knowledge.documents import Document, Section

__all__ = ["MAX_CHARS", "OVERLAP_CHARS", "TARGET_CHARS", "chunk_document", "chunk_section"]

TARGET_CHARS = 1_200
"""~300 tokens."""
OVERLAP_CHARS = 200
"""At most ~50 tokens repeated from the previous passage."""
MAX_CHARS = 4_000
"""An atomic section longer than this is split like any other (~1,000 tokens: far
under the embedding model's 8,192-token input limit, docs/knowledge.md)."""

_PARAGRAPHS = re.compile(r"\n\s*\n")
# Sentence ends, including the ideographic full stop and full-width ! and ?.
_SENTENCES = re.compile("(?<=[.!?\u3002\uff01\uff1f])\\s+")


def chunk_document(document: Document) -> list[str]:
    """Every passage of the document, in document order."""
    return [text for section in document.sections for text in chunk_section(section)]


def chunk_section(section: Section) -> list[str]:
    body = section.text.strip()
    if not body:
        return []
    bodies = [body] if section.atomic and len(body) <= MAX_CHARS else list(_pack(_units(body)))
    prefix = f"{section.heading}\n" if section.heading else ""
    return [prefix + b for b in bodies]


def _units(text: str) -> Iterator[str]:
    """Paragraphs, or the sentences (or word runs) of a paragraph over the target."""
    for raw in _PARAGRAPHS.split(text):
        paragraph = raw.strip()
        if not paragraph:
            continue
        if len(paragraph) <= TARGET_CHARS:
            yield paragraph
            continue
        for sentence in _SENTENCES.split(paragraph):
            if len(sentence) <= TARGET_CHARS:
                yield sentence
            else:
                yield from _word_runs(sentence)


def _word_runs(text: str) -> Iterator[str]:
    run: list[str] = []
    size = 0
    for word in text.split():
        if run and size + 1 + len(word) > TARGET_CHARS:
            yield " ".join(run)
            run, size = [], 0
        if len(word) > TARGET_CHARS:  # one unbroken token (a URL, base64): cut it
            for i in range(0, len(word), TARGET_CHARS):
                yield word[i : i + TARGET_CHARS]
            continue
        size += len(word) + (1 if run else 0)
        run.append(word)
    if run:
        yield " ".join(run)


def _pack(units: Iterable[str]) -> Iterator[str]:
    current: list[str] = []
    size = 0
    fresh = 0  # units in `current` that are not overlap from the previous passage
    for unit in units:
        if current and size + 2 + len(unit) > TARGET_CHARS and fresh:
            yield "\n\n".join(current)
            current = _overlap(current)
            size = sum(len(u) + 2 for u in current)
            fresh = 0
            if size + len(unit) > TARGET_CHARS:
                current, size = [], 0
        current.append(unit)
        size += len(unit) + 2
        fresh += 1
    if current and fresh:
        yield "\n\n".join(current)


def _overlap(units: list[str]) -> list[str]:
    """The last units of a passage, up to OVERLAP_CHARS in all, to open the next."""
    kept: list[str] = []
    size = 0
    for unit in reversed(units):
        if size + len(unit) > OVERLAP_CHARS:
            break
        kept.insert(0, unit)
        size += len(unit)
    return kept
