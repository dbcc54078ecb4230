"""Knowledge documents: each format read into sections, refused types and sizes, and
deterministic chunking with headings kept and overlap between neighbours."""

from __future__ import annotations

import io
import itertools

import pytest

from wacloud.knowledge import DocumentError
from wacloud.knowledge.chunking import MAX_CHARS, OVERLAP_CHARS, TARGET_CHARS, chunk_document
from wacloud.knowledge.documents import MAX_DOCUMENT_BYTES, Section, parse_document

MARKDOWN = b"""# Shop

Welcome to the shop.

## Shipping

We ship every weekday.

### Returns

Returns are free within 30 days.

```
# not a heading inside code
```

## Payment

Cards and cash.
"""


def test_markdown_sections_carry_their_heading_path() -> None:
    doc = parse_document("faq.md", MARKDOWN)
    headings = [s.heading for s in doc.sections]
    assert headings == ["Shop", "Shop > Shipping", "Shop > Shipping > Returns", "Shop > Payment"]
    assert "# not a heading inside code" in doc.sections[2].text
    chunks = chunk_document(doc)
    assert chunks[2].startswith("Shop > Shipping > Returns\nReturns are free")


def test_text_and_bom_and_crlf() -> None:
    doc = parse_document("notes.TXT", "\ufeffOne.\r\n\r\nTwo.".encode())
    assert doc.kind == "txt"
    assert chunk_document(doc) == ["One.\n\nTwo."]


def test_csv_faq_one_chunk_per_row() -> None:
    data = (
        b"Question,Answer,Tags\nDo you deliver?,Yes within 5 km.,x\n"
        b",empty question,\nOpen on Sunday?,No.\n"
    )
    chunks = chunk_document(parse_document("faq.csv", data))
    assert chunks == ["Q: Do you deliver?\nA: Yes within 5 km.", "Q: Open on Sunday?\nA: No."]


def test_csv_without_question_answer_columns_is_refused() -> None:
    with pytest.raises(DocumentError, match="question"):
        parse_document("faq.csv", b"q,a\nx,y\n")


def _pdf(pages: list[str]) -> bytes:
    """A minimal PDF with one text line per page (Helvetica), built by hand."""
    objects = ["<< /Type /Catalog /Pages 2 0 R >>", ""]
    kids = []
    for text in pages:
        stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET"
        content_id = len(objects) + 2
        objects.append(f"<< /Length {len(stream)} >>\nstream\n{stream}\nendstream")
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {content_id - 1} 0 R"
            f" /Resources << /Font << /F1 {len(pages) * 2 + 3} 0 R >> >> >>"
        )
        kids.append(f"{len(objects)} 0 R")
    objects[1] = f"<< /Type /Pages /Kids [{' '.join(kids)}] /Count {len(pages)} >>"
    objects.append("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(f"{number} 0 obj\n{body}\nendobj\n".encode())
    xref = out.tell()
    out.write(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode())
    for offset in offsets:
        out.write(f"{offset:010d} 00000 n \n".encode())
    out.write(
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    )
    return out.getvalue()


def test_pdf_text_by_page() -> None:
    doc = parse_document("manual.pdf", _pdf(["Opening hours 9 to 5.", "Parking behind the shop."]))
    assert [(s.heading, s.text) for s in doc.sections] == [
        ("page 1", "Opening hours 9 to 5."),
        ("page 2", "Parking behind the shop."),
    ]


def test_unreadable_pdf_is_refused() -> None:
    with pytest.raises(DocumentError, match="not a readable PDF"):
        parse_document("broken.pdf", b"%PDF-1.4 garbage")


@pytest.mark.parametrize("name", ["photo.jpg", "sheet.xlsx", "README"])
def test_other_types_are_refused(name: str) -> None:
    with pytest.raises(DocumentError, match="unsupported type"):
        parse_document(name, b"x")


def test_size_cap_and_encoding_and_empty() -> None:
    with pytest.raises(DocumentError, match="cap"):
        parse_document("big.txt", b"a" * (MAX_DOCUMENT_BYTES + 1))
    with pytest.raises(DocumentError, match="UTF-8"):
        parse_document("latin.txt", "café".encode("latin-1"))
    with pytest.raises(DocumentError, match="no text"):
        parse_document("empty.md", b"  \n\n")


def test_error_message_never_carries_the_text() -> None:
    secret = "my private passage"
    with pytest.raises(DocumentError) as caught:
        parse_document("faq.csv", f"q,a\n{secret},x\n".encode())
    assert secret not in str(caught.value)


def test_long_text_is_chunked_within_target_with_overlap_and_deterministically() -> None:
    paragraphs = [
        f"Paragraph {i} " + " ".join(f"word{i}x{j}." for j in range(30)) for i in range(40)
    ]
    doc = parse_document("long.txt", "\n\n".join(paragraphs).encode())
    chunks = chunk_document(doc)
    assert chunks == chunk_document(doc)  # deterministic
    assert len(chunks) > 5
    assert all(len(c) <= TARGET_CHARS for c in chunks)
    for before, after in itertools.pairwise(chunks):
        tail = before.split("\n\n")[-1]
        if len(tail) <= OVERLAP_CHARS:
            assert after.startswith(tail)
    # every paragraph survives whole in some chunk
    assert all(any(p in c for c in chunks) for p in paragraphs)


def test_a_paragraph_over_the_target_is_split_by_sentences_then_words() -> None:
    sentence = "This sentence is about twelve words long and ends here. "
    section = Section("", sentence * 80)
    chunks = chunk_document(parse_document("x.txt", section.text.encode()))
    assert all(len(c) <= TARGET_CHARS for c in chunks)
    one_run = "word " * 2000
    runs = chunk_document(parse_document("y.txt", one_run.encode()))
    assert all(len(c) <= TARGET_CHARS for c in runs) and len(runs) >= 8


def test_long_faq_answer_is_split_over_max_chars() -> None:
    answer = "Long answer sentence. " * (MAX_CHARS // 10)
    chunks = chunk_document(parse_document("faq.csv", f"question,answer\nWhy?,{answer}\n".encode()))
    assert len(chunks) > 1
