"""Embedding texts in batches OpenAI accepts, through `wacloud.llm` (or any embedder).

OpenAI's embeddings endpoint takes at most 2,048 inputs per request, each at most 8,192
tokens, and at most 300,000 tokens summed over a request (OpenAI API reference,
"Create embeddings", `input`: platform.openai.com/docs/api-reference/embeddings/create;
the same text is in the openai SDK's ``types/embedding_create_params.py``). Tokens are
bounded here by UTF-8 bytes (a BPE token covers at least one byte), so no tokenizer is
needed and a batch can never be refused for its size. Passages are at most
``chunking.MAX_CHARS`` characters, far under the per-input limit.

Batches are kept to ``MAX_BATCH_INPUTS`` even though 2,048 would be accepted: each call
stays short against the client's timeout, and a failure repeats less work.

The embedder is injected (anything with ``embed(texts, model=, dimensions=)`` returning
``(vectors, usage)``, which `wacloud.llm.LLMClient` is); by default the container's
configured client, created on first use.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

__all__ = [
    "MAX_BATCH_INPUTS",
    "MAX_REQUEST_TOKENS",
    "Embedder",
    "batches",
    "default_embedder",
    "default_model",
    "embed_all",
]

MAX_REQUEST_INPUTS = 2_048
MAX_REQUEST_TOKENS = 300_000
MAX_INPUT_TOKENS = 8_192
MAX_BATCH_INPUTS = 128


class Embedder(Protocol):
    def embed(
        self, texts: Sequence[str], *, model: str, dimensions: int
    ) -> tuple[list[list[float]], Any]: ...


def default_embedder() -> Embedder:
    from wacloud.llm import configured_llm_client  # type: ignore[import-not-found, unused-ignore]

    client: Embedder = configured_llm_client()
    return client


def default_model() -> tuple[str, int]:
    """The embedding model and dimensions new indexes are built with (wacloud.llm)."""
    from wacloud.llm import (  # type: ignore[import-not-found, unused-ignore]
        EMBED_DIMENSIONS,
        EMBED_MODEL,
    )

    return str(EMBED_MODEL), int(EMBED_DIMENSIONS)


def batches(texts: Sequence[str], *, max_inputs: int = MAX_BATCH_INPUTS) -> Iterator[list[str]]:
    """Consecutive runs of `texts` within OpenAI's per-request limits."""
    limit = min(max_inputs, MAX_REQUEST_INPUTS)
    batch: list[str] = []
    size = 0
    for text in texts:
        cost = len(text.encode("utf-8"))
        if cost > MAX_INPUT_TOKENS:
            raise ValueError("a passage is over the embedding model's input limit")
        if batch and (len(batch) >= limit or size + cost > MAX_REQUEST_TOKENS):
            yield batch
            batch, size = [], 0
        batch.append(text)
        size += cost
    if batch:
        yield batch


def embed_all(
    embedder: Embedder, texts: Sequence[str], *, model: str, dimensions: int
) -> npt.NDArray[np.float32]:
    """Every text's vector, as rows of a float32 matrix (in the texts' order)."""
    import numpy as np

    rows: list[list[float]] = []
    for batch in batches(texts):
        vectors, _usage = embedder.embed(batch, model=model, dimensions=dimensions)
        if len(vectors) != len(batch):
            raise ValueError("the embedder returned a different number of vectors")
        rows.extend(vectors)
    matrix = np.asarray(rows, dtype=np.float32).reshape(len(rows), dimensions)
    return matrix
