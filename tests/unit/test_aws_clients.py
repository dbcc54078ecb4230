"""The shared boto3 clients are created once per container, also when threads ask first.

The Sender sends a batch on a thread pool; in a fresh container its threads can ask
for a client at the same moment. boto3's default session is not thread-safe
(boto/boto3#1592), so client creation must happen once, under a lock.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from wacloud.infra import aws


def test_first_use_from_many_threads_creates_one_client(monkeypatch: pytest.MonkeyPatch) -> None:
    created: list[str] = []
    inside = 0
    most_inside = 0
    guard = threading.Lock()

    def slow_client(service: str, **_: Any) -> object:
        nonlocal inside, most_inside
        with guard:
            inside += 1
            most_inside = max(most_inside, inside)
        time.sleep(0.05)  # a wide window: every thread misses while the first creates
        with guard:
            inside -= 1
            created.append(service)
        return object()

    import boto3

    monkeypatch.setattr(boto3, "client", slow_client)
    aws.dynamodb.cache_clear()
    aws.sqs.cache_clear()
    try:
        start = threading.Barrier(16)

        def first_use(i: int) -> object:
            start.wait()
            return aws.dynamodb() if i % 2 else aws.sqs()

        with ThreadPoolExecutor(max_workers=16) as pool:
            clients = list(pool.map(first_use, range(16)))
        assert sorted(created) == ["dynamodb", "sqs"]  # one each, not one per thread
        assert most_inside == 1  # never two creations at once, even of different services
        assert len({id(c) for c in clients}) == 2
        assert aws.dynamodb() is clients[1] and aws.sqs() is clients[0]
    finally:
        aws.dynamodb.cache_clear()
        aws.sqs.cache_clear()


def test_cache_clear_makes_the_next_call_create_a_new_client(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import boto3

    monkeypatch.setattr(boto3, "client", lambda service, **_: object())
    aws.sns.cache_clear()
    try:
        first = aws.sns()
        assert aws.sns() is first
        aws.sns.cache_clear()
        assert aws.sns() is not first
    finally:
        aws.sns.cache_clear()
