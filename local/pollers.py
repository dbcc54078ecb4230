"""SQS event source mappings: poll a queue and invoke the mapped function with batches.

Honours what the template sets: batch size, batching window, maximum concurrency
(one poller thread per concurrent batch, capped locally) and ReportBatchItemFailures:
only the items a handler reports as failed stay on the queue; they reappear after
the visibility timeout and move to the DLQ after maxReceiveCount (moto applies the
redrive policy). A failed invocation leaves the whole batch on the queue, as Lambda does.

A mapping never stops over one failed call to SQS: a receive that fails part-way
through the batching window still invokes with what was received (otherwise those
messages would sit invisible for a whole visibility timeout, 180 s on the inbound
queue, holding the sender's reconcile), and a failed delete leaves the batch to come
back after the visibility timeout, as Lambda's own poller does (at least once).
"""

from __future__ import annotations

import hashlib
import threading
import time
import traceback
from dataclasses import dataclass
from typing import Any

from local.lambdas import LocalFunction


@dataclass(frozen=True)
class MappingSpec:
    logical_id: str
    queue_url: str
    queue_arn: str
    batch_size: int
    batching_window_seconds: float
    report_batch_item_failures: bool
    concurrency: int


def to_lambda_record(message: dict[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    attributes = message.get("Attributes", {})
    record: dict[str, Any] = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": {
            k: attributes[k]
            for k in (
                "ApproximateReceiveCount",
                "SentTimestamp",
                "SenderId",
                "ApproximateFirstReceiveTimestamp",
                "MessageGroupId",
                "MessageDeduplicationId",
                "SequenceNumber",
            )
            if k in attributes
        },
        "messageAttributes": {},
        "md5OfBody": message.get("MD5OfBody") or hashlib.md5(message["Body"].encode()).hexdigest(),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }
    for name, value in (message.get("MessageAttributes") or {}).items():
        record["messageAttributes"][name] = {
            "stringValue": value.get("StringValue"),
            "binaryValue": value.get("BinaryValue"),
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": value["DataType"],
        }
    return record


class QueuePoller:
    def __init__(self, spec: MappingSpec, function: LocalFunction, sqs: Any, region: str) -> None:
        self.spec = spec
        self._function = function
        self._sqs = sqs
        self._region = region
        self._stop = threading.Event()
        # moto's ReceiveMessage is not atomic across threads (it can hand one message to
        # two concurrent receivers); SQS is at-least-once, but local runs stay repeatable.
        self._receive_lock = threading.Lock()
        self._threads = [
            threading.Thread(target=self._run, daemon=True, name=f"poller-{spec.logical_id}-{i}")
            for i in range(spec.concurrency)
        ]
        self.invocations = 0
        self.failed_invocations = 0

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=10)

    def _collect_batch(self) -> list[dict[str, Any]]:
        batch: list[dict[str, Any]] = []
        deadline = time.monotonic() + self.spec.batching_window_seconds
        while not self._stop.is_set() and len(batch) < self.spec.batch_size:
            wait = 1 if not batch else 0
            try:
                with self._receive_lock:
                    response = self._sqs.receive_message(
                        QueueUrl=self.spec.queue_url,
                        MaxNumberOfMessages=min(10, self.spec.batch_size - len(batch)),
                        WaitTimeSeconds=wait,
                        AttributeNames=["All"],
                        MessageAttributeNames=["All"],
                    )
            except Exception:
                if not batch:
                    raise
                break  # invoke with what was received rather than strand it
            messages = response.get("Messages", [])
            batch.extend(messages)
            if batch and (not messages or time.monotonic() >= deadline):
                break
        return batch

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                batch = self._collect_batch()
            except Exception:  # moto restarting or stopping: try again shortly
                time.sleep(0.2)
                continue
            if not batch:
                continue
            event = {
                "Records": [to_lambda_record(m, self.spec.queue_arn, self._region) for m in batch]
            }
            try:
                outcome = self._function.invoke(event)
            except Exception:  # the mapping must outlive any one failed invocation
                traceback.print_exc()
                self.failed_invocations += 1
                continue
            self.invocations += 1
            if not outcome.ok:
                self.failed_invocations += 1
                continue  # every item becomes visible again after the visibility timeout
            failed: set[str] = set()
            if self.spec.report_batch_item_failures and isinstance(outcome.payload, dict):
                failed = {
                    f["itemIdentifier"] for f in outcome.payload.get("batchItemFailures") or []
                }
            done = [m for m in batch if m["MessageId"] not in failed]
            try:
                self._delete(done)
            except Exception:  # they come back after the visibility timeout (at least once)
                traceback.print_exc()

    def _delete(self, done: list[dict[str, Any]]) -> None:
        for start in range(0, len(done), 10):
            self._sqs.delete_message_batch(
                QueueUrl=self.spec.queue_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                    for i, m in enumerate(done[start : start + 10])
                ],
            )
