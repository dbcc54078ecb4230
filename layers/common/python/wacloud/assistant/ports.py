"""What the assistant needs from the rest of the system, as narrow interfaces.

The worker talks to the model, the knowledge base, the conversation state and
moderation only through `Ports`. `default_ports()` wires the real modules, imported
when the first job needs them (the openai SDK is heavy: never at cold init); tests
pass small in-process fakes and so test the decisions, not the plumbing.

The features (`wacloud.conversations`, `wacloud.knowledge`, `wacloud.moderation`)
are used only through their packages' public names; `wacloud.llm` is a client.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar, cast

from pydantic import BaseModel

M = TypeVar("M", bound=BaseModel)
Turn = dict[str, str]
"""{"role": "user" | "assistant", "content": str} (wacloud.llm's Turn)."""


class UsageLike(Protocol):
    @property
    def input_tokens(self) -> int: ...
    @property
    def output_tokens(self) -> int: ...


class PassageLike(Protocol):
    @property
    def document(self) -> str: ...
    @property
    def chunk(self) -> int: ...
    @property
    def score(self) -> float: ...
    @property
    def text(self) -> str: ...


class LLM(Protocol):
    """The part of `wacloud.llm.LLMClient` the assistant calls."""

    def parse(
        self, *, model: str, instructions: str, turns: Sequence[Turn], schema: type[M]
    ) -> tuple[M, UsageLike]: ...

    def transcribe(self, audio: bytes, *, filename: str) -> str: ...

    def describe_image(
        self, image: bytes, *, mime_type: str, prompt: str, model: str
    ) -> tuple[str, UsageLike]: ...


class RequestHandoff(Protocol):
    def __call__(
        self, phone_number_id: str, wa_id: str, *, reason: str, at: float, language: str | None
    ) -> bool: ...


class SaveSuggestion(Protocol):
    def __call__(
        self,
        phone_number_id: str,
        wa_id: str,
        *,
        text: str,
        confidence: float,
        handoff_at: float,
        at: float,
    ) -> bool: ...


class InHandoff(Protocol):
    def __call__(self, phone_number_id: str, wa_id: str, *, at: float) -> bool: ...


class ReportSpam(Protocol):
    def __call__(self, phone_number_id: str, wa_id: str, *, at: float) -> bool: ...


class Search(Protocol):
    def __call__(self, phone_number_id: str, query: str, *, k: int) -> Sequence[PassageLike]: ...


def _save_suggestion(
    phone_number_id: str,
    wa_id: str,
    *,
    text: str,
    confidence: float,
    handoff_at: float,
    at: float,
) -> bool:
    from wacloud.store import conversations as conversation_store

    return conversation_store.set_suggestion(
        phone_number_id, wa_id, text=text, confidence=confidence, handoff_at=handoff_at, at=at
    )


def _handoff_notice(phone_number_id: str, language: str | None, at: float) -> str:
    from wacloud import conversations

    settings = conversations.load_handoff_settings(phone_number_id)
    return conversations.handoff_notice(settings, language=language, at=at)


@dataclass(frozen=True)
class Ports:
    llm: Callable[[], LLM]
    """The model client, made on first use (cached per container by wacloud.llm)."""
    llm_errors: tuple[type[BaseException], ...]
    """What the client raises when the model cannot answer (wacloud.llm.LLMError)."""
    default_model: str
    search: Search
    in_handoff: InHandoff
    request_handoff: RequestHandoff
    report_spam: ReportSpam
    add_conversation_tokens: Callable[[str, str, int], None]
    """(pnid, wa_id, tokens): ADD to the conversation's `tokens` (store/conversations)."""
    load_conversation: Callable[[str, str], Mapping[str, Any] | None]
    """(pnid, wa_id) -> the conversation item (`summary`, `summary_upto`) or None."""
    save_summary: Callable[[str, str, str, str], None]
    """(pnid, wa_id, summary, summary_upto): the running summary on the conversation."""
    submit: Callable[[list[dict[str, Any]]], None]
    """Put submissions on the outbound queue (wacloud.infra.queues.submit_many)."""
    read_media: Callable[[str, str], bytes]
    """(bucket, key) -> the cached media's bytes."""
    handoff_notice: Callable[[str, str | None, float], str] = _handoff_notice
    """(pnid, language, at) -> what the customer is told when a person takes over
    (wacloud.conversations: the tenant's hours and expected wait, in their language)."""
    save_suggestion: SaveSuggestion = _save_suggestion
    """(pnid, wa_id, text, confidence, handoff_at, at): the draft answer the assistant was
    not sure enough to send, kept on the conversation for the agent (store/conversations:
    only on the handoff that began at ``handoff_at``, while no person has answered)."""


def _read_media(bucket: str, key: str) -> bytes:
    from wacloud.infra.aws import s3

    data: bytes = s3().get_object(Bucket=bucket, Key=key)["Body"].read()
    return data


def _submit(documents: list[dict[str, Any]]) -> None:
    from wacloud.infra.queues import submit_many

    submit_many(documents)


def default_ports() -> Ports:
    """The real collaborators, imported now (call it on the first job, not at import)."""
    from wacloud import conversations, knowledge, llm, moderation
    from wacloud.errors import ConfigurationError
    from wacloud.infra.clock import now
    from wacloud.store import conversations as conversation_store

    def search(phone_number_id: str, query: str, *, k: int) -> Sequence[PassageLike]:
        passages: Sequence[PassageLike] = knowledge.search(
            phone_number_id, query, k=k, llm=llm.configured_llm_client()
        )
        return passages

    def add_tokens(phone_number_id: str, wa_id: str, tokens: int) -> None:
        conversation_store.add_tokens(phone_number_id, wa_id, tokens)

    def load_conversation(phone_number_id: str, wa_id: str) -> Mapping[str, Any] | None:
        found = conversation_store.load(phone_number_id, wa_id)
        return {"summary": found.summary, "summary_upto": found.summary_upto}

    def save_summary(phone_number_id: str, wa_id: str, summary: str, upto: str) -> None:
        conversation_store.set_summary(phone_number_id, wa_id, summary=summary, upto=upto, at=now())

    return Ports(
        # wacloud.llm's Turn is a TypedDict of the same two keys as our dict turns.
        llm=lambda: cast(LLM, llm.configured_llm_client()),
        # A missing OpenAI key (or base URL) is the operator's to fix; the customer
        # still gets the fallback and a person, not silence while the job dead-letters.
        llm_errors=(llm.LLMError, ConfigurationError),
        default_model=llm.CHAT_MODEL,
        search=search,
        in_handoff=conversations.in_handoff,
        request_handoff=conversations.request_handoff,
        report_spam=moderation.report_spam,
        add_conversation_tokens=add_tokens,
        load_conversation=load_conversation,
        save_summary=save_summary,
        submit=_submit,
        read_media=_read_media,
    )
