"""TemplateSync: every 6 hours (EventBridge), and on demand, mirrors templates.

On demand: invoke with `{"waba_id": "...", "phone_number_id": "..."}` to sync one WABA
now (e.g. after creating templates), or with `{}` for all configured WABAs: every
number whose WABA is known (`wacloud.store.tenants.waba_numbers`: the tenant item's
`waba_id`, else the Meta secret's). One WABA failing (token, rate limit 80007) does
not stop the others; it is reported.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from wacloud.graph.client import GraphTransportError
from wacloud.graph.errors import ErrorClass, GraphAPIError
from wacloud.graph.factory import configured_graph_client
from wacloud.infra.credentials import load_credentials
from wacloud.store.tenants import waba_numbers
from wacloud.templates.sync import sync_templates

logger = Logger()
metrics = Metrics()


def _targets(event: dict[str, Any], configured: Callable[[], dict[str, str]]) -> dict[str, str]:
    """WABA id -> a phone number id whose token may read it. `configured` (number ->
    WABA) is read only when the event does not name both."""
    waba, pnid = event.get("waba_id"), event.get("phone_number_id")
    if waba and pnid:
        return {str(waba): str(pnid)}
    numbers = configured()
    by_waba = {w: p for p, w in numbers.items()}
    if waba:
        return {str(waba): by_waba.get(str(waba)) or next(iter(numbers), "")}
    return by_waba


def _count(name: str) -> None:
    """One alert metric: a template newly paused, disabled or RED (docs/operations.md)."""
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)


@metrics.log_metrics(capture_cold_start_metric=True)
@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    graph = configured_graph_client()
    synced: dict[str, dict[str, int]] = {}
    failed: dict[str, str] = {}
    targets = _targets(event, lambda: waba_numbers(load_credentials()))
    for waba_id, phone_number_id in targets.items():
        try:
            synced[waba_id] = sync_templates(graph, waba_id, phone_number_id, alert=_count)
        except (GraphAPIError, GraphTransportError) as exc:
            failed[waba_id] = str(exc)
            logger.exception("template sync failed", extra={"waba_id": waba_id})
            if isinstance(exc, GraphAPIError) and exc.error_class is ErrorClass.AUTH:
                # The token is wrong or expired: the sender holds messages for the same
                # reason; this says so even when nothing is being sent (the alarm).
                metrics.add_metric(name="GraphAuthFailure", unit=MetricUnit.Count, value=1)
    total = sum(s["total"] for s in synced.values())
    metrics.add_metric(name="TemplatesSynced", unit=MetricUnit.Count, value=total)
    metrics.add_metric(
        name="TemplatesDeleted",
        unit=MetricUnit.Count,
        value=sum(s["deleted"] for s in synced.values()),
    )
    metrics.add_metric(name="TemplateSyncFailures", unit=MetricUnit.Count, value=len(failed))
    logger.info("template sync", extra={"synced": synced, "failed": failed})
    return {"synced": synced, "failed": failed}
