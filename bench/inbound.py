"""InboundProcessor: AWS API calls per inbound text message, per operation.

What one customer text costs the InboundProcessor Lambda in AWS calls: Powertools
Idempotency (its in-progress record and the result), the contact (window, profile),
the record, campaign reply attribution, and the reply's submission to the outbound
queue. Driven through the function's own ``lambda_handler`` with one SQS record per
invocation, on ``moto.mock_aws`` in this process (the figure is a count, not a time).

Counting: a ``before-call`` handler on boto3's default session (one per API call,
whatever botocore retries), installed before the function creates its clients (a
client copies the session's handlers when it is created); the idempotency layer is
given the function's own DynamoDB client, so its calls are counted too. MARK_AS_READ
is off: the read receipt is a Graph call, not an AWS one. The first message of a
customer and a later one are counted separately (the contact is new only once).
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import sys
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

from bench._aws_calls import ApiCalls, reset_wacloud
from bench._common import (
    FUNCTIONS_DIR,
    REPO_ROOT,
    Context,
    Row,
    Table,
    ensure_import_paths,
    stdout_to_devnull,
)

TITLE = "InboundProcessor AWS calls"
ORDER = 25

PNID = "100000000000001"
REGION = "us-east-1"
ENVIRONMENT = {
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "TABLE_NAME": "bench-state",
    "IDEMPOTENCY_TABLE_NAME": "bench-idempotency",
    "META_SECRET_ID": "bench-secret",
    "MEDIA_BUCKET": "bench-media",
    "RESPONDER": "echo",
    "MARK_AS_READ": "false",
    "POWERTOOLS_METRICS_NAMESPACE": "bench",
    "POWERTOOLS_SERVICE_NAME": "inbound-processor",
}


@contextlib.contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    # A benchmark that ran before in this process may have left a moto server's endpoint
    # (AWS_ENDPOINT_URL*) behind; mock_aws answers in-process only without one.
    stale = [k for k in os.environ if k.startswith("AWS_ENDPOINT_URL")]
    saved = {k: os.environ.get(k) for k in [*values, *stale]}
    for key in stale:
        del os.environ[key]
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _create_resources() -> dict[str, str]:
    import boto3

    ddb = boto3.client("dynamodb", region_name=REGION)
    keys = ("pk", "sk", "gsi1pk", "gsi1sk")
    ddb.create_table(
        TableName=ENVIRONMENT["TABLE_NAME"],
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in keys],
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "gsi1",
                "KeySchema": [
                    {"AttributeName": "gsi1pk", "KeyType": "HASH"},
                    {"AttributeName": "gsi1sk", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    )
    ddb.create_table(
        TableName=ENVIRONMENT["IDEMPOTENCY_TABLE_NAME"],
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
    )
    boto3.client("s3", region_name=REGION).create_bucket(Bucket=ENVIRONMENT["MEDIA_BUCKET"])
    sqs = boto3.client("sqs", region_name=REGION)
    return {
        "OUTBOUND_QUEUE_URL": sqs.create_queue(QueueName="bench-outbound")["QueueUrl"],
        "INBOUND_QUEUE_URL": sqs.create_queue(QueueName="bench-inbound")["QueueUrl"],
    }


def _load_app() -> Any:
    spec = importlib.util.spec_from_file_location(
        "bench_fn_inbound_processor", FUNCTIONS_DIR / "inbound_processor" / "app.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _text_item(customer: str, wamid: str, text: str) -> dict[str, Any]:
    from wacloud.inbound.split import split_webhook

    doc = json.loads((REPO_ROOT / "tests" / "payloads" / "message_text.json").read_text())
    value = doc["entry"][0]["changes"][0]["value"]
    value["contacts"][0]["wa_id"] = customer
    message = value["messages"][0]
    message.update({"from": customer, "id": wamid, "timestamp": str(int(time.time()))})
    message["text"]["body"] = text
    (item,) = split_webhook(doc)
    return item


def _sqs_event(item: dict[str, Any], n: int) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": f"bench-{n}",
                "receiptHandle": "x",
                "body": json.dumps(item),
                "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": f"arn:aws:sqs:{REGION}:123456789012:bench-inbound",
                "awsRegion": REGION,
            }
        ]
    }


class _Context:
    function_name = "bench-inbound"
    memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:bench-inbound"
    aws_request_id = "bench"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 30_000


def count_calls(messages: int) -> tuple[Counter[str], Counter[str], int]:
    """(calls of a customer's first text, calls per later text, later texts counted)."""
    ensure_import_paths()
    import logging

    from moto import mock_aws

    logging.getLogger("aws_lambda_powertools").setLevel(logging.ERROR)
    with _environment(ENVIRONMENT), mock_aws():
        os.environ.update(_create_resources())
        reset_wacloud()
        # The texts below come from one customer in one burst; at an ordinary pace
        # moderation would not step in, so the number's rate limit is set out of reach
        # (what a text costs, not what a flood costs: tests/unit/test_moderation.py).
        from wacloud import moderation

        counter = ApiCalls()  # before the first client: clients copy its handler
        moderation.save_settings(PNID, {"rate_per_minute": 100_000})
        try:
            with stdout_to_devnull():
                app = _load_app()
                handler = app.lambda_handler
                customer = "15550001111"
                with counter.counting("first"):
                    handler(_sqs_event(_text_item(customer, "wamid.B0", "hi"), 0), _Context())
                for n in range(1, messages + 1):
                    item = _text_item(customer, f"wamid.B{n}", f"hello {n}")
                    with counter.counting("later"):
                        result = handler(_sqs_event(item, n), _Context())
                    assert not result.get("batchItemFailures"), result
        finally:
            counter.close()
            reset_wacloud()
    return Counter(counter.by_operation("first")), Counter(counter.by_operation("later")), messages


def run(ctx: Context) -> list[Table]:
    n = ctx.n(full=20, quick=3)
    first, later, count = count_calls(n)
    table = Table("InboundProcessor: AWS API calls per inbound text message (by operation)")
    for op in sorted(set(first) | set(later)):
        table.add(Row(f"{op}, a returning customer's text", later[op] / count, None))
    table.add(Row("total, a returning customer's text", sum(later.values()) / count, None))
    table.add(Row("total, a customer's first text", float(sum(first.values())), None))
    table.notes += [
        "Counted with a `before-call` handler on boto3's default session, through the "
        "function's lambda_handler on moto.mock_aws; one SQS record per invocation; "
        f"mean of {count} texts from one customer (echo responder, read receipts off).",
        "first text: " + ", ".join(f"{op} {c}" for op, c in sorted(first.items())),
        "What a text costs (#12): the record, the contact (which also counts the "
        "customer's rate for moderation), idempotency, the campaign-reply lookup, the "
        "handoff state (GetItem of the conversation), the reply. These texts arrive in "
        "one burst, so moderation scores each one (+1 UpdateItem); a text at an ordinary "
        "pace costs one call less. The assistant and moderation settings are read once a "
        "minute per container (the first text's extra GetItem); so is the number's "
        "webhook heartbeat for the health report (the first text's extra UpdateItem).",
    ]
    return [table]
