"""Sender: sends each outbound submission at most once, a batch concurrently (SQS).

A thin adapter: the batch logic (repeats, throughput budget, prefetch, thread pool,
delayed copies instead of waiting, metrics) is `wacloud.outbound.batch`'s Powertools
batch processor; this module builds the Graph client and the Sender once per container
and hands each event to Powertools' partial batch response.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.utilities.batch import process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.typing import LambdaContext

from wacloud.graph.client import GraphClient
from wacloud.infra.config import settings
from wacloud.infra.credentials import load_credentials
from wacloud.outbound.batch import SendBatchProcessor
from wacloud.outbound.sender import Sender

logger = Logger()
metrics = Metrics()
_cfg = settings()
sender = Sender(
    GraphClient(
        _cfg.graph_api_base_url,
        _cfg.graph_api_version,
        lambda pnid: load_credentials().token_for(pnid),
    ),
    waba_for=lambda pnid: load_credentials().waba_ids().get(pnid),
)
processor = SendBatchProcessor(sender, metrics)


@metrics.log_metrics
@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(
        event=event, record_handler=processor.record_handler, processor=processor, context=context
    )
