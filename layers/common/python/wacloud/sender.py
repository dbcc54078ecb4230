"""Outbound sending: each submission sent at most once, retried safely, never lost.

The protocol (README, "Delivery guarantees"):
1. Validate. An invalid submission is recorded `rejected` with the reason; never retried.
2. Claim the message record with a conditional write (`sending`, with a claim token).
   A redelivered SQS message finds it claimed or finished and sends nothing.
3. Check policy (window, blocks, opt-outs) and resolve media, then call Meta once.
4. Record the outcome. Our message id rides in `biz_opaque_callback_data`, so if the
   function dies after Meta accepted the message but before step 4, the status
   webhook still ties Meta's wamid to our record and moves it to `sent`.
   A claim that stays `sending` past the reconcile grace with no webhook was never
   accepted, and only then is the message claimed and sent again.
Retryable failures are retried by hiding the SQS message for a backoff (visibility
timeout), never by sleeping in the Lambda.
"""

from __future__ import annotations

import enum
import hashlib
import json
import random
from dataclasses import dataclass, field
from typing import Any

from aws_lambda_powertools import Logger
from pydantic import ValidationError

from wacloud.clock import iso, now
from wacloud.config import settings
from wacloud.graph import GraphClient, GraphTransportError
from wacloud.graph_errors import ErrorClass, GraphAPIError
from wacloud.logs import mask_phone
from wacloud.models.outbound import is_template, media_s3_key, with_media_id
from wacloud.models.outbound_common import describe_validation_error
from wacloud.models.submission import Submission
from wacloud.store import contacts, media, messages
from wacloud.store.contacts import contact_pk
from wacloud.store.messages import ClaimOutcome, State

logger = Logger(child=True)

MAX_BACKOFF_SECONDS = 900
AUTH_HOLD_SECONDS = 900
SCHEDULE_AHEAD_SECONDS = 60


class Outcome(enum.StrEnum):
    SENT = "sent"
    DUPLICATE = "duplicate"
    SCHEDULED = "scheduled"
    REJECTED = "rejected"
    FAILED = "failed"
    RETRY = "retry"
    DEFERRED = "deferred"
    IN_FLIGHT = "in_flight"
    AUTH_HOLD = "auth_hold"


@dataclass(frozen=True)
class SendResult:
    outcome: Outcome
    message_id: str | None
    # Seconds to hide the SQS message before it is tried again (None: delete it).
    retry_in: int | None = None
    detail: dict[str, Any] = field(default_factory=dict)


def message_id_for(phone_number_id: str, idempotency_key: str) -> str:
    return "m" + hashlib.sha256(f"{phone_number_id}|{idempotency_key}".encode()).hexdigest()[:32]


def backoff_seconds(attempt: int, base: float = 2.0, cap: int = MAX_BACKOFF_SECONDS) -> int:
    """Exponential backoff with full jitter (at least 1 s, at most `cap`)."""
    return max(1, int(random.uniform(0, min(cap, base * 2 ** max(0, attempt - 1)))))


class Sender:
    def __init__(self, graph: GraphClient) -> None:
        self.graph = graph
        self.cfg = settings()

    # ------------------------------------------------------------------ entry
    def handle(self, body: str) -> SendResult:
        try:
            document = json.loads(body)
            if not isinstance(document, dict):
                raise ValueError("a submission must be a JSON object")
            submission = Submission.model_validate(document)
        except (ValueError, ValidationError) as exc:
            return self._reject_invalid(body, exc)
        message_id = message_id_for(
            submission.phone_number_id, submission.effective_idempotency_key()
        )
        fields = self._record_fields(submission, body)
        if submission.send_at and submission.send_at.timestamp() > now() + SCHEDULE_AHEAD_SECONDS:
            return self._schedule(submission, message_id, fields)
        return self._send(submission, message_id, fields)

    # ------------------------------------------------------------------ steps
    def _reject_invalid(self, body: str, exc: Exception) -> SendResult:
        reason = describe_validation_error(exc) if isinstance(exc, ValidationError) else str(exc)
        pnid = "unknown"
        try:
            candidate = json.loads(body)
            if isinstance(candidate, dict) and str(candidate.get("phone_number_id", "")).isdigit():
                pnid = str(candidate["phone_number_id"])
        except ValueError:
            pass
        message_id = "r" + hashlib.sha256(body.encode()).hexdigest()[:32]
        messages.record_new(
            pnid,
            message_id,
            State.REJECTED,
            {"error": {"reason": reason, "stage": "validation"}, "submission": body[:32_000]},
        )
        logger.warning("submission rejected", extra={"message_id": message_id, "reason": reason})
        return SendResult(Outcome.REJECTED, message_id, detail={"reason": reason})

    def _record_fields(self, submission: Submission, body: str) -> dict[str, Any]:
        at = now()
        return {
            "to": submission.wa_id,
            "type": submission.type,
            "submission": body,
            "priority": submission.priority,
            "campaign_id": submission.campaign_id,
            "variant": submission.variant,
            "tags": submission.tags,
            "idempotency_key": submission.effective_idempotency_key(),
            "gsi1pk": contact_pk(submission.phone_number_id, submission.wa_id),
            "gsi1sk": f"{iso(at)}#OUT",
            "direction": "out",
        }

    def _schedule(
        self, submission: Submission, message_id: str, fields: dict[str, Any]
    ) -> SendResult:
        assert submission.send_at is not None
        due = submission.send_at.timestamp()
        fields = {
            **fields,
            "send_at": due,
            "due_pk": "DUE",
            "due_sk": f"{iso(due)}#{9 - submission.priority}#{submission.phone_number_id}"
            f"#{message_id}",
        }
        created = messages.record_new(
            submission.phone_number_id, message_id, State.SCHEDULED, fields
        )
        return SendResult(Outcome.SCHEDULED if created else Outcome.DUPLICATE, message_id)

    def _send(self, submission: Submission, message_id: str, fields: dict[str, Any]) -> SendResult:
        pnid = submission.phone_number_id
        claim = messages.claim(
            pnid, message_id, fields, stale_after=self.cfg.send_reconcile_grace_seconds
        )
        if claim.outcome is ClaimOutcome.FINISHED:
            return SendResult(
                Outcome.DUPLICATE, message_id, detail={"state": claim.item.get("state")}
            )
        if claim.outcome is ClaimOutcome.IN_FLIGHT:
            # An earlier attempt holds it; look again once its grace has passed.
            waited = now() - float(claim.item.get("claimed_at", now()))
            retry_in = max(1, int(self.cfg.send_reconcile_grace_seconds - waited) + 1)
            return SendResult(Outcome.IN_FLIGHT, message_id, retry_in=retry_in)
        assert claim.token is not None
        token = claim.token
        attempt = int(claim.item.get("attempts", 1))

        refusal = self._policy_refusal(submission)
        if refusal is not None:
            messages._transition(
                pnid,
                message_id,
                State.REJECTED,
                at=now(),
                extra={"error": refusal},
                detail=refusal,
                condition="claim_token = :token",
                condition_values={":token": token},
            )
            logger.info("send refused by policy", extra={"message_id": message_id, **refusal})
            return SendResult(Outcome.REJECTED, message_id, detail=refusal)

        message = submission.message
        try:
            s3_key = media_s3_key(message)
            if s3_key is not None:
                message = with_media_id(message, media.media_id_for(self.graph, pnid, s3_key))
            payload = submission.graph_payload(
                messages.tracking_callback(message_id, submission.biz_opaque_callback_data),
                message=message,
            )
            sent = self.graph.send_message(pnid, payload)
        except GraphTransportError as exc:
            # Meta may have accepted it: keep the claim; the status webhook or the grace
            # period decides (module docstring, step 4).
            logger.warning(
                "send outcome unknown", extra={"message_id": message_id, "error": str(exc)}
            )
            return SendResult(
                Outcome.IN_FLIGHT, message_id, retry_in=self.cfg.send_reconcile_grace_seconds + 1
            )
        except GraphAPIError as exc:
            return self._graph_error(pnid, message_id, token, attempt, exc)
        except media.MediaError as exc:
            error = {"reason": str(exc), "stage": "media"}
            messages.mark_failed(pnid, message_id, error, token)
            return SendResult(Outcome.FAILED, message_id, detail=error)
        messages.mark_sent(pnid, message_id, token, sent.wamid, sent.wa_id)
        logger.info(
            "sent",
            extra={
                "message_id": message_id,
                "wamid": sent.wamid,
                "to": mask_phone(submission.wa_id),
                "type": submission.type,
            },
        )
        return SendResult(Outcome.SENT, message_id, detail={"wamid": sent.wamid})

    def _policy_refusal(self, submission: Submission) -> dict[str, Any] | None:
        contact = contacts.load(submission.phone_number_id, submission.wa_id)
        if contact and contact.get("blocked"):
            return {"reason": "recipient is blocked", "stage": "policy", "rule": "blocked"}
        if is_template(submission.message):
            if (
                contact
                and contact.get("opted_out_marketing")
                and "marketing" in (submission.tags or [])
            ):
                return {
                    "reason": "recipient opted out of marketing messages",
                    "stage": "policy",
                    "rule": "opt_out",
                }
            return None
        if not contacts.window_open(contact):
            return {
                "reason": "template required: the 24-hour customer service window is closed "
                "(Meta would fail this with 131047)",
                "stage": "policy",
                "rule": "window",
            }
        return None

    def _graph_error(
        self, pnid: str, message_id: str, token: str, attempt: int, exc: GraphAPIError
    ) -> SendResult:
        error = exc.to_dict()
        error_class = exc.error_class
        logger.warning(
            "graph error",
            extra={
                "message_id": message_id,
                "code": exc.code,
                "class": error_class.value,
                "attempt": attempt,
            },
        )
        if error_class is ErrorClass.RETRYABLE and attempt < self.cfg.max_send_attempts:
            delay = backoff_seconds(attempt)
            messages.mark_retrying(pnid, message_id, token, error, now() + delay)
            return SendResult(Outcome.RETRY, message_id, retry_in=delay, detail=error)
        if error_class is ErrorClass.RATE_LIMITED:
            hint = exc.retry_after_seconds or 1
            delay = max(hint, backoff_seconds(attempt, base=max(1.0, float(hint))))
            messages.mark_deferred(pnid, message_id, token, error, now() + delay)
            return SendResult(Outcome.DEFERRED, message_id, retry_in=delay, detail=error)
        if error_class is ErrorClass.AUTH:
            # Kept until the token is fixed: retried every AUTH_HOLD_SECONDS, alarmed by metric.
            messages.mark_retrying(pnid, message_id, token, error, now() + AUTH_HOLD_SECONDS)
            return SendResult(
                Outcome.AUTH_HOLD, message_id, retry_in=AUTH_HOLD_SECONDS, detail=error
            )
        messages.mark_failed(pnid, message_id, error, token)
        return SendResult(Outcome.FAILED, message_id, detail=error)
