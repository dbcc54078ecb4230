"""The knowledge base: a tenant's documents, indexed for retrieval by meaning.

Documents are put in the media bucket under ``{KNOWLEDGE_PREFIX}{phone_number_id}/``
(docs/knowledge.md); an S3 event has the KnowledgeIndexer chunk and embed them
(`index_document` / `remove_document`), and the assistant grounds its answers in
`search`'s passages, citing each passage's document.

    from wacloud.knowledge import Passage, search
    passages = search(phone_number_id, "do you deliver on sundays?", k=4)

Importing this package imports neither numpy, pypdf nor openai: each is loaded by the
call that needs it.
"""

from wacloud.knowledge.documents import SUPPORTED_EXTENSIONS, DocumentError
from wacloud.knowledge.embedding import Embedder
from wacloud.knowledge.index import IndexResult, document_from_key, index_document, remove_document
from wacloud.knowledge.retrieval import Passage, clear_cache, search

__all__ = [
    "SUPPORTED_EXTENSIONS",
    "DocumentError",
    "Embedder",
    "IndexResult",
    "Passage",
    "clear_cache",
    "document_from_key",
    "index_document",
    "remove_document",
    "search",
]
