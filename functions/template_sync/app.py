"""TemplateSync: every 6 hours, mirrors each configured WABA's templates (EventBridge)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from wacloud.config import settings
from wacloud.credentials import load_credentials
from wacloud.graph import GraphClient
from wacloud.templates import sync_templates

logger = Logger()
metrics = Metrics()


@metrics.log_metrics
@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    cfg = settings()
    credentials = load_credentials()
    graph = GraphClient(cfg.graph_api_base_url, cfg.graph_api_version, credentials.token_for)
    totals: dict[str, int] = {}
    for phone_number_id, waba_id in credentials.waba_ids().items():
        totals[waba_id] = sync_templates(graph, waba_id, phone_number_id)
    metrics.add_metric(name="TemplatesSynced", unit=MetricUnit.Count, value=sum(totals.values()))
    logger.info("template sync", extra={"wabas": len(totals), "templates": sum(totals.values())})
    return {"synced": totals}
