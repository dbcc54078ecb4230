"""Signed bodies that are not readable webhooks are parked and answered 200.

Meta retries a non-200 for a week and the body would never be kept; parking stores
it once (``webhooks/unparsed/<sha256>.json``, see test_webhook_receive_app) and
answers 200. Duplicate keys, which parsers resolve by silently dropping a value, park
the body too.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import orjson
import pytest

from wacloud.inbound.receive import (
    ReceiveResult,
    _has_duplicate_keys,
    _may_have_duplicate_keys,
    receive_webhook,
)
from wacloud.inbound.signature import sign
from wacloud.inbound.tenancy import WebhookApps

# Part of the bad-input suite (README, "Security"): `pytest -m bad_input`.
pytestmark = pytest.mark.bad_input

SECRET = b"app-secret"
APPS = WebhookApps.single(SECRET)
PAYLOADS = Path(__file__).parent.parent / "payloads"


def post(body: bytes, header: str | None = "sign") -> tuple[ReceiveResult, list[str], list[bytes]]:
    queued: list[str] = []
    parked: list[bytes] = []

    def park(raw: bytes) -> str:
        parked.append(raw)
        return f"webhooks/unparsed/{len(parked)}.json"

    if header == "sign":
        header = sign(body, SECRET)
    return receive_webhook(body, header, APPS, queued.extend, park), queued, parked


def message_text() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((PAYLOADS / "message_text.json").read_text())
    return data


def compact(doc: object) -> bytes:
    return json.dumps(doc, separators=(",", ":")).encode()


DEEP = b"[" * 100_000 + b"]" * 100_000


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (DEEP, "nested too deeply"),
        (b'{"entry":[' + DEEP + b"]}", "nested too deeply"),
        (b'{"entry":[{"changes":[' + b"{" * 50_000 + b"}" * 50_000 + b"]}]}", None),
        (b'{"entry":[{"id":"\xff\xfe"}]}', "not UTF-8 JSON"),
        (b"\xed\xa0\x80", "not UTF-8 JSON"),  # a surrogate encoded as UTF-8 is invalid
        (b"MARKER-TEXT-7731 is not json", "not UTF-8 JSON"),
        (b"", "not UTF-8 JSON"),
        (b"[]", "not a webhook (no entry list)"),
        (b'{"entry": {"id": "1"}}', "not a webhook (no entry list)"),
        (b'"entry"', "not a webhook (no entry list)"),
    ],
    ids=[
        "100k nested arrays",
        "100k nested arrays in entry",
        "50k nested objects (invalid)",
        "invalid UTF-8",
        "encoded surrogate",
        "not JSON",
        "empty",
        "a list",
        "entry not a list",
        "a string",
    ],
)
def test_unreadable_signed_body_is_parked_once_and_answered_200(
    body: bytes, reason: str | None
) -> None:
    result, queued, parked = post(body)
    assert (result.status, result.items, queued, parked) == (200, 0, [], [body])
    assert result.parked is not None
    if reason is not None:
        assert result.parked == reason
    assert result.parked_at == "webhooks/unparsed/1.json"
    assert "MARKER" not in result.parked


@pytest.mark.parametrize("depth", [50, 254, 300, 990, 1000, 1023, 1030, 5000])
def test_deep_but_finite_items_are_queued_or_parked_never_raised(depth: int) -> None:
    """orjson parses 1,024 levels but serialises 254; the stdlib stops near the
    interpreter's recursion limit. Whatever the depth, Meta gets 200 and the body is
    either queued whole or parked -- in both the single and the batched shape."""
    for items in (1, 2):
        doc = message_text()
        value = doc["entry"][0]["changes"][0]["value"]
        value["messages"][0]["deep"] = "DEEP"
        value["messages"] = value["messages"] * items
        nested = "[" * depth + '"x"' + "]" * depth
        body = compact(doc).replace(b'"DEEP"', nested.encode())
        result, queued, parked = post(body)
        assert result.status == 200
        assert (len(queued), len(parked)) in ((items, 0), (0, 1)), (depth, items)
        assert all(nested in q for q in queued)


def test_unsigned_or_wrongly_signed_unreadable_bodies_keep_401_and_403() -> None:
    for header, status in ((None, 401), ("sha256=" + "0" * 64, 403), ("sha1=x", 403)):
        result, queued, parked = post(DEEP, header)
        assert (result.status, queued, parked) == (status, [], [])


def test_a_park_failure_propagates_so_the_caller_answers_500() -> None:
    def broken(raw: bytes) -> str:
        raise RuntimeError("S3 down")

    with pytest.raises(RuntimeError):
        receive_webhook(b"{", sign(b"{", SECRET), APPS, list().extend, broken)


# ------------------------------------------------------------------ duplicate keys
def _with_duplicate(doc: dict[str, Any], where: str) -> bytes:
    """``doc`` with a key repeated: the repeat is written first, so parsers keep the
    original and silently drop the repeat (an item, or a different number)."""
    needle, repeat = {
        "entry": ('"entry":', '"entry":[{"id":"9","changes":[]}],"entry":'),
        "messages": ('"value":{', '"value":{"messages":[{"id":"wamid.HIDDEN"}],'),
        "phone_number_id": ('"metadata":{', '"metadata":{"phone_number_id":"100000000000999",'),
    }[where]
    body = compact(doc).decode()
    assert needle in body
    return body.replace(needle, repeat, 1).encode()


@pytest.mark.parametrize("where", ["entry", "messages", "phone_number_id"])
def test_duplicate_keys_are_parked_not_half_read(where: str) -> None:
    body = _with_duplicate(message_text(), where)
    assert _has_duplicate_keys(body)
    result, queued, parked = post(body)
    assert (result.status, queued, parked, result.parked) == (
        200,
        [],
        [body],
        "duplicate JSON keys",
    )


def test_duplicate_keys_in_a_batch_are_parked() -> None:
    doc = message_text()
    value = doc["entry"][0]["changes"][0]["value"]
    value["messages"] = value["messages"] * 3
    body = _with_duplicate(doc, "messages")
    result, queued, parked = post(body)
    assert (queued, parked, result.parked) == ([], [body], "duplicate JSON keys")


def test_whitespace_before_colons_does_not_hide_a_duplicate() -> None:
    body = b'{"entry" :[{"id":"1","changes":[]}],  "entry"\n:\t[{"id":"2","changes":[]}]}'
    assert post(body)[0].parked == "duplicate JSON keys"


def test_escaped_colons_cannot_balance_a_dropped_key() -> None:
    """The dropped value holds no colon but a kept string spells one as \\u003a:
    counting colons alone would balance; the escape sends it to the strict check."""
    body = b'{"entry":1,"entry":[{"id":"1","changes":[],"t":"\\u003a"}]}'
    assert json.loads(body)["entry"][0]["t"] == ":"
    assert post(body)[0].parked == "duplicate JSON keys"


def test_escapes_and_colons_without_duplicates_are_queued() -> None:
    doc = message_text()
    doc["entry"][0]["changes"][0]["value"]["messages"][0]["text"]["body"] = (
        'a "quoted": colon, \u003a, https://x.example/ \u00e9'
    )
    for body in (
        compact(doc),
        compact(doc).replace(b"\\u00e9", b"\\u003a"),
        json.dumps(doc, indent=2).encode(),
    ):
        result, _, parked = post(body)
        assert (result.items, parked) == (1, []), body


def test_the_cheap_check_never_misses_a_duplicate() -> None:
    """Random JSON objects, some with a repeated key, written with random escapes
    and whitespace: whenever the strict parse finds a duplicate, the cheap check
    must have said "maybe" (seeded, so deterministic)."""
    rng = random.Random(20260101)
    alphabet = ['"', ":", "a", "b", " ", "\\", "\u00e9", "\u003a"]

    def text() -> str:
        return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 4)))

    def value(depth: int) -> Any:
        kind = rng.randint(0, 4 if depth < 3 else 1)
        if kind == 0:
            return text()
        if kind == 1:
            return rng.randint(0, 9)
        if kind == 2:
            return [value(depth + 1) for _ in range(rng.randint(0, 3))]
        return {text(): value(depth + 1) for _ in range(rng.randint(0, 3))}

    def write(obj: Any, dup: bool) -> str:
        ws = rng.choice(["", " ", "\n", "\t "])
        if isinstance(obj, dict):
            pairs = [(k, v) for k, v in obj.items()]
            if dup and pairs:
                k, _ = rng.choice(pairs)
                pairs.insert(rng.randint(0, len(pairs)), (k, value(3)))
            inner = ",".join(
                f"{ws}{json.dumps(k, ensure_ascii=rng.random() < 0.5)}{ws}:{ws}{write(v, dup)}"
                for k, v in pairs
            )
            return "{" + inner + "}"
        if isinstance(obj, list):
            return "[" + ",".join(write(v, dup) for v in obj) + "]"
        out = json.dumps(obj, ensure_ascii=rng.random() < 0.5)
        if isinstance(obj, str) and rng.random() < 0.3:
            out = out.replace(":", "\\u003a").replace("\\u003a", "\\u003A", rng.randint(0, 1))
        return out

    found = 0
    for _ in range(3000):
        obj = {"entry": [value(1)], text(): value(1)}
        body = write(obj, dup=rng.random() < 0.5).encode()
        payload = orjson.loads(body)
        if _has_duplicate_keys(body):
            found += 1
            assert _may_have_duplicate_keys(body, payload), body
    assert found > 500
