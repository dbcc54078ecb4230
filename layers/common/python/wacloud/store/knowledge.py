"""The knowledge-base index in S3: per-document objects and one combined object per tenant.

Layout, in the media bucket, outside the documents' prefix (so writing the index never
raises a document event, and the indexer's role may write here and only read there):

- ``knowledge-index/{pnid}/docs/{document}.json``: one document's passages and their
  embeddings (float32, base64) with the source object's ETag and the embedding model.
  Re-indexing one document rewrites this object alone; the others are never re-embedded.
- ``knowledge-index/{pnid}/index.bin``: everything search needs, in one GET: a JSON
  header (model, dimensions, documents, passage texts, each passage's document and
  number) followed by the passages' unit vectors as one float32 ``.npy`` matrix.

Concurrent indexers (two documents uploaded together run in two invocations) must not
lose a document. The per-document objects are the truth; the combined object is
rebuilt from them after every change, and written with an S3 conditional write
(``If-Match`` the ETag read before listing, ``If-None-Match: *`` when there was none;
docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html). A writer whose
combined object was overtaken gets 412 (or 409 for a simultaneous write) and starts
over: it lists again and sees the other writer's document. So the last combined object
written was built from a listing taken after every earlier write, and includes every
document whose own object was written before it. Why not a DynamoDB manifest: it would
be a second store to keep in step with S3 and a second lock, for a guarantee S3 gives
on its own object; and search needs the combined S3 object anyway.

Search checks for a newer combined object with a conditional GET (``If-None-Match`` its
cached ETag): one request answers "not modified" (no body) or carries the new index.

numpy is imported inside the functions that need it (cold start).
"""

from __future__ import annotations

import base64
import io
import json
import random
import struct
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger

from wacloud.errors import TransientError
from wacloud.infra.aws import s3
from wacloud.infra.config import settings

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    Matrix = npt.NDArray[np.float32]

__all__ = [
    "INDEX_PREFIX",
    "CombinedIndex",
    "DocumentIndex",
    "NotModified",
    "SourceDocument",
    "combined_key",
    "delete_document_index",
    "document_index_key",
    "load_combined",
    "open_source",
    "read_document_index",
    "rebuild_combined",
    "source_etag",
    "source_key",
    "write_document_index",
]

logger = Logger(child=True)

INDEX_PREFIX = "knowledge-index/"
FORMAT_VERSION = 1
_MAGIC = b"WAKIDX1\n"
_REBUILD_ATTEMPTS = 10
_CONFLICT_CODES = {"PreconditionFailed", "ConditionalRequestConflict", "412", "409"}


def _bucket() -> str:
    return settings().require(settings().media_bucket, "MEDIA_BUCKET")


def tenant_prefix(phone_number_id: str) -> str:
    return f"{INDEX_PREFIX}{phone_number_id}/"


def document_index_key(phone_number_id: str, document: str) -> str:
    return f"{tenant_prefix(phone_number_id)}docs/{document}.json"


def combined_key(phone_number_id: str) -> str:
    return f"{tenant_prefix(phone_number_id)}index.bin"


def _code(exc: Exception) -> str:
    return str((getattr(exc, "response", None) or {}).get("Error", {}).get("Code", ""))


# ------------------------------------------------------------------ source documents
@dataclass(frozen=True)
class SourceDocument:
    """A document as it is in the bucket now (its bytes are read only when wanted)."""

    etag: str
    size: int
    body: Any
    """The GetObject stream: `read()` it, or `close()` it when the size is refused."""


def source_key(phone_number_id: str, document: str) -> str:
    return f"{settings().knowledge_prefix}{phone_number_id}/{document}"


def open_source(phone_number_id: str, document: str) -> SourceDocument | None:
    """The document under the knowledge prefix, or None when it is not there (removed)."""
    try:
        obj = s3().get_object(Bucket=_bucket(), Key=source_key(phone_number_id, document))
    except Exception as exc:
        if _code(exc) in ("NoSuchKey", "404"):
            return None
        raise
    return SourceDocument(str(obj["ETag"]), int(obj["ContentLength"]), obj["Body"])


def source_etag(phone_number_id: str, document: str) -> str | None:
    """The document's current ETag (a HEAD), None when it is not there."""
    return _current_etag(source_key(phone_number_id, document))


# ------------------------------------------------------------------ one document
@dataclass(frozen=True)
class DocumentIndex:
    """One document's passages and their embeddings (row i of ``vectors`` is passage i)."""

    document: str
    source_etag: str
    model: str
    dimensions: int
    texts: list[str]
    vectors: Matrix

    def to_json(self) -> bytes:
        import numpy as np

        data = np.ascontiguousarray(self.vectors, dtype="<f4").tobytes()
        return json.dumps(
            {
                "version": FORMAT_VERSION,
                "document": self.document,
                "source_etag": self.source_etag,
                "model": self.model,
                "dimensions": self.dimensions,
                "texts": self.texts,
                "vectors": base64.b64encode(data).decode("ascii"),
            },
            ensure_ascii=False,
        ).encode()

    @classmethod
    def from_json(cls, body: bytes) -> DocumentIndex:
        import numpy as np

        raw = json.loads(body)
        dims = int(raw["dimensions"])
        texts = [str(t) for t in raw["texts"]]
        vectors = np.frombuffer(base64.b64decode(raw["vectors"]), dtype="<f4")
        return cls(
            document=str(raw["document"]),
            source_etag=str(raw["source_etag"]),
            model=str(raw["model"]),
            dimensions=dims,
            texts=texts,
            vectors=vectors.reshape(len(texts), dims).astype(np.float32, copy=False),
        )


def read_document_index(phone_number_id: str, document: str) -> DocumentIndex | None:
    try:
        obj = s3().get_object(Bucket=_bucket(), Key=document_index_key(phone_number_id, document))
    except Exception as exc:
        if _code(exc) in ("NoSuchKey", "404"):
            return None
        raise
    return DocumentIndex.from_json(obj["Body"].read())


def write_document_index(phone_number_id: str, index: DocumentIndex) -> None:
    s3().put_object(
        Bucket=_bucket(),
        Key=document_index_key(phone_number_id, index.document),
        Body=index.to_json(),
        ContentType="application/json",
    )


def delete_document_index(phone_number_id: str, document: str) -> None:
    s3().delete_object(Bucket=_bucket(), Key=document_index_key(phone_number_id, document))


def _document_keys(phone_number_id: str) -> Iterator[str]:
    paginator = s3().get_paginator("list_objects_v2")
    for page in paginator.paginate(
        Bucket=_bucket(), Prefix=f"{tenant_prefix(phone_number_id)}docs/"
    ):
        for item in page.get("Contents", []):
            if item["Key"].endswith(".json"):
                yield item["Key"]


def _read_key(key: str) -> DocumentIndex | None:
    try:
        return DocumentIndex.from_json(s3().get_object(Bucket=_bucket(), Key=key)["Body"].read())
    except Exception as exc:
        if _code(exc) in ("NoSuchKey", "404"):  # removed since the listing
            return None
        raise


# ------------------------------------------------------------------ the combined index
@dataclass(frozen=True)
class CombinedIndex:
    """What search holds per tenant: unit row vectors and, per row, where it came from."""

    model: str
    dimensions: int
    documents: list[str]
    """Document names; ``chunk_document[i]`` indexes this list."""
    texts: list[str]
    chunk_document: list[int]
    chunk_number: list[int]
    matrix: Matrix
    etag: str = ""

    @property
    def size(self) -> int:
        return len(self.texts)

    def encode(self) -> bytes:
        import numpy as np

        header = json.dumps(
            {
                "version": FORMAT_VERSION,
                "model": self.model,
                "dimensions": self.dimensions,
                "documents": self.documents,
                "texts": self.texts,
                "chunk_document": self.chunk_document,
                "chunk_number": self.chunk_number,
            },
            ensure_ascii=False,
        ).encode()
        matrix = io.BytesIO()
        np.save(matrix, np.ascontiguousarray(self.matrix, dtype=np.float32), allow_pickle=False)
        return _MAGIC + struct.pack("<Q", len(header)) + header + matrix.getvalue()

    @classmethod
    def decode(cls, body: bytes, etag: str = "") -> CombinedIndex:
        import numpy as np

        if not body.startswith(_MAGIC):
            raise ValueError("not a knowledge index object")
        start = len(_MAGIC) + 8
        (length,) = struct.unpack("<Q", body[len(_MAGIC) : start])
        header = json.loads(body[start : start + length])
        matrix = np.load(io.BytesIO(body[start + length :]), allow_pickle=False)
        return cls(
            model=str(header["model"]),
            dimensions=int(header["dimensions"]),
            documents=list(header["documents"]),
            texts=list(header["texts"]),
            chunk_document=list(header["chunk_document"]),
            chunk_number=list(header["chunk_number"]),
            matrix=matrix.astype(np.float32, copy=False),
            etag=etag,
        )


def _combine(parts: list[DocumentIndex], model: str, dimensions: int) -> CombinedIndex:
    """Rows of every document embedded with this model, scaled to unit length (so
    search's cosine is one matrix-vector product)."""
    import numpy as np

    documents: list[str] = []
    texts: list[str] = []
    chunk_document: list[int] = []
    chunk_number: list[int] = []
    blocks: list[Matrix] = []
    for part in sorted(parts, key=lambda p: p.document):
        if part.model != model or part.dimensions != dimensions:
            logger.warning(
                "knowledge document embedded with another model: left out until re-indexed",
                extra={"document": part.document, "model": part.model},
            )
            continue
        position = len(documents)
        documents.append(part.document)
        texts.extend(part.texts)
        chunk_document.extend([position] * len(part.texts))
        chunk_number.extend(range(len(part.texts)))
        blocks.append(part.vectors)
    matrix = np.concatenate(blocks) if blocks else np.zeros((0, dimensions), np.float32)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    matrix = (matrix / np.where(norms == 0, 1, norms)).astype(np.float32)
    return CombinedIndex(model, dimensions, documents, texts, chunk_document, chunk_number, matrix)


def _current_etag(key: str) -> str | None:
    try:
        return str(s3().head_object(Bucket=_bucket(), Key=key)["ETag"])
    except Exception as exc:
        if _code(exc) in ("NoSuchKey", "404", "NotFound"):
            return None
        raise


def rebuild_combined(phone_number_id: str, *, model: str, dimensions: int) -> CombinedIndex:
    """Rebuild the tenant's combined object from its per-document objects (module
    docstring: conditional write, start over when overtaken). Returns what was written."""
    key = combined_key(phone_number_id)
    for attempt in range(_REBUILD_ATTEMPTS):
        etag = _current_etag(key)
        parts = [p for k in _document_keys(phone_number_id) if (p := _read_key(k)) is not None]
        combined = _combine(parts, model, dimensions)
        condition: dict[str, Any] = {"IfMatch": etag} if etag else {"IfNoneMatch": "*"}
        try:
            written = s3().put_object(
                Bucket=_bucket(),
                Key=key,
                Body=combined.encode(),
                ContentType="application/octet-stream",
                **condition,
            )
        except Exception as exc:
            if _code(exc) not in _CONFLICT_CODES:
                raise
            logger.info(
                "knowledge index changed while rebuilding: again", extra={"attempt": attempt}
            )
            time.sleep(random.uniform(0.05, 0.2) * (attempt + 1))
            continue
        return replace(combined, etag=str(written.get("ETag", "")))
    raise TransientError("knowledge index kept changing while being rebuilt")


class NotModified:
    """`load_combined`'s answer when the cached ETag is still current."""


NOT_MODIFIED = NotModified()


def load_combined(
    phone_number_id: str, *, cached_etag: str | None = None
) -> CombinedIndex | NotModified | None:
    """The tenant's combined index; `NOT_MODIFIED` when it still has `cached_etag`;
    None when the tenant has no index."""
    kwargs: dict[str, Any] = {"IfNoneMatch": cached_etag} if cached_etag else {}
    try:
        obj = s3().get_object(Bucket=_bucket(), Key=combined_key(phone_number_id), **kwargs)
    except Exception as exc:
        code = _code(exc)
        if code in ("304", "NotModified"):
            return NOT_MODIFIED
        if code in ("NoSuchKey", "404"):
            return None
        raise
    return CombinedIndex.decode(obj["Body"].read(), etag=str(obj.get("ETag", "")))
