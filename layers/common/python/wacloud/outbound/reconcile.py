"""What to do with a `sending` claim whose holder never finished (docs/outbound.md).

A claim stays `sending` when its Graph call's outcome is unknown (a read timeout, a
reset after the request was written, a 5xx without Graph's body), when Meta accepted
the message but recording `sent` failed, or when the holder died. After the reconcile
grace, the next copy of the message asks `decide`, which looks for evidence that Meta
accepted it before anything is sent again:

1. Acceptance kept by the sender when recording `sent` failed (`note_acceptance`), or
   a wamid already on the record -> ACCEPTED: record `sent`, never send again.
2. Waited longer than SEND_OUTCOME_MAX_WAIT_SECONDS -> GIVE_UP: record `failed` with
   reason `outcome_unknown` for an operator. At most once is the promise, so a
   message we cannot prove unsent is not sent again.
3. Our inbound queue or its DLQ holds anything -> WAIT: a status webhook naming this
   message may be among those items (a backlog, items in retries, parked in the DLQ).
4. Otherwise -> RESEND: no status came through a pipeline that has nothing left to
   process, so Meta most likely never accepted it.

Only this rare path costs AWS calls (one GetItem, two GetQueueAttributes); the
accepted path pays nothing for it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from wacloud.infra.aws import sqs
from wacloud.infra.config import Settings
from wacloud.store import messages

if TYPE_CHECKING:
    from mypy_boto3_sqs.literals import QueueAttributeFilterType

# Counted as "still to process": waiting, being processed (or in a retry's visibility
# timeout), and delayed.
BACKLOG_ATTRIBUTES: tuple[QueueAttributeFilterType, ...] = (
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
)


class Verdict(enum.Enum):
    ACCEPTED = "accepted"
    WAIT = "wait"
    GIVE_UP = "give_up"
    RESEND = "resend"


@dataclass(frozen=True, slots=True)
class Decision:
    verdict: Verdict
    wamid: str | None = None
    wa_id: str | None = None
    backlog: int = 0


def queue_backlog(queue_url: str) -> int:
    """Messages in a queue not yet deleted (one GetQueueAttributes call)."""
    response = sqs().get_queue_attributes(
        QueueUrl=queue_url,
        AttributeNames=list(BACKLOG_ATTRIBUTES),
    )
    attributes = {str(k): str(v) for k, v in response.get("Attributes", {}).items()}
    return sum(int(attributes.get(str(name), "0")) for name in BACKLOG_ATTRIBUTES)


def inbound_backlog(cfg: Settings) -> int:
    """Items our inbound pipeline has not finished: its queue plus its DLQ."""
    total = queue_backlog(cfg.require(cfg.inbound_queue_url, "INBOUND_QUEUE_URL"))
    if cfg.inbound_dlq_url:
        total += queue_backlog(cfg.inbound_dlq_url)
    return total


def decide(
    cfg: Settings, phone_number_id: str, message_id: str, item: dict[str, Any], age: float
) -> Decision:
    """Settle a stale claim (`age` seconds old); see the module docstring for the order."""
    if item.get("wamid"):
        return Decision(Verdict.ACCEPTED, str(item["wamid"]), item.get("recipient_wa_id"))
    kept = messages.accepted_evidence(phone_number_id, message_id)
    if kept is not None:
        return Decision(Verdict.ACCEPTED, str(kept["wamid"]), kept.get("wa_id"))
    if age >= cfg.send_outcome_max_wait_seconds:
        return Decision(Verdict.GIVE_UP)
    backlog = inbound_backlog(cfg)
    if backlog > 0:
        return Decision(Verdict.WAIT, backlog=backlog)
    return Decision(Verdict.RESEND)
