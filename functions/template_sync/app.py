"""TemplateSync: every 6 hours (EventBridge), and on demand, mirrors templates.

On demand: invoke with `{"waba_id": "...", "phone_number_id": "..."}` to sync one WABA
now (e.g. after creating templates), or with `{}` for all configured WABAs. One WABA
failing (token, rate limit 80007) does not stop the others; it is reported.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from wacloud.graph.client import GraphClient, GraphTransportError
from wacloud.graph.errors import GraphAPIError
from wacloud.infra.config import settings
from wacloud.infra.credentials import load_credentials
from wacloud.templates.sync import sync_templates

logger = Logger()
metrics = Metrics()


def _targets(event: dict[str, Any], configured: dict[str, str]) -> dict[str, str]:
    """WABA id -> a phone number id whose token may read it."""
    by_waba = {waba: pnid for pnid, waba in configured.items()}
    waba = event.get("waba_id")
    if waba:
        pnid = event.get("phone_number_id") or by_waba.get(str(waba)) or next(iter(configured), "")
        return {str(waba): str(pnid)}
    return by_waba


@metrics.log_metrics
@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    cfg = settings()
    credentials = load_credentials()
    graph = GraphClient(cfg.graph_api_base_url, cfg.graph_api_version, credentials.token_for)
    synced: dict[str, dict[str, int]] = {}
    failed: dict[str, str] = {}
    for waba_id, phone_number_id in _targets(event, credentials.waba_ids()).items():
        try:
            synced[waba_id] = sync_templates(graph, waba_id, phone_number_id)
        except (GraphAPIError, GraphTransportError) as exc:
            failed[waba_id] = str(exc)
            logger.exception("template sync failed", extra={"waba_id": waba_id})
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
