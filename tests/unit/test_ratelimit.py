"""Rate limits in DynamoDB (moto): GCRA buckets, the per-batch budget, the messaging limit."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest

from tests.unit.conftest import mocked_state_table
from wacloud.infra import aws, config, dynamo
from wacloud.infra.dynamo import marshal
from wacloud.outbound import ratelimit
from wacloud.outbound.ratelimit import PAIR_RATE, Rate, ThroughputBudget, acquire, plan, refund
from wacloud.store import reach, tenants
from wacloud.store.tenants import DEFAULT_MESSAGING_LIMIT, TenantConfig

PNID = "100000000000001"


@pytest.fixture
def table(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    with mocked_state_table(monkeypatch) as name:
        yield name
        config.settings.cache_clear()
        for client in (aws.dynamodb, aws.sqs, aws.s3):
            client.cache_clear()


# ---------------------------------------------------------------- pure GCRA


def test_plan_fresh_bucket_grants_the_burst_and_no_more() -> None:
    rate = Rate(per_second=10, burst=10)
    granted, tat, wait = plan(None, 1000.0, 25, rate)
    assert granted == 10
    assert tat == pytest.approx(1001.0)
    assert wait == pytest.approx(0.1)  # the next token frees up after one interval


def test_plan_full_bucket_refuses_with_the_wait_for_one_token() -> None:
    rate = Rate(per_second=2, burst=2)
    granted, tat, wait = plan(1001.0, 1000.0, 1, rate)  # one second ahead: full
    assert (granted, tat) == (0, 1001.0)
    assert wait == pytest.approx(0.5)


def test_plan_idle_bucket_does_not_bank_more_than_the_burst() -> None:
    rate = Rate(per_second=1, burst=3)
    granted, _, _ = plan(0.0, 1000.0, 100, rate)  # idle for ages
    assert granted == 3


def test_pair_rate_is_one_per_six_seconds_with_bursts_of_45() -> None:
    assert PAIR_RATE.cost == pytest.approx(6.0)
    assert plan(None, 0.0, 100, PAIR_RATE)[0] == 45
    granted, _, wait = plan(45 * 6.0, 0.0, 1, PAIR_RATE)
    assert granted == 0 and wait == pytest.approx(6.0)


def test_throughput_rate_is_clamped_to_metas_range() -> None:
    assert ratelimit.throughput_rate(5000).per_second == 1000
    assert ratelimit.throughput_rate(0).per_second == 1
    assert ratelimit.throughput_rate(80).burst == 80


# ---------------------------------------------------------------- DynamoDB buckets


def test_acquire_shares_one_bucket_across_processes(table: str) -> None:
    rate = Rate(per_second=0.5, burst=3)  # slow enough that the test cannot refill it
    first = acquire("b1", 2, rate)
    ratelimit._seen.clear()  # another Lambda: no local knowledge of the bucket
    second = acquire("b1", 2, rate)
    ratelimit._seen.clear()
    third = acquire("b1", 1, rate)
    assert (first.granted, second.granted, third.granted) == (2, 1, 0)
    assert second.wait > 0 and third.wait > 0


def test_refused_from_cache_without_a_call(table: str, monkeypatch: pytest.MonkeyPatch) -> None:
    rate = Rate(per_second=0.5, burst=1)
    assert acquire("b2", 1, rate).granted == 1
    monkeypatch.setattr(dynamo, "dynamodb", lambda: pytest.fail("no DynamoDB call expected"))
    assert acquire("b2", 1, rate).granted == 0


def test_refund_gives_tokens_back(table: str) -> None:
    rate = Rate(per_second=0.5, burst=2)
    assert acquire("b3", 2, rate).granted == 2
    assert acquire("b3", 1, rate).granted == 0
    refund("b3", 1, rate)
    assert acquire("b3", 1, rate).granted == 1


def test_budget_takes_a_batch_in_one_call_and_spreads_refusals(table: str) -> None:
    calls: list[str] = []
    original = ratelimit.acquire

    def counting(pk: str, want: int, rate: Rate, **kw: object) -> ratelimit.Grant:
        calls.append(pk)
        return original(pk, want, rate)

    ratelimit.acquire = counting  # type: ignore[assignment]
    try:
        budget = ThroughputBudget(lambda pnid: 2)
        budget.reserve({PNID: 5})
        results = [budget.take(PNID) for _ in range(5)]
    finally:
        ratelimit.acquire = original  # type: ignore[assignment]
    assert len(calls) == 1
    assert results[:2] == [None, None]
    waits = [w for w in results[2:] if w is not None]
    assert len(waits) == 3 and waits == sorted(waits) and waits[0] < waits[-1]


def test_budget_settle_refunds_unused_tokens(table: str) -> None:
    budget = ThroughputBudget(lambda pnid: 1)
    budget.reserve({PNID: 1})
    budget.settle()  # the one message was a duplicate: its token goes back
    again = ThroughputBudget(lambda pnid: 1)
    again.reserve({PNID: 1})
    assert again.take(PNID) is None


def test_budget_take_without_reservation_acquires_directly(table: str) -> None:
    budget = ThroughputBudget(lambda pnid: 1)
    assert budget.take(PNID) is None
    wait = budget.take(PNID)
    assert wait is not None and 0 < wait <= ratelimit.MAX_DEFER_SECONDS


# ---------------------------------------------------------------- messaging limit


def test_messaging_limit_counts_unique_recipients(table: str) -> None:
    assert reach.admit(PNID, "1", 2).new
    assert reach.admit(PNID, "2", 2).new
    third = reach.admit(PNID, "3", 2)
    assert not third.allowed and 0 < third.wait <= 25 * 3600
    again = reach.admit(PNID, "1", 2)  # already reached today: not a new conversation
    assert again.allowed and not again.new


def test_messaging_limit_unlimited(table: str) -> None:
    assert all(reach.admit(PNID, str(i), None).allowed for i in range(5))


def test_live_slots_drop_after_a_day() -> None:
    at = 100 * 3600.0
    slots = {str(100 - 24): 5, str(100 - 23): 1, "100": 2}
    assert reach.live_slots(slots, at) == {"77": 1, "100": 2}
    assert reach.wait_for_room({"77": 1}, at) == pytest.approx((77 + 25) * 3600 - at)


# ---------------------------------------------------------------- tenant config


def test_tenant_config_defaults_and_parsing(table: str) -> None:
    assert tenants.load(PNID) == TenantConfig()
    assert TenantConfig().messaging_limit == DEFAULT_MESSAGING_LIMIT == 250
    item = {"throughput_mps": 5000, "messaging_limit": "unlimited", "waba_id": 7}
    assert TenantConfig.from_item(item) == TenantConfig(1000, None, "7")
    assert TenantConfig.from_item({"messaging_limit": -1}).messaging_limit is None
    assert TenantConfig.from_item({"throughput_mps": "x"}).throughput_mps == 80


def test_a_recipient_counted_by_another_sender_meanwhile_gives_the_place_back(
    table: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Between taking a place and marking the recipient, another sender marked them:
    the place is returned, so a recipient is counted once, and the last place stays free."""
    assert reach.admit(PNID, "1", 2).new
    mark = reach._mark

    def raced(phone_number_id: str, wa_id: str, at: float) -> bool:
        assert mark(phone_number_id, wa_id, at)  # the other sender's marker
        return mark(phone_number_id, wa_id, at)  # ours now finds it

    monkeypatch.setattr(reach, "_mark", raced)
    second = reach.admit(PNID, "2", 2)
    assert second.allowed and not second.new
    monkeypatch.undo()
    tally = reach.get(reach.tally_pk(PNID)) or {}
    assert reach.used(tally, reach.now()) == 1
    assert reach.admit(PNID, "3", 2).new  # the returned place is usable
    assert not reach.admit(PNID, "4", 2).allowed


def test_a_refused_admission_leaves_the_tally_as_it_was_and_old_slots_go(table: str) -> None:
    at = reach.now()
    old = str(int(at // reach.SLOT) - 30)  # 30 hours ago: out of the window
    boto3.client("dynamodb").put_item(
        TableName=table,
        Item=marshal({"pk": reach.tally_pk(PNID), "sk": "#", f"slot_{old}": 7}),
    )
    assert reach.admit(PNID, "1", 2).new and reach.admit(PNID, "2", 2).new
    assert not reach.admit(PNID, "3", 2).allowed
    tally = reach.get(reach.tally_pk(PNID)) or {}
    assert reach.used(tally, at) == 2
    assert f"slot_{old}" not in tally
