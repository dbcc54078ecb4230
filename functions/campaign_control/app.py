"""CampaignControl: steer campaigns, invoked directly by an operator or a tool.

The event is the request (docs/campaigns.md):
* `{"action": "create", "spec": {...}}` -> `{"campaign_id": "..."}` (idempotent on
  `spec.campaign_id`);
* `{"action": "pause" | "resume" | "cancel" | "stats", "phone_number_id": "...",
  "campaign_id": "..."}` -> the campaign's figures after the change.
A request that cannot apply (an unknown action, a missing field, a campaign that is
not there, a change its status does not allow) fails the invocation with a message
that says why; nothing is changed then.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from wacloud import campaigns

logger = Logger()


class CampaignControlError(ValueError):
    """The request is not one this function understands (its message says why)."""


def _ids(request: dict[str, Any]) -> tuple[str, str]:
    pnid, campaign_id = request.get("phone_number_id"), request.get("campaign_id")
    if not pnid or not campaign_id:
        raise CampaignControlError(f"{request.get('action')} needs phone_number_id and campaign_id")
    return str(pnid), str(campaign_id)


def _stats(pnid: str, campaign_id: str) -> dict[str, Any]:
    try:
        return campaigns.stats(pnid, campaign_id)
    except KeyError:
        raise CampaignControlError(f"no campaign {campaign_id} on number {pnid}") from None


def _create(request: dict[str, Any]) -> dict[str, Any]:
    spec = request.get("spec")
    if not isinstance(spec, dict):
        raise CampaignControlError("create needs a spec object")
    return {"campaign_id": campaigns.create_campaign(spec)}


def _steer(change: Callable[[str, str], None]) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """A status change (a missing campaign fails it: CampaignStateError), then figures."""

    def run(request: dict[str, Any]) -> dict[str, Any]:
        pnid, campaign_id = _ids(request)
        change(pnid, campaign_id)
        return _stats(pnid, campaign_id)

    return run


def _report(request: dict[str, Any]) -> dict[str, Any]:
    return _stats(*_ids(request))


ACTIONS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "create": _create,
    "pause": _steer(campaigns.pause),
    "resume": _steer(campaigns.resume),
    "cancel": _steer(campaigns.cancel),
    "stats": _report,
}


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    action = event.get("action") if isinstance(event, dict) else None
    handler = ACTIONS.get(str(action))
    if handler is None:
        raise CampaignControlError(
            f"unknown campaign action {action!r}; use one of {', '.join(ACTIONS)}"
        )
    result = handler(event)
    logger.info(
        "campaign control",
        extra={"action": action, "campaign_id": result.get("campaign_id")},
    )
    return result
