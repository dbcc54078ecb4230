"""Unknown send outcomes are settled on evidence, never re-sent while Meta may have them.

The sender on moto (DynamoDB and SQS) with a fake Graph client; a claim is made stale
by moving its `claimed_at` back, as time passing would.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from tests.unit.conftest import mocked_state_table
from tests.unit.test_sender import PNID, FakeGraph, open_window, text
from wacloud.graph.client import GraphTransportError
from wacloud.infra import aws, config
from wacloud.infra.clock import now
from wacloud.infra.dynamo import marshal
from wacloud.outbound.sender import Outcome, Sender, message_id_for
from wacloud.store import messages

GRACE = 300


@pytest.fixture
def queues(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    with mocked_state_table(
        monkeypatch, SEND_RECONCILE_GRACE_SECONDS=str(GRACE), MAX_SEND_ATTEMPTS="3"
    ):
        sqs = boto3.client("sqs")
        urls = {name: sqs.create_queue(QueueName=name)["QueueUrl"] for name in ("inbound", "dlq")}
        monkeypatch.setenv("INBOUND_QUEUE_URL", urls["inbound"])
        monkeypatch.setenv("INBOUND_DLQ_URL", urls["dlq"])
        config.settings.cache_clear()
        yield urls
        config.settings.cache_clear()
        for client in (aws.dynamodb, aws.sqs, aws.s3):
            client.cache_clear()


@pytest.fixture
def graph(queues: dict[str, str]) -> FakeGraph:
    return FakeGraph()


@pytest.fixture
def sender(graph: FakeGraph) -> Sender:
    return Sender(graph)  # type: ignore[arg-type]


def mid(key: str = "k1") -> str:
    return message_id_for(PNID, key)


def item(key: str = "k1") -> dict[str, Any]:
    found = messages.load(PNID, mid(key))
    assert found is not None
    return found


def age_claim(seconds: float, key: str = "k1") -> None:
    """As if the claim had been taken `seconds` ago."""
    boto3.client("dynamodb").update_item(
        TableName="state",
        Key=marshal({"pk": messages.message_pk(PNID, mid(key)), "sk": "#"}),
        UpdateExpression="SET claimed_at = :at",
        ExpressionAttributeValues=marshal({":at": now() - seconds}),
    )


def states(record: dict[str, Any]) -> list[str]:
    return [h["state"] for h in record["history"]]


def unknown(sender: Sender, graph: FakeGraph) -> None:
    graph.errors.append(GraphTransportError("ReadTimeout", reached_meta=None))
    result = sender.handle(text())
    assert result.outcome is Outcome.IN_FLIGHT and result.retry_in == GRACE + 1
    assert item()["state"] == "sending" and "outcome_unknown_at" in item()


# ---------------------------------------------------------------- never reached Meta


def test_connect_error_is_retried_soon_and_sent_once(sender: Sender, graph: FakeGraph) -> None:
    open_window()
    graph.errors.append(GraphTransportError("ConnectError", reached_meta=False))
    first = sender.handle(text())
    assert first.outcome is Outcome.RETRY and first.retry_in is not None
    assert first.retry_in <= 2  # backoff, not the 300 s grace
    assert item()["state"] == "retrying" and item()["last_error"]["stage"] == "transport"
    boto3.client("dynamodb").update_item(
        TableName="state",
        Key=marshal({"pk": messages.message_pk(PNID, mid()), "sk": "#"}),
        UpdateExpression="SET retry_at = :at",
        ExpressionAttributeValues=marshal({":at": now()}),
    )
    second = sender.handle(text())
    assert second.outcome is Outcome.SENT and len(graph.sent) == 1


def test_connect_errors_are_bounded(sender: Sender, graph: FakeGraph) -> None:
    open_window()
    for _attempt in range(3):
        graph.errors.append(GraphTransportError("ConnectError", reached_meta=False))
        result = sender.handle(text())
        boto3.client("dynamodb").update_item(
            TableName="state",
            Key=marshal({"pk": messages.message_pk(PNID, mid()), "sk": "#"}),
            UpdateExpression="SET retry_at = :at",
            ExpressionAttributeValues=marshal({":at": now()}),
        )
    assert result.outcome is Outcome.FAILED
    assert graph.sent == [] and item()["state"] == "failed"


# ---------------------------------------------------------------- unknown outcomes


def test_unknown_outcome_is_never_resent_inside_the_grace(sender: Sender, graph: FakeGraph) -> None:
    open_window()
    unknown(sender, graph)
    again = sender.handle(text())
    assert again.outcome is Outcome.IN_FLIGHT and graph.sent == []


def test_status_webhook_settles_an_unknown_outcome(sender: Sender, graph: FakeGraph) -> None:
    open_window()
    unknown(sender, graph)
    # Meta had accepted it: its `sent` status names our message (tracking callback).
    assert messages.apply_status(PNID, mid(), "sent", now(), "wamid.meta", None)
    age_claim(GRACE + 1)
    again = sender.handle(text())
    assert again.outcome is Outcome.DUPLICATE and graph.sent == []
    assert item()["state"] == "sent" and item()["wamid"] == "wamid.meta"


def test_inbound_backlog_postpones_the_resend(
    sender: Sender, graph: FakeGraph, queues: dict[str, str]
) -> None:
    open_window()
    unknown(sender, graph)
    age_claim(GRACE + 1)
    sqs = boto3.client("sqs")
    sqs.send_message(QueueUrl=queues["inbound"], MessageBody="{}")
    waiting = sender.handle(text())
    assert waiting.outcome is Outcome.IN_FLIGHT and waiting.detail["reconcile"] == "wait"
    assert waiting.retry_in == GRACE and graph.sent == []
    # The status was in that backlog: processed now, it settles the message.
    sqs.purge_queue(QueueUrl=queues["inbound"])
    messages.apply_status(PNID, mid(), "delivered", now(), "wamid.meta", None)
    assert sender.handle(text()).outcome is Outcome.DUPLICATE
    assert graph.sent == [] and item()["state"] == "delivered"


def test_dlq_holding_anything_postpones_the_resend(
    sender: Sender, graph: FakeGraph, queues: dict[str, str]
) -> None:
    open_window()
    unknown(sender, graph)
    age_claim(GRACE + 1)
    boto3.client("sqs").send_message(QueueUrl=queues["dlq"], MessageBody="{}")
    assert sender.handle(text()).detail.get("reconcile") == "wait"
    assert graph.sent == []


def test_no_evidence_and_nothing_pending_sends_again_once(sender: Sender, graph: FakeGraph) -> None:
    open_window()
    unknown(sender, graph)
    age_claim(GRACE + 1)
    again = sender.handle(text())
    assert again.outcome is Outcome.SENT and len(graph.sent) == 1
    record = item()
    assert states(record) == ["sending", "sending", "sent"] and record["attempts"] == 2
    assert "outcome_unknown_at" not in record
    assert sender.handle(text()).outcome is Outcome.DUPLICATE and len(graph.sent) == 1


def test_only_one_copy_takes_a_stale_claim_over(sender: Sender, graph: FakeGraph) -> None:
    open_window()
    unknown(sender, graph)
    old_token = item()["claim_token"]
    first = messages.take_over(PNID, mid(), old_token, {"reconciled": "test"})
    second = messages.take_over(PNID, mid(), old_token, {"reconciled": "test"})
    assert first.token is not None and second.token is None
    assert second.outcome is messages.ClaimOutcome.IN_FLIGHT


def test_gives_up_after_the_maximum_wait_and_late_evidence_still_counts(
    sender: Sender, graph: FakeGraph, queues: dict[str, str]
) -> None:
    open_window()
    sender.cfg = dataclasses.replace(sender.cfg, send_outcome_max_wait_seconds=3600)
    unknown(sender, graph)
    boto3.client("sqs").send_message(QueueUrl=queues["inbound"], MessageBody="{}")
    age_claim(3601)
    result = sender.handle(text())
    assert result.outcome is Outcome.FAILED and result.detail["reason"] == "outcome_unknown"
    assert graph.sent == [] and item()["state"] == "failed"
    assert sender.handle(text()).outcome is Outcome.DUPLICATE and graph.sent == []
    # Meta had it after all: a status reported later (Meta retries for days) wins.
    assert messages.apply_status(PNID, mid(), "sent", now(), "wamid.late", None)
    assert item()["state"] == "sent" and item()["wamid"] == "wamid.late"


# ---------------------------------------------------------------- accepted, not recorded


def test_unrecorded_acceptance_is_never_resent(
    sender: Sender, graph: FakeGraph, monkeypatch: pytest.MonkeyPatch, queues: dict[str, str]
) -> None:
    from botocore.exceptions import ClientError

    open_window()
    calls: list[str] = []

    def throttled(*args: Any, **kwargs: Any) -> None:
        calls.append("mark_sent")
        raise ClientError(
            {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow"}},
            "UpdateItem",
        )

    real_mark_sent = messages.mark_sent
    monkeypatch.setattr(messages, "mark_sent", throttled)
    monkeypatch.setattr("wacloud.outbound.sender.time.sleep", lambda seconds: None)
    first = sender.handle(text())
    assert len(calls) == 3  # bounded retries
    assert first.outcome is Outcome.IN_FLIGHT and first.detail["recorded"] is False
    assert len(graph.sent) == 1 and item()["state"] == "sending"
    assert (messages.accepted_evidence(PNID, mid()) or {})["wamid"] == "wamid.1"
    monkeypatch.setattr(messages, "mark_sent", real_mark_sent)  # DynamoDB recovers
    # Even with a backlog in the way, the kept acceptance decides at once.
    boto3.client("sqs").send_message(QueueUrl=queues["inbound"], MessageBody="{}")
    age_claim(GRACE + 1)
    again = sender.handle(text())
    assert again.outcome is Outcome.SENT and again.detail["reconciled"] is True
    assert len(graph.sent) == 1
    assert item()["state"] == "sent" and item()["wamid"] == "wamid.1"


# ---------------------------------------------------------------- cost of the common path


def test_accepted_path_makes_no_reconcile_calls(sender: Sender, graph: FakeGraph) -> None:
    open_window()
    seen: list[tuple[str, str]] = []

    def note(params: dict[str, Any], model: Any, **_: Any) -> None:
        key = json.dumps(params.get("Key") or params.get("Item") or {})
        seen.append((model.name, key))

    aws.dynamodb().meta.events.register("provide-client-params.dynamodb.*", note)
    aws.sqs().meta.events.register("provide-client-params.sqs.*", note)
    assert sender.handle(text()).outcome is Outcome.SENT
    operations = [name for name, _ in seen]
    assert not any("#ACCEPTED#" in key for _, key in seen)
    assert "GetQueueAttributes" not in operations
    # One claim, then mark_sent's two writes; no extra record write on this path.
    record_writes = [
        name for name, key in seen if messages.message_pk(PNID, mid()) in key and name != "GetItem"
    ]
    assert record_writes == ["UpdateItem", "UpdateItem"]
