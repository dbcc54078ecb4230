"""The assistant's decisions for one job, with in-process fakes of its ports.

State (settings, usage, history, transcripts) is the real store on moto; the model,
knowledge, conversations and moderation are fakes that record what they were asked.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.unit.indexed_table import indexed_state_table
from wacloud.assistant import (
    ON_ITS_WAY,
    AssistantAnswer,
    AssistantResponder,
    AssistantWorker,
    ConversationSummary,
    FormRow,
    InvalidJobError,
    Job,
    Ports,
    ReplyForm,
    answer_pending,
)
from wacloud.infra.dynamo import get
from wacloud.store import assistant as store
from wacloud.store import inbound_log

PNID, WA = "100000000000001", "5215550001111"
SECRET = "mi pedido 4471 no llegó"  # must never reach a log line


class FakeLLMError(Exception):
    def __init__(self, kind: str) -> None:
        super().__init__(f"model {kind}")
        self.kind = kind


@dataclass(frozen=True)
class U:
    input_tokens: int
    output_tokens: int


@dataclass
class P:
    document: str
    chunk: int
    score: float
    text: str


def answer(**changes: Any) -> AssistantAnswer:
    values: dict[str, Any] = {
        "intent": "question",
        "confidence": 0.9,
        "language": "es",
        "reply": "Abrimos de 9 a 18.",
        "sources": ["faq.md"],
        "form": None,
    }
    return AssistantAnswer(**{**values, **changes})


@dataclass
class FakeLLM:
    result: AssistantAnswer = field(default_factory=answer)
    error: BaseException | None = None
    transcript: str = "quiero saber el horario"
    parses: list[dict[str, Any]] = field(default_factory=list)
    transcribed: list[tuple[bytes, str]] = field(default_factory=list)

    def parse(self, *, model: str, instructions: str, turns: Sequence[Any], schema: Any) -> Any:
        self.parses.append({"model": model, "instructions": instructions, "turns": list(turns)})
        if self.error is not None:
            raise self.error
        if schema is ConversationSummary:
            return ConversationSummary(summary="summary"), U(30, 10)
        return self.result, U(100, 20)

    def transcribe(self, audio: bytes, *, filename: str) -> str:
        if self.error is not None:
            raise self.error
        self.transcribed.append((audio, filename))
        return self.transcript

    def describe_image(self, image: bytes, *, mime_type: str, prompt: str, model: str) -> Any:
        return "a broken box", U(50, 5)


@dataclass
class World:
    llm: FakeLLM = field(default_factory=FakeLLM)
    handoff: bool = False
    submitted: list[dict[str, Any]] = field(default_factory=list)
    handoffs: list[dict[str, Any]] = field(default_factory=list)
    spam: list[str] = field(default_factory=list)
    tokens: list[int] = field(default_factory=list)
    summaries: list[tuple[str, str]] = field(default_factory=list)
    searches: list[str] = field(default_factory=list)
    suggestions: list[dict[str, Any]] = field(default_factory=list)
    passages: list[P] = field(
        default_factory=lambda: [P("faq.md", 0, 0.8, "Abrimos de 9 a 18. https://sol.example/menu")]
    )

    def ports(self) -> Ports:
        def request_handoff(
            pnid: str, wa_id: str, *, reason: str, at: float, language: str | None
        ) -> bool:
            self.handoffs.append({"reason": reason, "language": language})
            entered = not self.handoff
            self.handoff = True
            return entered

        def search(pnid: str, query: str, *, k: int) -> list[P]:
            self.searches.append(query)
            return self.passages

        def save_suggestion(pnid: str, wa_id: str, **kwargs: Any) -> bool:
            self.suggestions.append(kwargs)
            return True

        return Ports(
            llm=lambda: self.llm,
            llm_errors=(FakeLLMError,),
            default_model="default-model",
            search=search,
            in_handoff=lambda pnid, wa_id, *, at: self.handoff,
            request_handoff=request_handoff,
            report_spam=lambda pnid, wa_id, *, at: self.spam.append(wa_id),
            add_conversation_tokens=lambda pnid, wa_id, n: self.tokens.append(n),
            load_conversation=lambda pnid, wa_id: None,
            save_summary=lambda pnid, wa_id, s, upto: self.summaries.append((s, upto)),
            submit=self.submitted.extend,
            read_media=lambda bucket, key: b"TRANSCRIPT: audio bytes",
            save_suggestion=save_suggestion,
        )


@pytest.fixture
def table(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    with indexed_state_table(monkeypatch) as name:
        store.clear_cache()
        store.save_settings(PNID, store.AssistantSettings(enabled=True))
        yield name
        store.clear_cache()


def job(wamid: str = "wamid.1", text: str | None = SECRET, **changes: Any) -> Job:
    inbound_log.record_inbound_message(
        PNID,
        wamid,
        WA,
        1000.0,
        {"type": changes.get("type", "text"), "content": {"text": {"body": text or ""}}},
    )
    body = {
        "phone_number_id": PNID,
        "wa_id": WA,
        "wamid": wamid,
        "type": "text",
        "text": text,
        "at": 1000.0,
        **changes,
    }
    return Job.from_dict(json.loads(json.dumps(body)))


def run(world: World, the_job: Job) -> Any:
    return AssistantWorker(world.ports, clock=lambda: 1_772_000_000.0).handle(the_job)


def test_question_answered_with_key_tag_and_context(table: str) -> None:
    world = World()
    outcome = run(world, job())
    assert outcome.action == "answered" and outcome.intent == "question"
    [sent] = world.submitted
    assert sent["idempotency_key"] == "assist:wamid.1:0"
    assert sent["tags"] == ["assistant"] and sent["to"] == f"+{WA}"
    assert sent["context"] == {"message_id": "wamid.1"}
    assert sent["text"] == {"body": "Abrimos de 9 a 18."}
    call = world.llm.parses[0]
    assert call["model"] == "default-model"
    assert call["turns"][-1] == {"role": "user", "content": SECRET}
    assert '<knowledge document="faq.md" chunk="0">' in call["instructions"]
    assert world.searches == [SECRET]
    assert world.handoffs == [] and world.spam == []


def test_tokens_recorded_for_conversation_day_and_month(table: str) -> None:
    world = World()
    run(world, job())
    assert world.tokens == [120]
    at = 1_772_000_000.0
    assert store.day_usage(PNID, at) == store.TokenUsage(100, 20)
    assert store.month_usage(PNID, at).total == 120


def test_tenant_model_used(table: str) -> None:
    store.save_settings(PNID, store.AssistantSettings(enabled=True, model="gpt-tenant"))
    world = World()
    run(world, job())
    assert world.llm.parses[0]["model"] == "gpt-tenant"


@pytest.mark.parametrize(
    ("result", "reason"),
    [
        (answer(intent="human_request"), "human_request"),
        (answer(intent="complaint", confidence=0.99), "complaint"),
        (answer(confidence=0.69), "low_confidence"),
        (answer(confidence=0.9, reply="  "), "low_confidence"),
    ],
)
def test_handoff_decisions(table: str, result: AssistantAnswer, reason: str) -> None:
    world = World(llm=FakeLLM(result=result))
    outcome = run(world, job())
    assert outcome.action == "handoff" and outcome.reason == reason
    assert world.handoffs == [{"reason": reason, "language": "es"}]
    # The customer is told a person will answer (the conversations package's notice).
    (notice,) = world.submitted
    assert notice["idempotency_key"] == "assist:wamid.1:0"
    assert notice["text"]["body"].startswith("Gracias. Te paso con una persona")
    assert outcome.replies == 1


def test_no_second_notice_when_already_handed_over(table: str) -> None:
    """A keyword handed the conversation over while the model was answering: that
    message's notice went; the model's handoff adds none."""
    world = World(llm=FakeLLM(result=answer(intent="complaint")))

    def already(pnid: str, wa_id: str, *, reason: str, at: float, language: str | None) -> bool:
        return False

    worker = AssistantWorker(
        lambda: Ports(**{**world.ports().__dict__, "request_handoff": already}),
        clock=lambda: 1_772_000_000.0,
    )
    outcome = worker.handle(job())
    assert outcome.action == "handoff" and world.submitted == []


def test_threshold_is_the_tenants(table: str) -> None:
    store.save_settings(PNID, store.AssistantSettings(enabled=True, confidence_threshold=0.5))
    world = World(llm=FakeLLM(result=answer(confidence=0.6)))
    assert run(world, job()).action == "answered"
    world = World(llm=FakeLLM(result=answer(confidence=0.4)))
    assert run(world, job("wamid.2")).action == "handoff"


def test_confidence_at_the_threshold_answers(table: str) -> None:
    world = World(llm=FakeLLM(result=answer(confidence=0.7)))
    assert run(world, job()).action == "answered"


def test_spam_reported_not_answered(table: str) -> None:
    world = World(llm=FakeLLM(result=answer(intent="spam", reply="WIN FREE CRYPTO")))
    assert run(world, job()).action == "spam"
    assert world.spam == [WA] and world.submitted == [] and world.handoffs == []


def test_silent_in_handoff(table: str) -> None:
    world = World(handoff=True)
    assert run(world, job()).action == "in_handoff"
    assert world.llm.parses == [] and world.submitted == []


def test_disabled_since_queued(table: str) -> None:
    store.save_settings(PNID, store.AssistantSettings(enabled=False))
    world = World()
    assert run(world, job()).action == "disabled"
    assert world.llm.parses == []


@pytest.mark.parametrize("kind", ["rate_limited", "unavailable", "timeout", "refused"])
def test_model_error_ends_in_fallback_and_handoff(table: str, kind: str) -> None:
    world = World(llm=FakeLLM(error=FakeLLMError(kind)))
    outcome = run(world, job(text="hola, necesito ayuda con mi pedido"))
    assert outcome.action == "fallback" and outcome.reason == "assistant_error"
    [sent] = world.submitted
    assert sent["idempotency_key"] == "assist:wamid.1:0"
    assert sent["text"]["body"] == store.DEFAULT_FALLBACK["es"]
    assert world.handoffs == [{"reason": "assistant_error", "language": "es"}]


def test_retry_after_a_fallback_stays_silent(table: str) -> None:
    world = World(llm=FakeLLM(error=FakeLLMError("timeout")))
    run(world, job())
    assert run(world, job()).action == "in_handoff"
    assert len(world.submitted) == 1


def test_budget_exhausted_falls_back_without_calling_the_model(table: str) -> None:
    store.save_settings(PNID, store.AssistantSettings(enabled=True, monthly_token_budget=100))
    store.add_usage(PNID, input_tokens=90, output_tokens=10, at=1_772_000_000.0)
    world = World()
    outcome = run(world, job(text="I need help with my order please"))
    assert outcome.action == "fallback" and outcome.reason == "budget_exhausted"
    assert world.llm.parses == []
    assert world.submitted[0]["text"]["body"] == store.DEFAULT_FALLBACK["en"]
    assert world.handoffs == [{"reason": "budget_exhausted", "language": "en"}]


def test_other_errors_escape_for_an_sqs_retry(table: str) -> None:
    world = World()
    ports = world.ports()

    def broken(documents: list[dict[str, Any]]) -> None:
        raise RuntimeError("queue unavailable")

    worker = AssistantWorker(lambda: Ports(**{**ports.__dict__, "submit": broken}))
    with pytest.raises(RuntimeError):
        worker.handle(job())


def test_same_job_twice_submits_the_same_keys(table: str) -> None:
    world = World(
        llm=FakeLLM(
            result=answer(
                form=ReplyForm(
                    kind="buttons",
                    buttons=["Sí", "No"],
                    list_button=None,
                    rows=[],
                    url=None,
                    url_text=None,
                )
            )
        )
    )
    run(world, job())
    run(world, job())
    keys = [d["idempotency_key"] for d in world.submitted]
    assert keys == ["assist:wamid.1:0", "assist:wamid.1:0"]


def _form(**values: Any) -> ReplyForm:
    base: dict[str, Any] = {
        "kind": "buttons",
        "buttons": [],
        "list_button": None,
        "rows": [],
        "url": None,
        "url_text": None,
    }
    return ReplyForm(**{**base, **values})


def test_valid_buttons_sent_as_interactive(table: str) -> None:
    world = World(llm=FakeLLM(result=answer(form=_form(buttons=["Horarios", "Precios"]))))
    run(world, job())
    [sent] = world.submitted
    assert sent["type"] == "interactive"
    assert sent["interactive"]["type"] == "button"
    assert [b["reply"]["title"] for b in sent["interactive"]["action"]["buttons"]] == [
        "Horarios",
        "Precios",
    ]


@pytest.mark.parametrize(
    "form",
    [
        _form(buttons=["one", "two", "three", "four"]),
        _form(buttons=["a title longer than twenty"]),
        _form(buttons=[]),
        _form(kind="list", list_button="Ver", rows=[]),
        _form(kind="cta_url", url="https://evil.example/phish", url_text="Open"),
        _form(kind="cta_url", url=None, url_text="Open"),
    ],
)
def test_invalid_form_falls_back_to_text(table: str, form: ReplyForm) -> None:
    world = World(llm=FakeLLM(result=answer(form=form)))
    run(world, job())
    [sent] = world.submitted
    assert sent["type"] == "text" and sent["text"]["body"] == "Abrimos de 9 a 18."


def test_list_and_cta_from_knowledge(table: str) -> None:
    rows = [
        FormRow(id="r1", title="Pan", description="fresh"),
        FormRow(id="r2", title="Torta", description=None),
    ]
    world = World(
        llm=FakeLLM(result=answer(form=_form(kind="list", list_button="Ver menú", rows=rows)))
    )
    run(world, job())
    assert world.submitted[0]["interactive"]["type"] == "list"
    cta = _form(kind="cta_url", url="https://sol.example/menu", url_text="Ver menú")
    world = World(llm=FakeLLM(result=answer(form=cta)))
    run(world, job("wamid.2"))
    assert world.submitted[0]["interactive"]["action"]["parameters"]["url"] == (
        "https://sol.example/menu"
    )


def test_voice_note_transcribed_stored_and_answered(table: str) -> None:
    world = World()
    media = {"bucket": "media", "s3_key": "media/abc", "mime_type": "audio/ogg; codecs=opus"}
    outcome = run(world, job("wamid.v", text=None, type="audio", media=media))
    assert outcome.action == "answered"
    assert world.llm.transcribed == [(b"TRANSCRIPT: audio bytes", "voice.ogg")]
    record = get(inbound_log.inbound_pk(PNID, "wamid.v"))
    assert record is not None and record["transcript"] == "quiero saber el horario"
    assert world.llm.parses[0]["turns"][-1]["content"] == "[voice note] quiero saber el horario"


def test_transcription_error_falls_back(table: str) -> None:
    world = World(llm=FakeLLM(error=FakeLLMError("unavailable")))
    media = {"bucket": "media", "s3_key": "media/abc", "mime_type": "audio/ogg"}
    outcome = run(world, job("wamid.v", text=None, type="audio", media=media))
    assert outcome.action == "fallback" and world.handoffs[0]["reason"] == "assistant_error"


def test_image_described_when_the_tenant_asks(table: str) -> None:
    store.save_settings(PNID, store.AssistantSettings(enabled=True, describe_images=True))
    world = World()
    media = {"bucket": "media", "s3_key": "media/img", "mime_type": "image/jpeg"}
    outcome = run(world, job("wamid.i", text="llegó así", type="image", media=media))
    assert outcome.input_tokens == 150
    record = get(inbound_log.inbound_pk(PNID, "wamid.i"))
    assert record is not None and record["description"] == "a broken box"
    assert world.llm.parses[0]["turns"][-1]["content"] == "[image: a broken box] llegó así"


def test_long_history_folded_into_the_summary(table: str) -> None:
    for n in range(30):
        inbound_log.record_inbound_message(
            PNID,
            f"old{n}",
            WA,
            900.0 + n,
            {"type": "text", "content": {"text": {"body": f"turn {n} " + "y" * 300}}},
        )
    world = World()
    run(world, job())
    [(summary, upto)] = world.summaries
    assert summary == "summary" and "#IN#old" in upto
    assert "Summary of the earlier conversation: summary" in world.llm.parses[1]["instructions"]
    assert world.tokens == [160]


def test_invalid_job_names_the_field() -> None:
    with pytest.raises(InvalidJobError, match="wamid"):
        Job.from_dict({"phone_number_id": PNID, "wa_id": WA, "type": "text"})


def test_message_text_never_logged(
    table: str, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.INFO)
    for world in (
        World(),
        World(llm=FakeLLM(error=FakeLLMError("timeout"))),
        World(llm=FakeLLM(result=answer(intent="complaint", reply=SECRET))),
        World(llm=FakeLLM(result=answer(confidence=0.2, reply=SECRET))),
    ):
        run(world, job())
    # The real ports too: the draft goes to the conversation, never to a log line.
    drafting = World(llm=FakeLLM(result=answer(confidence=0.2, reply=SECRET)))
    ports = {**drafting.ports().__dict__, "request_handoff": _real_handoff}
    ports["save_suggestion"] = _default_save_suggestion()
    AssistantWorker(lambda: Ports(**ports), clock=lambda: 1_772_000_000.0).handle(job())
    from wacloud.store import conversations

    suggestion = conversations.load(PNID, WA).suggestion
    assert suggestion is not None and suggestion["text"] == SECRET
    out = capsys.readouterr()
    logged = caplog.text + out.out + out.err
    assert "assistant job" in logged
    assert SECRET not in logged and "4471" not in logged and WA not in logged


# ------------------------------------------------------------------ responder
@dataclass
class Msg:
    phone_number_id: str = PNID
    wa_id: str = WA
    wamid: str = "wamid.r"
    type: str = "text"
    text: str | None = SECRET
    reply_id: str | None = None
    profile_name: str | None = None
    at: float = 1234.5
    media: dict[str, Any] | None = None


class Menu:
    def respond(self, message: Any) -> Sequence[dict[str, Any]]:
        return ({"type": "text", "text": {"body": "menu"}},)


def test_responder_queues_when_enabled(table: str) -> None:
    queued: list[dict[str, Any]] = []
    responder = AssistantResponder(Menu(), enqueue=queued.append)
    replies = responder.respond(Msg())
    assert not replies.replies and answer_pending(replies) and replies is ON_ITS_WAY
    assert queued == [
        {
            "phone_number_id": PNID,
            "wa_id": WA,
            "wamid": "wamid.r",
            "type": "text",
            "text": SECRET,
            "at": 1234.5,
            "media": None,
        }
    ]
    assert Job.from_dict(queued[0]).text == SECRET


def test_responder_delegates_when_off_or_unanswered_type(table: str) -> None:
    queued: list[dict[str, Any]] = []
    responder = AssistantResponder(Menu(), enqueue=queued.append)
    assert responder.respond(Msg(type="sticker", text=None))[0]["text"]["body"] == "menu"
    store.save_settings(PNID, store.AssistantSettings(enabled=False))
    replies = responder.respond(Msg())
    assert replies[0]["text"]["body"] == "menu" and not answer_pending(replies)
    assert queued == []


def _real_handoff(pnid: str, wa_id: str, *, reason: str, at: float, language: str | None) -> bool:
    from wacloud.conversations import request_handoff

    return request_handoff(pnid, wa_id, reason=reason, at=at, language=language)


def _default_save_suggestion() -> Any:
    return Ports.__dataclass_fields__["save_suggestion"].default


def test_a_low_confidence_draft_is_kept_as_the_agents_suggestion(table: str) -> None:
    world = World(llm=FakeLLM(result=answer(confidence=0.5, reply="  Abrimos a las 9.  ")))
    outcome = run(world, job())
    assert outcome.action == "handoff" and outcome.reason == "low_confidence"
    assert world.suggestions == [
        {
            "text": "Abrimos a las 9.",
            "confidence": 0.5,
            "handoff_at": 1_772_000_000.0,
            "at": 1_772_000_000.0,
        }
    ]


@pytest.mark.parametrize(
    "result",
    [
        answer(confidence=0.9, reply="   "),  # no draft to suggest
        answer(confidence=0.3, reply=""),
        answer(intent="complaint", confidence=0.3),  # handed over for the complaint
        answer(intent="human_request"),
    ],
)
def test_no_suggestion_without_a_draft_or_for_other_reasons(
    table: str, result: AssistantAnswer
) -> None:
    world = World(llm=FakeLLM(result=result))
    assert run(world, job()).action == "handoff"
    assert world.suggestions == []


def test_no_suggestion_when_a_person_had_it_already(table: str) -> None:
    world = World(llm=FakeLLM(result=answer(confidence=0.2)))
    worker = AssistantWorker(
        lambda: Ports(**{**world.ports().__dict__, "request_handoff": lambda *a, **k: False}),
        clock=lambda: 1_772_000_000.0,
    )
    assert worker.handle(job()).action == "handoff"
    assert world.suggestions == []


def test_the_default_port_stores_the_draft_on_the_conversation(table: str) -> None:
    from wacloud.store import conversations

    world = World(llm=FakeLLM(result=answer(confidence=0.2, reply="Abrimos a las 9.")))
    ports = {**world.ports().__dict__, "request_handoff": _real_handoff}
    ports["save_suggestion"] = _default_save_suggestion()
    worker = AssistantWorker(lambda: Ports(**ports), clock=lambda: 1_772_000_000.0)
    assert worker.handle(job()).action == "handoff"
    found = conversations.load(PNID, WA)
    assert found.state == "handoff" and found.handoff_reason == "low_confidence"
    assert found.suggestion == {
        "text": "Abrimos a las 9.",
        "confidence": 0.2,
        "at": 1_772_000_000.0,
    }
