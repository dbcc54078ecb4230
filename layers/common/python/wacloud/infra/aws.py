"""Shared boto3 clients, created once per Lambda container.

boto3 is imported lazily: WebhookVerify never needs it, and its import is the largest
single cost of a cold start. Endpoints come from boto3's standard `AWS_ENDPOINT_URL`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_s3.client import S3Client
    from mypy_boto3_sqs.client import SQSClient


_CREATING = threading.RLock()
"""One lock for every client: boto3's default session is not thread-safe, and the
Sender's threads can ask for their first client at the same moment (boto/boto3#1592:
``KeyError: 'credential_provider'`` from concurrent ``boto3.client`` calls). Reentrant,
so a factory may use another client."""


class _PerContainer[T]:
    """A client created once per container, on first use, whichever thread asks first.

    ``functools.cache`` runs the factory in every thread that misses at once, so two
    threads would build clients from the default session concurrently. After creation a
    call is one attribute read. ``cache_clear`` is kept for tests and the local stack,
    which point the clients at another endpoint.
    """

    def __init__(self, factory: Callable[[], T]) -> None:
        self._factory = factory
        self._value: T | None = None
        self.__doc__ = factory.__doc__
        self.__name__ = factory.__name__

    def __call__(self) -> T:
        value = self._value
        if value is None:
            with _CREATING:
                if self._value is None:
                    self._value = self._factory()
                value = self._value
        return value

    def cache_clear(self) -> None:
        self._value = None


def per_container[T](factory: Callable[[], T]) -> _PerContainer[T]:
    """Decorate a client factory: one client per container, created thread-safely."""
    return _PerContainer(factory)


def _config(*, lean: bool = False) -> Any:
    """The clients' botocore Config.

    Standard retry mode retries throttling and 5xx with backoff; connect and read
    timeouts stay well under the shortest Lambda timeout (WebhookReceive, 10 s).

    `lean` (DynamoDB: two calls per message on the Sender's hot path, docs/outbound.md)
    drops two pieces of per-call client work, together ~10% of a call's CPU here:
    - botocore's parameter validation, a walk of the whole request against the service
      model: every DynamoDB request is built by `wacloud.store` with typed helpers, and
      DynamoDB validates it again server-side (a bad request is still refused, as a
      ValidationException instead of a ParamValidationError);
    - the User-Agent, which botocore rebuilds from ~36 components twice per call: a
      fixed string naming wacloud, botocore and Python instead (the header is
      informational; only botocore's per-call feature tags are lost).
    """
    import platform

    from botocore import __version__ as botocore_version
    from botocore.config import Config

    extra: dict[str, Any] = {}
    if lean:
        extra["parameter_validation"] = False
        extra["user_agent"] = (
            f"wacloud Botocore/{botocore_version} Python/{platform.python_version()}"
        )
    return Config(
        retries={"max_attempts": 4, "mode": "standard"},
        connect_timeout=2,
        read_timeout=5,
        max_pool_connections=50,
        **extra,
    )


@per_container
def dynamodb() -> DynamoDBClient:
    import boto3

    return boto3.client("dynamodb", config=_config(lean=True))


@per_container
def sqs() -> SQSClient:
    import boto3

    return boto3.client("sqs", config=_config())


@per_container
def s3() -> S3Client:
    import boto3

    return boto3.client("s3", config=_config())


@per_container
def s3_presigner() -> S3Client:
    """S3 for presigned links (the operator API's media route): Signature Version 4,
    which every region accepts, on the region's own host; signed with the Lambda
    role's temporary credentials (the link carries their session token)."""
    import os

    import boto3
    from botocore.config import Config

    config = _config().merge(Config(signature_version="s3v4"))
    if os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL"):
        return boto3.client("s3", config=config)  # the local stack's S3: as configured
    # botocore presigns on the global host (bucket.s3.amazonaws.com); a bucket outside
    # us-east-1 answers that with a redirect for a while after its creation, which a
    # signed link cannot follow. The region's own host has no such window.
    region = boto3.session.Session().region_name or "us-east-1"
    return boto3.client(
        "s3",
        endpoint_url=f"https://s3.{region}.amazonaws.com",
        config=config.merge(Config(s3={"addressing_style": "virtual"})),
    )


@per_container
def events() -> Any:
    """EventBridge: conversation events on the stack's bus (wacloud.conversations)."""
    import boto3

    return boto3.client("events", config=_config())


@per_container
def sns() -> Any:
    """SNS: the operators' handoff topic (wacloud.conversations)."""
    import boto3

    return boto3.client("sns", config=_config())


@per_container
def cloudwatch() -> Any:
    """CloudWatch: the metrics the health report reads (wacloud.operations)."""
    import boto3

    return boto3.client("cloudwatch", config=_config())


@per_container
def firehose() -> Any:
    """Kinesis Data Firehose: the event lake's delivery stream (wacloud.lake)."""
    import boto3

    return boto3.client("firehose", config=_config())


@per_container
def athena() -> Any:
    """Athena: the lake's queries on AWS (wacloud.lake.athena, an operator's tool)."""
    import boto3

    return boto3.client("athena", config=_config())
