"""Shared unit-test setup: a moto-mocked state table with wacloud's caches reset."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import boto3
import pytest
from moto import mock_aws

from wacloud import aws, config, ratelimit
from wacloud.store import template_mirror, tenants


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
        boto3.client("dynamodb").create_table(
            TableName="state",
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
        yield "state"
