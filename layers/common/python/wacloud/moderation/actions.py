"""Blocks: ours (the contact item) and Meta's (Block API), kept together.

Meta is asked first: a contact blocked there but not here would still have its replies
refused (130403), while one blocked here only is at least silent. Meta can block only
users who wrote in the last 24 h (docs/meta/blocking.md#limits); an older contact is
then blocked in our state only (`meta_blocked` False). Unblocking goes the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger

from wacloud.errors import GraphError
from wacloud.infra.clock import now
from wacloud.infra.privacy import mask_phone
from wacloud.moderation import scoring
from wacloud.store import moderation as state

if TYPE_CHECKING:
    from wacloud.graph.client import GraphClient

logger = Logger(child=True)

# A Meta unblock that failed for now is tried again by the next housekeeping run after this.
UNBLOCK_RETRY_SECONDS = 60


@cache
def _configured_graph() -> GraphClient:
    from wacloud.graph.factory import configured_graph_client

    return configured_graph_client()


def _graph(graph: GraphClient | None) -> GraphClient:
    return graph if graph is not None else _configured_graph()


def _transient(exc: GraphError) -> bool:
    from wacloud.graph.errors import ErrorClass, GraphAPIError

    if isinstance(exc, GraphAPIError):
        return exc.error_class in (ErrorClass.RETRYABLE, ErrorClass.RATE_LIMITED)
    return True  # transport: unknown outcome, try again


@dataclass(frozen=True, slots=True)
class BlockOutcome:
    until: float | None
    meta_blocked: bool
    meta_error: str | None = None  # why Meta did not block (safe to log: no number)

    def as_dict(self) -> dict[str, Any]:
        return {
            "until": self.until,
            "meta_blocked": self.meta_blocked,
            "meta_error": self.meta_error,
        }


def block(
    phone_number_id: str,
    wa_id: str,
    *,
    until: float | None,
    reason: str,
    by: str,
    at: float | None = None,
    graph: GraphClient | None = None,
) -> BlockOutcome:
    """Block a contact until `until` (None: until unblocked by hand), here and at Meta."""
    at = now() if at is None else at
    meta_error: str | None = None
    try:
        result = _graph(graph).block_users(phone_number_id, [wa_id])
        meta_blocked = wa_id in result.done
        if not meta_blocked and result.failed:
            first = result.failed[0]
            meta_error = f"({first.code}) {first.details or first.message}"
    except GraphError as exc:
        meta_blocked, meta_error = False, f"{type(exc).__name__}: {getattr(exc, 'code', None)}"
    state.set_block(
        phone_number_id, wa_id, until=until, reason=reason, by=by, meta_blocked=meta_blocked, at=at
    )
    logger.info(
        "contact blocked",
        extra={
            "to": mask_phone(wa_id),
            "until": until,
            "reason": reason,
            "by": by,
            "meta_blocked": meta_blocked,
            "meta_error": meta_error,
        },
    )
    return BlockOutcome(until=until, meta_blocked=meta_blocked, meta_error=meta_error)


def unblock(
    phone_number_id: str,
    wa_id: str,
    *,
    by: str,
    at: float | None = None,
    graph: GraphClient | None = None,
) -> None:
    """Unblock a contact at Meta, then here. A Meta failure other than "not blocked"
    raises before our state changes, so the caller can try again."""
    at = now() if at is None else at
    _unblock_at_meta(phone_number_id, wa_id, graph)
    state.clear_block(phone_number_id, wa_id, reason="unblocked", by=by, at=at, due_before=None)
    logger.info("contact unblocked", extra={"to": mask_phone(wa_id), "by": by})


def _unblock_at_meta(phone_number_id: str, wa_id: str, graph: GraphClient | None) -> None:
    # Per-user failures (the user was not blocked at Meta) leave nothing to undo.
    _graph(graph).unblock_users(phone_number_id, [wa_id])


def lift_block(
    key: dict[str, Any], item: dict[str, Any], at: float, *, graph: GraphClient | None = None
) -> bool:
    """Housekeeping's way to end a block that is due (scheduling.housekeeping): Meta's
    first when we placed one, then ours. A Meta failure that may pass keeps both and
    tries again in a minute. False when nothing was lifted."""
    pnid, wa_id = item.get("phone_number_id"), item.get("wa_id")
    if not pnid or not wa_id:
        return False
    pnid, wa_id = str(pnid), str(wa_id)
    if item.get("meta_blocked"):
        try:
            _unblock_at_meta(pnid, wa_id, graph)
        except GraphError as exc:
            if _transient(exc):
                until = state.block_until_of(item)
                if until is not None:
                    state.postpone_block_end(
                        pnid, wa_id, seen_until=until, to=at + UNBLOCK_RETRY_SECONDS
                    )
                logger.warning(
                    "meta unblock failed; retried later",
                    extra={"to": mask_phone(wa_id), "error": type(exc).__name__},
                )
                return False
            logger.warning(
                "meta unblock refused; our block ends anyway",
                extra={"to": mask_phone(wa_id), "code": getattr(exc, "code", None)},
            )
    lifted = state.clear_block(
        pnid, wa_id, reason="temporary block ended", by="housekeeping", at=at, due_before=at
    )
    if lifted:
        logger.info("contact block ended", extra={"to": mask_phone(wa_id)})
    return lifted


def report_spam(
    phone_number_id: str, wa_id: str, *, at: float, graph: GraphClient | None = None
) -> bool:
    """The assistant judged a message spam: add to the contact's score (one read, one
    write) and block at the threshold. True if the contact is now blocked."""
    config = state.load_settings(phone_number_id)
    if not config.enabled:
        return False
    contact = state.load_contact(phone_number_id, wa_id) or {}
    if contact.get("blocked"):
        return True
    score = scoring.decayed(
        float(contact.get("mod_score", 0)),
        _float_or_none(contact.get("mod_score_at")),
        at,
        config.half_life_seconds,
    )
    score += scoring.SPAM_POINTS
    if score >= config.threshold:
        block(
            phone_number_id,
            wa_id,
            until=at + config.block_seconds,
            reason="spam",
            by="moderation",
            at=at,
            graph=graph,
        )
        return True
    state.save_score(phone_number_id, wa_id, score=score, at=at, digest=None)
    return False


def list_blocks(phone_number_id: str, *, limit: int = 100) -> list[dict[str, Any]]:
    """Our timed blocks of a number, soonest end first (no phone numbers masked: for
    operators, never for logs)."""
    return [
        {
            "wa_id": item.get("wa_id"),
            "until": item.get("blocked_until"),
            "reason": item.get("blocked_reason"),
            "by": item.get("blocked_by"),
            "meta_blocked": bool(item.get("meta_blocked")),
        }
        for item in state.blocked_contacts(phone_number_id, limit=limit)
    ]


def blocked_at_meta(
    phone_number_id: str, *, after: str | None = None, graph: GraphClient | None = None
) -> dict[str, Any]:
    """One page of Meta's blocklist for the number: `{"wa_ids": [...], "after": cursor}`."""
    page = _graph(graph).blocked_users(phone_number_id, after=after)
    return {"wa_ids": list(page.wa_ids), "after": page.after}


def _float_or_none(value: Any) -> float | None:
    return float(value) if value is not None else None
