"""Per-campaign, per-variant outcome counters, moved by status webhooks and replies.

Each message moves each counter at most once, whatever order or how many times its
statuses arrive: a marker item per message remembers which counters it has moved
(a conditional write on the marker's version claims the move, then the counter
moves). A crash between the two loses that one increment rather than counting it
twice; a transaction would close the gap at twice the write cost, and figures for
a campaign are read as rates where one in a million does not matter.
`read` implies `delivered` implies `sent`, so a `read` that
overtakes its `delivered` still counts all three. Counters are sharded by message.
"""

from __future__ import annotations

import hashlib
from typing import Any

from wacloud.aws import dynamodb
from wacloud.clock import now
from wacloud.store.dynamo import get, is_conditional_failure, marshal, table, unmarshal

from .store import campaign_pk, counter_items
from .store import load as load_campaign

SHARDS = 8
MARKER_TTL_SECONDS = 60 * 24 * 3600
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
}
FIGURES = ("queued", "sent", "delivered", "read", "failed", "replied")


def _shard(message_id: str) -> int:
    return hashlib.sha256(message_id.encode()).digest()[0] % SHARDS


def _bump(
    phone_number_id: str, campaign_id: str, variant: str, message_id: str, status: str
) -> bool:
    wanted = IMPLIED.get(status)
    if not wanted:
        return False
    pk = campaign_pk(phone_number_id, campaign_id)
    marker_key = {"pk": pk, "sk": f"M#{message_id}"}
    for _ in range(5):
        marker = get(pk, f"M#{message_id}") or {}
        done = set(marker.get("levels") or [])
        new = [level for level in wanted if level not in done]
        if not new:
            return False
        version = marker.get("v")
        condition = "attribute_not_exists(v)" if version is None else "v = :v"
        marker_values: dict[str, Any] = {
            ":levels": sorted(done | set(new)),
            ":next": int(version or 0) + 1,
            ":ttl": int(now() + MARKER_TTL_SECONDS),
        }
        if version is not None:
            marker_values[":v"] = version
        counter_names = {f"#n{i}": level for i, level in enumerate(new)}
        counter_values = {f":n{i}": 1 for i in range(len(new))}
        try:
            dynamodb().update_item(
                TableName=table(),
                Key=marshal(marker_key),
                UpdateExpression="SET levels = :levels, v = :next, expires_at = :ttl",
                ConditionExpression=condition,
                ExpressionAttributeValues=marshal(marker_values),
            )
        except Exception as exc:
            if is_conditional_failure(exc):
                continue  # another status for this message got there first; look again
            raise
        dynamodb().update_item(
            TableName=table(),
            Key=marshal({"pk": pk, "sk": f"N#{variant}#{_shard(message_id)}"}),
            UpdateExpression="ADD "
            + ", ".join(f"#n{i} :n{i}" for i in range(len(new)))
            + " SET variant = :variant",
            ExpressionAttributeNames=counter_names,
            ExpressionAttributeValues=marshal({**counter_values, ":variant": variant}),
        )
        return True
    return False


def count_status(
    phone_number_id: str,
    message_id: str,
    status: str,
    *,
    campaign_id: str | None = None,
    variant: str | None = None,
) -> bool:
    """Count a status webhook for a campaign message. True if a counter moved.

    For the inbound owner: call from `InboundProcessor._status` after
    `messages.apply_status`, for every status with a message id. Pass `campaign_id` and
    `variant` if the message record is at hand; otherwise it is read here, and messages
    outside campaigns return False after that one read.
    """
    if campaign_id is None:
        from wacloud.store import messages

        record = messages.load(phone_number_id, message_id) or {}
        campaign_id, variant = record.get("campaign_id"), record.get("variant")
        if not campaign_id:
            return False
    return _bump(phone_number_id, campaign_id, variant or "A", message_id, status)


def count_reply(
    phone_number_id: str, wa_id: str, at: float, *, context_wamid: str | None = None
) -> bool:
    """Count a customer's message as a reply to the campaign message it answers.

    For the inbound owner: call from `InboundProcessor._message` for each newly recorded
    customer message (with `context.id` when the customer replied to a message). Without
    a context, the latest campaign message to this customer in the attribution window
    gets the reply. Each campaign message counts one reply at most.
    """
    from wacloud.store import messages

    record: dict[str, Any] | None = None
    if context_wamid:
        message_id = messages.message_id_for_wamid(phone_number_id, context_wamid)
        record = messages.load(phone_number_id, message_id) if message_id else None
    if record is None or not record.get("campaign_id"):
        record = _latest_campaign_message(phone_number_id, wa_id, at)
    if not record or not record.get("campaign_id"):
        return False
    return _bump(
        phone_number_id,
        str(record["campaign_id"]),
        str(record.get("variant") or "A"),
        str(record["message_id"]),
        "replied",
    )


def _latest_campaign_message(phone_number_id: str, wa_id: str, at: float) -> dict[str, Any] | None:
    from wacloud.clock import iso
    from wacloud.store.contacts import contact_pk

    response = dynamodb().query(
        TableName=table(),
        IndexName="gsi1",
        KeyConditionExpression="gsi1pk = :pk AND gsi1sk BETWEEN :lo AND :hi",
        ExpressionAttributeValues=marshal(
            {
                ":pk": contact_pk(phone_number_id, wa_id),
                ":lo": iso(at - REPLY_ATTRIBUTION_SECONDS),
                ":hi": iso(at) + "~",
            }
        ),
        ScanIndexForward=False,
        Limit=25,
    )
    for raw in response.get("Items", []):
        item = unmarshal(raw)
        if item.get("direction") == "out" and item.get("campaign_id"):
            return item
    return None


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
    for item in counter_items(phone_number_id, campaign_id):
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
