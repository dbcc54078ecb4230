"""Campaign records in the state table.

* `{pnid}#CMP#{id}` / `#`: the campaign (spec, status, list, byte cursor, fan-out
  counters). While not finished it sits in gsi1 under `CMP#ACTIVE` (sorted by start
  time), so a run finds the campaigns to work on with one query.
* same partition / `M#{message_id}`: the message's figures item: the set of figures
  it has reached (`figures`) and its variant (see `counters`).
* Every campaign also sits in gsi2 under `{pnid}#CAMPAIGNS` (sort key its creation
  time), the number's list of campaigns; those created before that key existed are
  not listed.
* same partition / `N#{variant}#{shard}`: status counters of campaigns counted before
  the figures items; only read now (their `M#` markers carry a `levels` list).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

from wacloud.errors import ConflictError
from wacloud.infra.aws import dynamodb
from wacloud.infra.clock import iso, now
from wacloud.infra.dynamo import (
    Expr,
    conditional_update,
    get,
    items,
    marshal,
    pages,
    put_if_absent,
    query,
    table,
    unmarshal,
    update,
)
from wacloud.store.contacts import contact_pk

ACTIVE_INDEX_PK = "CMP#ACTIVE"
LEASE_SECONDS = 90  # longer than a QueueProcessor run (timeout 60 s)
LOOKUP_BATCH = 100  # BatchGetItem maximum
CONTACT_FIELDS = ("pk", "blocked", "blocked_until", "opted_out_marketing", "tags", "attributes")
# How many of a customer's latest messages `latest_campaign_message` looks through.
LATEST_MESSAGES = 25


class CampaignStateError(ConflictError, RuntimeError):
    """The requested change does not apply to the campaign's current status."""


def campaign_pk(phone_number_id: str, campaign_id: str) -> str:
    return f"{phone_number_id}#CMP#{campaign_id}"


def list_index_pk(phone_number_id: str) -> str:
    return f"{phone_number_id}#CAMPAIGNS"


def list_index_sk(created_at: float) -> str:
    return f"{created_at:017.6f}"


def note_audience(phone_number_id: str, campaign_id: str, audience: dict[str, Any]) -> None:
    """Keep how the list was made (a segment and its size) on the campaign, for people."""
    update(campaign_pk(phone_number_id, campaign_id), "#", Expr().set("audience", audience))


def figures_sk(message_id: str) -> str:
    return f"M#{message_id}"


def new_campaign_id() -> str:
    return "c" + uuid.uuid4().hex[:16]


def put_new(item: dict[str, Any]) -> bool:
    """Create a campaign item once (the shared conditional put)."""
    return put_if_absent(item)


def load(phone_number_id: str, campaign_id: str) -> dict[str, Any] | None:
    return get(campaign_pk(phone_number_id, campaign_id))


def active(until: float) -> list[dict[str, Any]]:
    """Campaigns not finished whose start time has come (oldest start first)."""
    expr = Expr()
    expr.key_condition(f"gsi1pk = {expr.value(ACTIVE_INDEX_PK)}")
    expr.key_condition(f"gsi1sk <= {expr.value(f'{iso(until)}#~')}")
    return list(items({"IndexName": "gsi1", **expr.params()}))


def set_status(
    phone_number_id: str,
    campaign_id: str,
    to: str,
    allowed_from: tuple[str, ...],
    *,
    completed_since: float | None = None,
) -> None:
    """Pause / resume / cancel: a conditional move between statuses.

    `completed_since`: also allow the move from `completed` if the campaign completed
    at or after that time.
    """
    at = now()
    expr = Expr().set("status", to).set("updated_at", at).set(f"{to}_at", at)
    status = expr.name("status")
    condition = f"{status} IN ({expr.one_of(allowed_from)})"
    if completed_since is not None:
        condition += (
            f" OR ({status} = {expr.value('completed')}"
            f" AND completed_at >= {expr.value(completed_since)})"
        )
    expr.when(condition)
    if to == "cancelled":
        expr.remove("gsi1pk", "gsi1sk")
    if not conditional_update(campaign_pk(phone_number_id, campaign_id), "#", expr):
        current = load(phone_number_id, campaign_id)
        state = current.get("status") if current else "missing"
        raise CampaignStateError(f"campaign {campaign_id} is {state}; cannot become {to}")


def lease(item: dict[str, Any], at: float) -> tuple[str, dict[str, Any]] | None:
    """Take the campaign for one run: (lease token, the campaign as it is now), or None
    if another run holds it or it is not runnable.

    The run works from the returned item, not from `item` (read from gsi1, which lags
    the table): a cursor read there could be a commit behind, and the run would re-queue
    a slice and then fail to commit.
    """
    token = uuid.uuid4().hex
    expr = Expr().set("lease_until", at + LEASE_SECONDS).set("lease_token", token)
    expr.when(f"{expr.name('status')} IN ({expr.one_of(('scheduled', 'running'))})")
    expr.when(f"attribute_not_exists(lease_until) OR lease_until < {expr.value(at)}")
    written = update(str(item["pk"]), "#", expr, returns="ALL_NEW")
    return (token, written.attributes) if written else None


def _progress(
    item: dict[str, Any], token: str, cursor: int, counts: dict[str, int], at: float
) -> Expr:
    """The part of a commit that applies whatever the status: cursor, counters, lease."""
    expr = Expr()
    expr.set("list_cursor", cursor).set("updated_at", at).add("runs", 1)
    for name, value in counts.items():
        if value:
            expr.add(name, value)
    expr.remove("lease_until", "lease_token")
    expr.when(f"lease_token = {expr.value(token)}")
    expr.when(f"list_cursor = {expr.value(int(item.get('list_cursor', 0)))}")
    return expr


def commit(
    item: dict[str, Any],
    token: str,
    new_cursor: int,
    counts: dict[str, int],
    *,
    done: bool,
) -> bool:
    """Record one run's progress: the cursor moves and the counters grow together, and
    only for the lease holder whose view of the cursor is still current, so a slice
    is counted once even when it was enqueued twice (the sender dedupes the sends)."""
    at = now()
    expr = _progress(item, token, new_cursor, counts, at)
    expr.set("last_run_at", at)
    expr.when(f"{expr.name('status')} IN ({expr.one_of(('scheduled', 'running'))})")
    # A pause that arrived during the run stays a pause.
    if done:
        expr.set("status", "completed").set("completed_at", at).remove("gsi1pk", "gsi1sk")
    else:
        expr.set("status", "running")
    if conditional_update(str(item["pk"]), "#", expr):
        return True
    # Paused (or cancelled) mid-run: keep the progress, leave the status alone.
    return conditional_update(str(item["pk"]), "#", _progress(item, token, new_cursor, counts, at))


def add_figures(
    phone_number_id: str, campaign_id: str, message_id: str, variant: str, wanted: tuple[str, ...]
) -> bool:
    """Add figures to a message's figures item; True if any was new.

    One request (`ADD figures`, a set union): DynamoDB applies it whole or not at all,
    and applying it again (a redelivery, a retry after an unknown outcome) leaves the
    set as it was. A legacy marker's `levels` count as reached already.
    """
    expr = Expr().add("figures", set(wanted)).set("variant", variant).remove("expires_at")
    old = update(
        campaign_pk(phone_number_id, campaign_id), figures_sk(message_id), expr, returns="ALL_OLD"
    ).attributes
    had = set(old.get("figures") or ()) | set(old.get("levels") or ())
    return not set(wanted) <= had


def latest_campaign_message(
    phone_number_id: str, wa_id: str, since: str, until: str
) -> dict[str, Any] | None:
    """The latest outbound campaign message to a customer between two ISO times (among
    their LATEST_MESSAGES latest messages in that span), from index gsi1."""
    expr = Expr()
    expr.key_condition(f"gsi1pk = {expr.value(contact_pk(phone_number_id, wa_id))}")
    expr.key_condition(f"gsi1sk BETWEEN {expr.value(since)} AND {expr.value(until)}")
    request = {"IndexName": "gsi1", "ScanIndexForward": False, **expr.params()}
    for item in next(pages(request, limit=LATEST_MESSAGES), []):
        if item.get("direction") == "out" and item.get("campaign_id"):
            return item
    return None


def recipient_contacts(phone_number_id: str, wa_ids: list[str]) -> dict[str, dict[str, Any]]:
    """Contact fields a campaign filters on, for up to LOOKUP_BATCH numbers (one
    BatchGetItem, plus retries of unprocessed keys); keyed by wa_id."""
    found: dict[str, dict[str, Any]] = {}
    keys = [
        marshal({"pk": contact_pk(phone_number_id, w), "sk": "#"}) for w in dict.fromkeys(wa_ids)
    ]
    expr = Expr()
    projection = ", ".join(expr.name(f) for f in CONTACT_FIELDS)
    request: dict[str, Any] = (
        {
            table(): {
                "Keys": keys,
                "ProjectionExpression": projection,
                "ExpressionAttributeNames": expr.names,
            }
        }
        if keys
        else {}
    )
    prefix = f"{phone_number_id}#C#"
    for _ in range(6):
        if not request:
            break
        response = dynamodb().batch_get_item(RequestItems=request)
        for raw in response.get("Responses", {}).get(table(), []):
            contact = unmarshal(raw)
            found[str(contact["pk"]).removeprefix(prefix)] = contact
        request = response.get("UnprocessedKeys") or {}
    if request:
        raise RuntimeError("contacts lookup left unprocessed keys after retries")
    return found


def counter_items(phone_number_id: str, campaign_id: str) -> list[dict[str, Any]]:
    return query(campaign_pk(phone_number_id, campaign_id), sk_prefix="N#")


def figures_items(phone_number_id: str, campaign_id: str) -> Iterator[dict[str, Any]]:
    """Every message's figures item of a campaign, page by page (only what `stats` reads).

    Eventually consistent, at half the read cost: a figure counted a moment ago may
    show on the next read.
    """
    expr = Expr()
    expr.key_condition(f"pk = {expr.value(campaign_pk(phone_number_id, campaign_id))}")
    expr.key_condition(f"begins_with(sk, {expr.value('M#')})")
    projection = ", ".join(expr.name(a) for a in ("figures", "levels", "variant"))
    return items({"ProjectionExpression": projection, **expr.params()})


def is_halted(phone_number_id: str, campaign_id: str) -> bool:
    """True if a campaign message should no longer be sent.

    Only a cancel halts: a paused campaign's queued messages have left the list (the
    cursor moved past them) and would be lost if dropped.
    """
    campaign = load(phone_number_id, campaign_id)
    return campaign is not None and campaign.get("status") == "cancelled"
