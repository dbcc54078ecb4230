"""A bucket's NotificationConfiguration from template.yaml, applied in moto.

moto delivers S3 event notifications to SQS itself (``moto/s3/notifications.py``: on
PutObject, CopyObject, DeleteObject(s) and multipart completion, in the S3 event
message format, plus the ``s3:TestEvent`` when the configuration is set), as long as the
bucket and the queue live in the same moto process, which they do here (only DynamoDB
has a process of its own, local/stack.py). What moto lacks is CloudFormation: the
template's ``NotificationConfiguration`` property must become a
PutBucketNotificationConfiguration call, with CloudFormation's field names mapped to
the API's. The queues' pollers then deliver the events to the function as in AWS.
"""

from __future__ import annotations

from typing import Any

__all__ = ["configure_notifications", "drop_unavailable_targets", "notification_request"]


def _filter(spec: dict[str, Any]) -> dict[str, Any]:
    rules = spec.get("Filter", {}).get("S3Key", {}).get("Rules", [])
    if not rules:
        return {}
    return {
        "Filter": {
            "Key": {"FilterRules": [{"Name": r["Name"], "Value": r["Value"]} for r in rules]}
        }
    }


def notification_request(props: dict[str, Any]) -> dict[str, Any]:
    """PutBucketNotificationConfiguration's ``NotificationConfiguration`` for the
    template's (resolved) property: one entry per template entry, events as given."""
    request: dict[str, Any] = {}
    for cfn, api, target, arn in (
        ("QueueConfigurations", "QueueConfigurations", "Queue", "QueueArn"),
        ("TopicConfigurations", "TopicConfigurations", "Topic", "TopicArn"),
        ("LambdaConfigurations", "LambdaFunctionConfigurations", "Function", "LambdaFunctionArn"),
    ):
        entries = [
            {arn: spec[target], "Events": [spec["Event"]], **_filter(spec)}
            for spec in props.get(cfn, [])
        ]
        if entries:
            request[api] = entries
    if "EventBridgeConfiguration" in props:
        request["EventBridgeConfiguration"] = {}
    return request


def configure_notifications(client: Any, bucket: str, props: dict[str, Any]) -> None:
    request = notification_request(props)
    if request:
        client.put_bucket_notification_configuration(
            Bucket=bucket, NotificationConfiguration=request
        )


def _referenced(value: Any) -> set[str]:
    """Logical ids a template value refers to (Ref, Fn::GetAtt)."""
    if isinstance(value, list):
        return set().union(*(_referenced(v) for v in value)) if value else set()
    if not isinstance(value, dict):
        return set()
    if len(value) == 1:
        ((key, arg),) = value.items()
        if key == "Ref" and isinstance(arg, str):
            return {arg}
        if key == "Fn::GetAtt":
            return {arg[0] if isinstance(arg, list) else str(arg).split(".", 1)[0]}
    return set().union(*(_referenced(v) for v in value.values())) if value else set()


def drop_unavailable_targets(resources: dict[str, Any]) -> dict[str, Any]:
    """`resources` with each bucket's NotificationConfiguration removed when it names a
    resource outside `resources` (a benchmark creating only some of the template's
    resources, e.g. the bucket without KnowledgeQueue): such a bucket is created without
    notifications instead of waiting forever for a queue nobody creates."""
    out = dict(resources)
    for logical_id, resource in resources.items():
        props = resource.get("Properties", {})
        if resource["Type"] != "AWS::S3::Bucket" or "NotificationConfiguration" not in props:
            continue
        if not _referenced(props["NotificationConfiguration"]) <= set(resources):
            trimmed = {k: v for k, v in props.items() if k != "NotificationConfiguration"}
            out[logical_id] = {**resource, "Properties": trimmed}
    return out
