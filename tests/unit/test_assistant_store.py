"""Assistant settings (defaults, parsing, cache, hours) and token usage counters."""

from __future__ import annotations

from datetime import UTC, datetime

import boto3
import pytest

from tests.unit.conftest import mocked_state_table
from wacloud.store import assistant as store
from wacloud.store.assistant import AssistantSettings

PNID = "100000000000001"


def _ts(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


@pytest.fixture
def table(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    with mocked_state_table(monkeypatch) as name:
        store.clear_cache()
        yield name
        store.clear_cache()


def test_defaults_when_no_item(table: str) -> None:
    loaded = store.load_settings(PNID)
    assert loaded == AssistantSettings()
    assert loaded.enabled is False
    assert loaded.confidence_threshold == 0.7
    assert loaded.handoff_keywords is None
    assert loaded.monthly_token_budget > 0


def test_saved_settings_round_trip(table: str) -> None:
    saved = AssistantSettings(
        enabled=True,
        model="gpt-x",
        business_name="Café Sol",
        hours={"sat": (("10:00", "14:00"),)},
        time_zone="America/Bogota",
        may_promise=("a reply within a day",),
        must_not_promise=("discounts",),
        confidence_threshold=0.5,
        handoff_keywords=("gerente",),
        monthly_token_budget=0,
        describe_images=True,
        fallback={"es": "Un momento."},
    )
    store.save_settings(PNID, saved)
    assert store.load_settings(PNID) == saved
    item = boto3.client("dynamodb").get_item(
        TableName=table, Key={"pk": {"S": f"TENANT#{PNID}"}, "sk": {"S": "ASSISTANT"}}
    )["Item"]
    assert item["enabled"] == {"BOOL": True}


def test_malformed_fields_take_their_defaults() -> None:
    loaded = AssistantSettings.from_item(
        {
            "enabled": True,
            "confidence_threshold": "high",
            "hours": {"mon": [["nine", "five"]]},
            "monthly_token_budget": "lots",
            "handoff_keywords": "humano",
        }
    )
    assert loaded.enabled is True
    assert loaded.confidence_threshold == 0.7
    assert loaded.hours == store.DEFAULT_HOURS
    assert loaded.monthly_token_budget == store.DEFAULT_MONTHLY_TOKEN_BUDGET
    assert loaded.handoff_keywords is None


def test_settings_cached_a_minute(table: str, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [1_000_000.0]
    monkeypatch.setattr(store, "now", lambda: clock[0])
    assert store.load_settings(PNID).enabled is False
    # Written behind this container's back (another container, an operator).
    boto3.client("dynamodb").put_item(
        TableName=table,
        Item={"pk": {"S": f"TENANT#{PNID}"}, "sk": {"S": "ASSISTANT"}, "enabled": {"BOOL": True}},
    )
    clock[0] += 30
    assert store.load_settings(PNID).enabled is False
    clock[0] += 31
    assert store.load_settings(PNID).enabled is True


def test_save_is_seen_at_once_by_this_container(table: str) -> None:
    assert store.load_settings(PNID).enabled is False
    store.save_settings(PNID, store.load_settings(PNID), enabled=True)
    assert store.load_settings(PNID).enabled is True


def test_business_hours_in_the_tenant_zone() -> None:
    # The hours are data here; wacloud.conversations reads them (one implementation).
    from wacloud.conversations import from_assistant, is_open, next_opening

    hours = from_assistant(AssistantSettings(time_zone="America/Bogota"))  # UTC-5, Mon-Fri 09-18
    monday_8_utc = _ts("2026-03-02T08:00:00")  # 03:00 in Bogota
    assert not is_open(hours, monday_8_utc)
    assert is_open(hours, _ts("2026-03-02T14:30:00"))  # 09:30 there
    assert not is_open(hours, _ts("2026-03-02T23:30:00"))  # 18:30 there
    opening = next_opening(hours, monday_8_utc)
    assert opening is not None and opening.timestamp() == _ts("2026-03-02T14:00:00")
    friday_night = _ts("2026-03-07T01:00:00")  # Friday 20:00 there
    opening = next_opening(hours, friday_night)
    assert opening is not None and opening.timestamp() == _ts("2026-03-09T14:00:00")
    assert next_opening(from_assistant(AssistantSettings(hours={})), monday_8_utc) is None
    assert AssistantSettings(time_zone="Mars/Olympus").zone().key == "UTC"


def test_fallback_text_by_language() -> None:
    custom = AssistantSettings(fallback={"es": "Ya te atendemos."})
    assert custom.fallback_text("es-CO") == "Ya te atendemos."
    assert custom.fallback_text("pt").startswith("Desculpe")
    assert custom.fallback_text("de") == store.DEFAULT_FALLBACK["en"]
    assert custom.fallback_text(None) == store.DEFAULT_FALLBACK["en"]


def test_usage_counted_per_day_and_month(table: str) -> None:
    day1, day2 = _ts("2026-03-30T10:00:00"), _ts("2026-03-31T23:00:00")
    store.add_usage(PNID, input_tokens=100, output_tokens=20, at=day1)
    store.add_usage(PNID, input_tokens=50, output_tokens=5, at=day2)
    store.add_usage(PNID, input_tokens=7, output_tokens=1, at=_ts("2026-04-01T00:00:00"))
    store.add_usage(PNID, input_tokens=0, output_tokens=0, at=day1)  # nothing written
    assert store.day_usage(PNID, day1) == store.TokenUsage(100, 20)
    assert store.month_usage(PNID, day2) == store.TokenUsage(150, 25)
    assert store.month_usage(PNID, _ts("2026-04-02T00:00:00")).total == 8
    item = boto3.client("dynamodb").get_item(
        TableName=table, Key={"pk": {"S": f"{PNID}#AIUSE"}, "sk": {"S": "D#2026-03-30"}}
    )["Item"]
    assert "expires_at" in item


def test_budget_left(table: str) -> None:
    at = _ts("2026-03-30T10:00:00")
    small = AssistantSettings(monthly_token_budget=150)
    assert store.budget_left(small, PNID, at) == 150
    store.add_usage(PNID, input_tokens=120, output_tokens=40, at=at)
    assert store.budget_left(small, PNID, at) == -10
    assert store.budget_left(AssistantSettings(monthly_token_budget=0), PNID, at) is None
