"""Media retries live on their own queue, which the sender's reconcile does not count.

The reconcile of an unknown send outcome waits while the inbound queue or its DLQ holds
anything (outbound/reconcile.py): a status webhook that settles the send may be there.
A media retry is delayed up to 900 s, five times, and never carries a status; on the
inbound queue it would hold every unknown-outcome send for about half an hour.
"""

from __future__ import annotations

from typing import Any

import pytest

from local.template import load_sam_template, translate


@pytest.fixture(scope="module")
def cfn() -> dict[str, Any]:
    return translate(load_sam_template(), "us-east-1")


def _function(cfn: dict[str, Any], name: str) -> dict[str, Any]:
    props: dict[str, Any] = cfn["Resources"][name]["Properties"]
    return props


def _env(cfn: dict[str, Any], name: str) -> dict[str, Any]:
    variables: dict[str, Any] = _function(cfn, name)["Environment"]["Variables"]
    return variables


def _ref(value: Any) -> str:
    assert isinstance(value, dict) and "Ref" in value, value
    return str(value["Ref"])


def test_media_retries_go_to_a_queue_the_reconcile_does_not_count(cfn: dict[str, Any]) -> None:
    retry_queue = _ref(_env(cfn, "InboundProcessorFunction")["MEDIA_RETRY_QUEUE_URL"])
    sender = _env(cfn, "SenderFunction")
    counted = {_ref(sender["INBOUND_QUEUE_URL"]), _ref(sender["INBOUND_DLQ_URL"])}
    assert retry_queue not in counted
    assert "INBOUND_QUEUE_URL" not in _env(cfn, "InboundProcessorFunction")
    dlq = cfn["Resources"][retry_queue]["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]
    assert dlq["Fn::GetAtt"][0] not in counted


def test_the_inbound_processor_consumes_the_media_retry_queue(cfn: dict[str, Any]) -> None:
    retry_queue = _ref(_env(cfn, "InboundProcessorFunction")["MEDIA_RETRY_QUEUE_URL"])
    consumers = {
        m["Properties"]["FunctionName"]["Ref"]
        for m in cfn["Resources"].values()
        if m["Type"] == "AWS::Lambda::EventSourceMapping"
        and m["Properties"]["EventSourceArn"]["Fn::GetAtt"][0] == retry_queue
    }
    assert consumers == {"InboundProcessorFunction"}


def test_the_inbound_processor_may_send_only_to_its_retry_reply_and_assistant_queues(
    cfn: dict[str, Any],
) -> None:
    role = cfn["Resources"]["InboundProcessorFunctionRole"]["Properties"]
    sends = {
        resource["Fn::GetAtt"][0]
        for policy in role.get("Policies", [])
        for statement in policy["PolicyDocument"]["Statement"]
        if "sqs:SendMessage" in statement["Action"]
        for resource in (
            statement["Resource"]
            if isinstance(statement["Resource"], list)
            else [statement["Resource"]]
        )
    }
    assert sends == {"MediaRetryQueue", "OutboundQueue", "AssistantQueue"}
