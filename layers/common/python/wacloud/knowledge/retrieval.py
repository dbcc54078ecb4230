"""Top-k passages of a tenant's knowledge base for a question, by cosine similarity.

The tenant's whole index (unit vectors as one float32 matrix, plus the passages) is
loaded from S3 in one GET and kept for the life of the warm container, so a search is
one embedding call plus a matrix-vector product and a partial sort: at 10,000
passages of 512 dimensions, a few milliseconds (bench/knowledge.py). Whether the index
changed is asked at most every ``REFRESH_SECONDS`` with a conditional GET (one request,
no body when unchanged), so a newly indexed document is found within that time.

The cache keeps the ``MAX_CACHED_TENANTS`` most recently searched tenants (a container
serving many numbers must not hold every index: ~25 MB per 10,000 passages).

The query is embedded with the model and dimensions the index was built with (read from
the index), so a change of default model never compares vectors of two models.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING

from wacloud.knowledge.embedding import Embedder, default_embedder
from wacloud.store import knowledge as store

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

__all__ = ["MAX_QUERY_CHARS", "REFRESH_SECONDS", "Passage", "clear_cache", "rank", "search"]

REFRESH_SECONDS = 30.0
MAX_CACHED_TENANTS = 8
MAX_QUERY_CHARS = 4_000
"""A longer question is cut (the embedding's input limit; a customer message is far shorter)."""


@dataclass(frozen=True, slots=True)
class Passage:
    document: str
    chunk: int
    score: float
    text: str


@dataclass
class _Cached:
    index: store.CombinedIndex
    checked_at: float


_cache: OrderedDict[str, _Cached] = OrderedDict()
_lock = threading.Lock()


def clear_cache() -> None:
    with _lock:
        _cache.clear()


def search(
    phone_number_id: str, query: str, *, k: int = 4, llm: Embedder | None = None
) -> list[Passage]:
    """The `k` passages closest to `query`, best first; [] when the tenant has no index."""
    query = query.strip()[:MAX_QUERY_CHARS]
    if not query or k <= 0:
        return []
    index = tenant_index(phone_number_id)
    if index is None or index.size == 0:
        return []
    embedder = llm or default_embedder()
    vectors, _usage = embedder.embed([query], model=index.model, dimensions=index.dimensions)
    return rank(index, vectors[0], k)


def rank(index: store.CombinedIndex, query_vector: object, k: int) -> list[Passage]:
    """The `k` best rows of the index for one query vector (cosine: rows are unit)."""
    import numpy as np

    q: npt.NDArray[np.float32] = np.asarray(query_vector, dtype=np.float32)
    norm = float(np.linalg.norm(q))
    if norm == 0.0 or index.size == 0:
        return []
    scores = index.matrix @ (q / norm)
    k = min(k, index.size)
    top = np.argpartition(-scores, k - 1)[:k] if k < index.size else np.arange(index.size)
    top = top[np.lexsort((top, -scores[top]))]  # best first; ties by row (deterministic)
    return [
        Passage(
            document=index.documents[index.chunk_document[row]],
            chunk=index.chunk_number[row],
            score=float(scores[row]),
            text=index.texts[row],
        )
        for row in top.tolist()
    ]


def tenant_index(phone_number_id: str) -> store.CombinedIndex | None:
    """The tenant's index from this container's cache, refreshed when due and changed."""
    now = time.monotonic()
    with _lock:
        cached = _cache.get(phone_number_id)
        if cached is not None:
            _cache.move_to_end(phone_number_id)
            if now - cached.checked_at < REFRESH_SECONDS:
                return cached.index
    loaded = store.load_combined(
        phone_number_id, cached_etag=cached.index.etag if cached is not None else None
    )
    with _lock:
        if isinstance(loaded, store.NotModified):
            assert cached is not None
            cached.checked_at = now
            return cached.index
        if loaded is None:
            _cache.pop(phone_number_id, None)
            return None
        _cache[phone_number_id] = _Cached(loaded, now)
        _cache.move_to_end(phone_number_id)
        while len(_cache) > MAX_CACHED_TENANTS:
            _cache.popitem(last=False)
        return loaded
