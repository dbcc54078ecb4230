"""The local stack's EMF extractor (local/emf.py): what CloudWatch Logs does with the
EMF lines a function prints, turned into PutMetricData on moto."""

from __future__ import annotations

import io
import json
import sys
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from moto import mock_aws

from local.emf import EmfPublisher, EmfTap, extract, metric_data


def powertools_output(monkeypatch: pytest.MonkeyPatch) -> str:
    """What Powertools Metrics prints for two refusals, as WebhookReceive writes them."""
    from aws_lambda_powertools import Metrics
    from aws_lambda_powertools.metrics import MetricUnit

    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "wacloud")
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "webhook-receive")
    out = io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    metrics = Metrics(namespace="wacloud", service="webhook-receive")
    metrics.add_metric(name="WebhookRefused403", unit=MetricUnit.Count, value=1)
    metrics.add_metric(name="WebhookRefused403", unit=MetricUnit.Count, value=1)
    metrics.add_metric(name="WebhookRefused401", unit=MetricUnit.Count, value=1)
    metrics.flush_metrics()
    metrics.clear_metrics()
    return out.getvalue()


def test_powertools_lines_become_metric_data(monkeypatch: pytest.MonkeyPatch) -> None:
    text = powertools_output(monkeypatch)
    docs = [d for d in map(extract, text.splitlines()) if d is not None]
    assert len(docs) == 1
    [(namespace, data)] = metric_data(docs[0])
    assert namespace == "wacloud"
    refused = [d for d in data if d["MetricName"] == "WebhookRefused403"]
    assert sum(d["Value"] for d in refused) == 2.0
    assert refused[0]["Dimensions"] == [{"Name": "service", "Value": "webhook-receive"}]
    assert refused[0]["Unit"] == "Count"
    assert abs(refused[0]["Timestamp"] - datetime.now(tz=UTC)) < timedelta(minutes=1)


@pytest.mark.parametrize(
    "line",
    [
        "",
        "plain text",
        '{"level": "INFO", "message": "hi"}',
        '{"_aws": "not a dict"}',
        '{"_aws": {"Timestamp": 1, "CloudWatchMetrics": []}}',
        '{"_aws": {"Timestamp": 1, "CloudWatchMetrics": [{"Metrics": []}]}}',
        '{"_aws": {"Timestamp": 1, "CloudWatchMetrics": [{"Namespace": "n", "Metrics": [], '
        '"Dimensions": ["service"]}]}}',
        '{"_aws": {"Timestamp": 1, "CloudWatchMetrics"',
        '["_aws"]',
    ],
)
def test_other_lines_are_not_metrics(line: str) -> None:
    assert extract(line) is None


def test_values_and_dimension_sets_as_cloudwatch_reads_them() -> None:
    doc = {
        "_aws": {
            "Timestamp": 1_700_000_000_000,
            "CloudWatchMetrics": [
                {
                    "Namespace": "n",
                    "Dimensions": [["service"], ["service", "missing"]],
                    "Metrics": [{"Name": "A"}, {"Name": "B", "Unit": "Count"}, {"Name": "C"}],
                }
            ],
        },
        "service": "s",
        "A": [1, 2],
        "B": 3,
        "C": "not a number",
    }
    [(_namespace, data)] = metric_data(doc)
    assert [(d["MetricName"], d["Value"]) for d in data] == [("A", 1.0), ("A", 2.0), ("B", 3.0)]
    assert "Unit" not in data[0] and data[2]["Unit"] == "Count"


def test_the_tap_writes_through_and_keeps_documents_split_across_writes() -> None:
    target = io.StringIO()
    tap = EmfTap(target)
    doc = {"_aws": {"Timestamp": 1, "CloudWatchMetrics": [{"Namespace": "n", "Metrics": []}]}}
    line = json.dumps(doc)
    print("a log line", file=tap)
    tap.write(line[:10])
    tap.write(line[10:])
    tap.write("\n")
    print('{"level": "INFO", "_aws": 1}', file=tap)
    assert target.getvalue() == f"a log line\n{line}\n" + '{"level": "INFO", "_aws": 1}\n'
    assert tap.take() == [doc]
    assert tap.take() == []


def test_the_publisher_puts_them_in_cloudwatch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB"):
        monkeypatch.delenv(name, raising=False)
    text = powertools_output(monkeypatch)
    docs = [d for d in map(extract, text.splitlines()) if d is not None]
    with mock_aws():
        client = boto3.client("cloudwatch")
        publisher = EmfPublisher(lambda: client)
        publisher.publish(docs)
        publisher.publish([{"_aws": {"Timestamp": "bad"}}])  # skipped, nothing breaks
        publisher.wait_idle()
        publisher.stop()
        now = datetime.now(tz=UTC)
        stats = client.get_metric_statistics(
            Namespace="wacloud",
            MetricName="WebhookRefused403",
            Dimensions=[{"Name": "service", "Value": "webhook-receive"}],
            StartTime=now - timedelta(hours=1),
            EndTime=now + timedelta(minutes=1),
            Period=3600,
            Statistics=["Sum"],
        )
        assert sum(p["Sum"] for p in stats["Datapoints"]) == 2.0
