"""The mocked state table with the template's indexes (gsi1, due, gsi2) for code querying them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import boto3
import pytest

from tests.unit.conftest import mocked_state_table

INDEXES = {
    "gsi1": ("gsi1pk", "gsi1sk", "ALL"),
    "due": ("due_pk", "due_sk", "KEYS_ONLY"),
    "gsi2": ("gsi2pk", "gsi2sk", "ALL"),
}


@contextmanager
def indexed_state_table(monkeypatch: pytest.MonkeyPatch, **env: str) -> Iterator[str]:
    with mocked_state_table(monkeypatch, **env) as name:
        client = boto3.client("dynamodb")
        for index, (hash_key, range_key, projection) in INDEXES.items():
            client.update_table(
                TableName=name,
                AttributeDefinitions=[
                    {"AttributeName": hash_key, "AttributeType": "S"},
                    {"AttributeName": range_key, "AttributeType": "S"},
                ],
                GlobalSecondaryIndexUpdates=[
                    {
                        "Create": {
                            "IndexName": index,
                            "KeySchema": [
                                {"AttributeName": hash_key, "KeyType": "HASH"},
                                {"AttributeName": range_key, "KeyType": "RANGE"},
                            ],
                            "Projection": {"ProjectionType": projection},
                        }
                    }
                ],
            )
        yield name
