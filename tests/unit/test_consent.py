"""Consent changes apply only if newer than the contact's last one (replays, reordering)."""

from __future__ import annotations

import copy
import itertools
import json
from pathlib import Path
from typing import Any

import pytest

from tests.unit.indexed_table import indexed_state_table
from wacloud.inbound.processor import OPT_IN_CONFIRMATION, OPT_OUT_CONFIRMATION, InboundProcessor
from wacloud.inbound.responder import EchoResponder
from wacloud.store import contacts

PAYLOADS = Path(__file__).parent.parent / "payloads"
PNID = "100000000000001"
CUSTOMER = "15551234567"


@pytest.fixture
def table(monkeypatch: pytest.MonkeyPatch) -> Any:
    with indexed_state_table(monkeypatch) as name:
        yield name


class Replies:
    def __init__(self) -> None:
        self.bodies: list[str] = []

    def submit(self, docs: list[dict[str, Any]]) -> None:
        self.bodies.extend(d["text"]["body"] for d in docs)


def processor(replies: Replies) -> InboundProcessor:
    return InboundProcessor(responder=EchoResponder(), submit=replies.submit)


def keyword(word: str, at: int, wamid: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((PAYLOADS / "message_text.json").read_text())
    message = doc["entry"][0]["changes"][0]["value"]["messages"][0]
    message.update({"id": wamid, "timestamp": str(at)})
    message["text"]["body"] = word
    return doc


def preference(value: str, at: int) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((PAYLOADS / "field_user_preferences_stop.json").read_text())
    item = doc["entry"][0]["changes"][0]["value"]["user_preferences"][0]
    item.update({"value": value, "timestamp": at})
    return doc


def opted_out() -> bool:
    contact = contacts.load(PNID, CUSTOMER)
    assert contact is not None
    return bool(contact["opted_out_marketing"])


def test_replayed_old_opt_out_after_an_opt_in_stays_opted_in(table: str) -> None:
    replies = Replies()
    stop = keyword("STOP", 1_750_000_000, "wamid.STOP")
    processor(replies).process(stop)
    processor(replies).process(keyword("START", 1_750_000_100, "wamid.START"))
    assert not opted_out()
    # Meta redelivers the STOP after the 8-day idempotency window: a fresh processor,
    # as a Lambda that no longer remembers the item.
    effects = processor(replies).process(copy.deepcopy(stop))
    assert effects[0].notes == ["consent_superseded"]
    assert not opted_out()
    assert replies.bodies == [OPT_OUT_CONFIRMATION, OPT_IN_CONFIRMATION]  # no new confirmation
    contact = contacts.load(PNID, CUSTOMER)
    assert contact is not None and contact["consent_at"] == 1_750_000_100


def test_replayed_user_preferences_stop_after_resume_stays_opted_in(table: str) -> None:
    replies = Replies()
    processor(replies).process(preference("stop", 1_750_000_300))
    assert opted_out()
    processor(replies).process(preference("resume", 1_750_000_400))
    effects = processor(replies).process(preference("stop", 1_750_000_300))
    assert effects[0].notes == ["consent_superseded"]
    assert not opted_out()


@pytest.mark.parametrize(
    "order",
    list(itertools.permutations(range(4))),
    ids=lambda order: "-".join(map(str, order)),
)
def test_out_of_order_changes_converge_to_the_newest(table: str, order: tuple[int, ...]) -> None:
    changes = [
        keyword("STOP", 1_750_000_010, "wamid.A"),
        preference("resume", 1_750_000_020),
        keyword("START", 1_750_000_030, "wamid.B"),
        preference("stop", 1_750_000_040),  # the newest: opted out
    ]
    for index in order:
        processor(Replies()).process(copy.deepcopy(changes[index]))
    assert opted_out()
    contact = contacts.load(PNID, CUSTOMER)
    assert contact is not None and contact["consent_at"] == 1_750_000_040
    assert contact["opted_out_marketing_reason"] == "user_preferences"


@pytest.mark.parametrize("first", ["stop", "resume"])
def test_same_second_opt_out_wins_whatever_the_order(table: str, first: str) -> None:
    second = "resume" if first == "stop" else "stop"
    processor(Replies()).process(preference(first, 1_750_000_500))
    processor(Replies()).process(preference(second, 1_750_000_500))
    assert opted_out()


def test_retried_item_reapplies_and_confirms_again(table: str) -> None:
    """A retry of the same item (same time, same choice) is applied again, so a
    crash between the consent write and the reply still confirms (the reply's
    idempotency key keeps it to one message)."""
    replies = Replies()
    start = keyword("START", 1_750_000_600, "wamid.S1")
    processor(replies).process(start)
    processor(replies).process(copy.deepcopy(start))
    assert replies.bodies == [OPT_IN_CONFIRMATION, OPT_IN_CONFIRMATION]
    assert not opted_out()


def test_a_flag_set_without_a_time_is_superseded_by_any_change(table: str) -> None:
    contacts.set_flag(PNID, CUSTOMER, "opted_out_marketing", True, reason="import")
    assert contacts.apply_consent(
        PNID, CUSTOMER, opted_out=False, at=1_700_000_000, reason="keyword:START"
    )
    assert not opted_out()
