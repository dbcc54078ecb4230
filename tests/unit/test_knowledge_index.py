"""Knowledge index on moto S3: index, search, refresh, removal, concurrent indexers,
refused documents, and the KnowledgeIndexer adapter's handling of S3 events.

Embeddings come from a deterministic hashed bag of words (`FakeEmbedder`), injected
where the code takes an embedder: what is tested is chunking, ranking and index I/O,
not OpenAI (the local stack's OpenAI stand-in covers the client end to end).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator, Sequence
from typing import Any

import boto3
import numpy as np
import pytest

from tests.unit.conftest import mocked_state_table
from wacloud.knowledge import DocumentError, Passage, index_document, remove_document, search
from wacloud.knowledge import retrieval as search_module
from wacloud.knowledge.embedding import MAX_REQUEST_TOKENS, batches
from wacloud.store import knowledge as store

PNID = "111222333"
BUCKET = "media"
MODEL, DIMS = "fake-embed", 64


class FakeEmbedder:
    """Hashed bag of words, L2-normalised: texts sharing words have a high cosine."""

    def __init__(self) -> None:
        self.calls: list[int] = []

    def embed(
        self, texts: Sequence[str], *, model: str, dimensions: int
    ) -> tuple[list[list[float]], Any]:
        self.calls.append(len(texts))
        out = []
        for text in texts:
            vector = np.zeros(dimensions, np.float32)
            for word in re.findall(r"\w+", text.lower()):
                vector[int(hashlib.md5(word.encode()).hexdigest(), 16) % dimensions] += 1.0
            norm = np.linalg.norm(vector)
            out.append((vector / norm if norm else vector).tolist())
        return out, None


@pytest.fixture
def media(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    with mocked_state_table(monkeypatch, MEDIA_BUCKET=BUCKET):
        client = boto3.client("s3")
        client.create_bucket(Bucket=BUCKET)
        search_module.clear_cache()
        yield client
        search_module.clear_cache()


@pytest.fixture
def embedder() -> FakeEmbedder:
    return FakeEmbedder()


def put(client: Any, name: str, body: str | bytes) -> None:
    data = body.encode() if isinstance(body, str) else body
    client.put_object(Bucket=BUCKET, Key=f"knowledge/{PNID}/{name}", Body=data)


def index(name: str, embedder: FakeEmbedder) -> Any:
    return index_document(PNID, name, llm=embedder, model=MODEL, dimensions=DIMS)


def remove(name: str, embedder: FakeEmbedder) -> Any:
    return remove_document(PNID, name, llm=embedder, model=MODEL, dimensions=DIMS)


SHIPPING = "# Shipping\n\nWe deliver parcels by courier within three working days.\n"
HOURS = "# Opening hours\n\nThe shop opens Monday to Saturday from nine to six.\n"
FAQ = "question,answer\nDo you accept credit cards?,Yes all major credit cards.\n"


def test_the_right_document_wins(media: Any, embedder: FakeEmbedder) -> None:
    for name, body in (("shipping.md", SHIPPING), ("hours.md", HOURS), ("faq.csv", FAQ)):
        put(media, name, body)
        index(name, embedder)
    best = search(PNID, "when does the shop open on saturday", llm=embedder)[0]
    assert (best.document, best.chunk) == ("hours.md", 0)
    assert "nine to six" in best.text
    results = search(PNID, "can I pay with credit cards", k=2, llm=embedder)
    assert results[0].document == "faq.csv"
    assert len(results) == 2 and results[0].score >= results[1].score
    assert all(isinstance(p, Passage) for p in results)


def test_index_objects_layout_and_format(media: Any, embedder: FakeEmbedder) -> None:
    put(media, "shipping.md", SHIPPING)
    result = index("shipping.md", embedder)
    assert (result.action, result.chunks, result.total_chunks) == ("indexed", 1, 1)
    keys = {o["Key"] for o in media.list_objects_v2(Bucket=BUCKET)["Contents"]}
    assert keys == {
        f"knowledge/{PNID}/shipping.md",
        f"knowledge-index/{PNID}/docs/shipping.md.json",
        f"knowledge-index/{PNID}/index.bin",
    }
    loaded = store.load_combined(PNID)
    assert isinstance(loaded, store.CombinedIndex)
    assert loaded.matrix.dtype == np.float32 and loaded.matrix.shape == (1, DIMS)
    assert loaded.documents == ["shipping.md"] and loaded.model == MODEL
    assert np.allclose(np.linalg.norm(loaded.matrix, axis=1), 1.0)


def test_unchanged_document_is_not_embedded_again(media: Any, embedder: FakeEmbedder) -> None:
    put(media, "shipping.md", SHIPPING)
    index("shipping.md", embedder)
    calls = len(embedder.calls)
    assert index("shipping.md", embedder).action == "unchanged"
    assert len(embedder.calls) == calls


def test_reindexing_one_document_does_not_reembed_the_others(
    media: Any, embedder: FakeEmbedder
) -> None:
    put(media, "shipping.md", SHIPPING)
    put(media, "hours.md", HOURS)
    index("shipping.md", embedder)
    index("hours.md", embedder)
    embedder.calls.clear()
    put(media, "hours.md", HOURS + "\nClosed on public holidays.\n")
    assert index("hours.md", embedder).total_chunks == 2
    assert embedder.calls == [1]  # hours.md's one passage only


def test_search_refreshes_after_reindex(
    media: Any, embedder: FakeEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    put(media, "hours.md", HOURS)
    index("hours.md", embedder)
    assert search(PNID, "parking", llm=embedder)[0].document == "hours.md"
    put(media, "parking.md", "# Parking\n\nFree parking behind the shop.\n")
    index("parking.md", embedder)
    # Within REFRESH_SECONDS the cached index answers (no S3 call at all)...
    assert search(PNID, "free parking", llm=embedder)[0].document == "hours.md"
    # ...after it, one conditional GET brings the new index.
    monkeypatch.setattr(search_module, "REFRESH_SECONDS", 0.0)
    assert search(PNID, "free parking", llm=embedder)[0].document == "parking.md"


def test_unchanged_index_is_not_downloaded_again(
    media: Any, embedder: FakeEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    put(media, "hours.md", HOURS)
    index("hours.md", embedder)
    monkeypatch.setattr(search_module, "REFRESH_SECONDS", 0.0)
    first = search_module.tenant_index(PNID)
    assert store.load_combined(PNID, cached_etag=first.etag) is store.NOT_MODIFIED  # type: ignore[union-attr]
    assert search_module.tenant_index(PNID) is first


def test_removal(media: Any, embedder: FakeEmbedder, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(search_module, "REFRESH_SECONDS", 0.0)
    put(media, "hours.md", HOURS)
    put(media, "shipping.md", SHIPPING)
    index("hours.md", embedder)
    index("shipping.md", embedder)
    media.delete_object(Bucket=BUCKET, Key=f"knowledge/{PNID}/hours.md")
    result = remove("hours.md", embedder)
    assert (result.action, result.total_chunks) == ("removed", 1)
    assert {p.document for p in search(PNID, "shop opens saturday", llm=embedder)} == {
        "shipping.md"
    }
    media.delete_object(Bucket=BUCKET, Key=f"knowledge/{PNID}/shipping.md")
    assert remove("shipping.md", embedder).total_chunks == 0
    assert search(PNID, "courier", llm=embedder) == []


def test_events_out_of_order_follow_the_bucket(media: Any, embedder: FakeEmbedder) -> None:
    """A "removed" event handled after the document was put back keeps it indexed; a
    "created" event for a document deleted since removes it."""
    put(media, "hours.md", HOURS)
    assert remove("hours.md", embedder).action == "indexed"
    media.delete_object(Bucket=BUCKET, Key=f"knowledge/{PNID}/hours.md")
    assert index("hours.md", embedder).action == "removed"


def test_concurrent_indexing_keeps_both_documents(
    media: Any, embedder: FakeEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Indexer A lists the per-document objects, then indexer B indexes its document and
    writes the combined index before A writes: A's conditional write is refused and A
    rebuilds, so the final index holds both."""
    put(media, "hours.md", HOURS)
    put(media, "shipping.md", SHIPPING)
    original = store._combine
    interleaved: list[str] = []

    def combine_then_let_b_run(parts: list[store.DocumentIndex], model: str, dims: int) -> Any:
        combined = original(parts, model, dims)
        if not interleaved:
            interleaved.append("B ran")
            index("shipping.md", embedder)  # B, start to finish, between A's list and put
        return combined

    monkeypatch.setattr(store, "_combine", combine_then_let_b_run)
    monkeypatch.setattr(store.time, "sleep", lambda _s: None)
    result = index("hours.md", embedder)  # A
    assert interleaved == ["B ran"]
    assert result.total_chunks == 2
    loaded = store.load_combined(PNID)
    assert isinstance(loaded, store.CombinedIndex)
    assert sorted(loaded.documents) == ["hours.md", "shipping.md"]


def test_bad_document_is_refused_and_its_old_version_removed(
    media: Any, embedder: FakeEmbedder
) -> None:
    put(media, "faq.csv", FAQ)
    index("faq.csv", embedder)
    put(media, "faq.csv", "no,columns\nx,y\n")
    with pytest.raises(DocumentError):
        index("faq.csv", embedder)
    loaded = store.load_combined(PNID)
    assert isinstance(loaded, store.CombinedIndex) and loaded.size == 0
    put(media, "image.png", b"\x89PNG")
    with pytest.raises(DocumentError, match="unsupported"):
        index("image.png", embedder)


def test_documents_of_another_model_are_left_out(media: Any, embedder: FakeEmbedder) -> None:
    put(media, "hours.md", HOURS)
    put(media, "shipping.md", SHIPPING)
    index("hours.md", embedder)
    result = index_document(PNID, "shipping.md", llm=embedder, model="other", dimensions=DIMS)
    assert result.total_chunks == 1  # hours.md was embedded with MODEL: left out


def test_tenants_are_separate(media: Any, embedder: FakeEmbedder) -> None:
    put(media, "hours.md", HOURS)
    index("hours.md", embedder)
    assert search("999", "shop opens", llm=embedder) == []


def test_batches_respect_openai_request_limits() -> None:
    texts = ["x" * 4000] * 300
    runs = list(batches(texts))
    assert sum(len(r) for r in runs) == 300
    assert all(len(r) <= 128 for r in runs)
    assert all(sum(len(t) for t in r) <= MAX_REQUEST_TOKENS for r in runs)
    big = list(batches(["y" * 8000] * 100, max_inputs=2048))
    assert all(sum(len(t) for t in r) <= MAX_REQUEST_TOKENS for r in big) and len(big) == 3


# ------------------------------------------------------------------ the adapter
class _Context:
    function_name = "KnowledgeIndexer"
    memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:KnowledgeIndexer"
    aws_request_id = "req-1"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 300_000


@pytest.fixture
def lambda_context() -> _Context:
    return _Context()


def _s3_event(event: str, key: str, bucket: str = BUCKET) -> dict[str, Any]:
    return {
        "Records": [
            {
                "eventName": event,
                "s3": {"bucket": {"name": bucket}, "object": {"key": key}},
            }
        ]
    }


@pytest.fixture
def indexer_app(
    media: Any, embedder: FakeEmbedder, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Any]:
    from tests.unit.function_apps import load_app
    from wacloud.knowledge import index as index_module

    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "wacloud")
    # Where wacloud.llm would come in: the configured client and its default model.
    monkeypatch.setattr(index_module, "default_embedder", lambda: embedder)
    monkeypatch.setattr(index_module, "default_model", lambda: (MODEL, DIMS))
    yield load_app("knowledge_indexer")


def _sqs(*bodies: Any) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": f"m{i}",
                "receiptHandle": "r",
                "body": b if isinstance(b, str) else json.dumps(b),
                "attributes": {},
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:q",
                "awsRegion": "us-east-1",
            }
            for i, b in enumerate(bodies)
        ]
    }


def test_indexer_handles_created_removed_test_and_bad_events(
    indexer_app: Any, media: Any, embedder: FakeEmbedder, lambda_context: Any
) -> None:
    put(media, "opening hours.md", HOURS)
    put(media, "bad.docx", b"PK")
    response = indexer_app.lambda_handler(
        _sqs(
            _s3_event("ObjectCreated:Put", f"knowledge/{PNID}/opening+hours.md"),
            _s3_event("ObjectCreated:Put", f"knowledge/{PNID}/bad.docx"),
            {"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": BUCKET},
            _s3_event("ObjectCreated:Put", f"knowledge/{PNID}/x.md", bucket="elsewhere"),
            "not json",
        ),
        lambda_context,
    )
    assert response == {"batchItemFailures": []}
    assert search(PNID, "shop opens saturday", llm=embedder)[0].document == "opening hours.md"

    media.delete_object(Bucket=BUCKET, Key=f"knowledge/{PNID}/opening hours.md")
    indexer_app.lambda_handler(
        _sqs(_s3_event("ObjectRemoved:Delete", f"knowledge/{PNID}/opening+hours.md")),
        lambda_context,
    )
    loaded = store.load_combined(PNID)
    assert isinstance(loaded, store.CombinedIndex) and loaded.size == 0


def test_indexer_retries_what_may_succeed_later(
    indexer_app: Any,
    media: Any,
    embedder: FakeEmbedder,
    lambda_context: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    put(media, "hours.md", HOURS)
    put(media, "faq.csv", FAQ)
    original = embedder.embed

    def down_for_hours(texts: Sequence[str], **kwargs: Any) -> Any:
        if any("opens" in t for t in texts):
            raise TimeoutError("embedding service down")
        return original(texts, **kwargs)

    monkeypatch.setattr(embedder, "embed", down_for_hours)
    response = indexer_app.lambda_handler(
        _sqs(
            _s3_event("ObjectCreated:Put", f"knowledge/{PNID}/hours.md"),
            _s3_event("ObjectCreated:Put", f"knowledge/{PNID}/faq.csv"),
        ),
        lambda_context,
    )
    # hours.md comes back from SQS (and reaches the DLQ if it keeps failing); faq.csv is in.
    assert response == {"batchItemFailures": [{"itemIdentifier": "m0"}]}
    assert search(PNID, "credit cards", llm=embedder)[0].document == "faq.csv"


def test_importing_the_indexer_loads_no_heavy_package() -> None:
    """numpy, pypdf and openai are loaded by the calls that need them, not at import."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    code = (
        "import sys; sys.path[:0] = ['functions/knowledge_indexer', 'layers/common/python'];"
        "import app, wacloud.knowledge;"
        "print(sorted(m for m in ('numpy', 'pypdf', 'openai', 'pydantic') if m in sys.modules))"
    )
    env = {
        "PATH": os.environ.get("PATH", ""),
        "AWS_DEFAULT_REGION": "us-east-1",
        "TABLE_NAME": "t",
        "META_SECRET_ID": "m",
        "MEDIA_BUCKET": "b",
        "POWERTOOLS_METRICS_NAMESPACE": "wacloud",
    }
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"
