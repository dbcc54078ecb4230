"""The OpenAI stand-in: its control API over HTTP, its scripted and default answers.

The stand-in is what the integration tests and `make run` answer customers with, so
its behaviour is a contract of its own: rules override the defaults, faults are used
up one request at a time, every request is logged, and the schema it is handed is
filled whatever its fields are (the real SDK must parse what it returns).
"""

from __future__ import annotations

import base64
import json
import struct
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any, Literal

import pytest
from pydantic import BaseModel

from local.openai_standin import Standin, cosine, embed
from local.openai_standin.answers import detect_intent, detect_language
from wacloud.llm import LLMClient, LLMError


class Button(BaseModel):
    id: str
    title: str


class Form(BaseModel):
    kind: Literal["buttons", "list", "cta_url"]
    buttons: list[Button]


class Answer(BaseModel):
    intent: Literal["greeting", "question", "human_request", "complaint", "spam", "other"]
    confidence: float
    language: str
    reply: str
    sources: list[str]
    form: Form | None


class Summary(BaseModel):
    summary: str
    topics: list[str]
    resolved: bool
    turns: int
    mood: Literal["calm", "upset"]


@pytest.fixture(scope="module")
def server() -> Iterator[Standin]:
    with Standin() as standin:
        yield standin


@pytest.fixture
def standin(server: Standin) -> Standin:
    server.reset()
    return server


@pytest.fixture
def client(standin: Standin) -> LLMClient:
    return LLMClient(api_key="sk-x", base_url=standin.base_url, timeout=2, max_retries=0)


def http(standin: Standin, method: str, path: str, body: Any = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        standin.url + path,
        data=data,
        method=method,
        headers={"Content-Type": "application/json", "Authorization": "Bearer sk-x"},
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())


def parse(client: LLMClient, text: str, schema: type[BaseModel] = Answer, **kw: Any) -> Any:
    turns = [{"role": "user", "content": t} for t in kw.pop("before", [])]
    turns.append({"role": "user", "content": text})
    value, _ = client.parse(
        model="gpt-4.1-mini",
        instructions=kw.pop("instructions", "Be helpful."),
        turns=turns,  # type: ignore[arg-type]
        schema=schema,
    )
    return value


def test_rules_over_http_override_the_defaults(standin: Standin, client: LLMClient) -> None:
    form = {"kind": "buttons", "buttons": [{"id": "yes", "title": "Yes"}]}
    rules = [
        {"match": "refund", "intent": "complaint", "confidence": 0.3, "reply": "Sorry!"},
        {"match": "^menu$", "reply": "Pick one", "form": form, "language": "es"},
    ]
    assert http(standin, "POST", "/_standin/rules", rules) == {"rules": 2}
    refund = parse(client, "I want a REFUND now")
    assert (refund.intent, refund.confidence, refund.reply) == ("complaint", 0.3, "Sorry!")
    menu = parse(client, "menu")
    assert menu.form == Form.model_validate(form) and menu.language == "es"
    assert parse(client, "hello").form is None  # no rule: defaults


def test_faults_over_http_are_used_up(standin: Standin, client: LLMClient) -> None:
    http(standin, "POST", "/_standin/faults", {"status": 429, "retry_after": 3, "count": 2})
    assert len(http(standin, "GET", "/_standin/faults")) == 1
    for _ in range(2):
        with pytest.raises(LLMError) as caught:
            client.embed(["x"])
        assert caught.value.retry_after == 3.0
    assert client.embed(["x"])[0]
    assert http(standin, "GET", "/_standin/faults") == []


def test_a_fault_can_target_a_path_or_a_text(standin: Standin, client: LLMClient) -> None:
    standin.add_fault({"status": 500, "count": None, "match": "poison"})
    assert parse(client, "hello").intent == "greeting"
    for _ in range(2):
        with pytest.raises(LLMError):
            parse(client, "poison pill")
    standin.add_fault({"delay_ms": 150, "path": "/v1/embeddings"})
    assert client.embed(["slow but fine"])[0]


def test_requests_log_and_reset(standin: Standin, client: LLMClient) -> None:
    parse(client, "hello")
    client.embed(["a", "b"])
    log = http(standin, "GET", "/_standin/requests")
    assert [r["path"] for r in log] == ["/v1/responses", "/v1/embeddings"]
    only = http(standin, "GET", "/_standin/requests?path=/v1/embeddings")
    assert only[0]["body"]["input"] == ["a", "b"]
    assert all("authorization" not in json.dumps(r).lower() for r in log)  # no key kept
    http(standin, "POST", "/_standin/reset", {})
    assert http(standin, "GET", "/_standin/requests") == []


def test_any_schema_is_filled(client: LLMClient) -> None:
    summary = parse(client, "and the price?", Summary, before=["what is the menu?"])
    assert summary.summary == "what is the menu? / and the price?"
    assert (summary.topics, summary.resolved, summary.turns, summary.mood) == ([], False, 0, "calm")


def test_rule_fields_set_any_field(standin: Standin, client: LLMClient) -> None:
    standin.add_rules({"match": ".", "fields": {"mood": "upset", "turns": 3}})
    summary = parse(client, "anything", Summary)
    assert (summary.mood, summary.turns) == ("upset", 3)


def test_a_follow_up_is_grounded_with_the_previous_turn(client: LLMClient) -> None:
    instructions = (
        '<knowledge document="hours.md" chunk="0">Opening hours: Monday to Friday 9 to 18.'
        '</knowledge><knowledge document="pets.md" chunk="4">Dogs are welcome on the '
        "terrace.</knowledge>"
    )
    answer = parse(
        client, "and tomorrow?", before=["What are your opening hours?"], instructions=instructions
    )
    assert answer.sources == ["hours.md"]
    assert parse(client, "can I bring my dog?", instructions=instructions).sources == ["pets.md"]


def test_chat_completions_parse_through_the_sdk(standin: Standin, client: LLMClient) -> None:
    completion = client.sdk().chat.completions.parse(
        model="gpt-4.1-mini",
        messages=[
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "quiero hablar con un asesor"},
        ],
        response_format=Answer,
    )
    parsed = completion.choices[0].message.parsed
    assert parsed is not None and parsed.intent == "human_request" and parsed.language == "es"
    assert completion.usage is not None and completion.usage.total_tokens > 0


def test_embeddings_float_and_base64_agree(standin: Standin) -> None:
    body = {"model": "m", "input": ["hola mundo"], "dimensions": 16}
    floats = http(standin, "POST", "/v1/embeddings", body)["data"][0]["embedding"]
    encoded = http(standin, "POST", "/v1/embeddings", {**body, "encoding_format": "base64"})
    unpacked = struct.unpack("<16f", base64.b64decode(encoded["data"][0]["embedding"]))
    assert floats == pytest.approx(list(unpacked), abs=1e-6)


def test_no_key_is_401(standin: Standin) -> None:
    request = urllib.request.Request(
        standin.url + "/v1/embeddings", data=b'{"input": "x"}', method="POST"
    )
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=5)
    assert caught.value.code == 401


def test_embedding_similarity() -> None:
    question = embed("¿A qué hora abren el sábado?", 256)
    assert cosine(question, embed("Los sábados abrimos a las 10.", 256)) > cosine(
        question, embed("El envío tarda tres días.", 256)
    )
    assert embed("the and of", 8) == [0.0] * 8  # no content word, no direction


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("hola, quiero hablar con un humano", "human_request"),
        ("can I talk to an agent?", "human_request"),
        ("preciso falar com uma pessoa", "human_request"),
        ("esto es una estafa, pésimo servicio", "complaint"),
        ("WIN a FREE iPhone http://bit.ly/x", "spam"),
        ("free crypto prize", "spam"),
        ("STOP", "opt_out"),
        ("buenos días", "greeting"),
        ("quiero reservar una mesa", "booking"),
        ("where is my order?", "order_status"),
        ("purple elephants", None),
    ],
)
def test_keyword_intents(text: str, intent: str | None) -> None:
    assert detect_intent(text) == intent


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("hola, ¿cuánto cuesta?", "es"),
        ("olá, quanto custa? não sei", "pt"),
        ("hello, how much does it cost?", "en"),
        ("ok", "en"),
    ],
)
def test_languages(text: str, language: str) -> None:
    assert detect_language(text) == language
