"""Scheduled messages spread over DUE shards; a release reads every shard and the
pre-sharding `DUE` partition, releasing each message once, highest priority first."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator

import pytest

from tests.unit.indexed_table import indexed_state_table
from wacloud.infra.clock import now
from wacloud.scheduling import release as scheduling
from wacloud.store import messages
from wacloud.store.messages import State

PNID = "100000000000001"


@pytest.fixture
def table(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    with indexed_state_table(monkeypatch) as name:
        yield name


def schedule(message_id: str, due: float, priority: int = 5, *, legacy: bool = False) -> None:
    fields = scheduling.schedule_fields(PNID, message_id, due, priority)
    if legacy:  # as written before sharding
        fields["due_pk"] = scheduling.DUE_PARTITION
    body = {"phone_number_id": PNID, "to": "+15550001111", "idempotency_key": message_id}
    messages.record_new(
        PNID,
        message_id,
        State.SCHEDULED,
        {"submission": json.dumps(body), "priority": priority, **fields},
    )


def released_ids(bodies: list[str]) -> list[str]:
    return [json.loads(b)["idempotency_key"] for b in bodies]


def test_shard_is_stable_and_spreads_messages() -> None:
    ids = [f"m{i}" for i in range(400)]
    assert [scheduling.due_partition(i) for i in ids] == [scheduling.due_partition(i) for i in ids]
    counts = Counter(scheduling.due_partition(i) for i in ids)
    assert set(counts) == {f"DUE#{s}" for s in range(scheduling.DUE_SHARDS)}
    assert min(counts.values()) > 400 / scheduling.DUE_SHARDS / 2  # no shard starved
    assert scheduling.due_partitions()[-1] == "DUE"  # the pre-sharding partition is read


def test_release_reads_every_shard_and_the_legacy_partition(table: str) -> None:
    ids = [f"s{i}" for i in range(40)]
    for mid in ids:
        schedule(mid, now() - 5)
    schedule("old-1", now() - 5, legacy=True)
    schedule("old-2", now() - 5, legacy=True)
    schedule("later", now() + 3600)
    got: list[str] = []
    report = scheduling.release_due(got.extend)
    assert sorted(released_ids(got)) == sorted([*ids, "old-1", "old-2"])
    assert report.released == 42
    for mid in [*ids, "old-1", "old-2"]:
        item = messages.load(PNID, mid)
        assert item is not None and item["state"] == "queued" and "due_pk" not in item
    again: list[str] = []
    assert scheduling.release_due(again.extend).released == 0 and again == []
    later = messages.load(PNID, "later")
    assert later is not None and later["due_pk"] == scheduling.due_partition("later")


def test_priority_first_across_shards(table: str) -> None:
    for i in range(30):
        schedule(f"p{i}", now() - 60 + i, priority=9 if i == 29 else 5)
    schedule("legacy-top", now() - 1, priority=9, legacy=True)
    got: list[str] = []
    scheduling.release_due(got.extend)
    assert set(released_ids(got)[:2]) == {"p29", "legacy-top"}


def test_limit_applies_across_shards(table: str) -> None:
    for i in range(20):
        schedule(f"l{i}", now() - 60 + i)
    got: list[str] = []
    report = scheduling.release_due(got.extend, limit=5)
    assert report.backlog == 5 and len(got) == 5
    # the five oldest, whichever shard they sit in
    assert sorted(released_ids(got)) == sorted(f"l{i}" for i in range(5))


def test_park_uses_the_message_shard(table: str) -> None:
    schedule("parked", now() + 3600)
    item = messages.load(PNID, "parked")
    assert item is not None
    messages.record_new(PNID, "deferred-1", State.DEFERRED, {"submission": "{}"})
    assert scheduling.park(PNID, "deferred-1", now() + 7200)
    parked = messages.load(PNID, "deferred-1")
    assert parked is not None and parked["due_pk"] == scheduling.due_partition("deferred-1")
