"""Index (or un-index) one knowledge-base document: read, chunk, embed, write, combine.

An S3 event says that a key changed, not reliably what it is now: SQS delivers at least
once and in any order, so "created" may arrive after the "removed" that followed it.
Both `index_document` and `remove_document` therefore make the index match the bucket
as it is: a document that is there is indexed, one that is not is removed. After
writing, the document's ETag is read again; if it changed meanwhile (a newer upload
or a delete whose own event may already have been handled) the work is redone, so the
last writer always leaves the index matching the bucket.

An unchanged document (same ETag, same embedding model) is not embedded again: S3
redeliveries and re-uploads of the same bytes cost nothing but the combine.

A document that cannot be read (`DocumentError`: type, size, encoding) has any earlier
version removed from the index (an index that no longer matches the bucket is worse than
none) and the error is raised for the caller to log; retrying cannot help.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from aws_lambda_powertools import Logger

from wacloud.knowledge.chunking import chunk_document
from wacloud.knowledge.documents import MAX_DOCUMENT_BYTES, DocumentError, parse_document
from wacloud.knowledge.embedding import Embedder, default_embedder, default_model, embed_all
from wacloud.store import knowledge as store

__all__ = ["IndexResult", "document_from_key", "index_document", "remove_document"]

logger = Logger(child=True)

_SETTLE_ATTEMPTS = 3


@dataclass(frozen=True, slots=True)
class IndexResult:
    document: str
    action: Literal["indexed", "unchanged", "removed", "refused"]
    chunks: int
    """Passages of this document now in the index."""
    total_chunks: int
    """Passages of the tenant's whole index after the change."""


def document_from_key(key: str, prefix: str) -> tuple[str, str] | None:
    """``(phone_number_id, document)`` of a bucket key under the knowledge prefix; None
    for anything else (another prefix, a "folder" marker, a key without a tenant)."""
    if not key.startswith(prefix) or key.endswith("/"):
        return None
    pnid, _, document = key[len(prefix) :].partition("/")
    if not pnid or not document:
        return None
    return pnid, document


def index_document(
    phone_number_id: str,
    document: str,
    *,
    llm: Embedder | None = None,
    model: str | None = None,
    dimensions: int | None = None,
) -> IndexResult:
    """Bring the document's index in line with the bucket (module docstring)."""
    return _settle(phone_number_id, document, llm, model, dimensions)


def remove_document(
    phone_number_id: str,
    document: str,
    *,
    llm: Embedder | None = None,
    model: str | None = None,
    dimensions: int | None = None,
) -> IndexResult:
    """Same as `index_document`: a document removed from the bucket leaves the index; one
    put back since (events out of order) stays in it."""
    return _settle(phone_number_id, document, llm, model, dimensions)


def _settle(
    pnid: str, document: str, llm: Embedder | None, model: str | None, dimensions: int | None
) -> IndexResult:
    if model is None or dimensions is None:
        default = default_model()
        model, dimensions = model or default[0], dimensions or default[1]
    refused: DocumentError | None = None
    action: Literal["indexed", "unchanged", "removed", "refused"] = "removed"
    chunks = 0
    for _ in range(_SETTLE_ATTEMPTS):
        refused = None
        source = store.open_source(pnid, document)
        if source is None:
            store.delete_document_index(pnid, document)
            action, chunks = "removed", 0
        else:
            try:
                action, chunks = _index(pnid, document, source, llm, model, dimensions)
            except DocumentError as exc:
                store.delete_document_index(pnid, document)
                action, chunks, refused = "refused", 0, exc
        if store.source_etag(pnid, document) == (source.etag if source else None):
            break
    combined = store.rebuild_combined(pnid, model=model, dimensions=dimensions)
    logger.info(
        "knowledge document",
        extra={"document": document, "action": action, "chunks": chunks, "total": combined.size},
    )
    if refused is not None:
        raise refused
    return IndexResult(document, action, chunks, combined.size)


def _index(
    pnid: str,
    document: str,
    source: store.SourceDocument,
    llm: Embedder | None,
    model: str,
    dimensions: int,
) -> tuple[Literal["indexed", "unchanged"], int]:
    if source.size > MAX_DOCUMENT_BYTES:
        source.body.close()
        raise DocumentError(f"{document}: {source.size} bytes, over the {MAX_DOCUMENT_BYTES} cap")
    existing = store.read_document_index(pnid, document)
    if (
        existing is not None
        and existing.source_etag == source.etag
        and existing.model == model
        and existing.dimensions == dimensions
    ):
        source.body.close()
        return "unchanged", len(existing.texts)
    texts = chunk_document(parse_document(document, source.body.read()))
    vectors = embed_all(llm or default_embedder(), texts, model=model, dimensions=dimensions)
    store.write_document_index(
        pnid,
        store.DocumentIndex(document, source.etag, model, dimensions, texts, vectors),
    )
    return "indexed", len(texts)
