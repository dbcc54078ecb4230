"""Splitting webhooks into single-item envelopes (dict-only hot path)."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from wacloud.inbound.split import item_key, split_webhook
from wacloud.models.webhook.keys import ITEM_KEYS
from wacloud.models.webhook.parse import (
    ErrorUpdate,
    FieldUpdate,
    MessageUpdate,
    StatusUpdate,
    iter_updates,
    parse_webhook,
)

CORPUS = Path(__file__).resolve().parents[1] / "payloads"
NAMES = sorted(p.stem for p in CORPUS.glob("*.json"))
USER = "15551234567"
USER2 = "15557654321"

AnyUpdate = MessageUpdate | StatusUpdate | FieldUpdate | ErrorUpdate


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((CORPUS / f"{name}.json").read_text())
    return data


def the_change(piece: dict[str, Any]) -> dict[str, Any]:
    (entry,) = piece["entry"]
    (change,) = entry["changes"]
    assert isinstance(change, dict)
    return change


def items_of(value: dict[str, Any]) -> list[tuple[str, str]]:
    """(list key, canonical JSON) of every item in a value."""
    return [
        (key, json.dumps(item, sort_keys=True))
        for key in ITEM_KEYS
        if isinstance(value.get(key), list)
        for item in value[key]
    ]


def all_items(payload: dict[str, Any]) -> Counter[tuple[str, str]]:
    found: Counter[tuple[str, str]] = Counter()
    for entry in payload["entry"]:
        for change in entry["changes"]:
            found.update(items_of(change["value"]))
    return found


def model_updates(body: object) -> list[AnyUpdate]:
    return list(iter_updates(parse_webhook(json.dumps(body))))


@pytest.mark.parametrize("name", NAMES)
def test_every_item_lands_in_exactly_one_piece(name: str) -> None:
    payload = load(name)
    pieces = split_webhook(payload)
    assert sum((all_items(p) for p in pieces), Counter()) == all_items(payload)
    assert len(pieces) == len(model_updates(payload))


@pytest.mark.parametrize("name", NAMES)
def test_each_piece_is_one_meta_shaped_single_item_webhook(name: str) -> None:
    payload = load(name)
    for piece in split_webhook(payload):
        assert piece["object"] == "whatsapp_business_account"
        (entry,) = piece["entry"]
        heads = [{k: v for k, v in e.items() if k != "changes"} for e in payload["entry"]]
        assert {k: v for k, v in entry.items() if k != "changes"} in heads
        change = the_change(piece)
        value = change["value"]
        assert isinstance(change["field"], str)
        assert len(items_of(value)) <= 1
        if items_of(value):
            assert value.get("messaging_product") == "whatsapp"
            assert "phone_number_id" in value["metadata"]


@pytest.mark.parametrize("name", NAMES)
def test_each_piece_reparses_to_one_update_with_the_same_key(name: str) -> None:
    payload = load(name)
    model_keys = Counter(u.dedupe_key for u in model_updates(payload))
    piece_keys: Counter[str] = Counter()
    for piece in split_webhook(payload):
        (update,) = model_updates(piece)
        assert update.dedupe_key == item_key(piece)
        piece_keys[item_key(piece)] += 1
    assert piece_keys == model_keys


@pytest.mark.parametrize("name", NAMES)
def test_pieces_keep_update_content_and_order(name: str) -> None:
    """Piece i re-parses to exactly update i of the whole payload."""
    payload = load(name)
    assert [model_updates(p)[0] for p in split_webhook(payload)] == model_updates(payload)


@pytest.mark.parametrize("name", NAMES)
def test_splitting_is_idempotent_and_does_not_mutate(name: str) -> None:
    payload = load(name)
    before = copy.deepcopy(payload)
    pieces = split_webhook(payload)
    assert payload == before
    for piece in pieces:
        assert split_webhook(piece) == [piece]


def test_batch_pieces_carry_only_their_own_contacts() -> None:
    pieces = split_webhook(load("batch_mixed"))
    by_key = {item_key(p): the_change(p)["value"] for p in pieces}
    first = by_key["msg:wamid.HBgLMTU1NTEyMzQ1NjcVAgASGBQzTEXT0011"]
    second = by_key["msg:wamid.HBgLMTU1NTEyMzQ1NjcVAgASGBQzIMAGE0012"]
    assert [c["wa_id"] for c in first["contacts"]] == [USER]
    assert [c["wa_id"] for c in second["contacts"]] == [USER2]
    # a status keeps its recipient's contact; a WABA-level value has none to keep
    statuses = [v for v in by_key.values() if "statuses" in v]
    assert len(statuses) == 3
    assert statuses[0]["contacts"] == [first["contacts"][0]]
    assert all("contacts" not in v for v in statuses[1:])


def test_missing_contacts_stay_missing() -> None:
    for name in ("message_missing_contacts", "message_system_user_changed_number", "value_errors"):
        (piece,) = split_webhook(load(name))
        assert "contacts" not in the_change(piece)["value"]


def test_user_preferences_pieces_match_contacts_by_wa_id() -> None:
    pieces = split_webhook(load("field_user_preferences_multi"))
    assert [the_change(p)["value"]["contacts"] for p in pieces] == [
        [{"wa_id": USER}],
        [{"wa_id": USER2}],
    ]


def test_calls_and_errors_split_apart() -> None:
    call, error = split_webhook(load("field_calls_terminate_with_errors"))
    assert set(the_change(call)["value"]) == {"messaging_product", "metadata", "calls"}
    assert set(the_change(error)["value"]) == {"messaging_product", "metadata", "errors"}


def test_non_item_lists_are_kept_whole() -> None:
    payload = load("field_account_update_restriction")
    (piece,) = split_webhook(payload)
    assert piece == payload


def test_empty_item_lists_are_dropped_from_pieces() -> None:
    payload = load("status_read")
    payload["entry"][0]["changes"][0]["value"]["messages"] = []
    (piece,) = split_webhook(payload)
    assert "messages" not in the_change(piece)["value"]
    (update,) = model_updates(piece)
    assert isinstance(update, StatusUpdate)


def test_unrecognised_shapes_pass_through_whole() -> None:
    not_a_webhook: dict[str, Any] = {"hello": "world"}
    assert split_webhook(not_a_webhook) == [not_a_webhook]
    assert item_key(not_a_webhook).startswith("raw:")

    odd: dict[str, Any] = {
        "object": "whatsapp_business_account",
        "entry": [
            {"id": "200000000000001", "changes": "nope"},
            {"id": "200000000000001", "changes": [{"field": "messages", "value": None}, 7]},
        ],
    }
    pieces = split_webhook(odd)
    assert [p["entry"][0] for p in pieces[:1]] == [odd["entry"][0]]
    assert [p["entry"][0]["changes"] for p in pieces[1:]] == [
        [{"field": "messages", "value": None}],
        [7],
    ]
    assert all(item_key(p).startswith("raw:") for p in pieces)


def test_pieces_of_a_big_batch_are_all_distinct() -> None:
    base = load("message_text")
    change = base["entry"][0]["changes"][0]
    template = change["value"]["messages"][0]
    change["value"]["messages"] = [{**template, "id": f"wamid.N{i}"} for i in range(1000)]
    pieces = split_webhook(base)
    assert len({item_key(p) for p in pieces}) == 1000


def test_splitter_does_not_import_pydantic() -> None:
    code = (
        "import sys, wacloud.inbound.split as s;"
        "s.split_webhook({'entry': []});"
        "assert 'pydantic' not in sys.modules, 'pydantic imported'"
    )
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=root,
        env={"PYTHONPATH": str(root / "layers" / "common" / "python")},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_change_without_value_agrees_with_model() -> None:
    payload: dict[str, Any] = {
        "object": "whatsapp_business_account",
        "entry": [{"id": "200000000000001", "time": 1_750_000_600, "changes": [{"field": "x"}]}],
    }
    (piece,) = split_webhook(payload)
    (update,) = model_updates(piece)
    assert isinstance(update, FieldUpdate)
    assert update.value == {}
    assert update.dedupe_key == item_key(piece)
