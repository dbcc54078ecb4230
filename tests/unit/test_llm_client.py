"""`wacloud.llm.LLMClient` through the real openai SDK, against the local stand-in over HTTP.

What the assistant relies on: a structured answer parsed into its pydantic model,
grounded in the knowledge blocks of the instructions; embeddings whose cosine orders
texts by similarity; transcription; and every failure as `LLMError` with the kind the
assistant branches on, without the message text or the key in any string or log.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import boto3
import pytest
from moto import mock_aws
from pydantic import BaseModel

from local.openai_standin import Standin
from wacloud.errors import ConfigurationError, TransientError
from wacloud.infra import config
from wacloud.llm import EMBED_DIMENSIONS, LLMClient, LLMError, Usage, configured_llm_client

KEY = "sk-test-secret-key-123"
MARKER = "MARKER-7f3a private customer words"

KNOWLEDGE = {
    "hours.md": "We are open Monday to Friday from 9:00 to 18:00. "
    "On Saturdays from 10:00 to 14:00.",
    "shipping.md": "Shipping takes 3 to 5 business days. Shipping is free on orders over 50 euros.",
    "horario.md": "Nuestro horario de atención es de lunes a viernes de 9 a 18 horas.",
}
INSTRUCTIONS = "You are the assistant of Casa Pepe.\n" + "\n".join(
    f'<knowledge document="{name}" chunk="0">{text}</knowledge>' for name, text in KNOWLEDGE.items()
)


class ReplyButton(BaseModel):
    id: str
    title: str


class ReplyForm(BaseModel):
    kind: Literal["buttons", "list", "cta_url"]
    buttons: list[ReplyButton]


class AssistantAnswer(BaseModel):
    """A local copy of the assistant's answer (docs/assistant-openai.md)."""

    intent: Literal[
        "greeting",
        "question",
        "booking",
        "order_status",
        "complaint",
        "human_request",
        "opt_out",
        "spam",
        "other",
    ]
    confidence: float
    language: str
    reply: str
    sources: list[str]
    form: ReplyForm | None


@pytest.fixture(scope="module")
def standin() -> Iterator[Standin]:
    with Standin() as server:
        yield server


@pytest.fixture
def client(standin: Standin) -> LLMClient:
    standin.reset()
    return LLMClient(api_key=KEY, base_url=standin.base_url, timeout=2.0, max_retries=0)


def ask(client: LLMClient, text: str, *, turns: list[str] | None = None) -> AssistantAnswer:
    history = [
        {"role": "user" if i % 2 == 0 else "assistant", "content": t}
        for i, t in enumerate(turns or [])
    ]
    answer, usage = client.parse(
        model="gpt-4.1-mini",
        instructions=INSTRUCTIONS,
        turns=[*history, {"role": "user", "content": text}],  # type: ignore[list-item]
        schema=AssistantAnswer,
    )
    assert usage.input_tokens > 0 and usage.output_tokens > 0
    return answer


def test_structured_answer_is_grounded_in_the_right_document(client: LLMClient) -> None:
    answer = ask(client, "What are your opening hours on Saturday?")
    assert answer.intent == "question"
    assert answer.sources == ["hours.md"]
    assert "Saturdays" in answer.reply
    assert answer.confidence >= 0.7
    assert ask(client, "How long does shipping take?").sources == ["shipping.md"]
    spanish = ask(client, "¿Cuál es el horario de atención?")
    assert (spanish.sources, spanish.language) == (["horario.md"], "es")


def test_nothing_relevant_is_other_with_low_confidence(client: LLMClient) -> None:
    answer = ask(client, "Do you sell garden gnomes in purple?")
    assert (answer.intent, answer.confidence, answer.sources) == ("other", 0.4, [])


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("hola, quiero hablar con un humano", "es"),
        ("I want to talk to a real person please", "en"),
        ("olá, quero falar com um atendente", "pt"),
    ],
)
def test_human_request_in_three_languages(client: LLMClient, text: str, language: str) -> None:
    answer = ask(client, text)
    assert (answer.intent, answer.language) == ("human_request", language)
    assert answer.confidence >= 0.9 and answer.reply


def test_the_request_carries_instructions_and_every_turn(
    client: LLMClient, standin: Standin
) -> None:
    ask(client, "and on Saturday?", turns=["What are your opening hours?", "9 to 18."])
    (request,) = standin.requests("/v1/responses")
    body = request["body"]
    assert body["instructions"] == INSTRUCTIONS
    assert [t["content"] for t in body["input"]] == [
        "What are your opening hours?",
        "9 to 18.",
        "and on Saturday?",
    ]
    assert body["text"]["format"]["type"] == "json_schema"
    assert body["text"]["format"]["strict"] is True
    assert body["store"] is False


def test_embeddings_order_texts_by_similarity(client: LLMClient, standin: Standin) -> None:
    texts = [
        "What time do you open on Saturday?",
        "Opening hours: Saturdays from 10:00 to 14:00.",
        "Shipping is free on orders over 50 euros.",
    ]
    vectors, usage = client.embed(texts)
    assert len(vectors) == 3 and all(len(v) == EMBED_DIMENSIONS for v in vectors)
    assert all(abs(sum(x * x for x in v) - 1) < 1e-4 for v in vectors)

    def cos(a: list[float], b: list[float]) -> float:
        return sum(x * y for x, y in zip(a, b, strict=True))

    assert cos(vectors[0], vectors[1]) > cos(vectors[0], vectors[2]) + 0.2
    assert usage.input_tokens > 0 and usage.output_tokens == 0
    (request,) = standin.requests("/v1/embeddings")
    assert request["body"]["dimensions"] == EMBED_DIMENSIONS
    assert client.embed([]) == ([], Usage())
    short, _ = client.embed(["hello"], dimensions=64)
    assert len(short[0]) == 64


def test_transcription_and_image_description(client: LLMClient, standin: Standin) -> None:
    audio = b"OggS\x00\x02 fake opus " + "TRANSCRIPT: hola, ¿abren el sábado?".encode()
    assert client.transcribe(audio, filename="voice.ogg") == "hola, ¿abren el sábado?"
    assert client.transcribe(b"OggS\x00\x02", filename="voice.ogg")  # a fixed text
    (request, _) = standin.requests("/v1/audio/transcriptions")
    assert request["body"]["filename"] == "voice.ogg"
    assert request["body"]["model"] == "gpt-4o-mini-transcribe"
    text, usage = client.describe_image(
        b"\x89PNG 1234", mime_type="image/png", prompt="Describe briefly", model="gpt-4.1-mini"
    )
    assert text == "An image (image/png, 9 bytes)." and usage.total > 0


def test_rate_limit_is_rate_limited_with_retry_after(client: LLMClient, standin: Standin) -> None:
    standin.add_fault({"status": 429, "retry_after": 7})
    with pytest.raises(LLMError) as caught:
        ask(client, "hello")
    assert (caught.value.kind, caught.value.retry_after, caught.value.status) == (
        "rate_limited",
        7.0,
        429,
    )
    assert isinstance(caught.value, TransientError)
    assert ask(client, "hello").intent == "greeting"  # the fault was used up


@pytest.mark.parametrize("status", [500, 503])
def test_server_error_is_unavailable(client: LLMClient, standin: Standin, status: int) -> None:
    standin.add_fault({"status": status, "path": "/v1/embeddings"})
    with pytest.raises(LLMError) as caught:
        client.embed(["x"])
    assert caught.value.kind == "unavailable"


def test_other_4xx_is_refused(client: LLMClient, standin: Standin) -> None:
    standin.add_fault({"status": 400})
    with pytest.raises(LLMError) as caught:
        client.transcribe(b"TRANSCRIPT: hi", filename="a.ogg")
    assert caught.value.kind == "refused"


def test_timeout_is_timeout(standin: Standin) -> None:
    standin.reset()
    slow = LLMClient(api_key=KEY, base_url=standin.base_url, timeout=0.3, max_retries=0)
    standin.add_fault({"timeout": True, "hold_seconds": 2})
    with pytest.raises(LLMError) as caught:
        slow.embed(["x"])
    assert caught.value.kind == "timeout"


def test_connection_refused_is_unavailable() -> None:
    nowhere = LLMClient(api_key=KEY, base_url="http://127.0.0.1:9/v1", timeout=1, max_retries=0)
    with pytest.raises(LLMError) as caught:
        nowhere.embed(["x"])
    assert caught.value.kind == "unavailable"


def test_the_sdk_retries_once(standin: Standin) -> None:
    standin.reset()
    retrying = LLMClient(api_key=KEY, base_url=standin.base_url, timeout=2)
    standin.add_fault({"status": 500})
    vectors, _ = retrying.embed(["x"])  # the one retry succeeds
    assert len(vectors) == 1
    assert len(standin.requests("/v1/embeddings")) == 2
    standin.add_fault({"status": 500, "count": 2})
    with pytest.raises(LLMError):
        retrying.embed(["x"])
    assert len(standin.requests("/v1/embeddings")) == 4  # never a third attempt


def test_no_text_or_key_in_errors_or_logs(
    client: LLMClient,
    standin: Standin,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    seen: list[str] = [repr(client)]
    for fault in ({"status": 429, "retry_after": 1}, {"status": 500}, {"status": 400}):
        standin.add_fault(fault)
        with pytest.raises(LLMError) as caught:
            ask(client, MARKER)
        error = caught.value
        assert error.__cause__ is None and error.__suppress_context__
        seen += [str(error), repr(error), str(error.args)]
    ask(client, MARKER)
    out = capsys.readouterr()
    seen += [caplog.text, out.out, out.err]
    for text in seen:
        assert MARKER not in text and "MARKER" not in text
        assert KEY not in text


def test_importing_the_package_loads_neither_openai_nor_pydantic() -> None:
    root = Path(__file__).resolve().parents[2]
    code = "import sys, wacloud.llm; print('openai' in sys.modules, 'pydantic' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={"PYTHONPATH": str(root / "layers" / "common" / "python")},
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.split() == ["False", "False"]


# -- configured_llm_client -------------------------------------------------------------


@pytest.fixture
def secret_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    from aws_lambda_powertools.utilities import parameters

    monkeypatch.setenv("TABLE_NAME", "state")
    monkeypatch.setenv("META_SECRET_ID", "meta")
    monkeypatch.setenv("OPENAI_SECRET_ID", "openai")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    config.settings.cache_clear()
    parameters.clear_caches()  # type: ignore[no-untyped-call]
    configured_llm_client.cache_clear()  # type: ignore[attr-defined]
    with mock_aws():
        yield boto3.client("secretsmanager", region_name="us-east-1")
    config.settings.cache_clear()
    parameters.clear_caches()  # type: ignore[no-untyped-call]
    configured_llm_client.cache_clear()  # type: ignore[attr-defined]


def test_configured_client_reads_the_secret_once_per_key(
    secret_env: object, standin: Standin
) -> None:
    from aws_lambda_powertools.utilities import parameters

    sm = secret_env
    value = {"api_key": KEY, "base_url": standin.base_url}
    sm.create_secret(Name="openai", SecretString=json.dumps(value))  # type: ignore[attr-defined]
    client = configured_llm_client()
    assert client.base_url == standin.base_url
    assert configured_llm_client() is client
    assert client.embed(["hi"])[0]
    rotated = {"api_key": "sk-rotated", "base_url": standin.base_url}
    sm.put_secret_value(SecretId="openai", SecretString=json.dumps(rotated))  # type: ignore[attr-defined]
    parameters.clear_caches()  # type: ignore[no-untyped-call]  # Powertools' max age passing
    assert configured_llm_client() is not client


def test_configured_client_without_a_key_is_a_configuration_error(secret_env: object) -> None:
    sm = secret_env
    sm.create_secret(Name="openai", SecretString='{"api_key": "", "placeholder": "x"}')  # type: ignore[attr-defined]
    with pytest.raises(ConfigurationError):
        configured_llm_client()
