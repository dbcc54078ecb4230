"""Every message-content record carries its TTL; contacts expire after inactivity
only if configured, and never while opted out."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.unit.indexed_table import indexed_state_table
from wacloud.infra import config, retention
from wacloud.infra.clock import now
from wacloud.infra.config import ConfigurationError
from wacloud.infra.dynamo import get
from wacloud.store import contacts, messages
from wacloud.store import inbound_log as events
from wacloud.store.messages import State

PNID = "100000000000001"
WA = "15550009999"
DAY = 86_400


@pytest.fixture
def table(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    with indexed_state_table(monkeypatch, MESSAGE_RETENTION_DAYS="30") as name:
        yield name


def days_left(item: dict[str, object] | None) -> float:
    assert item is not None and "expires_at" in item, item
    return (float(item["expires_at"]) - now()) / DAY  # type: ignore[arg-type]


def test_settings_defaults_and_validation(monkeypatch: pytest.MonkeyPatch) -> None:
    # The values are Settings fields: settings() is cached, so clear it after each change.
    monkeypatch.setenv("TABLE_NAME", "state")
    monkeypatch.setenv("META_SECRET_ID", "meta")
    monkeypatch.delenv("MESSAGE_RETENTION_DAYS", raising=False)
    monkeypatch.delenv("CONTACT_RETENTION_DAYS", raising=False)
    config.settings.cache_clear()
    assert retention.message_retention_days() == 400
    assert retention.contact_expiry(now()) is None  # kept until erased
    monkeypatch.setenv("MESSAGE_RETENTION_DAYS", "0")
    config.settings.cache_clear()
    with pytest.raises(ConfigurationError):
        retention.message_retention_days()
    monkeypatch.delenv("MESSAGE_RETENTION_DAYS")
    monkeypatch.setenv("CONTACT_RETENTION_DAYS", "soon")
    config.settings.cache_clear()
    with pytest.raises(ConfigurationError):
        retention.contact_retention_days()
    config.settings.cache_clear()


def test_message_records_expire_after_the_retention(table: str) -> None:
    at = now()
    events.record_inbound_message(PNID, "wamid.IN1", WA, at, {"type": "text"})
    events.record_status(PNID, "wamid.OUT1", "delivered", at, {})
    events.record_field_event(PNID, "user_preferences", "k1", at, {"value": {"wa_id": WA}})
    messages.record_new(PNID, "m-accepted", State.ACCEPTED, {"to": WA})
    messages.claim(PNID, "m-claimed", {"to": WA})
    messages.link_wamid(PNID, "m-claimed", "wamid.OUT1")
    for pk, sk in [
        (events.inbound_pk(PNID, "wamid.IN1"), "#"),
        (events.status_pk(PNID, "wamid.OUT1"), "delivered"),
        (f"{PNID}#EV#user_preferences", "k1"),
        (messages.message_pk(PNID, "m-accepted"), "#"),
        (messages.message_pk(PNID, "m-claimed"), "#"),
        (messages.wamid_pk(PNID, "wamid.OUT1"), "#"),
    ]:
        assert 29.9 < days_left(get(pk, sk)) <= 30, pk


def test_a_scheduled_message_lives_from_its_send_time(table: str) -> None:
    send_at = now() + 100 * DAY
    messages.record_new(PNID, "m-later", State.SCHEDULED, {"to": WA, "send_at": send_at})
    assert 129.9 < days_left(messages.load(PNID, "m-later")) <= 130


def customer_message(at: float) -> None:
    contacts.record_customer_message(
        PNID,
        WA,
        at=at,
        profile_name="Ann",
        user_id=None,
        window_seconds=DAY,
        free_entry_point=False,
    )


def test_contacts_do_not_expire_by_default(table: str) -> None:
    customer_message(now())
    contact = contacts.load(PNID, WA)
    assert contact is not None and "expires_at" not in contact


def test_contact_expiry_follows_activity_but_not_while_opted_out(
    monkeypatch: pytest.MonkeyPatch, table: str
) -> None:
    monkeypatch.setenv("CONTACT_RETENTION_DAYS", "90")
    customer_message(now() - 10)
    assert 89.9 < days_left(contacts.load(PNID, WA)) <= 90
    assert contacts.apply_consent(PNID, WA, opted_out=True, at=now() - 5, reason="keyword:STOP")
    assert "expires_at" not in (contacts.load(PNID, WA) or {})
    customer_message(now())  # still opted out: the message is noted, no expiry comes back
    contact = contacts.load(PNID, WA)
    assert contact is not None and "expires_at" not in contact
    assert contact["last_seen"] == pytest.approx(now(), abs=5)
    assert contacts.apply_consent(PNID, WA, opted_out=False, at=now(), reason="keyword:START")
    assert 89.9 < days_left(contacts.load(PNID, WA)) <= 90


def test_late_message_of_an_opted_out_contact_keeps_the_newer_window(
    monkeypatch: pytest.MonkeyPatch, table: str
) -> None:
    monkeypatch.setenv("CONTACT_RETENTION_DAYS", "90")
    customer_message(now())
    contacts.apply_consent(PNID, WA, opted_out=True, at=now(), reason="keyword:STOP")
    window = (contacts.load(PNID, WA) or {})["window_expires_at"]
    customer_message(now() - 3600)  # an older message delivered late
    contact = contacts.load(PNID, WA)
    assert contact is not None and contact["window_expires_at"] == window
    assert contact["first_seen"] == pytest.approx(now() - 3600, abs=5)
