"""What cfn-lint does not check but the platform relies on, asserted on template.yaml
as CloudFormation will see it (after the SAM transform)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from local.template import REPO_ROOT, load_sam_template, translate


@pytest.fixture(scope="module")
def sam() -> dict[str, Any]:
    return load_sam_template()


@pytest.fixture(scope="module")
def cfn(sam: dict[str, Any]) -> dict[str, Any]:
    return translate(sam, "us-east-1")


def _of_type(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: r for k, r in template["Resources"].items() if r["Type"] == kind}


def _logical(ref: Any) -> str:
    if isinstance(ref, dict) and "Ref" in ref:
        return str(ref["Ref"])
    if isinstance(ref, dict) and "Fn::GetAtt" in ref:
        return str(ref["Fn::GetAtt"][0])
    raise AssertionError(f"not a reference: {ref!r}")


def test_every_sqs_mapping_reports_batch_item_failures(cfn: dict[str, Any]) -> None:
    mappings = _of_type(cfn, "AWS::Lambda::EventSourceMapping")
    assert len(mappings) >= 2
    for name, mapping in mappings.items():
        props = mapping["Properties"]
        assert props.get("FunctionResponseTypes") == ["ReportBatchItemFailures"], name
        assert "BatchSize" in props and "MaximumBatchingWindowInSeconds" in props, name
        if "StateTable" in str(props["EventSourceArn"]):
            # A stream mapping: one poller per shard, no MaximumConcurrency; failures
            # bisect, then go to the on-failure destination.
            assert props.get("BisectBatchOnFunctionError") is True, name
            assert props["DestinationConfig"]["OnFailure"]["Destination"], name
            continue
        assert props.get("ScalingConfig", {}).get("MaximumConcurrency"), name


def _failure_queues(cfn: dict[str, Any]) -> set[str]:
    """Queues that keep what failed elsewhere: an EventBridge rule target's DLQ and a
    function's on-failure destination."""
    kept = set()
    for rule in _of_type(cfn, "AWS::Events::Rule").values():
        for target in rule["Properties"]["Targets"]:
            if "DeadLetterConfig" in target:
                kept.add(_logical(target["DeadLetterConfig"]["Arn"]))
    for config in _of_type(cfn, "AWS::Lambda::EventInvokeConfig").values():
        kept.add(_logical(config["Properties"]["DestinationConfig"]["OnFailure"]["Destination"]))
    for mapping in _of_type(cfn, "AWS::Lambda::EventSourceMapping").values():
        on_failure = mapping["Properties"].get("DestinationConfig", {}).get("OnFailure")
        if on_failure:
            kept.add(_logical(on_failure["Destination"]))
    return kept


def test_every_consumed_queue_has_a_dead_letter_queue(cfn: dict[str, Any]) -> None:
    queues = _of_type(cfn, "AWS::SQS::Queue")
    dlqs = {
        _logical(q["Properties"]["RedrivePolicy"]["deadLetterTargetArn"])
        for q in queues.values()
        if "RedrivePolicy" in q["Properties"]
    }
    failure_queues = _failure_queues(cfn)
    for name, queue in queues.items():
        if name in dlqs or name in failure_queues:
            continue  # a DLQ is the end of the line
        policy = queue["Properties"].get("RedrivePolicy")
        assert policy, f"{name} has no DLQ"
        assert 1 < int(policy["maxReceiveCount"]) <= 20, name
    assert len(dlqs) == len(queues) - len(dlqs) - len(failure_queues)


def test_business_events_come_from_our_bus_and_source_and_are_never_dropped(
    cfn: dict[str, Any],
) -> None:
    rules = {
        k: r
        for k, r in _of_type(cfn, "AWS::Events::Rule").items()
        if "EventPattern" in r["Properties"]
    }
    assert rules
    for name, rule in rules.items():
        props = rule["Properties"]
        # Never the default bus: anything in the account may publish there.
        assert props.get("EventBusName") == {"Ref": "BusinessEventBus"}, name
        assert props["EventPattern"]["source"] == [{"prefix": {"Ref": "BusinessEventSourcePrefix"}}]
        (target,) = props["Targets"]
        assert target["RetryPolicy"]["MaximumRetryAttempts"] >= 1, name
        queue = _logical(target["DeadLetterConfig"]["Arn"])
        # EventBridge may write to the DLQ, for this rule only.
        (policy,) = [
            p
            for p in _of_type(cfn, "AWS::SQS::QueuePolicy").values()
            if p["Properties"]["Queues"] == [{"Ref": queue}]
        ]
        (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
        assert statement["Principal"] == {"Service": "events.amazonaws.com"}
        assert statement["Condition"]["ArnEquals"]["aws:SourceArn"] == {"Fn::GetAtt": [name, "Arn"]}
        function = _logical(target["Arn"])
        (config,) = [
            c
            for c in _of_type(cfn, "AWS::Lambda::EventInvokeConfig").values()
            if c["Properties"]["FunctionName"] == {"Ref": function}
        ]
        assert config["Properties"]["DestinationConfig"]["OnFailure"]["Destination"]
    alarmed = {
        a["Properties"]["Dimensions"][0]["Value"]["Fn::GetAtt"][0]
        for a in _of_type(cfn, "AWS::CloudWatch::Alarm").values()
        if a["Properties"].get("Namespace") == "AWS/SQS"
    }
    assert _failure_queues(cfn) <= alarmed


# Every action a function's code calls (grep the boto3 calls: wacloud/infra/aws.py clients,
# Powertools' idempotency and parameters); anything else is a grant nobody uses.
USED_ACTIONS = {
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:Query",
    "dynamodb:BatchGetItem",
    "dynamodb:DeleteItem",
    "dynamodb:Scan",  # TemplateSync only: tenant items that name a WABA
    "sqs:SendMessage",
    "sqs:GetQueueAttributes",
    "sqs:ReceiveMessage",  # the operator API's DLQ peek (its pollers' rights are SAM's)
    "sqs:DeleteMessage",  # ... and a redrive's move task, which deletes from the DLQ
    "sqs:StartMessageMoveTask",
    "sqs:ListMessageMoveTasks",
    "s3:GetObject",
    "s3:PutObject",
    "s3:ListBucket",
    "s3:DeleteObject",
    "secretsmanager:GetSecretValue",
    "events:PutEvents",  # conversation events on the stack's bus (wacloud.conversations)
    "sns:Publish",  # the operators' handoff topic
    "firehose:PutRecordBatch",  # the Facts function's rows to the event lake (wacloud.lake)
    "kms:GenerateDataKey",  # ... encrypted with SNS's managed key, only via SNS
    "kms:Decrypt",
    "dynamodb:ConditionCheckItem",  # the operator API: guarded multi-item changes
    "cloudwatch:GetMetricData",  # the operator API's health report (no resource scoping)
    "ssm:GetParameter",  # the console's config (Powertools parameters)
}
# Only these delete: housekeeping (expired blocks), Powertools idempotency and the
# operator API (canned responses, notes an agent removes).
MAY_DELETE = {
    ("QueueProcessorFunctionRole", "StateTable"),
    ("OperatorApiFunctionRole", "StateTable"),
    ("InboundProcessorFunctionRole", "IdempotencyTable"),
}
# Where each function may write in the media bucket (S3 prefixes).
S3_WRITES = {
    "WebhookReceiveFunctionRole": {"webhooks/"},
    "InboundProcessorFunctionRole": {"webhooks/", "media/", "parked/"},
    "QueueProcessorFunctionRole": {"webhooks/"},
    "CampaignControlFunctionRole": {"campaigns/"},
    "WorkflowTriggerFunctionRole": {"webhooks/"},
    "KnowledgeIndexerFunctionRole": {"knowledge-index/"},
    "OperatorApiFunctionRole": {"webhooks/", "campaigns/"},
}


def _statements(role: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        s
        for group in role["Properties"].get("Policies", [])
        for s in group["PolicyDocument"]["Statement"]
    ]


def _actions(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return action if isinstance(action, list) else [action]


def _resources(statement: dict[str, Any]) -> list[Any]:
    resource = statement["Resource"]
    return resource if isinstance(resource, list) else [resource]


def _table_of(resource: Any) -> str:
    """StateTable for its ARN or `${StateTable.Arn}/index/*`."""
    if isinstance(resource, dict) and "Fn::Sub" in resource:
        return str(resource["Fn::Sub"]).removeprefix("${").split(".", 1)[0]
    return _logical(resource)


def _s3_prefix(resource: Any) -> str | None:
    """`webhooks/` for `${MediaBucket.Arn}/webhooks/*`; None for anything else."""
    text = resource.get("Fn::Sub", "") if isinstance(resource, dict) else ""
    if not isinstance(text, str) or not text.startswith("${MediaBucket.Arn}/"):
        return None
    return text.removeprefix("${MediaBucket.Arn}/").removesuffix("*")


def _assumed_by_lambda(role: dict[str, Any]) -> bool:
    statements = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    return any("lambda.amazonaws.com" in str(s.get("Principal")) for s in statements)


def test_functions_get_only_the_actions_their_code_uses(cfn: dict[str, Any]) -> None:
    # Functions' roles; a service's own role (Firehose's LakeDeliveryRole) is held to
    # what that service needs by its own test (tests/unit/test_lake_schema.py).
    roles = {k: r for k, r in _of_type(cfn, "AWS::IAM::Role").items() if _assumed_by_lambda(r)}
    for name, role in roles.items():
        for statement in _statements(role):
            if statement.get("Effect") == "Deny":
                continue
            for action in _actions(statement):
                if action.startswith(("s3:", "logs:", "xray:")) and name == "SenderFunctionRole":
                    continue  # the sender's S3 read is narrowed with the outbound prefix
                if action.startswith("xray:"):
                    continue  # Tracing: Active
                assert "*" not in action, (name, action)
                assert action in USED_ACTIONS, (name, action)
                if action == "dynamodb:DeleteItem":
                    tables = {_table_of(r) for r in _resources(statement)}
                    assert {(name, t) for t in tables} <= MAY_DELETE, (name, tables)
                if action in ("s3:PutObject", "s3:GetObject"):
                    for resource in _resources(statement):
                        prefix = _s3_prefix(resource)
                        assert prefix, (name, action, resource)  # a prefix, never the bucket
                        if action == "s3:PutObject":
                            assert prefix in S3_WRITES.get(name, set()), (name, prefix)
    assert "WorkflowTriggerFunctionRole" in roles


def test_webhook_functions_have_reserved_concurrency(sam: dict[str, Any]) -> None:
    functions = _of_type(sam, "AWS::Serverless::Function")
    for name, parameter in (
        ("WebhookReceiveFunction", "WebhookReceiveConcurrency"),
        ("WebhookVerifyFunction", "WebhookVerifyConcurrency"),
    ):
        reserved = functions[name]["Properties"]["ReservedConcurrentExecutions"]
        assert reserved == {"Ref": parameter}, name
        assert int(sam["Parameters"][parameter]["Default"]) >= 1


def test_visibility_timeout_is_at_least_six_times_the_consumer_timeout(cfn: dict[str, Any]) -> None:
    functions = _of_type(cfn, "AWS::Lambda::Function")
    for name, mapping in _of_type(cfn, "AWS::Lambda::EventSourceMapping").items():
        props = mapping["Properties"]
        if "StateTable" in str(props["EventSourceArn"]):
            continue  # a stream, not a queue
        queue = cfn["Resources"][_logical(props["EventSourceArn"])]["Properties"]
        timeout = int(functions[_logical(props["FunctionName"])]["Properties"]["Timeout"])
        assert int(queue["VisibilityTimeout"]) >= 6 * timeout, name


def test_state_is_durable_encrypted_and_expiring(cfn: dict[str, Any]) -> None:
    for name, table in _of_type(cfn, "AWS::DynamoDB::Table").items():
        props = table["Properties"]
        assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"], name
        assert props["SSESpecification"]["SSEEnabled"], name
        assert props["TimeToLiveSpecification"]["Enabled"], name
        assert table.get("DeletionPolicy") == "Retain", name


def test_media_bucket_is_private_encrypted_and_expires_cached_media(cfn: dict[str, Any]) -> None:
    for name, bucket in _of_type(cfn, "AWS::S3::Bucket").items():  # the media and lake buckets
        props = bucket["Properties"]
        assert all(props["PublicAccessBlockConfiguration"].values()), name
        assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"], name
    props = cfn["Resources"]["MediaBucket"]["Properties"]
    prefixes = {r["Prefix"]: r for r in props["LifecycleConfiguration"]["Rules"]}
    assert "ExpirationInDays" in prefixes["media/"]


def test_no_secret_travels_as_a_template_parameter(sam: dict[str, Any]) -> None:
    for name in sam.get("Parameters", {}):
        words = ("token", "secret", "password", "key")
        assert not any(word in name.lower() for word in words), name
    for secret in _of_type(sam, "AWS::SecretsManager::Secret").values():
        assert "SecretString" not in secret["Properties"], (
            "secrets must not be written in the template"
        )


# Functions an operator or a tool invokes (`aws lambda invoke`): no event source.
INVOKED_DIRECTLY = {"CampaignControlFunction", "ContactControlFunction"}


def test_only_scan_is_template_syncs(cfn: dict[str, Any]) -> None:
    """A Scan reads the whole table: only TemplateSync's 6-hourly tenant listing may."""
    for name, role in _of_type(cfn, "AWS::IAM::Role").items():
        for statement in _statements(role):
            if "dynamodb:Scan" in _actions(statement):
                assert name == "TemplateSyncFunctionRole", name


def test_every_function_is_wired_and_has_code_and_a_sample_event(sam: dict[str, Any]) -> None:
    functions = _of_type(sam, "AWS::Serverless::Function")
    expected = {
        "WebhookVerifyFunction",
        "WebhookReceiveFunction",
        "InboundProcessorFunction",
        "SenderFunction",
        "QueueProcessorFunction",
        "TemplateSyncFunction",
        "CampaignControlFunction",
    }
    assert expected <= set(functions)
    for name, function in functions.items():
        code = REPO_ROOT / function["Properties"]["CodeUri"]
        assert (code / "app.py").is_file(), name
        if name not in INVOKED_DIRECTLY:
            assert function["Properties"].get("Events"), f"{name} is not triggered by anything"
        assert (REPO_ROOT / "events" / f"{Path(code).name}.json").is_file(), name


def test_schedules_match_the_design(cfn: dict[str, Any]) -> None:
    rules = {
        r["Properties"]["Targets"][0]["Arn"]["Fn::GetAtt"][0]: r["Properties"]["ScheduleExpression"]
        for r in _of_type(cfn, "AWS::Events::Rule").values()
        if "ScheduleExpression" in r["Properties"]
    }
    assert rules["QueueProcessorFunction"] == "rate(1 minute)"
    assert rules["TemplateSyncFunction"] == "rate(6 hours)"


def test_functions_only_get_the_secret_they_are_pointed_at(cfn: dict[str, Any]) -> None:
    for name, policy in _of_type(cfn, "AWS::IAM::Role").items():
        for statement_group in policy["Properties"].get("Policies", []):
            for statement in statement_group["PolicyDocument"]["Statement"]:
                actions = (
                    statement["Action"]
                    if isinstance(statement["Action"], list)
                    else [statement["Action"]]
                )
                if any(a.startswith("secretsmanager:") for a in actions):
                    assert statement["Resource"] != "*", name
