"""local/moto_speedups.py answers every DynamoDB call exactly as moto does unpatched."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from moto import mock_aws

from local import moto_speedups

TABLE = "speedups"


def _table(ddb: Any) -> None:
    ddb.create_table(
        TableName=TABLE,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": n, "AttributeType": "S"} for n in ("pk", "sk", "g", "gs")
        ]
        + [{"AttributeName": "n", "AttributeType": "N"}],
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by_g",
                "KeySchema": [
                    {"AttributeName": "g", "KeyType": "HASH"},
                    {"AttributeName": "gs", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            },
            {
                "IndexName": "by_n",
                "KeySchema": [{"AttributeName": "n", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            },
        ],
    )
    for p in range(6):
        for s in range(12):
            item: dict[str, Any] = {
                "pk": {"S": f"p{p}"},
                "sk": {"S": f"s{(s * 7) % 12:02d}"},
                "n": {"N": str(s % 3)},
                "data": {
                    "M": {
                        "l": {"L": [{"S": "x"}, {"N": "1.5"}, {"BOOL": True}, {"NULL": True}]},
                        "b": {"B": bytes([p, s, 255])},
                    }
                },
                "tags": {"SS": ["a", f"t{s}"]},
                "nums": {"NS": ["1", str(s + 2)]},
            }
            if s % 2:
                item["g"] = {"S": f"g{s % 3}"}
                item["gs"] = {"S": f"{s:03d}"}
            ddb.put_item(TableName=TABLE, Item=item)


def _calls(ddb: Any) -> list[Callable[[], Any]]:
    q: Callable[..., Any] = ddb.query
    return [
        lambda: q(
            TableName=TABLE,
            KeyConditionExpression="pk = :p",
            ExpressionAttributeValues={":p": {"S": "p3"}},
        ),
        lambda: q(
            TableName=TABLE,
            KeyConditionExpression="pk = :p AND sk BETWEEN :a AND :b",
            ExpressionAttributeValues={":p": {"S": "p1"}, ":a": {"S": "s02"}, ":b": {"S": "s09"}},
            ScanIndexForward=False,
        ),
        lambda: q(
            TableName=TABLE,
            KeyConditionExpression="pk = :p AND begins_with(sk, :a)",
            ExpressionAttributeValues={":p": {"S": "p2"}, ":a": {"S": "s0"}},
            Limit=4,
        ),
        lambda: q(
            TableName=TABLE,
            KeyConditionExpression="pk = :p",
            Limit=5,
            ExclusiveStartKey={"pk": {"S": "p4"}, "sk": {"S": "s04"}},
            ExpressionAttributeValues={":p": {"S": "p4"}},
        ),
        lambda: q(
            TableName=TABLE,
            KeyConditionExpression="pk = :p",
            FilterExpression="n = :n",
            ProjectionExpression="sk, tags, #d.l",
            ExpressionAttributeNames={"#d": "data"},
            ExpressionAttributeValues={":p": {"S": "p5"}, ":n": {"N": "1"}},
        ),
        lambda: q(
            TableName=TABLE,
            KeyConditionExpression="pk = :p",
            ExpressionAttributeValues={":p": {"S": "nobody"}},
        ),
        lambda: q(
            TableName=TABLE,
            IndexName="by_g",
            KeyConditionExpression="g = :g",
            ExpressionAttributeValues={":g": {"S": "g1"}},
        ),
        lambda: q(
            TableName=TABLE,
            IndexName="by_g",
            Limit=3,
            ScanIndexForward=False,
            KeyConditionExpression="g = :g AND gs > :s",
            ExpressionAttributeValues={":g": {"S": "g0"}, ":s": {"S": "002"}},
        ),
        lambda: q(
            TableName=TABLE,
            IndexName="by_n",
            KeyConditionExpression="n = :n",
            ExpressionAttributeValues={":n": {"N": "2"}},
        ),
        lambda: q(
            TableName=TABLE,
            IndexName="by_n",
            KeyConditionExpression="n = :n",
            Limit=7,
            ExpressionAttributeValues={":n": {"N": "0"}},
            Select="COUNT",
        ),
        lambda: ddb.get_item(TableName=TABLE, Key={"pk": {"S": "p0"}, "sk": {"S": "s07"}}),
        lambda: ddb.get_item(TableName=TABLE, Key={"pk": {"S": "p0"}, "sk": {"S": "none"}}),
        lambda: ddb.update_item(
            TableName=TABLE,
            Key={"pk": {"S": "p0"}, "sk": {"S": "s01"}},
            UpdateExpression="SET c = if_not_exists(c, :z) + :one",
            ReturnValues="ALL_NEW",
            ExpressionAttributeValues={":z": {"N": "0"}, ":one": {"N": "1"}},
        ),
        lambda: ddb.batch_get_item(
            RequestItems={
                TABLE: {
                    "Keys": [
                        {"pk": {"S": "p1"}, "sk": {"S": "s03"}},
                        {"pk": {"S": "p2"}, "sk": {"S": "s05"}},
                    ]
                }
            }
        ),
        lambda: ddb.scan(TableName=TABLE, Limit=10),
        lambda: ddb.describe_table(TableName=TABLE)["Table"]["KeySchema"],
    ]


def _answers(patched: bool) -> list[Any]:
    undo = moto_speedups.apply() if patched else None
    try:
        with mock_aws():
            ddb = boto3.client("dynamodb", region_name="us-east-1")
            _table(ddb)
            answers = []
            for call in _calls(ddb):
                answer = call()
                if isinstance(answer, dict):
                    answer.pop("ResponseMetadata", None)
                answers.append(answer)
            return answers
    finally:
        if undo is not None:
            undo()


@pytest.fixture(autouse=True)
def _credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", os.environ.get("AWS_ACCESS_KEY_ID", "testing"))
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")


def test_patched_moto_answers_exactly_as_moto() -> None:
    plain = _answers(patched=False)
    before = dict(moto_speedups.counts)
    fast = _answers(patched=True)
    assert moto_speedups.counts["fast"] - before["fast"] >= 10  # the fast path was taken
    assert moto_speedups.counts["fallback"] == before["fallback"]
    assert len(plain) == len(fast) == len(_calls(boto3.client("dynamodb", "us-east-1")))
    for i, (a, b) in enumerate(zip(plain, fast, strict=True)):
        assert a == b, f"call {i} differs"
    assert plain[0]["Count"] == 12 and plain[6]["Count"] > 0  # the calls return data


def _sqs_answers(patched: bool) -> list[Any]:
    undo = moto_speedups.apply() if patched else None
    try:
        with mock_aws():
            sqs = boto3.client("sqs", region_name="us-east-1")
            url = sqs.create_queue(QueueName="q", Attributes={"VisibilityTimeout": "30"})[
                "QueueUrl"
            ]
            sqs.send_message_batch(
                QueueUrl=url,
                Entries=[
                    {"Id": str(i), "MessageBody": f"m{i}", "DelaySeconds": 900 if i % 2 else 0}
                    for i in range(10)
                ],
            )
            got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
            again = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
            sqs.delete_message(QueueUrl=url, ReceiptHandle=got[0]["ReceiptHandle"])
            counts = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
            return [
                sorted(m["Body"] for m in got),
                again,
                {k: v for k, v in counts.items() if k.startswith("ApproximateNumber")},
            ]
    finally:
        if undo is not None:
            undo()


def test_patched_sqs_answers_exactly_as_moto() -> None:
    plain = _sqs_answers(patched=False)
    assert plain[0] == ["m0", "m2", "m4", "m6", "m8"] and plain[1] == []
    assert _sqs_answers(patched=True) == plain


def _transaction_answers(patched: bool) -> list[Any]:
    """Transactions that commit and that are cancelled (a condition fails after an
    action that had applied), read back item by item and through the stream."""
    undo = moto_speedups.apply() if patched else None
    try:
        with mock_aws():
            ddb = boto3.client("dynamodb", region_name="us-east-1")
            ddb.create_table(
                TableName="tx",
                BillingMode="PAY_PER_REQUEST",
                AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in "ps"],
                KeySchema=[
                    {"AttributeName": "p", "KeyType": "HASH"},
                    {"AttributeName": "s", "KeyType": "RANGE"},
                ],
                StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
            )
            for i in range(50):
                ddb.put_item(TableName="tx", Item={"p": {"S": "a"}, "s": {"S": f"{i:02d}"}})

            def put(sk: str, condition: str | None = None) -> dict[str, Any]:
                action: dict[str, Any] = {
                    "TableName": "tx",
                    "Item": {"p": {"S": "a"}, "s": {"S": sk}, "v": {"N": "1"}},
                }
                if condition:
                    action["ConditionExpression"] = condition
                return {"Put": action}

            def add(sk: str) -> dict[str, Any]:
                return {
                    "Update": {
                        "TableName": "tx",
                        "Key": {"p": {"S": "a"}, "s": {"S": sk}},
                        "UpdateExpression": "ADD c :one",
                        "ExpressionAttributeValues": {":one": {"N": "1"}},
                    }
                }

            answers: list[Any] = []
            ddb.transact_write_items(TransactItems=[put("new1"), add("01"), add("new2")])
            for items in (
                # A new item put, an existing one updated, then a condition that fails.
                [put("new3"), add("02"), put("01", "attribute_not_exists(p)")],
                # The same key twice.
                [add("03"), add("03")],
            ):
                try:
                    ddb.transact_write_items(TransactItems=items)
                    answers.append("committed")
                except Exception as exc:  # the error's type is the answer
                    answers.append(type(exc).__name__)
            answers.append(ddb.scan(TableName="tx")["Items"])
            streams = boto3.client("dynamodbstreams", region_name="us-east-1")
            arn = ddb.describe_table(TableName="tx")["Table"]["LatestStreamArn"]
            shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]
            iterator = streams.get_shard_iterator(
                StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
            )["ShardIterator"]
            records = streams.get_records(ShardIterator=iterator, Limit=1000)["Records"]
            answers.append([(r["eventName"], r["dynamodb"]["Keys"]["s"]["S"]) for r in records])
            return answers
    finally:
        if undo is not None:
            undo()


def test_patched_transactions_commit_and_roll_back_exactly_as_moto() -> None:
    plain = _transaction_answers(patched=False)
    fast = _transaction_answers(patched=True)
    assert plain[:2] == ["TransactionCanceledException", "ClientError"]
    assert fast == plain
    items = {i["s"]["S"]: i for i in fast[2]}
    assert "new1" in items and "new3" not in items  # the cancelled put was undone
    assert items["02"].get("c") is None and items["01"]["c"] == {"N": "1"}
