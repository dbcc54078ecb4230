"""The sender's batch on moto: AWS calls per message, the pair ledger, the writes after.

A batch of text messages (window open, no media) makes two DynamoDB calls per message
(the claim and the `sent` transition, both conditional) plus a few per batch: the
throughput budget, one BatchGetItem (contacts and pair buckets), one BatchWriteItem
per 25 deferred writes (wamid lookups and pair buckets). docs/outbound.md, "AWS calls
per message".
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from aws_lambda_powertools import Metrics
from aws_lambda_powertools.utilities.batch import process_partial_response

from tests.unit.conftest import mocked_state_table
from tests.unit.test_sender import PNID, FakeGraph, open_window, text
from wacloud.infra import aws, config, dynamo
from wacloud.infra.clock import now
from wacloud.outbound import ratelimit
from wacloud.outbound.batch import SendBatchProcessor
from wacloud.outbound.ratelimit import PAIR_BURST, PAIR_RATE, PairLedger
from wacloud.outbound.sender import Outcome, Sender, message_id_for
from wacloud.store import messages, tenants, throughput

RECIPIENTS = [f"1555123{i:04d}" for i in range(30)]


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "wacloud")
    with mocked_state_table(monkeypatch, SEND_RECONCILE_GRACE_SECONDS="300"):
        ratelimit._seen.clear()
        yield
        ratelimit._seen.clear()
        config.settings.cache_clear()
        for client in (aws.dynamodb, aws.sqs, aws.s3):
            client.cache_clear()


@pytest.fixture
def calls(env: None) -> Iterator[Counter[str]]:
    """DynamoDB calls by operation, counted on the client's events (as the bench does)."""
    counted: Counter[str] = Counter()

    def count(event_name: str, **_: Any) -> None:
        counted[event_name.rsplit(".", 1)[-1]] += 1

    events = aws.dynamodb().meta.events
    events.register("before-call.dynamodb", count, unique_id="test-sender-batch")
    yield counted
    events.unregister("before-call.dynamodb", unique_id="test-sender-batch")


def event(bodies: list[str]) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": f"m-{i}",
                "receiptHandle": f"r-{i}",
                "body": body,
                "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:outbound",
                "awsRegion": "us-east-1",
            }
            for i, body in enumerate(bodies)
        ]
    }


def run_batch(processor: SendBatchProcessor, bodies: list[str]) -> list[Any]:
    response = process_partial_response(
        event=event(bodies), record_handler=processor.record_handler, processor=processor
    )
    return list(response.get("batchItemFailures", []))


def processor(graph: FakeGraph, requeued: list[int] | None = None) -> SendBatchProcessor:
    sender = Sender(graph, waba_for=lambda pnid: None)  # type: ignore[arg-type]
    sink = requeued if requeued is not None else []
    return SendBatchProcessor(
        sender, Metrics(), requeue=lambda record, delay: sink.append(delay), max_workers=4
    )


def test_a_batch_of_texts_makes_two_calls_per_message_and_four_per_batch(
    calls: Counter[str],
) -> None:
    for to in RECIPIENTS:
        open_window(to)
    tenants.load(PNID)  # the tenant's settings are cached per container
    calls.clear()
    graph = FakeGraph()
    bodies = [text(f"k{i}", to=to) for i, to in enumerate(RECIPIENTS)]
    assert run_batch(processor(graph), bodies) == []
    assert len(graph.sent) == len(RECIPIENTS)
    n = len(RECIPIENTS)
    # Claim + sent per message, + the throughput budget; one BatchGetItem (60 keys);
    # 30 lookups + 30 pair buckets in BatchWriteItems of 25.
    assert calls == Counter(UpdateItem=2 * n + 1, BatchGetItem=1, BatchWriteItem=3)
    for i, to in enumerate(RECIPIENTS):
        message_id = message_id_for(PNID, f"k{i}")
        item = messages.load(PNID, message_id)
        assert item is not None and item["state"] == "sent"
        # The lookup, written after the sends, ties Meta's id back to ours.
        assert messages.message_id_for_wamid(PNID, item["wamid"]) == message_id
        bucket = dynamo.get(throughput.bucket_pk("PAIR", PNID, to))
        assert bucket is not None and float(bucket["tat"]) > now()
        assert int(bucket["expires_at"]) > now()


def test_the_pair_limit_holds_across_batches_and_containers(
    env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """46 messages to one recipient: the burst (45) passes, the next is deferred, also
    after the ledger of the first batches was written and this process forgot it."""
    # The bucket's clock stands still: on a loaded machine the 45 sends can take longer
    # than one token's refill (PAIR_RATE), and a refilled token is not what this tests.
    frozen = now()
    monkeypatch.setattr(ratelimit, "now", lambda: frozen)
    to = RECIPIENTS[0]
    open_window(to)
    graph = FakeGraph()
    requeued: list[int] = []
    p = processor(graph, requeued)
    bodies = [text(f"p{i}", to=to) for i in range(PAIR_BURST)]
    for start in range(0, PAIR_BURST, 25):
        assert run_batch(p, bodies[start : start + 25]) == []
    assert len(graph.sent) == PAIR_BURST
    ratelimit._seen.clear()  # another container: only the table knows the bucket
    assert run_batch(p, [text("p-over", to=to)]) == []
    assert len(graph.sent) == PAIR_BURST
    item = messages.load(PNID, message_id_for(PNID, "p-over"))
    assert item is not None and item["state"] == "deferred"
    assert item["last_error"]["rule"] == "pair_rate"
    assert requeued and 1 <= requeued[-1] <= PAIR_RATE.cost


def test_the_ledger_decides_in_memory_and_returns_only_what_moved(env: None) -> None:
    other = RECIPIENTS[1]
    contacts, tats = throughput.load_contacts_and_pairs([(PNID, RECIPIENTS[0]), (PNID, other)])
    assert tats == {(PNID, RECIPIENTS[0]): None, (PNID, other): None}
    assert contacts == {(PNID, RECIPIENTS[0]): None, (PNID, other): None}
    ledger = PairLedger(tats)
    assert ledger.knows(PNID, other) and not ledger.knows(PNID, "15550000000")
    grants = [ledger.take(PNID, RECIPIENTS[0]) for _ in range(PAIR_BURST + 1)]
    assert [g.granted for g in grants] == [1] * PAIR_BURST + [0]
    assert grants[-1].wait == pytest.approx(PAIR_RATE.cost, abs=0.5)
    items = ledger.dirty_items()
    assert [i["pk"] for i in items] == [throughput.bucket_pk("PAIR", PNID, RECIPIENTS[0])]
    assert ledger.dirty_items() == []  # handed out once
    messages.write_after_batch(items)
    _, again = throughput.load_contacts_and_pairs([(PNID, RECIPIENTS[0])])
    assert again[(PNID, RECIPIENTS[0])] == pytest.approx(float(items[0]["tat"]))


def test_a_single_message_outside_a_batch_writes_at_once(
    calls: Counter[str],
) -> None:
    open_window(RECIPIENTS[0])
    calls.clear()
    sender = Sender(FakeGraph(), waba_for=lambda pnid: None)  # type: ignore[arg-type]
    result = sender.handle(text("single", to=RECIPIENTS[0]))
    assert result.outcome is Outcome.SENT
    wamid = result.detail["wamid"]
    assert messages.message_id_for_wamid(PNID, wamid) == message_id_for(PNID, "single")
    assert calls["PutItem"] == 1 and calls["BatchWriteItem"] == 0


def test_unprocessed_writes_are_sent_again_then_reported(
    env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dynamo, "_BATCH_WRITE_PAUSE_SECONDS", 0.0)
    real = aws.dynamodb().batch_write_item
    answers: list[int] = []

    def throttled_once(**kw: Any) -> dict[str, Any]:
        if not answers:
            answers.append(1)
            return {"UnprocessedItems": kw["RequestItems"]}
        answers.append(2)
        return dict(real(**kw))

    monkeypatch.setattr(aws.dynamodb(), "batch_write_item", throttled_once)
    item = messages.wamid_lookup_item(PNID, "m-1", "wamid.X")
    messages.write_after_batch([item])
    assert answers == [1, 2]
    assert messages.message_id_for_wamid(PNID, "wamid.X") == "m-1"

    monkeypatch.setattr(
        aws.dynamodb(), "batch_write_item", lambda **kw: {"UnprocessedItems": kw["RequestItems"]}
    )
    with pytest.raises(dynamo.UnprocessedWritesError) as raised:
        messages.write_after_batch([item, messages.wamid_lookup_item(PNID, "m-2", "wamid.Y")])
    assert raised.value.count == 2


def test_failed_writes_after_the_sends_fail_no_message(
    env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every outcome is recorded already: the batch succeeds, the failure is counted."""
    open_window(RECIPIENTS[0])

    def refuse(items: object) -> None:
        raise dynamo.UnprocessedWritesError(1)

    monkeypatch.setattr(messages, "write_after_batch", refuse)
    graph = FakeGraph()
    p = processor(graph)
    p.metrics.clear_metrics()
    assert run_batch(p, [text("w1", to=RECIPIENTS[0])]) == []
    assert len(graph.sent) == 1
    item = messages.load(PNID, message_id_for(PNID, "w1"))
    assert item is not None and item["state"] == "sent"
    assert p.metrics.metric_set["SenderBatchWriteFailed"]["Value"] == [1.0]
    p.metrics.clear_metrics()


def test_the_dynamodb_client_skips_per_call_client_work(env: None) -> None:
    from botocore.validate import ParamValidationDecorator

    # botocore wraps the serializer in its validator unless validation is off.
    assert not isinstance(aws.dynamodb()._serializer, ParamValidationDecorator)
    assert isinstance(aws.sqs()._serializer, ParamValidationDecorator)
    assert str(aws.dynamodb().meta.config.user_agent).startswith("wacloud Botocore/")


def test_sender_import_keeps_powertools_parser_models_out() -> None:
    """Powertools' batch utility imports its pydantic parser models for every event
    source when pydantic is already loaded (`batch/types.py`, `has_pydantic`): the
    Sender imports it before anything imports pydantic (functions/sender/app.py)."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    code = (
        "import sys; sys.path[:0] = ['functions/sender', 'layers/common/python'];"
        "import app; print(json.dumps(sorted(m for m in sys.modules "
        "if m.startswith('aws_lambda_powertools.utilities.parser'))))"
    )
    env = {
        "PATH": "/usr/bin:/bin",
        "TABLE_NAME": "state",
        "META_SECRET_ID": "meta",
        "AWS_DEFAULT_REGION": "us-east-1",
        "POWERTOOLS_METRICS_NAMESPACE": "wacloud",
    }
    out = subprocess.run(
        [sys.executable, "-c", "import json;" + code],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []
