"""Daily aggregates of facts (wacloud.analytics), counted exactly once per fact id.

Items (all counters are flat numeric attributes, so ADD works on a new item):

* `{pnid}#STATS` / `{YYYY-MM-DD}`: the number's day (UTC).
* `{pnid}#STATS#TPL` / `{YYYY-MM-DD}#{template}#{language}`: a template's day.
* `{pnid}#STATS#CMP` / `{YYYY-MM-DD}#{campaign_id}`: a campaign's day.
* `{pnid}#STATS#FACT#{fact_id}` / `#`: the marker saying a fact was counted; it
  expires (`expires_at`) after MARKER_DAYS, long after the stream's 24 hours.
* `{pnid}#STATS#ALERT` / `COST#{YYYY-MM}`: the cost alert of that month was raised.

A day range is one Query per partition (sort keys start with the day), so a report
reads at most one item per day, template or campaign and day.

Exactly once: a fact's counters and its marker are written in one TransactWriteItems,
the marker under ``attribute_not_exists``. A batch of facts shares one transaction
(up to TRANSACTION_MAX items: one marker per fact plus one Update per aggregate
touched, the increments of one aggregate merged, since no two actions of a transaction
may target the same item). When a marker exists (the batch is a re-delivery) the whole
transaction is cancelled and nothing is counted; the batch is then recorded one fact
per transaction, where a cancelled transaction means "counted already".
"""

from __future__ import annotations

import random
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from wacloud.infra.aws import dynamodb
from wacloud.infra.dynamo import Expr, items, key, marshal, put, table, update

# TransactWriteItems groups up to 100 action requests, no two on the same item
# (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_TransactWriteItems.html).
TRANSACTION_MAX = 100
# Markers outlive the stream's 24-hour retention (and Lambda's retries within it).
MARKER_DAYS = 4
# A transaction cancelled by a concurrent one on the same aggregate (another shard's
# batch counting the same day) is tried again this many times, with jittered backoff.
CONFLICT_ATTEMPTS = 6
_CONFLICT_PAUSE_SECONDS = 0.05
# The cost alert marker is kept for a year past its month.
ALERT_DAYS = 400

DAY = "DAY"
TEMPLATE = "TPL"
CAMPAIGN = "CMP"


def stats_pk(phone_number_id: str, kind: str = DAY) -> str:
    return f"{phone_number_id}#STATS" if kind == DAY else f"{phone_number_id}#STATS#{kind}"


def marker_pk(phone_number_id: str, fact_id: str) -> str:
    return f"{phone_number_id}#STATS#FACT#{fact_id}"


@dataclass(frozen=True, slots=True)
class Aggregate:
    """One aggregate item's key."""

    pk: str
    sk: str


@dataclass(slots=True)
class Counted:
    """One fact's increments, by aggregate (what `record` writes with its marker)."""

    phone_number_id: str
    fact_id: str
    increments: dict[Aggregate, dict[str, int]] = field(default_factory=dict)

    def add(self, aggregate: Aggregate, counter: str, n: int = 1) -> None:
        counters = self.increments.setdefault(aggregate, {})
        counters[counter] = counters.get(counter, 0) + n


@dataclass(slots=True)
class Recorded:
    """What one `record` call did: facts newly counted, facts found counted already,
    and the AWS calls it made (TransactWriteItems, including retries)."""

    counted: int = 0
    duplicates: int = 0
    transactions: int = 0
    calls: int = 0


class TransactionConflictError(RuntimeError):
    """Concurrent transactions kept cancelling ours (retried CONFLICT_ATTEMPTS times)."""


def _marker_put(phone_number_id: str, fact_id: str, expires_at: int) -> dict[str, Any]:
    return {
        "Put": {
            "TableName": table(),
            "Item": marshal(
                {"pk": marker_pk(phone_number_id, fact_id), "sk": "#", "expires_at": expires_at}
            ),
            "ConditionExpression": "attribute_not_exists(pk)",
        }
    }


def _counter_update(aggregate: Aggregate, counters: Mapping[str, int]) -> dict[str, Any]:
    expr = Expr()
    for name, n in sorted(counters.items()):
        if n:
            expr.add(name, n)
    return {
        "Update": {"TableName": table(), "Key": key(aggregate.pk, aggregate.sk), **expr.params()}
    }


def _actions(group: Sequence[Counted], expires_at: int) -> list[dict[str, Any]]:
    merged: dict[Aggregate, dict[str, int]] = {}
    for fact in group:
        for aggregate, counters in fact.increments.items():
            into = merged.setdefault(aggregate, {})
            for name, n in counters.items():
                into[name] = into.get(name, 0) + n
    actions = [_marker_put(f.phone_number_id, f.fact_id, expires_at) for f in group]
    actions += [_counter_update(a, c) for a, c in merged.items() if any(c.values())]
    return actions


def _groups(facts: Sequence[Counted]) -> list[list[Counted]]:
    """The facts in transactions of at most TRANSACTION_MAX actions, in order."""
    groups: list[list[Counted]] = []
    current: list[Counted] = []
    aggregates: set[Aggregate] = set()
    for fact in facts:
        more = set(fact.increments) - aggregates
        if current and len(current) + 1 + len(aggregates) + len(more) > TRANSACTION_MAX:
            groups.append(current)
            current, aggregates = [], set()
            more = set(fact.increments)
        current.append(fact)
        aggregates |= more
    if current:
        groups.append(current)
    return groups


def cancellation_reasons(exc: Exception) -> list[str]:
    """The per-action codes of a TransactionCanceledException ("None" for an action
    that was fine), from botocore's parsed field or, failing that, the message."""
    response = getattr(exc, "response", None) or {}
    reasons = response.get("CancellationReasons")
    if reasons:
        return [str((r or {}).get("Code") or "None") for r in reasons]
    message = str(response.get("Error", {}).get("Message") or exc)
    start, end = message.rfind("["), message.rfind("]")
    if start < 0 or end < start:
        return []
    return [part.strip() for part in message[start + 1 : end].split(",")]


def _is_cancelled(exc: Exception) -> bool:
    code = (getattr(exc, "response", None) or {}).get("Error", {}).get("Code")
    return bool(code == "TransactionCanceledException")


def _transact(actions: list[dict[str, Any]], recorded: Recorded) -> bool:
    """One transaction: True written, False cancelled by an existing marker; a
    cancellation by a concurrent transaction is tried again; other errors raise."""
    for attempt in range(CONFLICT_ATTEMPTS):
        recorded.calls += 1
        try:
            dynamodb().transact_write_items(TransactItems=actions)  # type: ignore[arg-type]
        except Exception as exc:
            if not _is_cancelled(exc):
                raise
            reasons = cancellation_reasons(exc)
            if "ConditionalCheckFailed" in reasons:
                return False
            if not reasons or any(r not in ("None", "TransactionConflict") for r in reasons):
                raise
            # Backoff, not synchronisation: another batch holds the same day item.
            time.sleep(_CONFLICT_PAUSE_SECONDS * 2**attempt * (0.5 + random.random()))
            continue
        recorded.transactions += 1
        return True
    raise TransactionConflictError("aggregates kept conflicting with concurrent transactions")


def record(facts: Sequence[Counted], *, now: float) -> Recorded:
    """Count each fact once: its increments and its marker in one transaction.

    Facts are grouped into as few transactions as the limit allows. A group cancelled
    by an existing marker is re-done one fact at a time, where a cancellation means
    that fact was counted already (by an earlier delivery of the same stream batch).
    """
    recorded = Recorded()
    expires_at = int(now) + MARKER_DAYS * 86400
    unique = list({(f.phone_number_id, f.fact_id): f for f in facts}.values())
    for group in _groups(unique):
        if _transact(_actions(group, expires_at), recorded):
            recorded.counted += len(group)
            continue
        for fact in group:
            if _transact(_actions([fact], expires_at), recorded):
                recorded.counted += 1
            else:
                recorded.duplicates += 1
    return recorded


# ------------------------------------------------------------------ reads
def days(phone_number_id: str, first: str, last: str, kind: str = DAY) -> list[dict[str, Any]]:
    """The aggregate items of one kind whose sort key's day is within [first, last]
    (ISO dates), in day order: one Query (following pages)."""
    expr = Expr()
    expr.key_condition(f"pk = {expr.value(stats_pk(phone_number_id, kind))}")
    expr.key_condition(f"sk BETWEEN {expr.value(first)} AND {expr.value(last + '~')}")
    return list(items(expr.params()))


def counters(item: Mapping[str, Any]) -> dict[str, int]:
    """An aggregate item's counters (its numeric attributes but the key)."""
    return {
        str(k): int(v)
        for k, v in item.items()
        if k not in ("pk", "sk") and isinstance(v, int | float) and not isinstance(v, bool)
    }


def raise_alert_once(phone_number_id: str, month: str, fields: Mapping[str, Any]) -> bool:
    """Note that the cost alert of `month` (YYYY-MM) is being raised: True for the one
    call that wrote the note (none yet, or one given back by `forget_alert`), False
    ever after. Conditional writes only: the Facts function is not granted DeleteItem."""
    expires_at = int(time.time()) + ALERT_DAYS * 86400
    item = {
        "pk": stats_pk(phone_number_id, "ALERT"),
        "sk": f"COST#{month}",
        "expires_at": expires_at,
        **fields,
    }
    expr = Expr()
    expr.when(f"attribute_not_exists(pk) OR {expr.name('released')} = {expr.value(True)}")
    return put(item, expr)


def forget_alert(phone_number_id: str, month: str) -> None:
    """Give the note back when the alert could not be sent, so a retry sends it."""
    update(stats_pk(phone_number_id, "ALERT"), f"COST#{month}", Expr().set("released", True))
