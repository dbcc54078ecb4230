"""Moderation: the rate counted on the customer-message write, the decaying score, the
screen (notice once, then silence, block at the threshold), blocks here and at Meta's
Block API (the emulator, over HTTP), the housekeeping sweep, ContactControl, privacy."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import pytest

from local.emulator import Emulator, EmulatorConfig
from tests.unit.function_apps import load_app
from tests.unit.indexed_table import indexed_state_table
from wacloud import moderation
from wacloud.graph.client import GraphClient
from wacloud.moderation import Screen, ScreenedResponder, Verdict, scoring
from wacloud.scheduling.release import housekeeping
from wacloud.store import contacts
from wacloud.store import moderation as state

TOKEN = "moderation-token"
PNID = "100000000000001"
USER = "15557001234"
T0 = 1_800_000_000.0  # a minute boundary: 30_000_000 * 60


@pytest.fixture
def table(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    with indexed_state_table(monkeypatch) as name:
        state.clear_cache()
        yield name
        state.clear_cache()


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with Emulator(EmulatorConfig(port=0, token=TOKEN, seed=3)) as running:
        yield running


@pytest.fixture
def graph(emu: Emulator) -> GraphClient:
    return GraphClient(emu.url, "v23.0", lambda _pnid: TOKEN)


def wrote(at: float, wa_id: str = USER, wamid: str | None = None) -> None:
    contacts.record_customer_message(
        PNID,
        wa_id,
        at=at,
        profile_name=None,
        user_id=None,
        window_seconds=86400,
        free_entry_point=False,
        wamid=wamid,
    )


def meta_blocklist(emu: Emulator) -> list[str]:
    return list(emu.core.phone_number(PNID).blocklist)


@dataclass(frozen=True)
class Msg:
    phone_number_id: str
    wa_id: str
    text: str | None
    at: float | None = None


class Inner:
    def __init__(self) -> None:
        self.seen: list[Any] = []

    def respond(self, message: Any) -> Any:
        self.seen.append(message)
        return ("inner-result", message.text)

    def extra(self) -> str:
        return "extra"


# ------------------------------------------------------------------ pure scoring
def test_score_halves_every_half_life() -> None:
    assert scoring.decayed(8.0, T0, T0 + 600, 600) == pytest.approx(4.0)
    assert scoring.decayed(8.0, T0, T0 + 1800, 600) == pytest.approx(1.0)
    assert scoring.decayed(8.0, None, T0, 600) == 8.0
    assert scoring.decayed(8.0, T0 + 10, T0, 600) == 8.0  # never grows


def test_links_and_digests() -> None:
    assert scoring.has_link("win now http://x.example/free")
    assert scoring.has_link("go to www.prize.io")
    assert scoring.has_link("visit cheap-coins.xyz today")
    assert not scoring.has_link("my order number is 12.50, thanks")
    a = scoring.digest("Hello   THERE", "k1")
    assert a == scoring.digest("hello there", "k1") and a != scoring.digest("hello there", "k2")
    assert "hello" not in a


# ------------------------------------------------------------------ the rate on the contact write
def test_rate_counts_this_minute_and_starts_again_next_minute(table: str) -> None:
    for i in range(4):
        wrote(T0 + i)
        assert state.take_customer_message(PNID, USER, T0 + i) is not None
    item = contacts.load(PNID, USER) or {}
    assert item[state.rate_slot(T0)] == 4
    wrote(T0 + 61)
    _, count, _, _ = state.take_customer_message(PNID, USER, T0 + 61) or (0, 0, {}, False)
    assert count == 1
    slots = [k for k in (contacts.load(PNID, USER) or {}) if k.startswith(state.RATE_PREFIX)]
    assert slots == [state.rate_slot(T0 + 61)]  # every other slot removed


def test_meta_redelivering_a_message_is_not_the_customer_writing(table: str) -> None:
    """Meta retries webhooks (docs/meta/webhooks.md): the same wamid again must neither
    count toward the rate nor be scored, or an outage's retries would mute a customer."""
    screen = Screen()
    for _ in range(12):  # well over the default 8 a minute
        wrote(T0, wamid="wamid.SAME")
        assert screen.check(PNID, USER, "hello", at=T0) is Verdict.ALLOW
    item = contacts.load(PNID, USER) or {}
    assert item[state.rate_slot(T0)] == 1
    assert "mod_score" not in item and "mod_digest" not in item
    wrote(T0 + 1, wamid="wamid.NEXT")  # the customer writing again does count
    _, count, _, duplicate = state.take_customer_message(PNID, USER, T0 + 1) or (0, 0, {}, True)
    assert count == 2 and not duplicate


def test_a_stale_slot_a_full_cycle_later_is_reset(table: str) -> None:
    wrote(T0)
    wrote(T0 + 1)
    later = T0 + state.RATE_SLOTS * 60  # the same slot, RATE_SLOTS minutes on
    wrote(later)
    _, count, before, _ = state.take_customer_message(PNID, USER, later) or (0, 0, {}, False)
    assert count == 1 and before[state.rate_slot(later)] == 2  # the old minute's count
    assert (contacts.load(PNID, USER) or {})[state.rate_slot(later)] == 1
    wrote(later + 1)
    assert (state.take_customer_message(PNID, USER, later + 1) or (0, 0))[1] == 2


# ------------------------------------------------------------------ the screen
def test_notice_once_per_burst_then_silence(table: str, graph: GraphClient) -> None:
    state.save_settings(PNID, {"rate_per_minute": 3, "threshold": 100})
    inner = Inner()
    responder = ScreenedResponder(inner, moderation.Screen(graph=graph))
    answers = []
    for i in range(6):
        wrote(T0 + i)
        answers.append(responder.respond(Msg(PNID, USER, f"question {i}", at=T0 + i)))
    assert answers[:3] == [("inner-result", f"question {i}") for i in range(3)]
    assert answers[3][0]["type"] == "text" and "too fast" in answers[3][0]["text"]["body"]
    assert answers[4:] == [(), ()]
    # Next minute, under the rate again: answered.
    wrote(T0 + 60)
    assert responder.respond(Msg(PNID, USER, "back", at=T0 + 60)) == ("inner-result", "back")
    assert responder.extra() == "extra"  # the inner responder's other members pass through


def test_without_at_the_screen_takes_the_fresh_note_at_no_cost(table: str) -> None:
    wrote(T0)
    inner = Inner()
    responder = ScreenedResponder(inner)
    message = SimpleNamespace(phone_number_id=PNID, wa_id=USER, text="hi")
    assert responder.respond(message) == ("inner-result", "hi")
    item = contacts.load(PNID, USER) or {}
    assert item[state.rate_slot(T0)] == 1 and "last_seen_screened" not in item


def test_without_at_and_without_the_noted_write_the_screen_counts_itself(table: str) -> None:
    inner = Inner()
    responder = ScreenedResponder(inner)
    assert responder.respond(SimpleNamespace(phone_number_id=PNID, wa_id=USER, text="hi")) == (
        "inner-result",
        "hi",
    )
    item = contacts.load(PNID, USER) or {}
    assert any(k.startswith(state.RATE_PREFIX) for k in item)


def test_a_repeated_burst_blocks_here_and_at_meta(
    table: str, emu: Emulator, graph: GraphClient
) -> None:
    state.save_settings(PNID, {"rate_per_minute": 3, "threshold": 5, "block_seconds": 600})
    emu.customer_text(USER, "spam")  # Meta blocks only users who wrote in the last 24 h
    screen = moderation.Screen(graph=graph)
    verdicts = []
    for i in range(8):
        wrote(T0 + i)
        verdicts.append(screen.check(PNID, USER, "FREE crypto http://x.example", at=T0 + i))
    assert Verdict.SILENT in verdicts
    item = contacts.load(PNID, USER) or {}
    assert item["blocked"] is True and item["meta_blocked"] is True
    assert item["blocked_by"] == "moderation" and item["blocked_until"] > T0
    assert item["due_pk"] == "HK"
    assert USER in meta_blocklist(emu)
    # Blocked: silent, whatever the rate.
    wrote(T0 + 120)
    assert screen.check(PNID, USER, "hello", at=T0 + 120) is Verdict.SILENT


def test_report_spam_adds_points_and_blocks_at_the_threshold(
    table: str, emu: Emulator, graph: GraphClient
) -> None:
    emu.customer_text(USER, "spam")
    assert moderation.report_spam(PNID, USER, at=T0, graph=graph) is False
    assert moderation.report_spam(PNID, USER, at=T0 + 10, graph=graph) is True
    assert (contacts.load(PNID, USER) or {})["blocked_reason"] == "spam"


def test_a_contact_meta_cannot_block_is_blocked_here_only(
    table: str, emu: Emulator, graph: GraphClient
) -> None:
    outcome = moderation.block(PNID, USER, until=None, reason="abuse", by="operator", graph=graph)
    assert outcome.meta_blocked is False and "139100" in (outcome.meta_error or "")
    item = contacts.load(PNID, USER) or {}
    assert item["blocked"] is True and "due_pk" not in item  # no end: not in the HK index


# ------------------------------------------------------------------ the sweep
def test_housekeeping_ends_a_due_block_here_and_at_meta(
    table: str, emu: Emulator, graph: GraphClient
) -> None:
    emu.customer_text(USER, "spam")
    moderation.block(PNID, USER, until=T0 + 60, reason="abuse", by="operator", at=T0, graph=graph)
    assert USER in meta_blocklist(emu)

    def lift(key: dict[str, Any], item: dict[str, Any], at: float) -> bool:
        return moderation.lift_block(key, item, at, graph=graph)

    assert housekeeping(at=T0 + 30, lift_block=lift).unblocked == 0  # not due yet
    assert housekeeping(at=T0 + 61, lift_block=lift).unblocked == 1
    item = contacts.load(PNID, USER) or {}
    assert item["blocked"] is False and "blocked_until" not in item and "due_pk" not in item
    assert meta_blocklist(emu) == []


def test_a_failed_meta_unblock_keeps_the_block_and_retries(
    table: str, emu: Emulator, graph: GraphClient
) -> None:
    emu.customer_text(USER, "spam")
    moderation.block(PNID, USER, until=T0 + 60, reason="abuse", by="operator", at=T0, graph=graph)
    down = GraphClient("http://127.0.0.1:9", "v23.0", lambda _p: TOKEN)  # nothing listens

    def lift_down(key: dict[str, Any], item: dict[str, Any], at: float) -> bool:
        return moderation.lift_block(key, item, at, graph=down)

    assert housekeeping(at=T0 + 61, lift_block=lift_down).unblocked == 0
    item = contacts.load(PNID, USER) or {}
    assert item["blocked"] is True and item["blocked_until"] == T0 + 61 + 60
    assert USER in meta_blocklist(emu)

    def lift(key: dict[str, Any], item: dict[str, Any], at: float) -> bool:
        return moderation.lift_block(key, item, at, graph=graph)

    assert housekeeping(at=T0 + 125, lift_block=lift).unblocked == 1
    assert meta_blocklist(emu) == []


# ------------------------------------------------------------------ ContactControl
@pytest.fixture
def control(table: str, graph: GraphClient, monkeypatch: pytest.MonkeyPatch) -> Any:
    from wacloud.moderation import actions

    monkeypatch.setattr(actions, "_configured_graph", lambda: graph)
    return load_app("contact_control")


def invoke(app: Any, event: dict[str, Any]) -> dict[str, Any]:
    ctx = SimpleNamespace(
        function_name="contact-control",
        memory_limit_in_mb=128,
        invoked_function_arn="arn:aws:lambda:us-east-1:0:function:contact-control",
        aws_request_id="req",
    )
    result: dict[str, Any] = app.lambda_handler(event, ctx)
    return result


def test_contact_control_block_list_unblock(control: Any, emu: Emulator) -> None:
    emu.customer_text(USER, "hi")
    done = invoke(
        control, {"action": "block", "phone_number_id": PNID, "wa_id": f"+{USER}", "minutes": 5}
    )
    assert done["blocked"] is True and done["meta_blocked"] is True
    listed = invoke(control, {"action": "list", "phone_number_id": PNID})
    assert [b["wa_id"] for b in listed["timed"]] == [USER]
    assert listed["meta"] == {"wa_ids": [USER], "after": None}
    assert invoke(control, {"action": "unblock", "phone_number_id": PNID, "wa_id": USER}) == {
        "unblocked": True
    }
    assert meta_blocklist(emu) == [] and not (contacts.load(PNID, USER) or {})["blocked"]
    settings = invoke(
        control, {"action": "settings", "phone_number_id": PNID, "set": {"threshold": 4}}
    )
    assert settings["threshold"] == 4.0 and settings["rate_per_minute"] == 8


@pytest.mark.parametrize(
    ("event", "why"),
    [
        ({"action": "ban"}, "unknown contact action"),
        ({"action": "block", "phone_number_id": PNID}, "numeric wa_id"),
        ({"action": "block", "wa_id": USER}, "numeric phone_number_id"),
        ({"action": "block", "phone_number_id": PNID, "wa_id": USER, "minutes": 0}, "minutes"),
        ({"action": "settings", "phone_number_id": PNID, "set": {"nope": 1}}, "unknown"),
    ],
)
def test_contact_control_refuses_what_it_cannot_apply(
    control: Any, event: dict[str, Any], why: str
) -> None:
    with pytest.raises(ValueError, match=why):
        invoke(control, event)


# ------------------------------------------------------------------ privacy
def test_no_phone_number_or_text_in_logs(
    table: str,
    emu: Emulator,
    graph: GraphClient,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    marker_user, marker_text = "15559876543", "MARKER-TEXT-7d1f http://marker.example"
    emu.customer_text(marker_user, "hi")
    state.save_settings(PNID, {"rate_per_minute": 1, "threshold": 3, "block_seconds": 60})
    caplog.set_level(logging.INFO)  # botocore DEBUG would show the request bodies (keys)
    responder = ScreenedResponder(Inner(), moderation.Screen(graph=graph))
    for i in range(6):
        wrote(T0 + i, marker_user)
        responder.respond(Msg(PNID, marker_user, marker_text, at=T0 + i))
    assert (contacts.load(PNID, marker_user) or {})["blocked"] is True

    def lift(key: dict[str, Any], item: dict[str, Any], at: float) -> bool:
        return moderation.lift_block(key, item, at, graph=graph)

    housekeeping(at=T0 + 120, lift_block=lift)
    out = capsys.readouterr()
    logged = (
        out.out
        + out.err
        + caplog.text
        + json.dumps([r.__dict__ for r in caplog.records], default=str)
    )
    assert "contact blocked" in logged
    assert (
        marker_user not in logged and "MARKER-TEXT" not in logged and "marker.example" not in logged
    )
