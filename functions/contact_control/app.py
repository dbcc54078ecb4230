"""ContactControl: block and unblock customers by hand, invoked directly with IAM.

The event is the request:
* `{"action": "block", "phone_number_id": "...", "wa_id": "...", "minutes": 60,
  "reason": "..."}` -> the block (`minutes` omitted: until unblocked by hand). Meta can
  block only customers who wrote in the last 24 h (docs/meta/blocking.md); an older
  one is blocked in our state only and the answer says why Meta refused.
* `{"action": "unblock", "phone_number_id": "...", "wa_id": "..."}` -> `{"unblocked": true}`.
* `{"action": "list", "phone_number_id": "...", "after": null}` -> our timed blocks and a
  page of Meta's blocklist (`meta.after` is the next page's cursor).
* `{"action": "settings", "phone_number_id": "...", "set": {...}}` -> the number's
  moderation settings (`set` replaces them; omitted: read only).
A request that cannot apply (an unknown action, a missing or malformed field) fails the
invocation with a message that says why; nothing is changed then.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from wacloud import moderation
from wacloud.infra.clock import now
from wacloud.infra.privacy import mask_phone

logger = Logger()

OPERATOR = "operator"
MAX_BLOCK_MINUTES = 366 * 24 * 60


class ContactControlError(ValueError):
    """The request is not one this function understands (its message says why)."""


def _number(request: dict[str, Any]) -> str:
    pnid = str(request.get("phone_number_id") or "")
    if not pnid.isdigit():
        raise ContactControlError(f"{request.get('action')} needs a numeric phone_number_id")
    return pnid


def _contact(request: dict[str, Any]) -> tuple[str, str]:
    wa_id = str(request.get("wa_id") or "").removeprefix("+")
    if not wa_id.isdigit():
        raise ContactControlError(f"{request.get('action')} needs a numeric wa_id")
    return _number(request), wa_id


def _block(request: dict[str, Any]) -> dict[str, Any]:
    pnid, wa_id = _contact(request)
    minutes = request.get("minutes")
    if minutes is not None and (
        isinstance(minutes, bool)
        or not isinstance(minutes, (int, float))
        or not 0 < minutes <= MAX_BLOCK_MINUTES
    ):
        raise ContactControlError(f"minutes must be a number from 1 to {MAX_BLOCK_MINUTES}")
    at = now()
    outcome = moderation.block(
        pnid,
        wa_id,
        until=at + float(minutes) * 60 if minutes is not None else None,
        reason=str(request.get("reason") or "blocked by an operator")[:200],
        by=OPERATOR,
        at=at,
    )
    return {"blocked": True, **outcome.as_dict()}


def _unblock(request: dict[str, Any]) -> dict[str, Any]:
    pnid, wa_id = _contact(request)
    moderation.unblock(pnid, wa_id, by=OPERATOR)
    return {"unblocked": True}


def _list(request: dict[str, Any]) -> dict[str, Any]:
    pnid = _number(request)
    after = request.get("after")
    return {
        "timed": moderation.list_blocks(pnid),
        "meta": moderation.blocked_at_meta(pnid, after=str(after) if after else None),
    }


def _settings(request: dict[str, Any]) -> dict[str, Any]:
    pnid = _number(request)
    values = request.get("set")
    if values is None:
        return asdict(moderation.load_settings(pnid))
    if not isinstance(values, dict):
        raise ContactControlError("settings.set must be an object")
    try:
        return asdict(moderation.save_settings(pnid, values))
    except ValueError as exc:
        raise ContactControlError(str(exc)) from None


ACTIONS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "block": _block,
    "unblock": _unblock,
    "list": _list,
    "settings": _settings,
}


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    action = event.get("action") if isinstance(event, dict) else None
    handler = ACTIONS.get(str(action))
    if handler is None:
        raise ContactControlError(
            f"unknown contact action {action!r}; use one of {', '.join(ACTIONS)}"
        )
    result = handler(event)
    logger.info(
        "contact control",
        extra={"action": action, "contact": mask_phone(str(event.get("wa_id") or "")) or None},
    )
    return result
