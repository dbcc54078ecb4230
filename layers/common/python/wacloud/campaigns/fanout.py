"""The campaign step of each QueueProcessor run: a bounded slice per campaign.

Per number, a run may queue up to its pacing budget (pacing.py). For each active
campaign (oldest start first) it takes a lease, reads recipients from the byte
cursor, looks their contacts up 100 at a time, skips the opted-out, the blocked and
those outside the segment, queues one template submission each (spread over the
minute with SQS delays), and commits the new cursor with the counters. Work stops at
the budget, the end of the list or the run's deadline, whichever comes first, so no
run goes near the Lambda timeout however long the list is.

A crash after queueing and before committing re-queues the slice on the next run;
the sender sends each submission once (idempotency key `campaign:{id}:{wa_id}`), and
the counters move only with the commit, so they count each recipient once.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from wacloud.infra.clock import now
from wacloud.store import campaigns as store
from wacloud.templates import RenderError, template_message

from . import pacing, recipients
from .rules import in_segment, pick_variant, recipient_wa_id, subject

# (bodies, delay_seconds) -> None; raises if anything could not be queued.
Enqueue = Callable[[list[str], int], None]
LOOKUP_BATCH = store.LOOKUP_BATCH


@dataclass
class SliceResult:
    cursor: int
    done: bool
    queued: int = 0
    counts: dict[str, int] = field(default_factory=lambda: defaultdict(int))


@dataclass
class FanoutReport:
    queued: int = 0
    skipped: int = 0
    campaigns: dict[str, dict[str, Any]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"queued": self.queued, "skipped": self.skipped, "campaigns": self.campaigns}


def run_fanout(
    enqueue: Enqueue, *, deadline: float, at: float | None = None, run_seconds: float = 60
) -> FanoutReport:
    at = now() if at is None else at
    report = FanoutReport()
    by_number: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for item in store.active(at):
        if item.get("status") in ("scheduled", "running"):
            by_number[str(item["phone_number_id"])].append(item)
    for phone_number_id, campaigns in by_number.items():
        budget = pacing.run_budget(phone_number_id, at, run_seconds)
        left = int(budget["budget"])
        sent_this_run = 0
        for listed in campaigns:
            if left <= 0 or now() >= deadline:
                break
            leased = store.lease(listed, at)
            if leased is None:
                continue
            token, item = leased  # as the table has it now (gsi1 lags)
            cap = left
            if item.get("max_per_minute"):
                cap = min(cap, int(int(item["max_per_minute"]) * run_seconds / 60))
            mps = float(budget["mps"])
            if item.get("max_per_minute"):
                mps = min(mps, int(item["max_per_minute"]) / 60)
            result = _slice(item, cap, deadline, enqueue, sent_this_run, mps, at)
            store.commit(item, token, result.cursor, dict(result.counts), done=result.done)
            left -= result.queued
            sent_this_run += result.queued
            skipped = sum(v for k, v in result.counts.items() if k.startswith("skipped#"))
            report.queued += result.queued
            report.skipped += skipped
            report.campaigns[str(item["campaign_id"])] = {
                "queued": result.queued,
                "skipped": skipped,
                "done": result.done,
                "tier_left": budget["tier_left"],
            }
    return report


def _slice(
    item: dict[str, Any],
    cap: int,
    deadline: float,
    enqueue: Enqueue,
    offset_index: int,
    mps: float,
    at: float,
) -> SliceResult:
    info = recipients.ListInfo(
        bucket=str(item["list_bucket"]),
        key=str(item["list_key"]),
        format=str(item["list_format"]),
        columns=list(item.get("list_columns") or []),
        start=int(item.get("list_start", 0)),
        size=int(item["list_size"]),
    )
    result = SliceResult(cursor=int(item.get("list_cursor", info.start)), done=False)
    spread = _Spread(enqueue, offset_index, mps)
    while result.queued < cap and result.cursor < info.size and now() < deadline:
        lines = recipients.read_lines(info, result.cursor)
        # Consecutive batches of at most LOOKUP_BATCH lines and never more than the room
        # left, so no line is passed over: a batch cut short by the room (because some
        # recipients were skipped) is followed by the very next line, not the next 100.
        taken = 0
        while taken < len(lines):
            room = cap - result.queued
            if room <= 0 or now() >= deadline:
                break
            batch = lines[taken : taken + min(LOOKUP_BATCH, room)]
            taken += len(batch)
            bodies = _build(item, info, batch, result, at)
            if bodies:
                spread.add(bodies)
                result.queued += len(bodies)
    spread.flush()  # before the commit: what the cursor passes is on the queue
    result.done = result.cursor >= info.size
    return result


def _build(
    item: dict[str, Any],
    info: recipients.ListInfo,
    batch: list[tuple[int, str]],
    result: SliceResult,
    at: float,
) -> list[str]:
    import json

    pnid = str(item["phone_number_id"])
    campaign_id = str(item["campaign_id"])
    rows: list[tuple[int, dict[str, Any] | None, str | None]] = []
    for end, text in batch:
        row = recipients.parse_line(info, text)
        rows.append((end, row, recipient_wa_id(row) if row else None))
    contacts = store.recipient_contacts(pnid, [w for _, _, w in rows if w])
    bodies: list[str] = []
    tags = ["campaign", *(["marketing"] if item.get("marketing") else [])]
    for end, row, wa_id in rows:
        result.cursor = end
        if row is None:
            continue  # blank line
        if wa_id is None:
            result.counts["skipped#invalid"] += 1
            continue
        contact = contacts.get(wa_id)
        if contact and contact.get("blocked") and float(contact.get("blocked_until") or 9e18) > at:
            result.counts["skipped#blocked"] += 1
            continue
        if contact and contact.get("opted_out_marketing"):
            result.counts["skipped#opted_out"] += 1
            continue
        attributes, contact_tags = subject(row, contact)
        if not in_segment(item.get("segment"), attributes, contact_tags):
            result.counts["skipped#segment"] += 1
            continue
        variant = pick_variant(campaign_id, wa_id, list(item["variants"]))
        try:
            message = template_message(
                variant["template"],
                variant.get("language", "en_US"),
                variant.get("variables"),
                {**attributes, "wa_id": wa_id},
            )
        except RenderError:
            result.counts["skipped#invalid"] += 1
            continue
        document = {
            "phone_number_id": pnid,
            "to": f"+{wa_id}",
            **message,
            "idempotency_key": f"campaign:{campaign_id}:{wa_id}",
            "campaign_id": campaign_id,
            "variant": variant["name"],
            "priority": int(item.get("priority", 3)),
            "tags": tags,
        }
        bodies.append(json.dumps(document, separators=(",", ":")))
        result.counts[f"queued#{variant['name']}"] += 1
    return bodies


class _Spread:
    """Queues a slice's submissions spread at `mps`, one SQS delay per group.

    Each delay group is sent whole once it is complete (the next submission already
    has a later delay), not per 100-recipient lookup: a group split across two lookups
    (as skips shift it) would otherwise cost an extra, part-filled SendMessageBatch,
    ~8% more SQS calls on a list with a few percent skipped. At most one group waits.
    """

    def __init__(self, enqueue: Enqueue, first_index: int, mps: float) -> None:
        self.enqueue, self.index, self.mps = enqueue, first_index, mps
        self.pending: dict[int, list[str]] = defaultdict(list)

    def add(self, bodies: list[str]) -> None:
        for body in bodies:
            self.pending[pacing.delay_for(self.index, self.mps)].append(body)
            self.index += 1
        open_delay = pacing.delay_for(self.index, self.mps)
        for delay in sorted(d for d in self.pending if d < open_delay):
            self.enqueue(self.pending.pop(delay), delay)

    def flush(self) -> None:
        for delay in sorted(self.pending):
            self.enqueue(self.pending.pop(delay), delay)
