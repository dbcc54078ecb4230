"""receive_webhook: status codes, what is queued, and that nothing 200 is lost."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from wacloud.inbound.receive import MAX_BODY_BYTES, is_single_item, receive_webhook
from wacloud.inbound.signature import sign
from wacloud.inbound.split import item_key, split_webhook
from wacloud.inbound.tenancy import WebhookApps
from wacloud.infra.credentials import MetaCredentials

SECRET = b"app-secret"
# Two apps: the default (SECRET, whose numbers the payloads use) and another tenant's.
APPS = WebhookApps.from_credentials(
    MetaCredentials.from_json(
        {
            "app_secret": SECRET.decode(),
            "tenants": {"999000000000001": {"app_secret": "other", "waba_id": "999000000000009"}},
        }
    )
)
ONE_APP = WebhookApps.single(SECRET)
PAYLOADS = Path(__file__).parent.parent / "payloads"


def _load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((PAYLOADS / name).read_text())
    return data


def _no_park(body: bytes) -> str:
    raise AssertionError("a readable webhook must not be parked")


def _post(body: bytes, header: str | None = "sign") -> tuple[Any, list[str]]:
    queued: list[str] = []
    if header == "sign":
        header = sign(body, SECRET)
    result = receive_webhook(body, header, APPS, queued.extend, _no_park)
    return result, queued


def test_over_3_mb_is_413_before_the_signature_is_computed() -> None:
    body = b" " * (MAX_BODY_BYTES + 1)
    result, queued = _post(body, header=None)
    assert (result.status, queued) == (413, [])


def test_exactly_3_mb_is_accepted_size_wise() -> None:
    body = b'{"entry":[]}' + b" " * (MAX_BODY_BYTES - 12)
    result, queued = _post(body)
    assert (result.status, result.items, result.parked, queued) == (200, 0, None, [])


@pytest.mark.parametrize(
    ("header", "status"),
    [
        (None, 401),
        ("", 401),
        ("sha1=abc", 403),
        ("sha256=" + "0" * 10, 403),
        ("sha256=" + "0" * 64, 403),
    ],
)
def test_signature_failures(header: str | None, status: int) -> None:
    result, queued = _post(json.dumps(_load("message_text.json")).encode(), header=header)
    assert (result.status, queued) == (status, [])


@pytest.mark.parametrize(
    "body", [b"{not json", b"\xff\xfe{}", b"[]", b'{"object": "x"}', b'{"entry": {}}']
)
def test_signed_but_not_a_webhook_is_parked_and_answered_200(body: bytes) -> None:
    """A retry would be refused the same way for a week: keep the body, answer 200."""
    parked: list[bytes] = []

    def park(raw: bytes) -> str:
        parked.append(raw)
        return "webhooks/unparsed/x.json"

    queued: list[str] = []
    result = receive_webhook(body, sign(body, SECRET), APPS, queued.extend, park)
    assert (result.status, result.items, queued, parked) == (200, 0, [], [body])
    assert result.parked and result.parked_at == "webhooks/unparsed/x.json"


def test_single_item_webhook_is_queued_as_the_exact_bytes() -> None:
    body = (PAYLOADS / "message_text.json").read_bytes()
    result, queued = _post(body)
    assert (result.status, result.items) == (200, 1)
    assert queued == [body.decode()]


def test_batched_webhook_is_split_one_item_per_body() -> None:
    payload = _load("batch_mixed.json")
    result, queued = _post(json.dumps(payload).encode())
    expected = split_webhook(payload)
    assert result.status == 200 and result.items == len(expected) > 1
    assert [json.loads(b) for b in queued] == expected
    keys = [item_key(json.loads(b)) for b in queued]
    assert len(set(keys)) == len(keys)


@pytest.mark.parametrize("text", ["\ufffe", "\ud83d", "caf\u00e9 \U0001f600"])
def test_non_ascii_is_queued_in_characters_sqs_accepts(text: str) -> None:
    """SQS refuses U+FFFE and lone surrogates; escaped JSON carries them safely."""
    payload = _load("message_text.json")
    payload["entry"][0]["changes"][0]["value"]["messages"][0]["text"]["body"] = text
    raw = json.dumps(payload, ensure_ascii=False).encode("utf-8", "surrogatepass")
    if text == "\ud83d":  # a lone surrogate cannot be raw UTF-8; Meta would escape it
        raw = json.dumps(payload).encode()
    result, queued = _post(raw)
    assert result.status == 200
    assert all(_sqs_accepts(c) for c in queued[0]), queued[0]
    assert json.loads(queued[0])["entry"][0]["changes"][0]["value"]["messages"][0]["text"][
        "body"
    ] == (text)


def _sqs_accepts(char: str) -> bool:
    """SQS message bodies allow #x9 #xA #xD #x20-#xD7FF #xE000-#xFFFD #x10000-#x10FFFF."""
    code = ord(char)
    return (
        code in (0x9, 0xA, 0xD)
        or 0x20 <= code <= 0xD7FF
        or 0xE000 <= code <= 0xFFFD
        or 0x10000 <= code <= 0x10FFFF
    )


@pytest.mark.parametrize(
    "body",
    [
        b'{"entry":[{"id":"1","changes":[{"field":"messages","value":{"n":123456789012345678901234567890,"messages":[{"id":"a"},{"id":"b"}]}}]}]}',
        b'{"entry":[{"id":"1","changes":[{"field":"messages","value":{"messages":[{"id":"\\ud800"},{"id":"b"}]}}]}]}',
    ],
    ids=["integer beyond 64 bits", "lone surrogate escape"],
)
def test_split_keeps_what_the_fast_parser_would_change(body: bytes) -> None:
    """orjson reads huge integers as floats and refuses lone surrogates; neither may
    change or lose an item."""
    result, queued = _post(body)
    assert (result.status, result.items) == (200, 2)
    assert [json.loads(b) for b in queued] == split_webhook(json.loads(body))
    assert all(_sqs_accepts(c) for b in queued for c in b)


def test_enqueue_failure_propagates_so_the_caller_answers_500() -> None:
    def broken(bodies: list[str]) -> None:
        raise RuntimeError("SQS down")

    body = (PAYLOADS / "message_text.json").read_bytes()
    with pytest.raises(RuntimeError):
        receive_webhook(body, sign(body, SECRET), APPS, broken, _no_park)


@pytest.mark.parametrize("name", sorted(p.name for p in PAYLOADS.glob("*.json")))
def test_every_corpus_payload_is_queued_whole(name: str) -> None:
    """Across the corpus: the queued items are exactly the split items (no loss)."""
    payload = _load(name)
    result, queued = _post(json.dumps(payload, separators=(",", ":")).encode())
    assert result.status == 200
    assert [item_key(json.loads(b)) for b in queued] == [
        item_key(p) for p in split_webhook(payload)
    ]
    if is_single_item(payload):
        assert len(split_webhook(payload)) == 1


def test_cpu_per_webhook_is_small() -> None:
    """Guard against regressions: a single-item webhook costs tens of microseconds of
    CPU (signature + parse + queue body); the budget is generous for loaded CI."""
    body = json.dumps(_load("message_text.json"), separators=(",", ":")).encode()
    header = sign(body, SECRET)
    sink: list[str] = []
    for _ in range(200):
        receive_webhook(body, header, APPS, sink.extend, _no_park)
    runs = 2000
    started = time.process_time()
    for _ in range(runs):
        receive_webhook(body, header, APPS, sink.extend, _no_park)
    per_call_us = (time.process_time() - started) / runs * 1e6
    assert per_call_us < 200, per_call_us
