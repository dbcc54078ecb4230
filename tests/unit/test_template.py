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
        assert props.get("ScalingConfig", {}).get("MaximumConcurrency"), name


def test_every_consumed_queue_has_a_dead_letter_queue(cfn: dict[str, Any]) -> None:
    queues = _of_type(cfn, "AWS::SQS::Queue")
    dlqs = {_logical(q["Properties"]["RedrivePolicy"]["deadLetterTargetArn"])
            for q in queues.values() if "RedrivePolicy" in q["Properties"]}
    for name, queue in queues.items():
        if name in dlqs:
            continue  # a DLQ is the end of the line
        policy = queue["Properties"].get("RedrivePolicy")
        assert policy, f"{name} has no DLQ"
        assert 1 < int(policy["maxReceiveCount"]) <= 20, name
    assert len(dlqs) == len(queues) - len(dlqs)


def test_visibility_timeout_is_at_least_six_times_the_consumer_timeout(cfn: dict[str, Any]) -> None:
    functions = _of_type(cfn, "AWS::Lambda::Function")
    for name, mapping in _of_type(cfn, "AWS::Lambda::EventSourceMapping").items():
        props = mapping["Properties"]
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
    (bucket,) = _of_type(cfn, "AWS::S3::Bucket").values()
    props = bucket["Properties"]
    assert all(props["PublicAccessBlockConfiguration"].values())
    assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    prefixes = {r["Prefix"]: r for r in props["LifecycleConfiguration"]["Rules"]}
    assert "ExpirationInDays" in prefixes["media/"]


def test_no_secret_travels_as_a_template_parameter(sam: dict[str, Any]) -> None:
    for name in sam.get("Parameters", {}):
        words = ("token", "secret", "password", "key")
        assert not any(word in name.lower() for word in words), name
    (secret,) = _of_type(sam, "AWS::SecretsManager::Secret").values()
    assert "SecretString" not in secret["Properties"], "secrets must not be written in the template"


def test_every_function_is_wired_and_has_code_and_a_sample_event(sam: dict[str, Any]) -> None:
    functions = _of_type(sam, "AWS::Serverless::Function")
    expected = {"WebhookVerifyFunction", "WebhookReceiveFunction", "InboundProcessorFunction",
                "SenderFunction", "QueueProcessorFunction", "TemplateSyncFunction"}
    assert expected <= set(functions)
    for name, function in functions.items():
        code = REPO_ROOT / function["Properties"]["CodeUri"]
        assert (code / "app.py").is_file(), name
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
                actions = statement["Action"] if isinstance(statement["Action"], list) else [
                    statement["Action"]]
                if any(a.startswith("secretsmanager:") for a in actions):
                    assert statement["Resource"] != "*", name
