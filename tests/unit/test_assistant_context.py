"""The assistant's context (history both ways, budget, summary), prompt and transcripts."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import boto3
import pytest

from tests.unit.indexed_table import indexed_state_table
from wacloud.assistant.context import build_context, estimate_tokens, fit_window, history_turns
from wacloud.assistant.prompt import instructions
from wacloud.infra.clock import iso
from wacloud.infra.dynamo import put
from wacloud.store import contacts, inbound_log
from wacloud.store.assistant import AssistantSettings

PNID, WA = "100000000000001", "5215550001111"


@pytest.fixture
def table(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    with indexed_state_table(monkeypatch) as name:
        yield name


def inbound(wamid: str, text: str, at: float) -> None:
    put(
        {
            "pk": inbound_log.inbound_pk(PNID, wamid),
            "sk": "#",
            "wamid": wamid,
            "direction": "in",
            "type": "text",
            "content": {"type": "text", "text": {"body": text}},
            "gsi1pk": contacts.contact_pk(PNID, WA),
            "gsi1sk": f"{iso(at)}#IN#{wamid}",
        }
    )


def outbound(message_id: str, text: str, at: float, state: str = "sent") -> None:
    submission = {"phone_number_id": PNID, "to": WA, "type": "text", "text": {"body": text}}
    put(
        {
            "pk": f"{PNID}#MSG#{message_id}",
            "sk": "#",
            "direction": "out",
            "state": state,
            "submission": json.dumps(submission),
            "gsi1pk": contacts.contact_pk(PNID, WA),
            "gsi1sk": f"{iso(at)}#OUT",
        }
    )


def test_turns_both_directions_in_order_without_the_current_message(table: str) -> None:
    inbound("w1", "hola", 1000)
    outbound("m1", "¡Hola! ¿En qué te ayudo?", 1001)
    outbound("m2", "never delivered", 1001.5, state="failed")
    inbound("w2", "¿abren el sábado?", 1002)
    inbound("w3", "¿y el domingo?", 1003)
    contacts.record_customer_message(
        PNID,
        WA,
        at=1003,
        profile_name="Ana",
        user_id=None,
        window_seconds=86400,
        free_entry_point=False,
    )
    context = build_context(PNID, WA, "w3", "¿y el domingo?", conversation=None)
    assert context.turns == [
        {"role": "user", "content": "hola"},
        {"role": "assistant", "content": "¡Hola! ¿En qué te ayudo?"},
        {"role": "user", "content": "¿abren el sábado?"},
        {"role": "user", "content": "¿y el domingo?"},
    ]
    assert context.profile_name == "Ana"
    assert context.summary is None and context.to_summarize == []


def test_current_text_read_from_the_record_when_not_given(table: str) -> None:
    put(
        {
            "pk": inbound_log.inbound_pk(PNID, "w9"),
            "sk": "#",
            "wamid": "w9",
            "direction": "in",
            "type": "interactive",
            "content": {
                "type": "interactive",
                "interactive": {
                    "type": "button_reply",
                    "button_reply": {"id": "assist_0", "title": "Horarios"},
                },
            },
            "gsi1pk": contacts.contact_pk(PNID, WA),
            "gsi1sk": f"{iso(5)}#IN#w9",
        }
    )
    context = build_context(PNID, WA, "w9", None, conversation=None)
    assert context.turns == [{"role": "user", "content": "Horarios"}]


def test_window_keeps_the_newest_turns_within_the_budget(table: str) -> None:
    for n in range(20):
        inbound(f"w{n}", f"message number {n:02d} " + "x" * 40, 1000 + n)  # ~14 tokens each
    context = build_context(
        PNID,
        WA,
        "w19",
        "now",
        conversation={"summary": "Wants a cake.", "summary_upto": ""},
        budget_tokens=100,
    )
    kept = context.turns[:-1]
    assert kept[-1]["content"].startswith("message number 18")
    assert sum(estimate_tokens(t["content"]) for t in context.turns) <= 100
    assert len(kept) < 19
    assert context.summary == "Wants a cake."
    # Everything older than the window, newer than the summary, is to be summarised.
    assert context.to_summarize[0].content.startswith("message number 00")
    assert context.to_summarize[-1].content.startswith(f"message number {18 - len(kept):02d}")


def test_summary_covers_turns_up_to_its_mark(table: str) -> None:
    for n in range(20):
        inbound(f"w{n}", f"message number {n:02d} " + "x" * 40, 1000 + n)
    upto = f"{iso(1000 + 12)}#IN#w12"
    context = build_context(
        PNID,
        WA,
        "w19",
        "now",
        conversation={"summary": "S", "summary_upto": upto},
        budget_tokens=100,
    )
    assert context.to_summarize == []  # fewer than SUMMARY_EVERY new turns fell out


def test_fit_window_takes_the_newest() -> None:
    turns = history_turns(
        [
            {
                "direction": "in",
                "wamid": "a",
                "gsi1sk": "1",
                "content": {"text": {"body": "a" * 40}},
            },
            {
                "direction": "in",
                "wamid": "b",
                "gsi1sk": "2",
                "content": {"text": {"body": "b" * 40}},
            },
        ],
        skip_wamid="z",
    )
    kept, dropped = fit_window(turns, 15)
    assert [t.sort_key for t in kept] == ["2"] and [t.sort_key for t in dropped] == ["1"]


@dataclass
class P:
    document: str
    chunk: int
    score: float
    text: str


def test_prompt_has_settings_local_time_and_knowledge() -> None:
    settings = AssistantSettings(
        enabled=True,
        business_name="Panadería Sol",
        tone="cálido",
        time_zone="America/Bogota",
        may_promise=("delivery within 2 hours in Bogotá",),
        must_not_promise=("refunds",),
    )
    from wacloud.assistant.context import ConversationContext

    context = ConversationContext(
        turns=[{"role": "user", "content": "hi"}],
        summary="Asked about cakes.",
        profile_name="Ana",
        tags=("vip",),
    )
    at = datetime(2026, 3, 2, 14, 30, tzinfo=UTC).timestamp()  # Monday 09:30 in Bogota
    text = instructions(settings, context, [P("faq.md", 3, 0.9, 'Open "late" <b>&</b>')], at=at)
    assert "Panadería Sol" in text and "cálido" in text
    assert "Monday 2026-03-02 09:30 (open now)" in text
    assert "mon 09:00-18:00" in text and "America/Bogota" in text
    assert "delivery within 2 hours" in text and "Never promise: refunds" in text
    assert "customer's language" in text
    assert (
        '<knowledge document="faq.md" chunk="3">Open "late" &lt;b&gt;&amp;&lt;/b&gt;</knowledge>'
        in text
    )
    assert "Ana" in text and "vip" in text and "Asked about cakes." in text
    closed = instructions(settings, context, [], at=at + 10 * 3600)
    assert "(closed now)" in closed and "none found" in closed


def test_transcript_stored_once_on_the_record(table: str) -> None:
    inbound_log.record_inbound_message(PNID, "wav", WA, 1000.0, {"type": "audio"})
    assert inbound_log.set_transcript(PNID, "wav", "first")
    assert not inbound_log.set_transcript(PNID, "wav", "second")
    assert not inbound_log.set_transcript(PNID, "erased", "text")
    assert inbound_log.set_transcript(PNID, "wav", "a cat", kind="description")
    item = boto3.client("dynamodb").get_item(
        TableName=table, Key={"pk": {"S": inbound_log.inbound_pk(PNID, "wav")}, "sk": {"S": "#"}}
    )["Item"]
    assert item["transcript"] == {"S": "first"} and item["description"] == {"S": "a cat"}
