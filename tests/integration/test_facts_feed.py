"""The facts feed end to end: the state table's stream, read by the local stream poller
with the template's filters, batches and failure handling, into the real Facts
function (docs/facts.md).

A stack of its own: Meta's webhooks come batched, shuffled and every one of them twice
(the emulator's delivery modes), and the Facts function's bus refuses the facts of one
business number (tests/integration/faults.py), to see a record given up on land in
FactsDeadLetterQueue. The function logs each fact it delivered ("fact", type, id):
that log is what the tests read.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from local.emulator import DEFAULT_PHONE_NUMBER_ID as PNID
from local.emulator import WebhookDeliveryConfig
from local.stack import LocalStack, use_stack_in_this_process
from local.streams import StreamPoller
from local.waiting import wait_for
from tests.integration.conftest import stack_config
from tests.integration.faults import POISONED_PHONE_NUMBER_ID
from wacloud.store import contacts, inbound_log, messages

MAPPING = "FactsFunctionStateChanges"


@pytest.fixture(scope="module")
def feed_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    config = stack_config(
        tmp_path_factory.mktemp("facts-stack"),
        stack_name="wacloud-facts",
        emulator={
            "delivery": WebhookDeliveryConfig(
                batch_size=10, batch_window=0.2, out_of_order=True, duplicate_rate=1.0
            )
        },
        preload={"FactsFunction": ("tests.integration.faults:refuse_poisoned_facts",)},
    )
    with LocalStack(config) as running:
        yield running


@pytest.fixture
def stack(feed_stack: LocalStack) -> LocalStack:
    use_stack_in_this_process(feed_stack)
    return feed_stack


def poller(stack: LocalStack) -> StreamPoller:
    return stack.stream_pollers[MAPPING]


def log_entries(stack: LocalStack) -> list[dict[str, Any]]:
    """The "fact" lines the function logged, in order."""
    log = Path(stack.config.log_dir or ".") / "FactsFunction.log"
    if not log.exists():
        return []
    found = []
    for line in log.read_text().splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict) and entry.get("message") == "fact":
            found.append(entry)
    return found


def logged_facts(stack: LocalStack) -> list[tuple[str, str]]:
    """(type, id) of every fact the function logged, in order."""
    return [(str(e["fact_type"]), str(e["fact_id"])) for e in log_entries(stack)]


def settled(stack: LocalStack, quiet: float = 2.0) -> None:
    """Until the emulator and the stream have been calm for `quiet` seconds: the room a
    late duplicate and its fact would need to show up. (A duplicate webhook that met
    its twin in progress waits out the inbound queue's visibility timeout; it changes
    nothing when it comes back, so no record and no fact.)"""
    assert stack.emulator is not None
    calm_since: dict[str, float] = {}

    def calm_enough() -> bool:
        if not (stack.emulator and stack.emulator.webhooks_idle() and poller(stack).idle()):
            calm_since.clear()
            return False
        return time.monotonic() - calm_since.setdefault("at", time.monotonic()) >= quiet

    wait_for("the stack to settle", calm_enough, timeout=90, interval=0.1)


def test_a_round_trip_gives_each_fact_once_through_duplicated_shuffled_webhooks(
    stack: LocalStack, customer: str
) -> None:
    assert stack.emulator is not None
    before = (poller(stack).stats.records, poller(stack).stats.passed)
    wamid = stack.emulator.customer_text(customer, "hi")
    reply = wait_for(
        "our reply recorded",
        lambda: next(
            (i for i in inbound_log.conversation(PNID, customer) if i.get("direction") == "out"),
            None,
        ),
    )
    pk = messages.message_pk(PNID, reply["message_id"])
    wait_for(
        "the reply's read fact",
        lambda: ("message.status_changed", f"{pk}#read") in logged_facts(stack),
        timeout=60,
    )
    settled(stack)
    assert any(w.get("duplicate") for w in stack.emulator.webhooks()), "no duplicate was sent"

    mine = [
        (kind, fact_id)
        for kind, fact_id in logged_facts(stack)
        if fact_id.startswith(pk) or fact_id == inbound_log.inbound_pk(PNID, wamid)
    ]
    counts = Counter(mine)
    assert all(n == 1 for n in counts.values()), counts
    assert ("message.received", inbound_log.inbound_pk(PNID, wamid)) in counts
    statuses = {
        fact_id.removeprefix(f"{pk}#") for kind, fact_id in counts if fact_id.startswith(pk)
    }
    # sent (the sender's), then read, with delivered if its webhook came before read's
    # (shuffled, it may not); Meta's first pricing rides on one of them or, on a `sent`
    # webhook that found the record sent already, on a fact of its own.
    assert {"sent", "read"} <= statuses <= {"sent", "delivered", "read", "pricing"}, statuses
    crossed = [
        step
        for entry in log_entries(stack)
        if str(entry["fact_id"]).startswith(pk)
        for step in entry.get("crossed", [])
    ]
    assert sorted(crossed) == ["delivered", "read", "sent"], crossed
    record = messages.load(PNID, reply["message_id"])
    assert record is not None and record["pricing"]["category"] == "service"

    records, passed = (
        poller(stack).stats.records - before[0],
        poller(stack).stats.passed - before[1],
    )
    print(f"\nstream records for one round trip: {records}, passed the filters: {passed}")
    assert passed < records


def test_a_fact_the_consumers_refuse_ends_in_the_dead_letter_queue(
    stack: LocalStack, customer: str
) -> None:
    dlq = str(stack.outputs["FactsDeadLetterQueueUrl"])
    assert contacts.apply_consent(
        POISONED_PHONE_NUMBER_ID, customer, opted_out=True, at=1_700_000_000.0, reason="keyword"
    )
    sqs = stack.client("sqs")

    def failure_record() -> dict[str, Any] | None:
        response = sqs.receive_message(QueueUrl=dlq, WaitTimeSeconds=1)
        for message in response.get("Messages", []):
            return json.loads(message["Body"])  # type: ignore[no-any-return]
        return None

    body = wait_for("a record of the failed batch", failure_record, timeout=120)
    info = body["DDBStreamBatchInfo"]
    assert body["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert info["shardId"] == poller(stack).shard_id
    assert info["batchSize"] >= 1
    assert int(info["startSequenceNumber"]) <= int(info["endSequenceNumber"])
    # The range can be read again from the stream (docs/facts.md, "Redrive").
    streams = stack.client("dynamodbstreams")
    iterator = streams.get_shard_iterator(
        StreamArn=info["streamArn"],
        ShardId=info["shardId"],
        ShardIteratorType="AT_SEQUENCE_NUMBER",
        SequenceNumber=info["startSequenceNumber"],
    )["ShardIterator"]
    first = streams.get_records(ShardIterator=iterator, Limit=1)["Records"][0]
    assert first["dynamodb"]["Keys"]["pk"]["S"] == contacts.contact_pk(
        POISONED_PHONE_NUMBER_ID, customer
    )
    assert not [f for f in logged_facts(stack) if f[1].startswith(POISONED_PHONE_NUMBER_ID)]
