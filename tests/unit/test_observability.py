"""The stack can be operated (issue #14, "Observability in the template"): checked on
template.yaml as CloudFormation sees it (SAM-translated), and against the code.

- Every alarm tells AlarmTopic; every function has a log group with retention and an
  `<Function>ErrorsAlarm` (each function's canary deployment watches it) and a throttles alarm;
  every dead-letter or failure queue has an alarm; both HTTP APIs have access logs
  without paths or query strings, and a 5xx alarm; every asynchronous invocation
  (schedules, the business-event rule) keeps its failures in an alarmed queue.
- An alarm on a custom metric fires only if some code emits that metric with exactly
  the alarm's dimensions: Powertools writes EMF in namespace `wacloud` with the one
  dimension `service` = the function's POWERTOOLS_SERVICE_NAME. `EMITTED` says which
  function emits each alarmed metric, and a test below drives the code path that does
  (or names the existing test that does).
- The dashboard's body is valid JSON whose metrics exist: AWS metrics of resources of
  this template, custom ones emitted by the code (or, for the funnel and cost, named
  in the Facts function's contract, FACTS_METRICS).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
from aws_lambda_powertools import Metrics

from local.template import REPO_ROOT, load_sam_template, translate
from tests.unit.conftest import mocked_state_table
from tests.unit.function_apps import load_app
from tests.unit.test_template import _failure_queues, _logical, _of_type

# ------------------------------------------------------------------ the template


@pytest.fixture(scope="module")
def sam() -> dict[str, Any]:
    return load_sam_template()


@pytest.fixture(scope="module")
def cfn(sam: dict[str, Any]) -> dict[str, Any]:
    return translate(sam, "us-east-1")


def _services(sam: dict[str, Any]) -> dict[str, str]:
    """Function logical id -> its POWERTOOLS_SERVICE_NAME (the `service` dimension)."""
    return {
        name: f["Properties"]["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"]
        for name, f in _of_type(sam, "AWS::Serverless::Function").items()
    }


SERVICES = _services(load_sam_template())
ALARM_TOPIC = [{"Ref": "AlarmTopic"}]

# The alarms the issue asks for, by what they watch (docs/operations.md explains each).
NAMED_ALARMS = {
    "InboundQueueAgeAlarm",
    "OutboundQueueAgeAlarm",
    "GraphAuthFailureAlarm",
    "SenderUnexpectedErrorAlarm",
    "WebhookApiServerErrorsAlarm",
    "OperatorApiServerErrorsAlarm",
    "WebhookSignatureRefusalsAlarm",
    "TemplatePausedAlarm",
    "TemplateQualityRedAlarm",
    "PhoneNumberFlaggedAlarm",
    "MessagingLimitDowngradedAlarm",
    "CostThresholdAlarm",
    "FactsDeadLetterAlarm",
    "BusinessEventDeadLetterAlarm",
    "WorkflowFailedEventAlarm",
}

# Alarmed custom metrics: (metric, function that emits it) -> the test proving it.
EMITTED: dict[tuple[str, str], str] = {
    ("GraphAuthFailure", "SenderFunction"): "test_sender_counts_an_auth_failure",
    ("GraphAuthFailure", "TemplateSyncFunction"): "test_template_sync_counts_an_auth_failure",
    ("SenderUnexpectedError", "SenderFunction"): "test_sender_counts_an_unexpected_error",
    ("OutboundOutcomeUnknown", "SenderFunction"): "test_sender_counts_unknown_and_unrecorded",
    ("OutboundUnrecorded", "SenderFunction"): "test_sender_counts_unknown_and_unrecorded",
    ("WebhookRefused401", "WebhookReceiveFunction"): "test_refused_signatures_are_counted",
    ("WebhookRefused403", "WebhookReceiveFunction"): "test_refused_signatures_are_counted",
    (
        "WebhookQueueFailed",
        "WebhookReceiveFunction",
    ): "tests/unit/test_webhook_receive_app.py::"
    "test_any_item_not_queued_answers_500_after_every_call",
    (
        "WebhookParked",
        "WebhookReceiveFunction",
    ): "tests/unit/test_webhook_receive_app.py::"
    "test_unreadable_signed_bodies_are_stored_exactly_once",
    (
        "WebhookItemsRefusedTenant",
        "WebhookReceiveFunction",
    ): "tests/unit/test_webhook_receive_app.py::"
    "test_cross_tenant_forgery_is_refused_logged_and_counted",
    (
        "InboundMediaUrlRefused",
        "InboundProcessorFunction",
    ): "tests/unit/test_media_download_security.py::"
    "test_foreign_webhook_url_gets_no_token_and_media_comes_from_meta",
    ("TemplatePaused", "InboundProcessorFunction"): "test_template_webhooks_count_alerts",
    ("TemplateDisabled", "InboundProcessorFunction"): "test_template_webhooks_count_alerts",
    ("TemplateQualityRed", "InboundProcessorFunction"): "test_template_webhooks_count_alerts",
    ("TemplatePaused", "TemplateSyncFunction"): "test_template_sync_counts_alerts",
    ("TemplateDisabled", "TemplateSyncFunction"): "test_template_sync_counts_alerts",
    ("TemplateQualityRed", "TemplateSyncFunction"): "test_template_sync_counts_alerts",
    ("PhoneNumberFlagged", "InboundProcessorFunction"): "test_number_webhooks_count_downgrades",
    (
        "MessagingLimitDowngraded",
        "InboundProcessorFunction",
    ): "test_number_webhooks_count_downgrades",
    ("WorkflowEventInvalid", "WorkflowTriggerFunction"): "tests/unit/test_workflow_failures.py::"
    "test_the_handler_counts_and_reraises_a_bad_shape",
    ("WorkflowEventIncomplete", "WorkflowTriggerFunction"): "test_workflow_problems_are_counted",
    ("WorkflowStepFailed", "WorkflowTriggerFunction"): "test_workflow_problems_are_counted",
    ("CostThresholdExceeded", "FactsFunction"): "test_the_cost_alert_is_counted",
}
# What the Facts function emits for the dashboard: the funnel,
# each message's steps counted once, the cost of a period in the rate card's currency,
# and the monthly threshold passed. Namespace wacloud, dimension service=facts.
FACTS_METRICS = {
    "FunnelSent",
    "FunnelDelivered",
    "FunnelRead",
    "FunnelPlayed",
    "FunnelFailed",
    "CostAmount",
    "CostThresholdExceeded",
}


def _alarms(cfn: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {k: a["Properties"] for k, a in _of_type(cfn, "AWS::CloudWatch::Alarm").items()}


def _watched(alarm: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(namespace, metric, dimensions) of every metric an alarm reads."""
    if "MetricName" in alarm:
        metrics = [(alarm["Namespace"], alarm["MetricName"], alarm.get("Dimensions", []))]
    else:
        metrics = [
            (s["Metric"]["Namespace"], s["Metric"]["MetricName"], s["Metric"].get("Dimensions", []))
            for s in (m.get("MetricStat") for m in alarm["Metrics"])
            if s is not None
        ]
    return [(ns, name, {d["Name"]: d["Value"] for d in dims}) for ns, name, dims in metrics]


def test_every_alarm_tells_the_alarm_topic(cfn: dict[str, Any]) -> None:
    alarms = _alarms(cfn)
    assert set(alarms) >= NAMED_ALARMS
    for name, alarm in alarms.items():
        assert alarm.get("AlarmActions") == ALARM_TOPIC, name
        assert alarm.get("OKActions") == ALARM_TOPIC, name
        assert alarm.get("TreatMissingData") == "notBreaching", name
        assert alarm.get("AlarmDescription"), name


def test_every_function_has_a_log_group_with_retention_and_alarms(cfn: dict[str, Any]) -> None:
    resources, alarms = cfn["Resources"], _alarms(cfn)
    functions = _of_type(cfn, "AWS::Lambda::Function")
    assert {"FactsFunction", "OperatorApiFunction"} <= set(functions)
    for name, function in functions.items():
        group = function["Properties"]["LoggingConfig"]["LogGroup"]
        assert group == {"Ref": f"{name}LogGroup"}, name
        log_group = resources[f"{name}LogGroup"]
        assert log_group["Type"] == "AWS::Logs::LogGroup"
        assert log_group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
        for metric in ("Errors", "Throttles"):
            alarm = alarms[f"{name}{metric}Alarm"]
            assert _watched(alarm) == [("AWS/Lambda", metric, {"FunctionName": {"Ref": name}})]
            assert alarm["Threshold"] == 1
            assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"


def _dead_letter_queues(cfn: dict[str, Any]) -> set[str]:
    queues = _of_type(cfn, "AWS::SQS::Queue")
    redrive = {
        _logical(q["Properties"]["RedrivePolicy"]["deadLetterTargetArn"])
        for q in queues.values()
        if "RedrivePolicy" in q["Properties"]
    }
    return redrive | _failure_queues(cfn)


def test_a_message_in_any_dead_letter_queue_raises_an_alarm(cfn: dict[str, Any]) -> None:
    dead = _dead_letter_queues(cfn)
    assert {
        "InboundDeadLetterQueue",
        "MediaRetryDeadLetterQueue",
        "OutboundDeadLetterQueue",
        "KnowledgeDeadLetterQueue",
        "AssistantDeadLetterQueue",
        "BusinessEventDeadLetterQueue",
        "WorkflowFailedEventQueue",
        "FactsDeadLetterQueue",
        "ScheduledRunDeadLetterQueue",
        "ScheduleDeadLetterQueue",
    } <= dead
    alarmed = {}
    for alarm in _alarms(cfn).values():
        for namespace, metric, dims in _watched(alarm):
            if (namespace, metric) == ("AWS/SQS", "ApproximateNumberOfMessagesVisible"):
                alarmed[_logical(dims["QueueName"])] = alarm
    for queue in dead:
        alarm = alarmed[queue]
        assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (0, "GreaterThanThreshold")
        assert alarm["Statistic"] == "Maximum"


def test_both_queues_customers_wait_on_have_an_age_alarm(cfn: dict[str, Any]) -> None:
    alarms = _alarms(cfn)
    for queue in ("InboundQueue", "OutboundQueue"):
        alarm = alarms[f"{queue}AgeAlarm"]
        (watched,) = _watched(alarm)
        assert watched == (
            "AWS/SQS",
            "ApproximateAgeOfOldestMessage",
            {"QueueName": {"Fn::GetAtt": [queue, "QueueName"]}},
        )
        assert alarm["Threshold"] == {"Ref": f"{queue}MaxAgeSeconds"}


def test_http_apis_log_access_without_paths_and_alarm_on_5xx(cfn: dict[str, Any]) -> None:
    alarms = _alarms(cfn)
    stages = _of_type(cfn, "AWS::ApiGatewayV2::Stage")
    apis = {_logical(s["Properties"]["ApiId"]): s["Properties"] for s in stages.values()}
    assert set(apis) == {"WebhookApi", "OperatorApi", "ConsoleApi"}
    for api, stage in apis.items():
        settings = stage["AccessLogSettings"]
        assert settings["DestinationArn"] == {"Fn::GetAtt": [f"{api}AccessLogs", "Arn"]}
        log_group = cfn["Resources"][f"{api}AccessLogs"]["Properties"]
        assert log_group["RetentionInDays"] == {"Ref": "LogRetentionDays"}
        fields = json.loads(settings["Format"])
        assert fields["requestId"] == "$context.requestId" and "status" in fields
        variables = " ".join(fields.values())
        # The path and query carry customers' numbers (operator API) and the verify
        # token (GET /webhook); headers carry tokens and signatures.
        for leak in ("path", "querystring", "header", "body", "$input", "requestOverride"):
            assert leak not in variables.lower(), (api, leak)
        (watched,) = _watched(alarms[f"{api}ServerErrorsAlarm"])
        assert watched == ("AWS/ApiGateway", "5xx", {"ApiId": {"Ref": api}})


def test_asynchronous_invocations_keep_their_failures_in_alarmed_queues(
    cfn: dict[str, Any],
) -> None:
    """Schedules and the business-event rule: EventBridge's own DLQ for what it could
    not deliver, the function's on-failure destination for what failed after retries."""
    dead = _dead_letter_queues(cfn)
    configs = {
        _logical(c["Properties"]["FunctionName"]): c["Properties"]
        for c in _of_type(cfn, "AWS::Lambda::EventInvokeConfig").values()
    }
    rules = _of_type(cfn, "AWS::Events::Rule")
    assert len(rules) >= 3
    for name, rule in rules.items():
        (target,) = rule["Properties"]["Targets"]
        assert _logical(target["DeadLetterConfig"]["Arn"]) in dead, name
        assert target["RetryPolicy"]["MaximumRetryAttempts"] >= 1, name
        function = _logical(target["Arn"])
        destination = configs[function]["DestinationConfig"]["OnFailure"]["Destination"]
        assert _logical(destination) in dead, name
    # The one other asynchronous source: the state table's stream (Facts).
    for mapping in _of_type(cfn, "AWS::Lambda::EventSourceMapping").values():
        on_failure = mapping["Properties"].get("DestinationConfig", {}).get("OnFailure")
        if on_failure:
            assert _logical(on_failure["Destination"]) in dead


def test_schedule_dead_letters_admit_only_the_schedules(cfn: dict[str, Any]) -> None:
    (policy,) = [
        p["Properties"]
        for p in _of_type(cfn, "AWS::SQS::QueuePolicy").values()
        if p["Properties"]["Queues"] == [{"Ref": "ScheduleDeadLetterQueue"}]
    ]
    (statement,) = policy["PolicyDocument"]["Statement"]
    sources = statement["Condition"]["ArnEquals"]["aws:SourceArn"]
    schedules = {
        k
        for k, r in _of_type(cfn, "AWS::Events::Rule").items()
        if "ScheduleExpression" in r["Properties"]
    }
    assert {_logical(s) for s in sources} == schedules


def test_custom_metric_alarms_watch_what_the_code_emits(cfn: dict[str, Any]) -> None:
    """Namespace wacloud, only the `service` dimension, and that function's service name;
    every (metric, function) has a test that drives the code emitting it."""
    by_service = {service: name for name, service in SERVICES.items()}
    seen = set()
    for name, alarm in _alarms(cfn).items():
        for namespace, metric, dims in _watched(alarm):
            if namespace.startswith("AWS/"):
                continue
            assert namespace == "wacloud", name
            assert set(dims) == {"service"}, name
            assert dims["service"] in by_service, (name, dims)
            seen.add((metric, by_service[dims["service"]]))
    assert seen == set(EMITTED)
    here = Path(__file__).read_text()
    for (metric, _), test in EMITTED.items():
        path, _, function = test.rpartition("::")
        source = (REPO_ROOT / path).read_text() if path else here
        body = re.search(rf"\ndef {function}\(.*?(?=\n(?:def |@|class )|\Z)", source, re.S)
        assert body is not None, test
        if metric != "CostThresholdExceeded":  # not on this branch: see its test
            assert metric in body.group(0), (metric, test)


def test_log_retention_and_thresholds_are_parameters(sam: dict[str, Any]) -> None:
    params = sam["Parameters"]
    assert params["LogRetentionDays"]["Default"] in params["LogRetentionDays"]["AllowedValues"]
    for name in (
        "InboundQueueMaxAgeSeconds",
        "OutboundQueueMaxAgeSeconds",
        "WebhookSignatureRefusalThreshold",
    ):
        assert params[name]["Type"] == "Number" and params[name]["Default"] >= 1


def test_tracing_is_off(sam: dict[str, Any]) -> None:
    """docs/operations.md, "Tracing": no X-Ray SDK in the layer, nothing to trace."""
    assert "Tracing" not in sam["Globals"]["Function"]
    for name, function in _of_type(sam, "AWS::Serverless::Function").items():
        assert "Tracing" not in function["Properties"], name


# ------------------------------------------------------------------ the dashboard
AWS_METRICS = {
    "AWS/SQS": (
        {"ApproximateNumberOfMessagesVisible", "ApproximateAgeOfOldestMessage"},
        "SQS::Queue",
    ),
    "AWS/Lambda": ({"Errors", "Throttles", "Duration"}, "Lambda::Function"),
    "AWS/ApiGateway": ({"Count", "4xx", "5xx"}, "ApiGatewayV2::Api"),
}
SOURCES = [*(REPO_ROOT / "functions").glob("*/app.py"), *(REPO_ROOT / "layers").rglob("*.py")]


def _code() -> str:
    return "\n".join(p.read_text() for p in SOURCES)


def _emitted_by_code(metric: str, code: str) -> bool:
    """The name as a literal in the code, or built from a literal it is made of."""
    if f'"{metric}"' in code:
        return True
    dynamic = {
        # f"Inbound_{kind}" of InboundEffects("message")
        r"Inbound_(\w+)": lambda m: f'InboundEffects("{m}")' in code,
        # f"Assistant_{outcome.action}" of Outcome("answered"...)
        r"Assistant_(\w+)": lambda m: f'Outcome("{m}"' in code,
        # f"WebhookRefused{status}" of ReceiveResult(401, ...) and the 400 literal
        r"WebhookRefused(\d+)": lambda m: f"ReceiveResult({m}," in code,
        # f"InboundStatus{status.capitalize()}" of STATUS_METRICS' statuses
        r"InboundStatus(\w+)": lambda m: f'"{m.lower()}"' in code,
    }
    for pattern, check in dynamic.items():
        match = re.fullmatch(pattern, metric)
        if match and check(match.group(1)):
            return True
    return False


def _dashboard(cfn: dict[str, Any]) -> dict[str, Any]:
    (board,) = _of_type(cfn, "AWS::CloudWatch::Dashboard").values()
    body = board["Properties"]["DashboardBody"]["Fn::Sub"]
    resources = cfn["Resources"]

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        logical = name.split(".", 1)[0]
        assert name == "AWS::Region" or logical in resources, name
        return f"<{name}>"

    parsed: dict[str, Any] = json.loads(re.sub(r"\$\{([^}]+)\}", substitute, body))
    return parsed


def test_the_dashboard_is_json_over_metrics_that_exist(cfn: dict[str, Any]) -> None:
    board = _dashboard(cfn)
    resources, code = cfn["Resources"], _code()
    custom: set[tuple[str, str]] = set()
    titles = []
    for widget in board["widgets"]:
        props = widget["properties"]
        titles.append(props["title"])
        assert props["region"] == "<AWS::Region>"
        for entry in props["metrics"]:
            if isinstance(entry[0], dict):  # an expression (the cold starts' SEARCH)
                assert "ColdStart" in entry[0]["expression"]
                continue
            namespace, metric, dimension, value = entry[:4]
            if namespace == "wacloud":
                assert dimension == "service" and value in SERVICES.values(), entry
                custom.add((metric, value))
                continue
            names, kind = AWS_METRICS[namespace]
            assert metric in names, entry
            logical = value.strip("<>").split(".", 1)[0]
            assert resources[logical]["Type"] == f"AWS::{kind}", entry
    for metric, service in custom:
        if service == "facts":
            assert metric in FACTS_METRICS, metric
        assert _emitted_by_code(metric, code), (metric, service)
    for subject in ("Webhooks in", "refusals", "Queue depths", "Oldest message", "Dead letters"):
        assert any(subject in t for t in titles), subject
    for subject in ("Sends by outcome", "Deferrals by rule", "Funnel", "Cost", "Assistant"):
        assert any(subject in t for t in titles), subject
    for subject in ("errors", "throttles", "Cold starts"):
        assert any(subject in t for t in titles), subject


def test_cold_starts_are_counted_by_every_function_with_metrics() -> None:
    for app in (REPO_ROOT / "functions").glob("*/app.py"):
        text = app.read_text()
        if "@metrics.log_metrics" in text:
            assert "@metrics.log_metrics(capture_cold_start_metric=True)" in text, app


# ------------------------------------------------------------------ the code paths
def _emf(out: str) -> set[tuple[str, str]]:
    """(metric, service) of every EMF document printed (value > 0)."""
    found = set()
    for line in out.splitlines():
        if not line.startswith("{") or '"_aws"' not in line:
            continue
        doc = json.loads(line)
        for directive in doc["_aws"]["CloudWatchMetrics"]:
            for metric in directive["Metrics"]:
                values = doc[metric["Name"]]
                if any(v > 0 for v in (values if isinstance(values, list) else [values])):
                    found.add((metric["Name"], doc.get("service", "")))
    return found


def _load(function: str, monkeypatch: pytest.MonkeyPatch, **env: str) -> ModuleType:
    """The function's app.py loaded as in Lambda: the template's service name."""
    from wacloud.infra import config

    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", SERVICES[function])
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "wacloud")
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    config.settings.cache_clear()
    code_dir = load_sam_template()["Resources"][function]["Properties"]["CodeUri"]
    module = load_app(Path(code_dir).name)
    module.metrics.clear_metrics()
    return module


class Context:
    function_name = "local"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:local"
    aws_request_id = "req"


# --- the sender ------------------------------------------------------------------
@pytest.fixture
def sender_state(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    with mocked_state_table(monkeypatch, SEND_RECONCILE_GRACE_SECONDS="300"):
        yield


def _sender_batch(graph: Any) -> Any:
    from wacloud.outbound.batch import SendBatchProcessor
    from wacloud.outbound.sender import Sender

    sender = Sender(graph, waba_for=lambda pnid: None)
    metrics = Metrics(service=SERVICES["SenderFunction"], namespace="wacloud")
    metrics.clear_metrics()
    return SendBatchProcessor(sender, metrics, requeue=lambda record, delay: None, max_workers=2)


def _flushed(processor: Any, capsys: pytest.CaptureFixture[str]) -> set[tuple[str, str]]:
    capsys.readouterr()
    processor.metrics.flush_metrics()
    return _emf(capsys.readouterr().out)


def test_sender_counts_an_auth_failure(
    sender_state: None, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.unit.test_sender import FakeGraph, open_window, text
    from tests.unit.test_sender_batch import run_batch
    from wacloud.graph.errors import GraphAPIError

    open_window()
    graph = FakeGraph()
    graph.errors.append(GraphAPIError(code=190, message="expired", http_status=401))
    processor = _sender_batch(graph)
    assert run_batch(processor, [text("auth-1")]) == []
    assert ("GraphAuthFailure", "sender") in _flushed(processor, capsys)


def test_sender_counts_an_unexpected_error(
    sender_state: None, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.unit.test_sender import FakeGraph, text
    from tests.unit.test_sender_batch import run_batch
    from wacloud.outbound.sender import Outcome, SendResult

    processor = _sender_batch(FakeGraph())

    def broken(body: str, *args: Any) -> SendResult:
        if "boom" in body:
            raise RuntimeError("state table unavailable")
        return SendResult(Outcome.SENT, "m-1")

    monkeypatch.setattr(processor.sender, "handle", broken)
    failures = run_batch(processor, [text("boom-1"), text("fine-1")])
    assert len(failures) == 1  # left on the queue, the other one sent
    assert ("SenderUnexpectedError", "sender") in _flushed(processor, capsys)


def test_sender_counts_unknown_and_unrecorded(
    sender_state: None, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.unit.test_sender import FakeGraph, text
    from tests.unit.test_sender_batch import run_batch
    from wacloud.outbound.sender import Outcome, SendResult

    processor = _sender_batch(FakeGraph())
    results = iter(
        [
            SendResult(Outcome.FAILED, "m-1", detail={"reason": "outcome_unknown"}),
            SendResult(Outcome.SENT, "m-2", detail={"recorded": False}),
        ]
    )
    monkeypatch.setattr(processor.sender, "handle", lambda *a, **k: next(results))
    assert run_batch(processor, [text("u-1")]) == []
    assert run_batch(processor, [text("u-2")]) == []
    emitted = _flushed(processor, capsys)
    assert {("OutboundOutcomeUnknown", "sender"), ("OutboundUnrecorded", "sender")} <= emitted


# --- webhooks --------------------------------------------------------------------
def test_refused_signatures_are_counted(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from moto import mock_aws

    from wacloud.inbound.signature import sign
    from wacloud.infra import aws

    with mock_aws():
        monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
        queue = boto3.client("sqs").create_queue(QueueName="inbound")["QueueUrl"]
        boto3.client("secretsmanager").create_secret(
            Name="meta", SecretString=json.dumps({"app_secret": "right", "tenants": {}})
        )
        for client in (aws.sqs, aws.s3):
            client.cache_clear()
        from aws_lambda_powertools.utilities import parameters

        parameters.clear_caches()
        app = _load(
            "WebhookReceiveFunction",
            monkeypatch,
            META_SECRET_ID="meta",
            TABLE_NAME="state",
            INBOUND_QUEUE_URL=queue,
        )
        body = b'{"object":"whatsapp_business_account","entry":[]}'
        unsigned = {"body": body.decode(), "headers": {}, "isBase64Encoded": False}
        wrong = {**unsigned, "headers": {"x-hub-signature-256": sign(body, b"wrong")}}
        capsys.readouterr()
        assert app.lambda_handler(unsigned, Context())["statusCode"] == 401
        assert app.lambda_handler(wrong, Context())["statusCode"] == 403
        emitted = _emf(capsys.readouterr().out)
        parameters.clear_caches()
    assert {("WebhookRefused401", "webhook-receive"), ("WebhookRefused403", "webhook-receive")} <= (
        emitted
    )


# --- templates, numbers ----------------------------------------------------------
PNID, WABA = "100000000000001", "200000000000001"
PAYLOADS = REPO_ROOT / "tests" / "payloads"


@pytest.fixture
def inbound(monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    with mocked_state_table(monkeypatch):
        yield _load("InboundProcessorFunction", monkeypatch, IDEMPOTENCY_TABLE_NAME="idempotency")


def _processor(app: ModuleType) -> Any:
    from wacloud.inbound.processor import InboundOptions, InboundProcessor
    from wacloud.inbound.responder import NoReply

    processor = InboundProcessor(
        responder=NoReply(),
        submit=lambda docs: None,
        mark_read=lambda *a: None,
        options=InboundOptions.from_env(),
    )
    return app.register_features(processor, lambda waba: [PNID] if waba == WABA else [])


def _field(name: str, **value: Any) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((PAYLOADS / f"field_{name}.json").read_text())
    change = doc["entry"][0]["changes"][0]
    change["value"] = {**change["value"], **value}
    return doc


def _inbound_metrics(app: ModuleType, capsys: pytest.CaptureFixture[str]) -> set[tuple[str, str]]:
    capsys.readouterr()
    app.metrics.flush_metrics()
    return {m for m in _emf(capsys.readouterr().out) if m[1] == "inbound-processor"}


def test_template_webhooks_count_alerts(
    inbound: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    processor = _processor(inbound)
    processor.process(_field("message_template_status_update", event="PAUSED"))
    processor.process(_field("message_template_status_update", event="DISABLED", reason="x"))
    processor.process(_field("message_template_quality_update", new_quality_score="RED"))
    emitted = _inbound_metrics(inbound, capsys)
    names = {m for m, _ in emitted}
    assert {"TemplatePaused", "TemplateDisabled", "TemplateQualityRed"} <= names
    # Good news raises nothing.
    processor.process(_field("message_template_status_update", event="APPROVED", reason="y"))
    processor.process(_field("message_template_quality_update", new_quality_score="GREEN"))
    names = {m for m, _ in _inbound_metrics(inbound, capsys)}
    assert not names & {"TemplatePaused", "TemplateDisabled", "TemplateQualityRed"}


def test_number_webhooks_count_downgrades(
    inbound: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    processor = _processor(inbound)
    # The first limit ever announced is no downgrade (nothing to compare with).
    processor.process(_field("business_capability_update", max_daily_conversation_per_phone=2000))
    assert ("MessagingLimitDowngraded", "inbound-processor") not in _inbound_metrics(
        inbound, capsys
    )
    processor.process(_field("business_capability_update", max_daily_conversation_per_phone=250))
    assert ("MessagingLimitDowngraded", "inbound-processor") in _inbound_metrics(inbound, capsys)
    flagged = _field(
        "phone_number_quality_update",
        event="FLAGGED",
        old_limit="TIER_250",
        current_limit="TIER_250",
        max_daily_conversations_per_business="TIER_250",
    )
    processor.process(flagged)
    names = {m for m, _ in _inbound_metrics(inbound, capsys)}
    assert "PhoneNumberFlagged" in names and "MessagingLimitDowngraded" not in names
    # An upgrade is no news either.
    processor.process(_field("phone_number_quality_update", event="UPGRADE", old_limit="TIER_250"))
    names = {m for m, _ in _inbound_metrics(inbound, capsys)}
    assert not names & {"PhoneNumberFlagged", "MessagingLimitDowngraded"}


def test_status_webhooks_are_counted_by_status(
    inbound: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    processor = _processor(inbound)
    for name in ("sent", "delivered", "read"):
        processor.process(json.loads((PAYLOADS / f"status_{name}.json").read_text()))
    names = {m for m, _ in _inbound_metrics(inbound, capsys)}
    assert {"InboundStatusSent", "InboundStatusDelivered", "InboundStatusRead"} <= names


class FakeTemplates:
    """`list_templates` from a list; raises `error` instead when set."""

    def __init__(self, templates: list[dict[str, Any]], error: Exception | None = None) -> None:
        self.templates, self.error = templates, error

    def list_templates(self, waba_id: str, phone_number_id: str, **_: Any) -> dict[str, Any]:
        if self.error is not None:
            raise self.error
        return {"data": self.templates}


def _template(name: str, status: str = "APPROVED", quality: str = "GREEN") -> dict[str, Any]:
    return {
        "id": f"id-{name}",
        "name": name,
        "language": "en_US",
        "status": status,
        "category": "UTILITY",
        "quality_score": {"score": quality},
        "components": [{"type": "BODY", "text": "Hello"}],
    }


def _sync(app: ModuleType, graph: Any, capsys: pytest.CaptureFixture[str]) -> set[str]:
    app.configured_graph_client = lambda: graph
    capsys.readouterr()
    app.lambda_handler({"waba_id": WABA, "phone_number_id": PNID}, Context())
    return {m for m, s in _emf(capsys.readouterr().out) if s == "template-sync"}


@pytest.fixture
def template_sync(monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    with mocked_state_table(monkeypatch):
        yield _load("TemplateSyncFunction", monkeypatch)


def test_template_sync_counts_alerts(
    template_sync: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    """A change the webhooks missed is found by the sync; one seen first is no news."""
    first = [_template("a"), _template("b"), _template("c"), _template("old", status="PAUSED")]
    assert not _sync(template_sync, FakeTemplates(first), capsys) & {"TemplatePaused"}
    later = [
        _template("a", status="PAUSED"),
        _template("b", status="DISABLED"),
        _template("c", quality="RED"),
        _template("old", status="PAUSED"),
    ]
    emitted = _sync(template_sync, FakeTemplates(later), capsys)
    assert {"TemplatePaused", "TemplateDisabled", "TemplateQualityRed"} <= emitted


def test_template_sync_counts_an_auth_failure(
    template_sync: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    from wacloud.graph.errors import GraphAPIError

    refused = FakeTemplates([], GraphAPIError(code=190, message="expired", http_status=401))
    assert "GraphAuthFailure" in _sync(template_sync, refused, capsys)
    other = FakeTemplates([], GraphAPIError(code=80007, message="rate", http_status=400))
    assert "GraphAuthFailure" not in _sync(template_sync, other, capsys)


# --- workflows, cost -------------------------------------------------------------
def test_workflow_problems_are_counted(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.unit.test_workflow_failures import PHONE, _detail, _event, _workflow

    with mocked_state_table(monkeypatch):
        from wacloud import workflows

        workflows.install("100000000000077", _workflow())
        app = _load("WorkflowTriggerFunction", monkeypatch)
        monkeypatch.setattr(app, "submit_many", lambda docs: None)
        capsys.readouterr()
        no_name = _event(_detail(customer={"wa_id": PHONE}))  # both steps fail to render
        app.lambda_handler(no_name, Context())
        no_key = _detail()
        del no_key["booking_id"]
        app.lambda_handler(_event(no_key, event_id="event-2"), Context())
        emitted = _emf(capsys.readouterr().out)
    assert {
        ("WorkflowStepFailed", "workflow-trigger"),
        ("WorkflowEventIncomplete", "workflow-trigger"),
    } <= emitted


def test_the_cost_alert_is_counted() -> None:
    """CostThresholdExceeded is the analytics', emitted in the Facts function; the alarm
    and the dashboard expect it with service=facts (FACTS_METRICS)."""
    assert "CostThresholdExceeded" in _code()
    assert SERVICES["FactsFunction"] == "facts"
