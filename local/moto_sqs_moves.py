"""SQS message move tasks (DLQ redrive) for the local moto server, which lacks them.

moto 5.2.5 implements neither StartMessageMoveTask nor ListMessageMoveTasks (nor
CancelMessageMoveTask). The operator API's redrive (wacloud.operations) calls them, so
the local stack adds them here, applied in the moto process beside local.moto_speedups:

* StartMessageMoveTask(SourceArn, DestinationArn?): the source must be a dead-letter
  queue, i.e. some queue's RedrivePolicy names it (as SQS requires). Without a
  destination, messages go back to the queue they came from; moto does not remember
  that per message, so it is the queue whose RedrivePolicy names the DLQ (one, or the
  call is refused as ambiguous). Every message visible in the DLQ at the start is moved
  as a new message (new id, receive count 0, body and attributes kept), as SQS does.
  The move is done before the call returns, so the task is COMPLETED at once (SQS
  moves asynchronously; callers poll ListMessageMoveTasks either way). One RUNNING task
  per source is all SQS allows; here none stays running.
* ListMessageMoveTasks(SourceArn, MaxResults): the source's tasks, newest first.
* CancelMessageMoveTask: refused, no task is ever still running.
"""

from __future__ import annotations

import base64
import importlib
import json
import time
import uuid
from collections.abc import Callable
from typing import Any

_tasks: dict[str, list[dict[str, Any]]] = {}


def _error(code: str, message: str) -> Any:
    from moto.sqs.exceptions import SQSException

    return SQSException(code, message)


def _queue_by_arn(backend: Any, arn: str) -> Any:
    for queue in backend.queues.values():
        if queue.queue_arn == arn:
            return queue
    raise _error("ResourceNotFoundException", "The resource that you specified does not exist.")


def start(backend: Any, source_arn: str, destination_arn: str | None) -> dict[str, Any]:
    sqs_models: Any = importlib.import_module("moto.sqs.models")
    source = _queue_by_arn(backend, source_arn)
    sources = [q for q in backend.queues.values() if q.dead_letter_queue is source]
    if not sources:
        raise _error(
            "InvalidParameterValue", "Source queue must be configured as a Dead Letter Queue."
        )
    if destination_arn:
        destination = _queue_by_arn(backend, destination_arn)
    elif len(sources) == 1:
        destination = sources[0]
    else:
        raise _error(
            "InvalidParameterValue",
            "local moto: several queues use this DLQ; give DestinationArn",
        )
    started = int(time.time() * 1000)
    moving = [m for m in list(source._messages) if m.visible and not m.delayed]
    for message in moving:
        copy = sqs_models.Message(str(uuid.uuid4()), message.body, dict(message.system_attributes))
        copy.message_attributes = dict(message.message_attributes)
        copy.sent_timestamp = int(time.time() * 1000)
        source._messages.remove(message)
        source.pending_messages.discard(message)
        destination.add_message(copy)
    handle = base64.b64encode(
        json.dumps({"taskId": uuid.uuid4().hex, "sourceArn": source_arn}).encode()
    ).decode()
    task = {
        "TaskHandle": handle,
        "Status": "COMPLETED",
        "SourceArn": source_arn,
        "DestinationArn": destination.queue_arn,
        "ApproximateNumberOfMessagesMoved": len(moving),
        "ApproximateNumberOfMessagesToMove": len(moving),
        "StartedTimestamp": started,
    }
    _tasks.setdefault(source_arn, []).insert(0, task)
    return task


def apply() -> Callable[[], None]:
    """Add the three actions to moto's SQS responses in this process; returns the undo."""
    from moto.core.responses import ActionResult
    from moto.sqs.responses import SQSResponse

    def start_message_move_task(self: Any) -> Any:
        task = start(
            self.sqs_backend, self._get_param("SourceArn"), self._get_param("DestinationArn")
        )
        return ActionResult({"TaskHandle": task["TaskHandle"]})

    def list_message_move_tasks(self: Any) -> Any:
        source_arn = self._get_param("SourceArn")
        _queue_by_arn(self.sqs_backend, source_arn)
        limit = int(self._get_param("MaxResults") or 1)
        return ActionResult({"Results": _tasks.get(source_arn, [])[:limit]})

    def cancel_message_move_task(self: Any) -> Any:
        raise _error("ResourceNotFoundException", "local moto: no move task is running")

    added = {
        "start_message_move_task": start_message_move_task,
        "list_message_move_tasks": list_message_move_tasks,
        "cancel_message_move_task": cancel_message_move_task,
    }
    for name, method in added.items():
        setattr(SQSResponse, name, method)

    def undo() -> None:
        for name in added:
            delattr(SQSResponse, name)
        _tasks.clear()

    return undo
