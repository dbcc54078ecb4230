"""Facts: the state table's change stream, turned into facts once and handed to the
aggregates, the event lake and the bus.

A thin adapter: the batch logic (one delivery per batch, record by record after a
failure, logs and metrics) is `wacloud.facts`' Powertools batch processor
(docs/facts.md).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.utilities.batch import process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.typing import LambdaContext

from wacloud import analytics, events_out, lake
from wacloud.facts import FactsBatchProcessor

logger = Logger()
metrics = Metrics()
processor = FactsBatchProcessor(metrics)

# The consumers, named here for tests that replace one (`app.events_out.publish`).
__all__ = ["analytics", "events_out", "lake", "lambda_handler"]


@metrics.log_metrics(capture_cold_start_metric=True)
@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(
        event=event, record_handler=processor.record_handler, processor=processor, context=context
    )
