"""Agents: the people who answer in the inbox, per stack (not per number).

One item per agent: pk ``AGENTS``, sk ``{name}`` (the user name from the token,
``caller.name``), so listing them is one Query. Attributes:
* ``name``, ``available`` (bool; automatic assignment only picks available agents),
* ``max_open`` -- how many assigned conversations automatic assignment may give the
  agent at once (DEFAULT_MAX_OPEN until an admin sets it),
* ``open`` -- conversations assigned to the agent now: moved in the same transaction
  as the conversation's assignment, release, resolve or reassignment
  (store/conversations.py), so it cannot drift from them,
* ``last_assigned_at`` -- for round-robin (the least recently assigned goes first),
* ``updated_at``.

An agent who takes a conversation before anyone set them up gets an item then
(available false: they are not in the automatic rotation until they say so).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from wacloud.infra.clock import now
from wacloud.infra.dynamo import Expr, key, query, table, update

PK = "AGENTS"
DEFAULT_MAX_OPEN = 5


@dataclass(frozen=True, slots=True)
class AgentRecord:
    name: str
    available: bool = False
    max_open: int = DEFAULT_MAX_OPEN
    open: int = 0
    last_assigned_at: float | None = None
    updated_at: float | None = None

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> AgentRecord:
        last = item.get("last_assigned_at")
        updated = item.get("updated_at")
        return cls(
            name=str(item.get("name") or item["sk"]),
            available=bool(item.get("available", False)),
            max_open=int(item.get("max_open", DEFAULT_MAX_OPEN)),
            open=max(int(item.get("open") or 0), 0),
            last_assigned_at=None if last is None else float(last),
            updated_at=None if updated is None else float(updated),
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "available": self.available,
            "max_open": self.max_open,
            "open": self.open,
            "last_assigned_at": self.last_assigned_at,
        }


def all_agents() -> list[AgentRecord]:
    return [AgentRecord.from_item(i) for i in query(PK)]


def load(name: str) -> AgentRecord | None:
    from wacloud.infra.dynamo import get

    item = get(PK, name)
    return AgentRecord.from_item(item) if item else None


def save(name: str, *, available: bool | None = None, max_open: int | None = None) -> AgentRecord:
    """Create or change an agent (only the fields given)."""
    expr = Expr().set("name", name).set("updated_at", now())
    expr.set_fields({"available": available, "max_open": max_open})
    expr.set_if_absent("open", 0)
    if available is None:
        expr.set_if_absent("available", False)
    if max_open is None:
        expr.set_if_absent("max_open", DEFAULT_MAX_OPEN)
    written = update(PK, name, expr, returns="ALL_NEW")
    return AgentRecord.from_item(written.attributes)


def open_delta_request(
    name: str, delta: int, *, at: float | None = None, within_limit: bool = False
) -> dict[str, Any]:
    """The TransactWriteItems entry that moves an agent's open count by ``delta``
    (creating the agent if needed). ``within_limit``: conditional on the agent being
    available and below ``max_open`` (automatic assignment)."""
    expr = Expr().set("name", name).add("open", delta)
    expr.set_if_absent("available", False).set_if_absent("max_open", DEFAULT_MAX_OPEN)
    if at is not None:
        expr.set("last_assigned_at", at)
    if within_limit:
        expr.when(f"{expr.name('available')} = {expr.value(True)}")
        expr.when(f"{expr.name('open')} < {expr.name('max_open')}")
    return {"Update": {"TableName": table(), "Key": key(PK, name), **expr.params()}}


def round_robin(agents: list[AgentRecord]) -> list[AgentRecord]:
    """The agents automatic assignment may pick, in the order it tries them: available,
    below their limit, the least recently assigned first (then by name)."""
    eligible = [a for a in agents if a.available and a.open < a.max_open]
    return sorted(eligible, key=lambda a: (a.last_assigned_at or 0.0, a.name))
