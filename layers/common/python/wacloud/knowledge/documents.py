"""A knowledge-base document, read into sections of plain text.

A tenant's documents are business text (a FAQ, opening hours, a price list), put in the
media bucket as ``{KNOWLEDGE_PREFIX}{phone_number_id}/{name}`` (docs/knowledge.md). The
format is the name's extension:

- ``.md`` / ``.markdown``: sections by heading; each heading path ("Shipping > Returns")
  travels with its text, so a chunk cut from the middle still says what it is about;
- ``.txt``: paragraphs (blank-line separated);
- ``.csv``: an FAQ, one question and answer per row, columns named ``question`` and
  ``answer`` (any case; other columns ignored); each row is one chunk, whole;
- ``.pdf``: the text layer of each page, by pypdf (imported here only when a PDF is read:
  it costs a cold start tens of milliseconds that no other format needs). A scanned PDF
  with no text layer has nothing to index and is refused as empty.

Anything else is refused (`DocumentError`), as is a document over the size caps: the
indexer logs it and moves on, since the same bytes would fail the same way on every
retry. The caps keep one tenant's upload from taking the indexer's memory or its
embedding budget; they are per document, the per-tenant scale is docs/knowledge.md's.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass

from wacloud.errors import InputError

__all__ = [
    "MAX_DOCUMENT_BYTES",
    "MAX_TEXT_CHARS",
    "SUPPORTED_EXTENSIONS",
    "Document",
    "DocumentError",
    "Section",
    "parse_document",
]

MAX_DOCUMENT_BYTES = 20 * 1024 * 1024
"""Largest document read (20 MiB: a long PDF manual; text files are far smaller)."""
MAX_TEXT_CHARS = 2_000_000
"""Most text kept from one document (~500,000 tokens, ~2,000 chunks): past that a
document is refused rather than silently cut, so nobody wonders why page 900 is unknown."""
MAX_PDF_PAGES = 1_000
SUPPORTED_EXTENSIONS = (".md", ".markdown", ".txt", ".csv", ".pdf")


class DocumentError(InputError):
    """The document cannot be indexed as given (type, size, encoding, content); the
    message names the document and the reason, never its text."""


@dataclass(frozen=True, slots=True)
class Section:
    """Text under one heading (``heading`` "" when none). ``atomic``: never split or
    merged with a neighbour (an FAQ row is one question and its answer)."""

    heading: str
    text: str
    atomic: bool = False


@dataclass(frozen=True, slots=True)
class Document:
    name: str
    kind: str
    sections: tuple[Section, ...]


def extension(name: str) -> str:
    dot = name.rfind(".")
    return name[dot:].lower() if dot > name.rfind("/") else ""


def parse_document(name: str, data: bytes) -> Document:
    """Read a document into sections, or raise `DocumentError` saying why not."""
    ext = extension(name)
    if ext not in SUPPORTED_EXTENSIONS:
        raise DocumentError(
            f"{name}: unsupported type {ext or '(no extension)'}; "
            f"supported: {', '.join(SUPPORTED_EXTENSIONS)}"
        )
    if len(data) > MAX_DOCUMENT_BYTES:
        raise DocumentError(f"{name}: {len(data)} bytes, over the {MAX_DOCUMENT_BYTES} cap")
    if ext == ".pdf":
        sections = _pdf(name, data)
    else:
        text = _decode(name, data)
        if ext == ".csv":
            sections = _faq(name, text)
        elif ext == ".txt":
            sections = [Section("", text)]
        else:
            sections = _markdown(text)
    sections = [s for s in sections if s.text.strip()]
    total = sum(len(s.text) for s in sections)
    if not sections:
        raise DocumentError(f"{name}: no text to index")
    if total > MAX_TEXT_CHARS:
        raise DocumentError(f"{name}: {total} characters of text, over the {MAX_TEXT_CHARS} cap")
    return Document(name=name, kind=ext.lstrip("."), sections=tuple(sections))


def _decode(name: str, data: bytes) -> str:
    """UTF-8 (with or without a BOM); a text file in another encoding is refused rather
    than guessed, since a wrong guess would index mojibake the assistant then quotes."""
    try:
        return data.decode("utf-8-sig").replace("\r\n", "\n").replace("\r", "\n")
    except UnicodeDecodeError:
        raise DocumentError(f"{name}: not UTF-8 text") from None


_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)")


def _markdown(text: str) -> list[Section]:
    """Sections by ATX heading (``#`` .. ``######``); a heading's path is kept with its
    text. Lines inside fenced code blocks are never read as headings."""
    sections: list[Section] = []
    path: list[tuple[int, str]] = []
    lines: list[str] = []
    in_fence = False

    def flush() -> None:
        body = "\n".join(lines).strip()
        if body:
            sections.append(Section(" > ".join(title for _, title in path), body))
        lines.clear()

    for line in text.split("\n"):
        if _FENCE.match(line):
            in_fence = not in_fence
        match = None if in_fence else _HEADING.match(line)
        if match is None:
            lines.append(line)
            continue
        flush()
        level, title = len(match.group(1)), match.group(2).strip()
        while path and path[-1][0] >= level:
            path.pop()
        path.append((level, title))
    flush()
    return sections


def _faq(name: str, text: str) -> list[Section]:
    """One atomic section per row: "Q: question" + "A: answer"."""
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
    except StopIteration:
        raise DocumentError(f"{name}: empty CSV") from None
    except csv.Error:
        raise DocumentError(f"{name}: not a readable CSV") from None
    columns = [h.strip().lower() for h in header]
    if "question" not in columns or "answer" not in columns:
        raise DocumentError(f"{name}: a CSV FAQ needs 'question' and 'answer' columns")
    q, a = columns.index("question"), columns.index("answer")
    sections = []
    try:
        for row in reader:
            question = row[q].strip() if q < len(row) else ""
            answer = row[a].strip() if a < len(row) else ""
            if question and answer:
                sections.append(Section("", f"Q: {question}\nA: {answer}", atomic=True))
    except csv.Error:
        raise DocumentError(f"{name}: not a readable CSV") from None
    return sections


def _pdf(name: str, data: bytes) -> list[Section]:
    """The text layer of each page, as one section per page ("page N" as its heading)."""
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise DocumentError(f"{name}: encrypted PDF")
        pages = reader.pages
        if len(pages) > MAX_PDF_PAGES:
            raise DocumentError(f"{name}: {len(pages)} pages, over the {MAX_PDF_PAGES} cap")
        sections = []
        for number, page in enumerate(pages, start=1):
            text = _tidy_pdf_text(page.extract_text() or "")
            if text:
                sections.append(Section(f"page {number}", text))
        return sections
    except DocumentError:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, OSError):
        raise DocumentError(f"{name}: not a readable PDF") from None


def _tidy_pdf_text(text: str) -> str:
    """pypdf ends every visual line with a newline: rejoin lines into paragraphs (a blank
    line stays a paragraph break) and words hyphenated across a line break."""
    text = text.replace("\r", "\n").replace("\x00", "")
    text = re.sub(r"-\n(?=[a-z])", "", text)  # hyphenated line breaks
    paragraphs = re.split(r"\n\s*\n", text)
    return "\n\n".join(re.sub(r"\s*\n\s*", " ", p).strip() for p in paragraphs if p.strip())
