"""Sender: sends each outbound submission at most once, a batch concurrently (SQS).

A thin adapter: the batch logic (repeats, throughput budget, prefetch, thread pool,
delayed copies instead of waiting, metrics) is `wacloud.outbound.batch`'s Powertools
batch processor; this module builds the Graph client and the Sender once per container
and hands each event to Powertools' partial batch response.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics

# Before anything imports pydantic: Powertools' batch utility loads its pydantic parser
# models for every event source when pydantic is already loaded (~90-180 ms of cold
# start for models the Sender never uses; tests/unit/test_sender_batch.py pins it).
from aws_lambda_powertools.utilities.batch import process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.typing import LambdaContext

from wacloud.graph.factory import configured_graph_client
from wacloud.outbound.batch import SendBatchProcessor
from wacloud.outbound.sender import Sender
from wacloud.store.tenants import waba_for

logger = Logger()
metrics = Metrics()
sender = Sender(configured_graph_client(), waba_for=waba_for)
processor = SendBatchProcessor(sender, metrics)


@metrics.log_metrics(capture_cold_start_metric=True)
@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(
        event=event, record_handler=processor.record_handler, processor=processor, context=context
    )
