"""Knowledge base: retrieval at 10,000 passages per tenant, index load, memory, chunking.

Issue #12's target: 10,000 passages (chunks) per tenant, retrieval under 50 ms warm.

- *Corpus*: 10,000 passages (``--quick``: 1,000) in 50 documents, each passage ~1,000
  characters of words, each vector a random unit vector of 512 dimensions (the
  default embedding size, wacloud.llm.EMBED_DIMENSIONS): ranking cost does not depend
  on what the vectors mean. The per-document objects are written to moto S3 and the
  combined index built by ``wacloud.store.knowledge.rebuild_combined``, as the indexer does.
- *Retrieval, warm*: ``wacloud.knowledge.search`` with the tenant's index already in the
  container's cache, as the assistant calls it; the embedder is a stub returning a
  precomputed query vector, so the figure is everything but OpenAI's embedding call
  (one HTTPS request, typically tens to a few hundred ms, not ours to measure here).
  Median and p95 of wall time per call; ``rank`` alone (the matrix-vector product and
  partial sort) is given too.
- *Index load, cold*: ``load_combined`` (one S3 GET of the combined object + decode),
  what a container pays on its first search of a tenant or after a change; moto server
  runs in a child process (``bench._services.MotoProcess``), so the time includes
  moto's HTTP serving of the body on this machine, not S3's. The refresh check
  (a conditional GET answered 304) is timed separately.
- *Memory*: bytes retained by one loaded index (tracemalloc, which numpy reports to),
  and the size of the combined object in S3.
- *Chunking*: ``chunk_document`` of a ~2 MB Markdown document (headings every ~20
  paragraphs), passages per second and MB per second of CPU.
"""

from __future__ import annotations

import gc
import os
import random
import statistics
import sys
import time
import tracemalloc
from typing import Any

from bench._aws_calls import reset_wacloud
from bench._common import Context, Row, Table, ensure_import_paths
from bench._services import MotoProcess

TITLE = "Knowledge base retrieval"
ORDER = 45

PNID = "100000000000001"
BUCKET = "bench-media"
MODEL, DIMS = "bench-embed", 512
DOCUMENTS = 50
WORDS = [
    "delivery",
    "order",
    "refund",
    "opening",
    "hours",
    "shop",
    "parking",
    "payment",
    "card",
    "cash",
    "courier",
    "return",
    "policy",
    "warranty",
    "booking",
    "table",
    "menu",
    "price",
    "discount",
    "member",
    "invoice",
    "address",
    "weekend",
    "holiday",
    "appointment",
    "cancel",
    "change",
    "size",
    "colour",
    "stock",
    "online",
    "store",
]


class _StubEmbedder:
    """Returns a fixed query vector: no network, so only our side is measured."""

    def __init__(self, vector: list[float]) -> None:
        self.vector = vector

    def embed(self, texts: Any, *, model: str, dimensions: int) -> tuple[list[list[float]], Any]:
        return [self.vector for _ in texts], None


def _text(rng: random.Random, chars: int) -> str:
    words: list[str] = []
    size = 0
    while size < chars:
        word = rng.choice(WORDS)
        words.append(word)
        size += len(word) + 1
    return " ".join(words)


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def _populate(n: int) -> None:
    import numpy as np

    from wacloud.store import knowledge as store

    rng = random.Random(12)
    generator = np.random.default_rng(12)
    per_document = n // DOCUMENTS
    for d in range(DOCUMENTS):
        vectors = generator.standard_normal((per_document, DIMS)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        texts = [_text(rng, 1_000) for _ in range(per_document)]
        store.write_document_index(
            PNID, store.DocumentIndex(f"doc-{d:02d}.md", f'"etag{d}"', MODEL, DIMS, texts, vectors)
        )


def _chunking(ctx: Context) -> tuple[float, float, int]:
    from wacloud.knowledge.chunking import chunk_document
    from wacloud.knowledge.documents import parse_document

    rng = random.Random(7)
    parts: list[str] = []
    size = 0
    target = ctx.n(full=2_000_000, quick=300_000)
    section = 0
    while size < target:
        if len(parts) % 20 == 0:
            section += 1
            parts.append(f"## Section {section}")
        paragraph = ". ".join(_text(rng, 80) for _ in range(rng.randint(2, 6))) + "."
        parts.append(paragraph)
        size += len(paragraph) + 2
    data = "\n\n".join(parts).encode()
    start = time.process_time()
    chunks = chunk_document(parse_document("big.md", data))
    cpu = time.process_time() - start
    return len(chunks) / cpu, len(data) / 1e6 / cpu, len(chunks)


def run(ctx: Context) -> list[Table]:
    ensure_import_paths()
    # As deployed (docs/knowledge.md): one BLAS thread. A Lambda of 1,024 MB has less
    # than one vCPU, where OpenBLAS's threads only contend; read when numpy loads.
    if "numpy" not in sys.modules:
        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    blas_threads = os.environ.get("OPENBLAS_NUM_THREADS", "default")
    n = ctx.n(full=10_000, quick=1_000)
    queries = ctx.n(full=1_000, quick=200)
    table = Table(f"Knowledge base: {n:,} passages of {DIMS} dimensions, one tenant")
    with MotoProcess(keep_alive=True) as moto:
        saved = dict(os.environ)
        os.environ.update(moto.aws_environment())
        os.environ.update(
            {"TABLE_NAME": "bench-state", "META_SECRET_ID": "bench", "MEDIA_BUCKET": BUCKET}
        )
        try:
            reset_wacloud()
            import numpy as np

            from wacloud.infra.aws import s3
            from wacloud.knowledge import retrieval
            from wacloud.store import knowledge as store

            s3().create_bucket(Bucket=BUCKET)
            _populate(n)
            start = time.perf_counter()
            built = store.rebuild_combined(PNID, model=MODEL, dimensions=DIMS)
            rebuild_s = time.perf_counter() - start
            assert built.size == n

            loads = []
            for _ in range(5):
                start = time.perf_counter()
                loaded = store.load_combined(PNID)
                loads.append((time.perf_counter() - start) * 1000)
                assert isinstance(loaded, store.CombinedIndex) and loaded.size == n
            body = s3().get_object(Bucket=BUCKET, Key=store.combined_key(PNID))["Body"].read()
            size = len(body)
            decodes = []
            for _ in range(5):
                start = time.perf_counter()
                store.CombinedIndex.decode(body)
                decodes.append((time.perf_counter() - start) * 1000)
            del body
            gc.collect()
            tracemalloc.start()
            before = tracemalloc.get_traced_memory()[0]
            held = store.load_combined(PNID)
            gc.collect()
            retained = tracemalloc.get_traced_memory()[0] - before
            tracemalloc.stop()
            del held

            retrieval.clear_cache()
            query = np.random.default_rng(5).standard_normal(DIMS).astype(np.float32)
            embedder = _StubEmbedder(query.tolist())
            retrieval.search(PNID, "warm up", llm=embedder)  # loads and caches the index
            timings = []
            for _ in range(queries):
                start = time.perf_counter()
                passages = retrieval.search(PNID, "when are you open", k=4, llm=embedder)
                timings.append((time.perf_counter() - start) * 1000)
            assert len(passages) == 4
            cached = retrieval.tenant_index(PNID)
            assert cached is not None
            ranks = []
            for _ in range(queries):
                start = time.perf_counter()
                retrieval.rank(cached, query, 4)
                ranks.append((time.perf_counter() - start) * 1000)
            checks = []
            saved_refresh = retrieval.REFRESH_SECONDS
            retrieval.REFRESH_SECONDS = 0.0
            try:
                for _ in range(20):
                    start = time.perf_counter()
                    retrieval.tenant_index(PNID)
                    checks.append((time.perf_counter() - start) * 1000)
            finally:
                retrieval.REFRESH_SECONDS = saved_refresh
                retrieval.clear_cache()
        finally:
            os.environ.clear()
            os.environ.update(saved)
            reset_wacloud()

    per_s, mb_s, chunk_count = _chunking(ctx)
    table.add(
        Row("retrieval, warm: median", statistics.median(timings), None, target=50, unit="ms")
    )
    table.add(Row("retrieval, warm: p95", _percentile(timings, 0.95), None, target=50, unit="ms"))
    table.add(
        Row("  rank alone (matmul + top-k): median", statistics.median(ranks), None, unit="ms")
    )
    table.add(
        Row(
            "refresh check (conditional GET, 304): median",
            statistics.median(checks),
            None,
            unit="ms",
        )
    )
    table.add(
        Row("index load, cold (GET + decode): median", statistics.median(loads), None, unit="ms")
    )
    table.add(Row("  decode alone: median", statistics.median(decodes), None, unit="ms"))
    table.add(Row("memory of the loaded index", retained / 1e6, None, unit="MB"))
    table.add(Row("combined index object in S3", size / 1e6, None, unit="MB"))
    table.add(
        Row("rebuild of the combined index (50 documents)", rebuild_s * 1000, None, unit="ms")
    )
    table.add(Row("chunking: passages per second of CPU", per_s, None, unit="chunks/s"))
    table.add(Row("chunking: MB of Markdown per second of CPU", mb_s, None, unit="MB/s"))
    table.notes.extend(
        [
            f"{queries} searches through wacloud.knowledge.search with the tenant's index cached; "
            "the query embedding is a stub (OpenAI's embedding request is not included).",
            "Cold load and refresh check: moto server (child process, keep-alive) in place of S3; "
            "5 loads, 20 checks.",
            f"Chunking: one {2 if not ctx.quick else 0.3:g} MB Markdown document, {chunk_count:,} "
            "passages; CPU time of this process.",
            f"OPENBLAS_NUM_THREADS={blas_threads}. No pywa column: pywa has no knowledge base.",
        ]
    )
    return [table]
