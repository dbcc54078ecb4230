"""Outbound sending: each submission sent at most once, retried safely, never lost.

The protocol (docs/outbound.md, "Delivery guarantees"):
1. Validate. An invalid submission is recorded `rejected` with the reason; never retried.
2. Claim the message record with a conditional write (`sending`, with a claim token).
   A redelivered SQS message finds it claimed or finished and sends nothing.
3. Check policy (block list, 24-hour window, marketing opt-out, the synced template) and
   refuse with a reason (`rejected`) before any Graph call.
4. Check limits (number throughput, pair rate, messaging limit). Over a limit the claim
   is released as `deferred` and the message comes back later; it never fails for it.
5. Resolve media, then call Meta once.
6. Record the outcome. Our message id rides in `biz_opaque_callback_data`, so if the
   function dies after Meta accepted the message but before step 6, the status
   webhook still ties Meta's wamid to our record and moves it to `sent`.
   A failure to connect never reached Meta and is retried soon. An unknown outcome
   (timeout, a reset after the request was written) keeps the claim; so does a
   failure to record `sent` after Meta accepted (the wamid is kept apart). A claim
   still `sending` past the reconcile grace is settled by `send_reconcile`: sent
   again only with no evidence of acceptance and nothing left for our inbound
   pipeline to process, and given up as `failed` (outcome_unknown) after the
   maximum wait rather than risk sending twice.
Waits (retries, deferrals) are returned as `retry_in`; the function puts a delayed copy
back on the queue (functions/sender/app.py) and never sleeps in the Lambda.
"""

from __future__ import annotations

import enum
import hashlib
import json
import math
import random
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from aws_lambda_powertools import Logger
from pydantic import ValidationError

from wacloud.graph.client import GraphClient, GraphTransportError
from wacloud.graph.errors import ErrorClass, GraphAPIError, pair_rate_retry_seconds
from wacloud.infra.clock import now
from wacloud.infra.config import settings
from wacloud.infra.privacy import mask_phone
from wacloud.models.outbound.common import describe_validation_error
from wacloud.models.outbound.message import is_template, media_s3_key, with_media_id
from wacloud.models.outbound.submission import SUBMISSION_MAX_BYTES, Submission
from wacloud.outbound import media, ratelimit
from wacloud.outbound import policy as send_policy
from wacloud.outbound import reconcile as send_reconcile
from wacloud.store import contacts, messages, reach, template_mirror, tenants, throughput
from wacloud.store.messages import SCHEDULE_AHEAD_SECONDS, ClaimOutcome, State, message_id_for

logger = Logger(child=True)

MAX_BACKOFF_SECONDS = 900
# How stale a campaign's cancelled flag may be when the sender checks it.
CAMPAIGN_STATE_TTL = 10.0
AUTH_HOLD_SECONDS = 900
# 131056: Meta says retry after 4^X seconds (X = 0, 1, 2...; docs/meta/throughput.md). X stops
# growing at 4 (256 s) so a recipient is never parked for long after a burst.
PAIR_RETRY_MAX_EXPONENT = 4
# Recording `sent` after Meta accepted is retried in the Lambda (on top of boto3's own
# retries) before the acceptance is kept apart and the claim held: 3 tries, 0.2 s, 0.4 s.
RECORD_SENT_ATTEMPTS = 3
RECORD_SENT_BACKOFF_SECONDS = 0.2


class Outcome(enum.StrEnum):
    SENT = "sent"
    DUPLICATE = "duplicate"
    SCHEDULED = "scheduled"
    REJECTED = "rejected"
    FAILED = "failed"
    RETRY = "retry"
    DEFERRED = "deferred"
    IN_FLIGHT = "in_flight"
    NOT_DUE = "not_due"
    AUTH_HOLD = "auth_hold"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class SendResult:
    outcome: Outcome
    message_id: str | None
    # Seconds until the message should be tried again (None: it is finished here).
    retry_in: int | None = None
    detail: dict[str, Any] = field(default_factory=dict)


def backoff_seconds(attempt: int, base: float = 2.0, cap: int = MAX_BACKOFF_SECONDS) -> int:
    """Exponential backoff with full jitter (at least 1 s, at most `cap`)."""
    return max(1, int(random.uniform(0, min(cap, base * 2 ** max(0, attempt - 1)))))


def rate_limit_delay(code: int, deferrals: int, hint: int | None) -> int:
    """How long to defer after one of Meta's rate-limit errors (pure).

    131056 (pair rate) follows Meta's 4^X advice; the others back off exponentially
    from Meta's hint (e.g. 60 s for 131057, 1 h for 132069) or 1 s.
    """
    if code == 131056:
        return pair_rate_retry_seconds(min(deferrals, PAIR_RETRY_MAX_EXPONENT))
    base = max(1, hint or 1)
    return max(base, backoff_seconds(deferrals + 1, base=float(base), cap=max(base, 900)))


def batch_counts(bodies: Iterable[str]) -> dict[str, int]:
    """Messages per business number in a batch, for taking throughput tokens at once.

    Only looks for `phone_number_id`; duplicates and invalid bodies are counted too and
    their unused tokens are refunded after the batch (ThroughputBudget.settle).
    """
    counts: dict[str, int] = {}
    for body in bodies:
        try:
            document = json.loads(body)
        except ValueError:
            continue
        pnid = document.get("phone_number_id") if isinstance(document, dict) else None
        if isinstance(pnid, str) and pnid.isdigit():
            counts[pnid] = counts.get(pnid, 0) + 1
    return counts


_PNID = re.compile(r"^[0-9]{1,32}$")
# Characters of an invalid submission's body kept on its `rejected` record.
REJECTED_BODY_KEPT = 32_000
# Nesting a submission may have (wacloud's limit; a Cloud API message nests a few levels).
# Explicit, not Python's recursion limit: json.loads raised RecursionError near 1,000
# levels on Python 3.11, while 3.13's C decoder parses thousands.
SUBMISSION_MAX_DEPTH = 64


def _depth_exceeds(document: Any, limit: int) -> bool:
    """Whether `document` (parsed JSON) nests deeper than `limit` (walked, not recursed)."""
    pending: list[tuple[Any, int]] = [(document, 1)]
    while pending:
        value, depth = pending.pop()
        if depth > limit:
            return True
        if isinstance(value, dict):
            pending.extend((v, depth + 1) for v in value.values() if isinstance(v, dict | list))
        elif isinstance(value, list):
            pending.extend((v, depth + 1) for v in value if isinstance(v, dict | list))
    return False


def parse_submission(body: str) -> Submission:
    """Validate one queued body; ValueError or ValidationError says why it never can be sent.

    Size first (SUBMISSION_MAX_BYTES): an oversized body would pass validation and then
    fail every DynamoDB write. Lone surrogates (valid JSON escapes, not valid Unicode)
    are refused here because DynamoDB would refuse them on every attempt.
    """
    size = len(body.encode("utf-8", "surrogatepass"))
    if size > SUBMISSION_MAX_BYTES:
        raise ValueError(
            f"submission: at most {SUBMISSION_MAX_BYTES} bytes (wacloud limit, keeps the "
            f"message record within DynamoDB's item size), got {size}"
        )
    try:
        document = json.loads(body)
    except RecursionError:
        raise ValueError("submission: JSON nested too deeply") from None
    if _depth_exceeds(document, SUBMISSION_MAX_DEPTH):
        raise ValueError(
            f"submission: JSON nested too deeply (more than {SUBMISSION_MAX_DEPTH} levels)"
        )
    if not isinstance(document, dict):
        raise ValueError("a submission must be a JSON object")
    try:
        json.dumps(document, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(
            "submission: contains a lone surrogate escape (not valid Unicode text)"
        ) from None
    return Submission.model_validate(document)


def _seconds(value: float) -> int:
    # Less a micro-second: a wait of exactly 6 s computed from epoch floats can come out
    # as 6.0000002 s, which must not round up to a whole extra second.
    return max(1, math.ceil(value - 1e-6))


@dataclass
class Prefetched:
    """What one SQS batch reads once before its sends and writes once after them
    (outbound/batch.py; docs/outbound.md, "AWS calls per message").

    Before: every body is validated once, and every recipient's contact and pair
    bucket are read with one BatchGetItem instead of one GetItem and one conditional
    update each. The contact is read a moment earlier than a per-message read would
    (before the claim rather than just after it); what the sender itself changes on a
    contact (an opt-out Meta reported) is dropped from here, so a later message of the
    same batch reads it again.

    After (`flush`): the wamid lookups of the messages sent and the pair buckets the
    batch moved, in one BatchWriteItem per 25 items. Only a batch collects writes
    (`prefetch` sets `batched`); a single `Sender.handle` writes each at once.
    """

    submissions: dict[str, Submission | ValueError | ValidationError] = field(default_factory=dict)
    contacts: dict[tuple[str, str], dict[str, Any] | None] = field(default_factory=dict)
    pairs: ratelimit.PairLedger = field(default_factory=ratelimit.PairLedger)
    batched: bool = False
    _lookups: list[dict[str, Any]] = field(default_factory=list, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def contact(self, phone_number_id: str, wa_id: str) -> dict[str, Any] | None:
        key = (phone_number_id, wa_id)
        with self._lock:
            if key in self.contacts:
                return self.contacts[key]
        return contacts.load(phone_number_id, wa_id)

    def forget_contact(self, phone_number_id: str, wa_id: str) -> None:
        with self._lock:
            self.contacts.pop((phone_number_id, wa_id), None)

    def pair_grant(self, phone_number_id: str, wa_id: str) -> ratelimit.Grant:
        """The pair-rate token: decided in memory when the batch read the bucket."""
        if self.pairs.knows(phone_number_id, wa_id):
            return self.pairs.take(phone_number_id, wa_id)
        return ratelimit.acquire_pair(phone_number_id, wa_id)

    def note_lookup(self, phone_number_id: str, message_id: str, wamid: str) -> None:
        with self._lock:
            self._lookups.append(messages.wamid_lookup_item(phone_number_id, message_id, wamid))

    def flush(self) -> int:
        """Write what the batch collected (lookups, moved pair buckets); items written.

        Unconditional writes that may be late or, after sustained throttling, lost:
        status webhooks write the same lookup again (`messages.apply_status`), and a
        lost pair bucket only lets a later message through early, which Meta's own
        pair limit (131056) defers.
        """
        with self._lock:
            items, self._lookups = self._lookups, []
        items += self.pairs.dirty_items()
        if items:
            messages.write_after_batch(items)
        return len(items)


def prefetch(bodies: Iterable[str]) -> Prefetched:
    """Validate a batch's bodies and read its recipients' contacts and pair buckets at
    once; the result collects the batch's writes until `Prefetched.flush`."""
    out = Prefetched()
    for body in bodies:
        if body in out.submissions:
            continue
        try:
            out.submissions[body] = parse_submission(body)
        except (ValueError, ValidationError) as exc:
            out.submissions[body] = exc
    later = now() + SCHEDULE_AHEAD_SECONDS
    keys = {
        (s.phone_number_id, s.wa_id)
        for s in out.submissions.values()
        if isinstance(s, Submission) and not (s.send_at and s.send_at.timestamp() > later)
    }
    if keys:
        out.contacts, tats = throughput.load_contacts_and_pairs(keys)
        out.pairs = ratelimit.PairLedger(tats)
    out.batched = True
    return out


@dataclass(frozen=True)
class _Checked:
    """What policy learned about a claimed message that the limits need."""

    window_open: bool
    template: bool


class Sender:
    def __init__(
        self,
        graph: GraphClient,
        *,
        waba_for: Callable[[str], str | None] | None = None,
    ) -> None:
        self.graph = graph
        self.cfg = settings()
        # The WABA whose synced templates a number sends: tenant config first, then
        # whatever the caller knows (the Meta secret's tenants, in the function).
        self._waba_fallback = waba_for
        self._halted: dict[tuple[str, str], tuple[bool, float]] = {}

    def waba_for(self, phone_number_id: str) -> str | None:
        waba = tenants.load(phone_number_id).waba_id
        if waba is None and self._waba_fallback is not None:
            waba = self._waba_fallback(phone_number_id)
        return waba

    def budget(self) -> ratelimit.ThroughputBudget:
        return ratelimit.ThroughputBudget(lambda pnid: tenants.load(pnid).throughput_mps)

    # ------------------------------------------------------------------ entry
    def handle(
        self,
        body: str,
        budget: ratelimit.ThroughputBudget | None = None,
        prefetched: Prefetched | None = None,
    ) -> SendResult:
        parsed = prefetched.submissions.get(body) if prefetched is not None else None
        if parsed is None:
            try:
                parsed = parse_submission(body)
            except (ValueError, ValidationError) as exc:
                parsed = exc
        if not isinstance(parsed, Submission):
            return self._reject_invalid(body, parsed)
        submission = parsed
        message_id = message_id_for(
            submission.phone_number_id, submission.effective_idempotency_key()
        )
        fields = self._record_fields(submission, body)
        try:
            if (
                submission.send_at
                and submission.send_at.timestamp() > now() + SCHEDULE_AHEAD_SECONDS
            ):
                return self._schedule(submission, message_id, fields)
            return self._send(
                submission, message_id, fields, budget or self.budget(), prefetched or Prefetched()
            )
        except Exception as exc:
            if not messages.is_item_too_large(exc):
                raise
            # Retrying cannot make it fit: record why, once, instead of 12 failures + DLQ.
            reason = "record too large: the submission does not fit a DynamoDB item (400 KB)"
            return self._reject(submission.phone_number_id, message_id, reason, body="")

    # ------------------------------------------------------------------ steps
    def _reject_invalid(self, body: str, exc: Exception) -> SendResult:
        # Scrubbed: the reason is logged and names fields, never their values (privacy).
        reason = describe_validation_error(exc) if isinstance(exc, ValidationError) else str(exc)
        pnid = "unknown"
        try:
            candidate = json.loads(body)
            value = candidate.get("phone_number_id") if isinstance(candidate, dict) else None
            if isinstance(value, str | int) and _PNID.match(str(value)):
                pnid = str(value)
        except (ValueError, RecursionError):
            pass
        message_id = "r" + hashlib.sha256(body.encode("utf-8", "replace")).hexdigest()[:32]
        return self._reject(pnid, message_id, reason, body=body)

    def _reject(self, pnid: str, message_id: str, reason: str, *, body: str) -> SendResult:
        """Record a submission that can never be sent as `rejected`, with the reason.

        The raw body is kept (truncated) for whoever fixes the producer, like every
        message record keeps its submission; the reason and the log line carry no input.
        """
        error = {"reason": reason, "stage": "validation"}
        messages.record_new(
            pnid,
            message_id,
            State.REJECTED,
            {"error": error, "submission": body[:REJECTED_BODY_KEPT] or None},
        )
        logger.warning("submission rejected", extra={"message_id": message_id, "reason": reason})
        return SendResult(Outcome.REJECTED, message_id, detail={"reason": reason})

    def _record_fields(self, submission: Submission, body: str) -> dict[str, Any]:
        """The record's first fields; the store builds them (the same for every producer)."""
        return messages.outbound_fields(submission, body)

    def _schedule(
        self, submission: Submission, message_id: str, fields: dict[str, Any]
    ) -> SendResult:
        assert submission.send_at is not None
        created = messages.schedule(
            submission.phone_number_id,
            message_id,
            fields,
            submission.send_at.timestamp(),
            submission.priority,
        )
        return SendResult(Outcome.SCHEDULED if created else Outcome.DUPLICATE, message_id)

    def _send(
        self,
        submission: Submission,
        message_id: str,
        fields: dict[str, Any],
        budget: ratelimit.ThroughputBudget,
        prefetched: Prefetched,
    ) -> SendResult:
        pnid = submission.phone_number_id
        claim = messages.claim(pnid, message_id, fields)
        if claim.outcome is ClaimOutcome.IN_FLIGHT:
            settled = self._reconcile(pnid, message_id, claim.item)
            if isinstance(settled, SendResult):
                return settled
            claim = settled
        if claim.outcome is ClaimOutcome.FINISHED:
            return SendResult(
                Outcome.DUPLICATE, message_id, detail={"state": claim.item.get("state")}
            )
        if claim.outcome is ClaimOutcome.NOT_DUE:
            wait = float(claim.item.get("retry_at", now())) - now()
            return SendResult(Outcome.NOT_DUE, message_id, retry_in=_seconds(wait))
        assert claim.token is not None
        token = claim.token

        if submission.campaign_id and self._campaign_halted(pnid, submission.campaign_id):
            reason = {"reason": "campaign cancelled", "campaign_id": submission.campaign_id}
            messages.mark_cancelled(pnid, message_id, token, reason)
            self._count_campaign(submission, message_id, "cancelled")
            logger.info("campaign message withdrawn", extra={"message_id": message_id, **reason})
            return SendResult(Outcome.CANCELLED, message_id, detail=reason)
        checked = self._policy(submission, message_id, token, prefetched)
        if isinstance(checked, SendResult):
            return checked
        deferral = self._limits(submission, checked, budget, prefetched)
        if deferral is not None:
            reason, wait = deferral
            retry_in = _seconds(wait)
            messages.mark_deferred(pnid, message_id, token, reason, now() + retry_in)
            logger.info("send deferred", extra={"message_id": message_id, **reason})
            return SendResult(Outcome.DEFERRED, message_id, retry_in=retry_in, detail=reason)
        return self._call_meta(submission, message_id, token, claim.item, prefetched)

    @staticmethod
    def _count_campaign(submission: Submission, message_id: str, figure: str) -> None:
        """A campaign message the sender settles itself (no webhook will come): count it
        in the campaign's per-variant figures (a set union: a retry adds nothing)."""
        if not submission.campaign_id:
            return
        from wacloud.store.campaigns import add_figures  # only campaign sends need it

        add_figures(
            submission.phone_number_id,
            submission.campaign_id,
            message_id,
            submission.variant or "A",
            (figure,),
        )

    def _campaign_halted(self, phone_number_id: str, campaign_id: str) -> bool:
        """Whether the campaign was cancelled, read at most every CAMPAIGN_STATE_TTL s.

        A cancel stops the fan-out at once, but up to a run's worth of its messages
        are already queued; they are withdrawn here instead of sent. A container
        looks each campaign up once per TTL, not once per message.
        """
        key = (phone_number_id, campaign_id)
        cached = self._halted.get(key)
        at = now()
        if cached is not None and at - cached[1] < CAMPAIGN_STATE_TTL:
            return cached[0]
        from wacloud.store.campaigns import is_halted  # only campaign sends need it

        halted = is_halted(phone_number_id, campaign_id)
        self._halted[key] = (halted, at)
        return halted

    def _policy(
        self, submission: Submission, message_id: str, token: str, prefetched: Prefetched
    ) -> _Checked | SendResult:
        """Refuse what Meta would refuse or the customer did not agree to (send_policy)."""
        pnid = submission.phone_number_id
        contact = prefetched.contact(pnid, submission.wa_id)
        template = is_template(submission.message)
        window_open = contacts.window_open(contact)
        category: str | None = None
        template_refusal: dict[str, Any] | None = None
        if submission.template is not None:
            waba = self.waba_for(pnid)
            if waba is not None:
                found = template_mirror.lookup(
                    waba, submission.template.name, submission.template.language.code
                )
                category = (found.template or {}).get("category")
                template_refusal = send_policy.template_refusal(
                    found.template, found.mirror_known, submission.template
                )
        refusal = (
            send_policy.blocked_refusal(contact)
            or send_policy.window_refusal(template, window_open)
            or send_policy.opt_out_refusal(contact, category, submission.tags)
            or template_refusal
        )
        if refusal is None:
            return _Checked(window_open=window_open, template=template)
        messages.mark_rejected(pnid, message_id, token, refusal)
        self._count_campaign(submission, message_id, "rejected")
        logger.info("send refused by policy", extra={"message_id": message_id, **refusal})
        return SendResult(Outcome.REJECTED, message_id, detail=refusal)

    def _limits(
        self,
        submission: Submission,
        checked: _Checked,
        budget: ratelimit.ThroughputBudget,
        prefetched: Prefetched,
    ) -> tuple[dict[str, Any], float] | None:
        """The first limit this message is over, with how long to wait; None to send now.

        Cheapest first: the number token comes from the batch's reservation in memory,
        the pair bucket from the batch's read (in memory; one update outside a batch),
        the messaging limit applies only to business-initiated messages (templates
        outside the window) and costs two.
        """
        pnid, wa_id = submission.phone_number_id, submission.wa_id
        wait = budget.take(pnid)
        if wait is not None:
            mps = tenants.load(pnid).throughput_mps
            return _deferral("throughput", f"number throughput limit ({mps} msg/s)"), wait
        pair = prefetched.pair_grant(pnid, wa_id)
        if not pair.granted:
            return _deferral(
                "pair_rate",
                f"pair rate limit (1 message / {ratelimit.PAIR_INTERVAL_SECONDS:g} s to one "
                f"recipient, bursts of {ratelimit.PAIR_BURST})",
            ), pair.wait
        if checked.template and not checked.window_open:
            limit = tenants.load(pnid).messaging_limit
            admission = reach.admit(pnid, wa_id, limit)
            if not admission.allowed:
                return _deferral(
                    "messaging_limit",
                    f"messaging limit ({limit} unique recipients of business-initiated "
                    "messages per 24 h)",
                ), admission.wait
        return None

    def _call_meta(
        self,
        submission: Submission,
        message_id: str,
        token: str,
        item: dict[str, Any],
        prefetched: Prefetched,
    ) -> SendResult:
        pnid = submission.phone_number_id
        message = submission.message
        try:
            s3_key = media_s3_key(message)
            if s3_key is not None:
                message = with_media_id(message, media.media_id_for(self.graph, pnid, s3_key))
            payload = submission.graph_payload(
                messages.tracking_callback(message_id, submission.biz_opaque_callback_data),
                message=message,
            )
        except GraphTransportError as exc:
            # Only the media upload failed: the message itself was never sent.
            return self._never_sent(pnid, message_id, token, item, exc)
        except GraphAPIError as exc:
            return self._graph_error(submission, message_id, token, item, exc, prefetched)
        except media.MediaError as exc:
            error = {"reason": str(exc), "stage": "media"}
            messages.mark_failed(pnid, message_id, error, token)
            return SendResult(Outcome.FAILED, message_id, detail=error)
        if self._claim_too_old(item):
            return self._give_back(pnid, message_id, token)
        try:
            sent = self.graph.send_message(pnid, payload)
        except GraphTransportError as exc:
            if exc.reached_meta is False:
                return self._never_sent(pnid, message_id, token, item, exc)
            return self._outcome_unknown(pnid, message_id, token, exc)
        except GraphAPIError as exc:
            return self._graph_error(submission, message_id, token, item, exc, prefetched)
        if not self._record_sent(pnid, message_id, token, sent.wamid, sent.wa_id, prefetched):
            # Meta has it; only our record lags. Keep the claim so nothing re-sends it.
            return SendResult(
                Outcome.IN_FLIGHT,
                message_id,
                retry_in=self.cfg.send_reconcile_grace_seconds + 1,
                detail={"wamid": sent.wamid, "recorded": False},
            )
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

    def _record_sent(
        self,
        pnid: str,
        message_id: str,
        token: str,
        wamid: str,
        wa_id: str | None,
        prefetched: Prefetched,
    ) -> bool:
        """Record Meta's acceptance, retrying a failed write a few times (bounded).

        If it still fails (DynamoDB throttled or down), the acceptance is written to its
        own item for the reconcile to find, and the claim stays `sending`: whatever
        happens next, this message is never sent again. False when not recorded.
        In a batch the wamid lookup is written with the batch's other lookups after
        the sends (`Prefetched.flush`), not here.
        """
        failure = ""
        for attempt in range(RECORD_SENT_ATTEMPTS):
            try:
                messages.mark_sent(
                    pnid, message_id, token, wamid, wa_id, lookup=not prefetched.batched
                )
                if prefetched.batched:
                    prefetched.note_lookup(pnid, message_id, wamid)
                return True
            except Exception as exc:  # boto3 already retried; these are ours on top
                failure = exc.__class__.__name__
                if attempt + 1 < RECORD_SENT_ATTEMPTS:
                    time.sleep(RECORD_SENT_BACKOFF_SECONDS * 2**attempt)
        try:
            messages.note_acceptance(pnid, message_id, wamid, wa_id)
            kept = True
        except Exception:
            kept = False
        logger.error(
            "accepted by Meta but not recorded; claim kept",
            extra={"message_id": message_id, "wamid": wamid, "error": failure, "kept": kept},
        )
        return False

    def _never_sent(
        self,
        pnid: str,
        message_id: str,
        token: str,
        item: dict[str, Any],
        exc: GraphTransportError,
    ) -> SendResult:
        """No connection to Graph: nothing reached Meta, so retry soon (bounded)."""
        error = {"reason": "no connection to the Graph API", "stage": "transport"}
        error["error"] = str(exc)
        attempt = int(item.get("retries", 0)) + 1
        logger.warning(
            "graph unreachable", extra={"message_id": message_id, "attempt": attempt, **error}
        )
        if attempt < self.cfg.max_send_attempts:
            delay = backoff_seconds(attempt)
            messages.mark_retrying(pnid, message_id, token, error, now() + delay)
            return SendResult(Outcome.RETRY, message_id, retry_in=delay, detail=error)
        messages.mark_failed(pnid, message_id, error, token)
        return SendResult(Outcome.FAILED, message_id, detail=error)

    def _outcome_unknown(
        self, pnid: str, message_id: str, token: str, exc: GraphTransportError
    ) -> SendResult:
        """Meta may have accepted it: keep the claim for the reconcile (step 6)."""
        error = {"reason": "outcome unknown", "stage": "transport", "error": str(exc)}
        logger.warning("send outcome unknown", extra={"message_id": message_id, **error})
        try:
            messages.note_outcome_unknown(pnid, message_id, token, error)
        except Exception:  # the claim, not this note, is what prevents a second send
            logger.exception("could not note the unknown outcome", extra={"message_id": message_id})
        return SendResult(
            Outcome.IN_FLIGHT,
            message_id,
            retry_in=self.cfg.send_reconcile_grace_seconds + 1,
            detail=error,
        )

    def _reconcile(
        self, pnid: str, message_id: str, item: dict[str, Any]
    ) -> SendResult | messages.Claim:
        """Settle a claim another attempt holds: wait, record, give up, or take it over."""
        grace = self.cfg.send_reconcile_grace_seconds
        age = now() - float(item.get("claimed_at", now()))
        if age < grace:
            # The holder may still be at work; look again once its grace has passed.
            return SendResult(Outcome.IN_FLIGHT, message_id, retry_in=max(1, int(grace - age) + 1))
        decision = send_reconcile.decide(self.cfg, pnid, message_id, item, age)
        old_token = str(item.get("claim_token", ""))
        log = {"message_id": message_id, "verdict": decision.verdict.value, "age": int(age)}
        if decision.verdict is send_reconcile.Verdict.ACCEPTED:
            assert decision.wamid is not None
            messages.mark_sent(pnid, message_id, old_token, decision.wamid, decision.wa_id)
            logger.info("reconciled: accepted earlier", extra=log)
            return SendResult(
                Outcome.SENT, message_id, detail={"wamid": decision.wamid, "reconciled": True}
            )
        if decision.verdict is send_reconcile.Verdict.WAIT:
            logger.info("reconcile waits for inbound", extra={**log, "backlog": decision.backlog})
            return SendResult(
                Outcome.IN_FLIGHT,
                message_id,
                retry_in=min(grace, MAX_BACKOFF_SECONDS),
                detail={"reconcile": "wait", "backlog": decision.backlog},
            )
        if decision.verdict is send_reconcile.Verdict.GIVE_UP:
            error = {
                "reason": "outcome_unknown",
                "stage": "reconcile",
                "message": "Meta may or may not have accepted this message; no evidence "
                "either way within the maximum wait. Not sent again (at most once).",
                "waited_seconds": int(age),
            }
            if not messages.mark_outcome_unknown(pnid, message_id, old_token, error):
                return SendResult(Outcome.DUPLICATE, message_id, detail={"state": "moved"})
            logger.error("send outcome unknown; given up", extra=log)
            return SendResult(Outcome.FAILED, message_id, detail=error)
        claim = messages.take_over(
            pnid, message_id, old_token, {"reconciled": "no evidence of acceptance"}
        )
        if claim.outcome is ClaimOutcome.CLAIMED:
            logger.warning("reconciled: sending again", extra=log)
            return claim
        if claim.outcome is ClaimOutcome.IN_FLIGHT:  # another copy took it over first
            return SendResult(Outcome.DUPLICATE, message_id, detail={"state": "taken_over"})
        return claim

    def _claim_too_old(self, item: dict[str, Any]) -> bool:
        """Never start a Graph call on a claim past half the reconcile grace.

        Another copy may take the claim over once the grace has passed. Starting the call
        early enough that it ends (Graph timeouts are seconds) before that moment keeps
        two holders from both sending, even when this one was slowed down (a cold start,
        a large media upload). With the default grace (300 s) and a 30 s function timeout
        this never fires.
        """
        age = now() - float(item.get("claimed_at", now()))
        return age > self.cfg.send_reconcile_grace_seconds / 2

    def _give_back(self, pnid: str, message_id: str, token: str) -> SendResult:
        reason = {
            "reason": "deferred: claim held too long before the send; sending it fresh",
            "stage": "limits",
            "rule": "claim_expired",
        }
        if not messages.mark_deferred(pnid, message_id, token, reason, now() + 1):
            # Someone else holds it now: this copy has nothing left to do.
            return SendResult(Outcome.DUPLICATE, message_id, detail={"state": "taken_over"})
        logger.warning("claim too old to send", extra={"message_id": message_id})
        return SendResult(Outcome.DEFERRED, message_id, retry_in=1, detail=reason)

    def _graph_error(
        self,
        submission: Submission,
        message_id: str,
        token: str,
        item: dict[str, Any],
        exc: GraphAPIError,
        prefetched: Prefetched,
    ) -> SendResult:
        pnid = submission.phone_number_id
        error = exc.to_dict()
        if exc.info is not None:
            error.setdefault("title", exc.info.title)
        error_class = exc.error_class
        attempt = int(item.get("retries", 0)) + 1
        deferrals = int(item.get("deferrals", 0))
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
            delay = rate_limit_delay(exc.code or 0, deferrals, exc.retry_after_seconds)
            reason = {**error, "rule": "meta_rate_limit"}
            messages.mark_deferred(pnid, message_id, token, reason, now() + delay)
            return SendResult(Outcome.DEFERRED, message_id, retry_in=delay, detail=reason)
        if error_class is ErrorClass.AUTH:
            # Kept until the token is fixed: retried every AUTH_HOLD_SECONDS, alarmed by metric.
            messages.mark_retrying(pnid, message_id, token, error, now() + AUTH_HOLD_SECONDS)
            return SendResult(
                Outcome.AUTH_HOLD, message_id, retry_in=AUTH_HOLD_SECONDS, detail=error
            )
        if error_class is ErrorClass.OPTED_OUT:
            # Meta knows the user stopped marketing before our webhook told us: remember it
            # so later marketing sends are refused without a Graph call.
            contacts.apply_consent(
                pnid, submission.wa_id, opted_out=True, at=now(), reason=f"meta:{exc.code}"
            )
            prefetched.forget_contact(pnid, submission.wa_id)
        messages.mark_failed(pnid, message_id, error, token)
        return SendResult(Outcome.FAILED, message_id, detail=error)


def _deferral(rule: str, what: str) -> dict[str, Any]:
    return {"reason": f"deferred: over the {what}", "stage": "limits", "rule": rule}
