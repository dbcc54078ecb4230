"""Count AWS API calls per operation on boto3's event system, for any benchmark.

A `before-call` handler fires once per API call (whatever botocore retries underneath),
a `before-send` handler once per HTTP attempt. Both are registered on boto3's default
session, which every client copies when it is created: install the counter before
`wacloud.infra.aws` builds its clients (or clear their caches), or calls on a client
made earlier are not seen. Calls made while no phase is set (setup, seeding,
verification) are ignored, so a bench counts only what it times.
"""

from __future__ import annotations

import contextlib
import itertools
from collections import Counter
from collections.abc import Iterator
from typing import Any

_ids = itertools.count()


class ApiCalls:
    """AWS API calls per (phase, "service.Operation"), and HTTP attempts per phase."""

    def __init__(self) -> None:
        import boto3

        if boto3.DEFAULT_SESSION is None:
            boto3.setup_default_session()
        assert boto3.DEFAULT_SESSION is not None
        self._events = boto3.DEFAULT_SESSION.events
        self._id = f"bench-aws-calls-{next(_ids)}"
        self.phase: str | None = None
        self.calls: Counter[tuple[str, str]] = Counter()
        self.attempts: Counter[str] = Counter()
        self._events.register("before-call", self._on_call, unique_id=f"{self._id}-call")
        self._events.register("before-send", self._on_send, unique_id=f"{self._id}-send")

    def _on_call(self, event_name: str, **_: Any) -> None:
        if self.phase is not None:
            _event, service, operation = event_name.split(".", 2)
            self.calls[(self.phase, f"{service}.{operation}")] += 1

    def _on_send(self, **_: Any) -> None:
        if self.phase is not None:
            self.attempts[self.phase] += 1

    def close(self) -> None:
        self._events.unregister("before-call", unique_id=f"{self._id}-call")
        self._events.unregister("before-send", unique_id=f"{self._id}-send")

    def __enter__(self) -> ApiCalls:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    @contextlib.contextmanager
    def counting(self, phase: str) -> Iterator[None]:
        self.phase = phase
        try:
            yield
        finally:
            self.phase = None

    def by_operation(self, phase: str) -> dict[str, int]:
        """Calls per operation in `phase`, most frequent first."""
        return dict(
            sorted(
                ((op, c) for (p, op), c in self.calls.items() if p == phase),
                key=lambda kv: (-kv[1], kv[0]),
            )
        )

    def total(self, phase: str) -> int:
        return sum(self.by_operation(phase).values())


def reset_wacloud() -> None:
    """Drop wacloud's process-wide caches (settings, boto3 clients, tenant configs):
    an earlier benchmark in this process may have filled them for another endpoint."""
    from aws_lambda_powertools.utilities import parameters

    from wacloud.infra import aws, config
    from wacloud.store import tenants

    config.settings.cache_clear()
    for client in (aws.dynamodb, aws.sqs, aws.s3, aws.events, aws.sns):
        client.cache_clear()
    tenants.clear_cache()
    # Secrets read through Powertools Parameters (the Meta and OpenAI secrets), and its
    # providers, which hold a client of the earlier endpoint.
    parameters.clear_caches()  # type: ignore[no-untyped-call]
    from aws_lambda_powertools.utilities.parameters import base

    base.DEFAULT_PROVIDERS.clear()  # type: ignore[attr-defined]
