"""Knowledge base through the local stack: a document put in the media bucket is
indexed by the KnowledgeIndexer (S3 event -> KnowledgeQueue -> poller -> function) and
found by search; a removed one leaves the index; a refused one is skipped, not retried.

Embeddings: the indexer's worker is preloaded with `install_fake_embedder`, a
deterministic hashed bag of words, and this process searches with the same one. This
tests the event wiring, the index I/O on moto and the ranking; the OpenAI client itself
is exercised against the OpenAI stand-in (local/openai_standin) by its own tests.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from typing import Any

from local.stack import LocalStack
from local.waiting import wait_for

PNID = "106540352242922"
MODEL, DIMS = "fake-embed", 64
HOOK = "tests.integration.test_knowledge:install_fake_embedder"


class FakeEmbedder:
    """Hashed bag of words, L2-normalised (texts sharing words have a high cosine)."""

    def embed(
        self, texts: Sequence[str], *, model: str, dimensions: int
    ) -> tuple[list[list[float]], Any]:
        out = []
        for text in texts:
            vector = [0.0] * dimensions
            for word in re.findall(r"\w+", text.lower()):
                vector[int(hashlib.md5(word.encode()).hexdigest(), 16) % dimensions] += 1.0
            norm = sum(v * v for v in vector) ** 0.5 or 1.0
            out.append([v / norm for v in vector])
        return out, None


def install_fake_embedder() -> None:
    """Preload hook (KnowledgeIndexerFunction's worker): the indexer's default embedder
    and model become the fake's; nothing else in the function changes."""
    from wacloud.knowledge import index

    index.default_embedder = FakeEmbedder  # type: ignore[assignment]
    index.default_model = lambda: (MODEL, DIMS)


def _combined(stack: LocalStack) -> Any:
    from wacloud.store import knowledge as store

    loaded = store.load_combined(PNID)
    return loaded if isinstance(loaded, store.CombinedIndex) else None


def test_document_put_in_the_bucket_is_indexed_found_and_removed(
    make_stack: Callable[..., LocalStack],
) -> None:
    from wacloud.knowledge import clear_cache, search

    stack = make_stack(preload={"KnowledgeIndexerFunction": (HOOK,)})
    s3 = stack.client("s3")
    bucket = stack.outputs["MediaBucketName"]
    prefix = f"knowledge/{PNID}/"
    s3.put_object(
        Bucket=bucket,
        Key=prefix + "hours.md",
        Body=b"# Opening hours\n\nThe shop opens Monday to Saturday from nine to six.\n",
    )
    s3.put_object(
        Bucket=bucket,
        Key=prefix + "delivery faq.csv",
        Body=b"question,answer\nDo you deliver?,Yes by courier within three days.\n",
    )
    s3.put_object(Bucket=bucket, Key=prefix + "logo.png", Body=b"\x89PNG")  # refused
    wait_for(
        "both documents indexed",
        lambda: (c := _combined(stack)) and sorted(c.documents) == ["delivery faq.csv", "hours.md"],
        timeout=60,
    )
    clear_cache()
    best = search(PNID, "when does the shop open", llm=FakeEmbedder())[0]
    assert best.document == "hours.md" and "nine to six" in best.text
    assert search(PNID, "do you deliver by courier", llm=FakeEmbedder())[0].document == (
        "delivery faq.csv"
    )

    s3.delete_object(Bucket=bucket, Key=prefix + "hours.md")
    wait_for(
        "hours.md removed from the index",
        lambda: (c := _combined(stack)) and c.documents == ["delivery faq.csv"],
        timeout=60,
    )
    # The refused document was logged and dropped, not retried into the dead-letter
    # queue. Its event may be handled after the others (another batch): wait for it.
    log_file = stack.config.log_dir / "KnowledgeIndexerFunction.log"  # type: ignore[operator]

    def refused() -> bool:
        log = log_file.read_text() if log_file.exists() else ""
        return "knowledge document refused" in log and "logo.png" in log

    wait_for("logo.png refused in the indexer's log", refused, timeout=60)
    dlq = stack.outputs["KnowledgeDeadLetterQueueUrl"]
    attributes = stack.client("sqs").get_queue_attributes(
        QueueUrl=dlq, AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    assert attributes["ApproximateNumberOfMessages"] == "0"
