"""The stack's queues as operators see them: depths, dead-letter queues, peek, redrive.

The queues are the ones OPS_QUEUES names (`Name=url`, the template's logical ids). A
queue is a dead-letter queue when another listed queue's RedrivePolicy names it, or its
name ends in ``DeadLetterQueue`` (EventBridge's, whose sources are not queues).

Peek: one ReceiveMessage with ``VisibilityTimeout=0``, so nothing is consumed and every
message stays visible at once. It does count as a receive: each peeked message's
``ApproximateReceiveCount`` grows by one (shown as `receive_count`). A DLQ has no
redrive policy of its own, so that count moves nothing; and a redriven message starts
its source queue's count afresh.

Redrive: SQS StartMessageMoveTask from the DLQ back to the queue each message came
from (SQS keeps that), one task at a time per DLQ; ListMessageMoveTasks tells how it
went.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from wacloud.errors import ConflictError, NotFoundError
from wacloud.infra.aws import sqs
from wacloud.infra.config import settings

PEEK_MAX = 10
DLQ_SUFFIX = "DeadLetterQueue"


class UnknownQueueError(NotFoundError):
    """Not a queue OPS_QUEUES names (or not a dead-letter queue where one is needed)."""


class RedriveRefusedError(ConflictError):
    """SQS refused the move (a task already runs, or the DLQ has no source queue)."""


@dataclass(frozen=True, slots=True)
class QueueDepth:
    name: str
    url: str
    arn: str
    visible: int
    in_flight: int
    delayed: int
    dead_letter: bool
    dead_letter_of: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "url": self.url,
            "visible": self.visible,
            "in_flight": self.in_flight,
            "delayed": self.delayed,
            "dead_letter": self.dead_letter,
            "dead_letter_of": list(self.dead_letter_of),
        }


def configured() -> dict[str, str]:
    return dict(settings().ops_queues)


def _attributes(url: str) -> dict[str, str]:
    response = sqs().get_queue_attributes(QueueUrl=url, AttributeNames=["All"])
    return {str(k): str(v) for k, v in (response.get("Attributes") or {}).items()}


def depths() -> list[QueueDepth]:
    """Every listed queue's depth, in OPS_QUEUES order (one GetQueueAttributes each)."""
    found = {name: _attributes(url) for name, url in configured().items()}
    sources: dict[str, list[str]] = {}
    for name, attributes in found.items():
        policy = attributes.get("RedrivePolicy")
        if policy:
            target = json.loads(policy).get("deadLetterTargetArn")
            sources.setdefault(str(target), []).append(name)
    queues = []
    for name, url in configured().items():
        attributes = found[name]
        arn = attributes.get("QueueArn", "")
        of = tuple(sources.get(arn, ()))
        queues.append(
            QueueDepth(
                name=name,
                url=url,
                arn=arn,
                visible=int(attributes.get("ApproximateNumberOfMessages", 0)),
                in_flight=int(attributes.get("ApproximateNumberOfMessagesNotVisible", 0)),
                delayed=int(attributes.get("ApproximateNumberOfMessagesDelayed", 0)),
                dead_letter=bool(of) or name.endswith(DLQ_SUFFIX),
                dead_letter_of=of,
            )
        )
    return queues


def dead_letter_queue(name: str) -> QueueDepth:
    for queue in depths():
        if queue.name == name and queue.dead_letter:
            return queue
    raise UnknownQueueError(f"{name} is not a dead-letter queue of this stack (see /v1/ops/queues)")


def peek(name: str, max_messages: int = PEEK_MAX) -> list[dict[str, Any]]:
    """Up to `max_messages` (at most 10) of a DLQ's messages, left where they are."""
    queue = dead_letter_queue(name)
    if not queue.visible:
        return []
    response = sqs().receive_message(
        QueueUrl=queue.url,
        MaxNumberOfMessages=max(1, min(max_messages, PEEK_MAX)),
        VisibilityTimeout=0,
        WaitTimeSeconds=1,
        MessageSystemAttributeNames=["All"],
    )
    return [
        {
            "message_id": m["MessageId"],
            "sent_at": int(m.get("Attributes", {}).get("SentTimestamp", 0)) / 1000.0,
            "receive_count": int(m.get("Attributes", {}).get("ApproximateReceiveCount", 0)),
            "size": len(m.get("Body", "").encode()),
            "body": m.get("Body", ""),
        }
        for m in response.get("Messages", [])
    ]


def _task(task: dict[str, Any]) -> dict[str, Any]:
    return {
        "task_handle": task.get("TaskHandle"),
        "status": task.get("Status"),
        "moved": task.get("ApproximateNumberOfMessagesMoved"),
        "to_move": task.get("ApproximateNumberOfMessagesToMove"),
        "started_at": (task["StartedTimestamp"] / 1000.0) if task.get("StartedTimestamp") else None,
        "failure_reason": task.get("FailureReason"),
    }


def start_redrive(name: str) -> dict[str, Any]:
    """Start moving a DLQ's messages back to their source queue."""
    queue = dead_letter_queue(name)
    if not queue.dead_letter_of:
        raise RedriveRefusedError(
            f"{name} is not the dead-letter queue of a queue (its messages came from "
            "elsewhere, e.g. EventBridge): read them with peek and resend by hand"
        )
    try:
        response = sqs().start_message_move_task(SourceArn=queue.arn)
    except Exception as exc:
        code = (getattr(exc, "response", None) or {}).get("Error", {}).get("Code", "")
        if (
            "UnsupportedOperation" in code
            or "ResourceNotFound" in code
            or "InvalidParameter" in code
        ):
            raise RedriveRefusedError(f"SQS refused the redrive of {name} ({code})") from None
        raise
    return {"task_handle": response.get("TaskHandle"), "status": "RUNNING"}


def latest_redrive(name: str) -> dict[str, Any] | None:
    queue = dead_letter_queue(name)
    tasks = sqs().list_message_move_tasks(SourceArn=queue.arn, MaxResults=1).get("Results", [])
    return _task(dict(tasks[0])) if tasks else None
