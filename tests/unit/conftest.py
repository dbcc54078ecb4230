"""Shared unit-test setup: a moto-mocked state table with wacloud's caches reset."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import boto3
import pytest
from moto import mock_aws

from wacloud.infra import aws, config
from wacloud.outbound import ratelimit
from wacloud.store import template_mirror, tenants


@pytest.fixture(autouse=True)
def _no_local_stack_endpoints(monkeypatch: pytest.MonkeyPatch) -> None:
    """Unit tests use moto in-process; an integration test that ran earlier in the same
    worker (pytest-xdist --dist loadfile) leaves the local stack's endpoints in the
    environment, which would send their calls to that stack instead. Restored after."""
    for name in [n for n in os.environ if n.startswith("AWS_ENDPOINT_URL")]:
        monkeypatch.delenv(name)


@pytest.fixture(autouse=True)
def _no_closed_log_streams() -> None:
    """Powertools binds a service logger's handler to the sys.stdout of the test that
    first built it; pytest closes that capture afterwards. Logging to a closed stream
    prints "--- Logging error ---" with the exception being handled (and its input) to
    stderr, which a later privacy test rightly counts as a leak. Point such handlers at
    this test's stdout (assigning: ``setStream`` would flush the closed one)."""
    loggers = [logging.getLogger(n) for n in list(logging.Logger.manager.loggerDict)]
    for logger in [logging.getLogger(), *loggers]:
        for handler in getattr(logger, "handlers", ()):
            stream = getattr(handler, "stream", None)
            if isinstance(handler, logging.StreamHandler) and getattr(stream, "closed", False):
                handler.stream = sys.stdout


def create_state_table(name: str = "state") -> None:
    """The state table's keys (pk, sk), in whatever mock_aws is active."""
    boto3.client("dynamodb").create_table(
        TableName=name,
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )


@contextmanager
def mocked_state_table(monkeypatch: pytest.MonkeyPatch, **env: str) -> Iterator[str]:
    """A fresh `state` table in mock_aws, with settings and client caches cleared.

    Endpoint overrides left by an integration test in the same worker (the local
    stack's) are removed, or boto3 would send the calls there instead of to moto.
    """
    monkeypatch.setenv("TABLE_NAME", "state")
    monkeypatch.setenv("META_SECRET_ID", "meta")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB"):
        monkeypatch.delenv(name, raising=False)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    with mock_aws():
        config.settings.cache_clear()
        for client in (aws.dynamodb, aws.sqs, aws.s3):
            client.cache_clear()
        ratelimit._seen.clear()
        tenants.clear_cache()
        template_mirror.clear_cache()
        create_state_table()
        yield "state"
