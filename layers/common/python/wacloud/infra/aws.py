"""Shared boto3 clients, created once per Lambda container.

boto3 is imported lazily: WebhookVerify never needs it, and its import is the largest
single cost of a cold start. Endpoints come from boto3's standard `AWS_ENDPOINT_URL`.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_s3.client import S3Client
    from mypy_boto3_sqs.client import SQSClient


def _config(*, validate: bool = True) -> Any:
    """The clients' botocore Config.

    Standard retry mode retries throttling and 5xx with backoff; connect and read
    timeouts stay well under the shortest Lambda timeout (WebhookReceive, 10 s).
    `validate=False` skips botocore's client-side parameter validation, a walk of the
    whole request against the service model on every call (~5% of a DynamoDB call's
    CPU here, docs/outbound.md): for DynamoDB, whose requests only `wacloud.store`
    builds, with typed helpers, and which DynamoDB validates again server-side (a bad
    request is still refused, as a ValidationException instead of a ParamValidationError).
    """
    from botocore.config import Config

    return Config(
        retries={"max_attempts": 4, "mode": "standard"},
        connect_timeout=2,
        read_timeout=5,
        max_pool_connections=50,
        parameter_validation=validate,
    )


@cache
def dynamodb() -> DynamoDBClient:
    import boto3

    return boto3.client("dynamodb", config=_config(validate=False))


@cache
def sqs() -> SQSClient:
    import boto3

    return boto3.client("sqs", config=_config())


@cache
def s3() -> S3Client:
    import boto3

    return boto3.client("s3", config=_config())
