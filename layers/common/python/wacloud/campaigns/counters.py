"""Per-campaign, per-variant outcome figures, moved by status webhooks and replies.

Each campaign message has one figures item, `{pnid}#CMP#{id}` / `M#{message_id}`,
holding the set of figures the message has reached (`sent`, `delivered`, `read`,
`failed`, `replied`) and its variant. Counting a status is one UpdateItem on that
item, `ADD figures :wanted`: a set union, so it is atomic (one request), idempotent
(a redelivered status adds nothing) and commutative (statuses in any order, or racing
from concurrent batches, end in the same set). There is no marker separate from a
counter, so no gap between two writes for a Lambda to die in, and no condition to
conflict on, so nothing to retry or give up. A campaign's figure is the number of
its figures items holding it, summed by `stats` with one Query of the partition.

Why not a marker item plus a counter item (the design this replaced): two writes, and
a Lambda killed between them lost the count for good, and its optimistic retry gave
up silently after five conflicts. A TransactWriteItems of (marker, counter) would be
atomic, but costs a read of the marker and a transaction of two items (1 RRU + 4 WRU
per status, against 1 WRU here), and every status of a campaign would transact on a
few hot counter items, where concurrent transactions cancel one another. A counter
with the markers inside it grows with the campaign: its writes cost its whole size
(a 40 KB shard item is 40 WRU per status) and it stops at DynamoDB's 400 KB item limit.

The cost is in `stats`: it reads every figures item of the campaign (~120 bytes
each; 100,000 messages ~12 MB, ~12 Query pages, ~1,500 eventually consistent RCU),
where the counters were a handful of items. Figures are read by people and by the
demo, not per message, so the write path is the one kept to a minimum.

Per status: one UpdateItem (1 WRU), after the message record's read that names the
campaign (`count_status` without `campaign_id`). Errors raise, so the SQS item is
retried, and the retry adds nothing already there.

Campaigns counted before this design: their `N#{variant}#{shard}` counters are still
summed, and their marker items (same key, a `levels` list, a TTL) are the figures
items, so `stats` counts only what a marker's `figures` holds beyond its `levels`
(those are in the counters already): nothing is counted twice, and counts the old
code lost stay lost. Counting removes a legacy marker's TTL, so the figures it now
carries last as long as the campaign's other items.
`read` implies `delivered` implies `sent`, so a `read` that overtakes its `delivered`
still counts all three.
"""

from __future__ import annotations

from typing import Any

from wacloud.infra.clock import iso
from wacloud.store import messages
from wacloud.store.campaigns import (
    add_figures,
    counter_items,
    figures_items,
    latest_campaign_message,
)
from wacloud.store.campaigns import load as load_campaign

# Replies within this long after a campaign message count for it. Our choice, not a
# Meta figure: three days covers a weekend.
REPLY_ATTRIBUTION_SECONDS = 72 * 3600
IMPLIED: dict[str, tuple[str, ...]] = {
    "sent": ("sent",),
    "delivered": ("sent", "delivered"),
    "read": ("sent", "delivered", "read"),
    "played": ("sent", "delivered", "read"),
    "failed": ("failed",),
    "replied": ("replied",),
    # Set by the sender, not by webhooks: refused before any Graph call (opted out or
    # blocked since the fan-out, template no longer approved...), or withdrawn because
    # the campaign was cancelled while the message waited in the queue.
    "rejected": ("rejected",),
    "cancelled": ("cancelled",),
}
FIGURES = ("queued", "sent", "delivered", "read", "failed", "replied", "rejected", "cancelled")


def _record(
    phone_number_id: str, campaign_id: str, variant: str, message_id: str, status: str
) -> bool:
    """Add what `status` implies to the message's figures; True if any was new."""
    wanted = IMPLIED.get(status)
    if not wanted:
        return False
    return add_figures(phone_number_id, campaign_id, message_id, variant, wanted)


def count_status(
    phone_number_id: str,
    message_id: str,
    status: str,
    *,
    campaign_id: str | None = None,
    variant: str | None = None,
) -> bool:
    """Count a status webhook for a campaign message. True if a figure moved.

    For the inbound owner: call from `InboundProcessor._status` after
    `messages.apply_status`, for every status with a message id. Pass `campaign_id` and
    `variant` if the message record is at hand; otherwise it is read here, and messages
    outside campaigns return False after that one read.
    """
    if campaign_id is None:
        record = messages.load(phone_number_id, message_id) or {}
        campaign_id, variant = record.get("campaign_id"), record.get("variant")
        if not campaign_id:
            return False
    return _record(phone_number_id, campaign_id, variant or "A", message_id, status)


def count_reply(
    phone_number_id: str, wa_id: str, at: float, *, context_wamid: str | None = None
) -> bool:
    """Count a customer's message as a reply to the campaign message it answers.

    For the inbound owner: call from `InboundProcessor._message` for each newly recorded
    customer message (with `context.id` when the customer replied to a message). Without
    a context, the latest campaign message to this customer in the attribution window
    gets the reply. Each campaign message counts one reply at most.
    """
    record: dict[str, Any] | None = None
    if context_wamid:
        message_id = messages.message_id_for_wamid(phone_number_id, context_wamid)
        record = messages.load(phone_number_id, message_id) if message_id else None
    if record is None or not record.get("campaign_id"):
        record = _latest_campaign_message(phone_number_id, wa_id, at)
    if not record or not record.get("campaign_id"):
        return False
    return _record(
        phone_number_id,
        str(record["campaign_id"]),
        str(record.get("variant") or "A"),
        str(record["message_id"]),
        "replied",
    )


def _latest_campaign_message(phone_number_id: str, wa_id: str, at: float) -> dict[str, Any] | None:
    return latest_campaign_message(
        phone_number_id, wa_id, iso(at - REPLY_ATTRIBUTION_SECONDS), iso(at) + "~"
    )


def stats(phone_number_id: str, campaign_id: str) -> dict[str, Any]:
    """Figures for one campaign: status, progress, skips and per-variant outcomes."""
    campaign = load_campaign(phone_number_id, campaign_id)
    if campaign is None:
        raise KeyError(campaign_id)
    variants: dict[str, dict[str, int]] = {
        v["name"]: dict.fromkeys(FIGURES, 0) for v in campaign.get("variants", [])
    }
    for name, figures in variants.items():
        figures["queued"] = int(campaign.get(f"queued#{name}", 0))
    for item in figures_items(phone_number_id, campaign_id):
        # A legacy marker's `levels` were counted by the legacy counters below.
        reached = set(item.get("figures") or ()) - set(item.get("levels") or ())
        if reached:
            figures = variants.setdefault(str(item.get("variant")), dict.fromkeys(FIGURES, 0))
            for figure in reached & set(FIGURES):
                figures[figure] += 1
    for item in counter_items(phone_number_id, campaign_id):  # campaigns counted before
        figures = variants.setdefault(str(item.get("variant")), dict.fromkeys(FIGURES, 0))
        for figure in FIGURES[1:]:
            figures[figure] += int(item.get(figure, 0))
    size = int(campaign.get("list_size", 0))
    start = int(campaign.get("list_start", 0))
    done = int(campaign.get("list_cursor", start)) - start
    return {
        "campaign_id": campaign_id,
        "status": campaign.get("status"),
        "progress": 1.0 if size <= start else round(done / (size - start), 4),
        "runs": int(campaign.get("runs", 0)),
        "queued": sum(v["queued"] for v in variants.values()),
        "skipped": {
            k.removeprefix("skipped#"): int(v)
            for k, v in campaign.items()
            if k.startswith("skipped#")
        },
        "variants": variants,
        "totals": {f: sum(v[f] for v in variants.values()) for f in FIGURES},
    }
