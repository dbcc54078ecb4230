"""The health report's checks (wacloud.operations.health), the heartbeat store and the
route, on moto."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.unit.api_calls import call
from tests.unit.indexed_table import indexed_state_table
from wacloud.graph.client import GraphTransportError
from wacloud.graph.errors import GraphAPIError
from wacloud.infra import aws, config
from wacloud.operations import health
from wacloud.operations.queues import QueueDepth
from wacloud.store import health as heartbeats

PNID = "100000000000001"
OTHER = "100000000000002"
SECRET_TOKEN = "EAAG-secret-token-marker"


def depth(name: str, visible: int = 0, dead: bool = False, url: str = "") -> QueueDepth:
    return QueueDepth(name, url or f"http://q/{name}", f"arn:{name}", visible, 0, 0, dead)


# ------------------------------------------------------------------ pure checks
def test_last_webhook_never_old_and_recent() -> None:
    never = health.webhook_check(PNID, None, 1000.0, 3600)
    assert never.status == "warn" and "no webhook" in never.detail
    assert never.as_dict()["phone_number_id"] == PNID
    old = health.webhook_check(PNID, 1000.0, 1000.0 + 7200, 3600)
    assert old.status == "warn" and old.figures["age_seconds"] == 7200
    recent = health.webhook_check(PNID, 1000.0, 1030.0, 3600)
    assert recent.status == "ok" and recent.figures["last_webhook_at"] == 1000.0


def test_refusals_warn_with_counts_and_when_unreadable() -> None:
    quiet = {f: 0.0 for f in health.REFUSAL_METRICS.values()}
    assert health.refusals_check(health.Metrics(quiet, {})).status == "ok"
    noisy = health.refusals_check(health.Metrics({**quiet, "bad_signature": 3.0}, {}))
    assert noisy.status == "warn" and noisy.figures["bad_signature"] == 3
    assert "bad signature 3" in noisy.detail
    blind = health.refusals_check(health.Metrics(None, {}, "AccessDenied"))
    assert blind.status == "warn" and "AccessDenied" in blind.detail


def test_backlogs_fail_on_dead_letters_and_warn_on_depth_or_age() -> None:
    fine = [depth("WorkQueue", 5), depth("WorkDeadLetterQueue", dead=True)]
    assert health.backlog_check(fine, {}, 100, 900).status == "ok"
    dead = [depth("WorkQueue"), depth("WorkDeadLetterQueue", 2, dead=True)]
    failed = health.backlog_check(dead, {}, 100, 900)
    assert failed.status == "fail" and "WorkDeadLetterQueue holds 2" in failed.detail
    assert failed.figures["dead_letters"] == {"WorkDeadLetterQueue": 2}
    deep = health.backlog_check([depth("WorkQueue", 101)], {}, 100, 900)
    assert deep.status == "warn" and "WorkQueue has 101" in deep.detail
    aged = health.backlog_check([depth("WorkQueue")], {"WorkQueue": 1800.0}, 100, 900)
    assert aged.status == "warn" and "oldest message" in aged.detail


def test_token_check_outcomes() -> None:
    def raising(exc: Exception) -> Any:
        def probe(pnid: str) -> Any:
            raise exc

        return probe

    assert health.token_check(PNID, lambda p: {"id": p}).status == "ok"
    expired = health.token_check(
        PNID,
        raising(GraphAPIError(code=190, message=f"bad {SECRET_TOKEN}", http_status=401)),
    )
    assert expired.status == "fail" and expired.figures["code"] == 190
    assert SECRET_TOKEN not in json.dumps(expired.as_dict())
    throttled = health.token_check(PNID, raising(GraphAPIError(code=4, message="x")))
    assert throttled.status == "warn"
    unreachable = health.token_check(PNID, raising(GraphTransportError("GET /x: boom")))
    assert unreachable.status == "warn"
    denied = health.token_check(PNID, raising(GraphAPIError(code=10, message="x")))
    assert denied.status == "fail"


def test_token_check_is_kept_a_minute() -> None:
    health.forget_token_checks()
    calls: list[str] = []
    probe = calls.append
    health.cached_token_check(PNID, probe, 1000.0)
    health.cached_token_check(PNID, probe, 1059.0)
    assert calls == [PNID]
    health.cached_token_check(PNID, probe, 1061.0)
    assert calls == [PNID, PNID]
    health.forget_token_checks()


def test_overall_is_ok_only_when_every_check_is() -> None:
    ok = health.Check("a", "ok", "")
    assert health.overall([ok, ok]) == "ok"
    assert health.overall([ok, health.Check("b", "warn", "")]) == "degraded"
    assert health.overall([ok, health.Check("b", "fail", "")]) == "degraded"


def test_the_service_dimension_is_webhook_receives() -> None:
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    Loader.add_multi_constructor("!", lambda loader, suffix, node: None)
    text = (Path(__file__).resolve().parents[2] / "template.yaml").read_text()
    template = yaml.load(text, Loader=Loader)
    env = template["Resources"]["WebhookReceiveFunction"]["Properties"]["Environment"]
    assert env["Variables"]["POWERTOOLS_SERVICE_NAME"] == health.WEBHOOK_SERVICE


# ------------------------------------------------------------------ on moto
@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    from aws_lambda_powertools.utilities import parameters

    with indexed_state_table(monkeypatch) as name:
        boto3.client("secretsmanager").create_secret(
            Name="meta",
            SecretString=json.dumps(
                {"access_token": SECRET_TOKEN, "tenants": {PNID: {"waba_id": "900"}}}
            ),
        )
        sqs = boto3.client("sqs")
        dlq = sqs.create_queue(QueueName="work-dlq")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        work = sqs.create_queue(
            QueueName="work",
            Attributes={
                "RedrivePolicy": json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": 1})
            },
        )["QueueUrl"]
        monkeypatch.setenv("OPS_QUEUES", f"WorkQueue={work},WorkDeadLetterQueue={dlq}")
        config.settings.cache_clear()
        aws.cloudwatch.cache_clear()
        parameters.clear_caches()  # type: ignore[no-untyped-call]
        heartbeats.forget_notes()
        health.forget_token_checks()
        yield {"table": name, "work": work, "dlq": dlq}
        parameters.clear_caches()  # type: ignore[no-untyped-call]
        aws.cloudwatch.cache_clear()
        heartbeats.forget_notes()
        health.forget_token_checks()


def _update_items(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    client = aws.dynamodb()
    original = client.update_item

    def counting(**kwargs: Any) -> Any:
        seen.append(kwargs)
        return original(**kwargs)

    monkeypatch.setattr(client, "update_item", counting)
    return seen


def test_heartbeat_is_written_once_a_minute_and_only_forward(
    stack: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    writes = _update_items(monkeypatch)
    assert heartbeats.note_webhook(PNID, 1000.0)
    assert not heartbeats.note_webhook(PNID, 1030.0)  # throttled: no call
    assert len(writes) == 1
    assert heartbeats.last_webhooks([PNID, OTHER]) == {PNID: 1000.0, OTHER: None}
    heartbeats.forget_notes()  # another container, with an older item to note
    assert heartbeats.note_webhook(PNID, 900.0)
    assert heartbeats.last_webhooks([PNID])[PNID] == 1000.0
    assert heartbeats.note_webhook(PNID, 1100.0)
    assert heartbeats.last_webhooks([PNID])[PNID] == 1100.0
    assert len(writes) == 3


def test_read_metrics_sums_the_refusals_of_the_last_day(stack: dict[str, str]) -> None:
    cloudwatch = boto3.client("cloudwatch")
    at = datetime.now(tz=UTC).timestamp()
    for name, value in (("WebhookRefused403", 2.0), ("WebhookRefused403", 1.0)):
        cloudwatch.put_metric_data(
            Namespace="wacloud",
            MetricData=[
                {
                    "MetricName": name,
                    "Dimensions": [{"Name": "service", "Value": "webhook-receive"}],
                    "Value": value,
                    "Unit": "Count",
                }
            ],
        )
    # Another function's metric of the same name is not WebhookReceive's.
    cloudwatch.put_metric_data(
        Namespace="wacloud",
        MetricData=[
            {
                "MetricName": "WebhookRefused401",
                "Dimensions": [{"Name": "service", "Value": "other"}],
                "Value": 5.0,
            }
        ],
    )
    metrics = health.read_metrics([depth("WorkQueue")], at, cloudwatch)
    assert metrics.refusals is not None
    assert metrics.refusals["bad_signature"] == 3.0 and metrics.refusals["unsigned"] == 0.0


def test_read_metrics_failure_is_an_answer() -> None:
    class Broken:
        def get_metric_data(self, **kwargs: Any) -> Any:
            raise RuntimeError("no")

    metrics = health.read_metrics([], 0.0, Broken())
    assert metrics.refusals is None and metrics.error == "RuntimeError"


def test_the_route_reports_every_check(
    stack: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    probed: list[str] = []
    monkeypatch.setattr(health, "_probe", probed.append)
    heartbeats.note_webhook(PNID, datetime.now(tz=UTC).timestamp() - 5)
    status, body = call("GET", "/v1/ops/health")
    assert status == 200, body
    by_name = {c["name"]: c for c in body["checks"]}
    assert by_name["last_webhook"]["status"] == "ok"
    assert by_name["last_webhook"]["phone_number_id"] == PNID
    assert by_name["meta_token"]["status"] == "ok" and probed == [PNID]
    assert by_name["webhook_refusals"]["status"] == "ok"
    assert by_name["backlogs"]["status"] == "ok"
    assert body["status"] == "ok"
    assert SECRET_TOKEN not in json.dumps(body)

    sqs = boto3.client("sqs")
    sqs.send_message(QueueUrl=stack["dlq"], MessageBody="poison")
    status, body = call("GET", "/v1/ops/health", params={"phone_number_id": PNID})
    assert status == 200 and body["status"] == "degraded"
    backlogs = next(c for c in body["checks"] if c["name"] == "backlogs")
    assert backlogs["status"] == "fail" and "WorkDeadLetterQueue" in backlogs["detail"]

    assert call("GET", "/v1/ops/health", params={"phone_number_id": OTHER})[0] == 404
    assert call("GET", "/v1/ops/health", "agent")[0] == 403
