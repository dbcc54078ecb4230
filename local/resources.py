"""Create the template's stateful resources (tables, queues, buckets, secrets, buses,
topics) in moto.

Properties are taken from the translated template and passed to the same APIs
CloudFormation would call, so a key schema, index, TTL or redrive policy defined in
template.yaml is exactly what the local stack runs with.
"""

from __future__ import annotations

import json
import secrets as pysecrets
import string
from typing import Any

from local.template import Resolver

CREATED_TYPES = (
    "AWS::DynamoDB::Table",
    "AWS::SQS::Queue",
    "AWS::S3::Bucket",
    "AWS::S3::BucketPolicy",
    "AWS::SecretsManager::Secret",
    "AWS::Events::EventBus",
    "AWS::SNS::Topic",
    "AWS::Cognito::UserPool",
    "AWS::Cognito::UserPoolGroup",
    "AWS::Cognito::UserPoolClient",
    "AWS::Cognito::UserPoolResourceServer",
    "AWS::Cognito::UserPoolDomain",
    "AWS::SSM::Parameter",
)


def physical_name(stack: str, logical_id: str, *, lower: bool = False, limit: int = 63) -> str:
    name = f"{stack}-{logical_id}"[:limit]
    return name.lower() if lower else name


def create_resources(resources: dict[str, Any], resolver: Resolver, session: Any) -> None:
    """Create every stateful resource, in dependency order (a DLQ before its queue)."""
    from local.s3_notifications import drop_unavailable_targets

    pending = {
        k: r for k, r in drop_unavailable_targets(resources).items() if r["Type"] in CREATED_TYPES
    }
    while pending:
        progressed = False
        for logical_id, resource in list(pending.items()):
            props = resource.get("Properties", {})
            if not resolver.can_resolve(props):
                continue
            _CREATORS[resource["Type"]](logical_id, resolver.resolve(props), resolver, session)
            del pending[logical_id]
            progressed = True
        if not progressed:
            raise RuntimeError(f"cannot resolve references of {sorted(pending)}")


def _table(logical_id: str, props: dict[str, Any], resolver: Resolver, session: Any) -> None:
    client = session.client("dynamodb")
    name = props.get("TableName") or physical_name(resolver.stack_name, logical_id)
    kwargs: dict[str, Any] = {
        "TableName": name,
        "AttributeDefinitions": props["AttributeDefinitions"],
        "KeySchema": props["KeySchema"],
        "BillingMode": props.get("BillingMode", "PROVISIONED"),
    }
    if props.get("GlobalSecondaryIndexes"):
        kwargs["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
    if kwargs["BillingMode"] == "PROVISIONED":
        kwargs["ProvisionedThroughput"] = props["ProvisionedThroughput"]
    if props.get("SSESpecification"):
        kwargs["SSESpecification"] = {"Enabled": bool(props["SSESpecification"].get("SSEEnabled"))}
    stream = props.get("StreamSpecification")
    if stream:
        kwargs["StreamSpecification"] = {
            "StreamEnabled": True,
            "StreamViewType": stream["StreamViewType"],
        }
    description = client.create_table(**kwargs)["TableDescription"]
    ttl = props.get("TimeToLiveSpecification")
    if ttl and ttl.get("Enabled"):
        client.update_time_to_live(
            TableName=name,
            TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True},
        )
    pitr = props.get("PointInTimeRecoverySpecification", {})
    if pitr.get("PointInTimeRecoveryEnabled"):
        client.update_continuous_backups(
            TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
        )
    resolver.refs[logical_id] = name
    resolver.attrs[(logical_id, "Arn")] = description["TableArn"]
    if description.get("LatestStreamArn"):
        resolver.attrs[(logical_id, "StreamArn")] = description["LatestStreamArn"]


def _queue(logical_id: str, props: dict[str, Any], resolver: Resolver, session: Any) -> None:
    client = session.client("sqs")
    name = props.get("QueueName") or physical_name(resolver.stack_name, logical_id, limit=80)
    attributes: dict[str, str] = {}
    for key in (
        "VisibilityTimeout",
        "MessageRetentionPeriod",
        "DelaySeconds",
        "ReceiveMessageWaitTimeSeconds",
        "MaximumMessageSize",
    ):
        if key in props:
            attributes[key] = str(props[key])
    if "RedrivePolicy" in props:
        attributes["RedrivePolicy"] = json.dumps(props["RedrivePolicy"])
    url = client.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    arn = client.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    resolver.refs[logical_id] = url
    resolver.attrs[(logical_id, "Arn")] = arn
    resolver.attrs[(logical_id, "QueueName")] = name
    resolver.attrs[(logical_id, "QueueUrl")] = url


def _bucket(logical_id: str, props: dict[str, Any], resolver: Resolver, session: Any) -> None:
    client = session.client("s3")
    name = props.get("BucketName") or physical_name(resolver.stack_name, logical_id, lower=True)
    client.create_bucket(Bucket=name)
    if "BucketEncryption" in props:
        client.put_bucket_encryption(
            Bucket=name,
            ServerSideEncryptionConfiguration={
                "Rules": [
                    {"ApplyServerSideEncryptionByDefault": rule["ServerSideEncryptionByDefault"]}
                    for rule in props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
                ]
            },
        )
    if "PublicAccessBlockConfiguration" in props:
        client.put_public_access_block(
            Bucket=name, PublicAccessBlockConfiguration=props["PublicAccessBlockConfiguration"]
        )
    rules = props.get("LifecycleConfiguration", {}).get("Rules", [])
    if rules:
        client.put_bucket_lifecycle_configuration(
            Bucket=name,
            LifecycleConfiguration={
                "Rules": [
                    {
                        "ID": r.get("Id", f"rule{i}"),
                        "Status": r["Status"],
                        "Filter": {"Prefix": r.get("Prefix", "")},
                        "Expiration": {"Days": int(r["ExpirationInDays"])},
                    }
                    for i, r in enumerate(rules)
                    if "ExpirationInDays" in r
                ]
            },
        )
    if "NotificationConfiguration" in props:
        from local.s3_notifications import configure_notifications

        configure_notifications(client, name, props["NotificationConfiguration"])
    resolver.refs[logical_id] = name
    resolver.attrs[(logical_id, "Arn")] = f"arn:aws:s3:::{name}"


def _bucket_policy(
    logical_id: str, props: dict[str, Any], resolver: Resolver, session: Any
) -> None:
    # The local endpoint is plain HTTP, so a TLS-only statement (aws:SecureTransport
    # false -> Deny) would deny every call; moto enforces it. Everything else applies.
    document = dict(props["PolicyDocument"])
    document["Statement"] = [
        statement
        for statement in document.get("Statement", [])
        if "aws:SecureTransport" not in json.dumps(statement.get("Condition", {}))
    ]
    if document["Statement"]:
        session.client("s3").put_bucket_policy(Bucket=props["Bucket"], Policy=json.dumps(document))
    resolver.refs[logical_id] = props["Bucket"]


def _secret(logical_id: str, props: dict[str, Any], resolver: Resolver, session: Any) -> None:
    client = session.client("secretsmanager")
    name = props.get("Name") or physical_name(resolver.stack_name, logical_id)
    if "SecretString" in props:
        value = props["SecretString"]
    else:
        spec = props.get("GenerateSecretString", {})
        alphabet = string.ascii_letters + string.digits
        generated = "".join(
            pysecrets.choice(alphabet) for _ in range(int(spec.get("PasswordLength", 32)))
        )
        if "SecretStringTemplate" in spec:
            document = json.loads(spec["SecretStringTemplate"])
            document[spec["GenerateStringKey"]] = generated
            value = json.dumps(document)
        else:
            value = generated
    arn = client.create_secret(Name=name, SecretString=value)["ARN"]
    resolver.refs[logical_id] = arn
    resolver.attrs[(logical_id, "Id")] = arn


def _event_bus(logical_id: str, props: dict[str, Any], resolver: Resolver, session: Any) -> None:
    # Created in moto so the name and ARN are real; the local stack's `put_event`
    # does the rule matching and delivery (moto's EventBridge cannot invoke our functions).
    name = props.get("Name") or physical_name(resolver.stack_name, logical_id, limit=256)
    arn = session.client("events").create_event_bus(Name=name)["EventBusArn"]
    resolver.refs[logical_id] = name
    resolver.attrs[(logical_id, "Arn")] = arn
    resolver.attrs[(logical_id, "Name")] = name


def _topic(logical_id: str, props: dict[str, Any], resolver: Resolver, session: Any) -> None:
    # Publishing and subscriptions are moto's own (an SQS subscriber receives what
    # is published, as in AWS); the KMS key is not modelled locally.
    name = props.get("TopicName") or physical_name(resolver.stack_name, logical_id, limit=256)
    arn = session.client("sns").create_topic(Name=name)["TopicArn"]
    resolver.refs[logical_id] = arn
    resolver.attrs[(logical_id, "TopicArn")] = arn
    resolver.attrs[(logical_id, "TopicName")] = name


def _user_pool(logical_id: str, props: dict[str, Any], resolver: Resolver, session: Any) -> None:
    # moto's Cognito issues real RS256 tokens (its own key, published at the pool's
    # JWKS URL), so the local gateway verifies them as API Gateway does in AWS.
    name = props.get("UserPoolName") or physical_name(resolver.stack_name, logical_id)
    kwargs = {k: v for k, v in props.items() if k != "UserPoolName"}
    pool = session.client("cognito-idp").create_user_pool(PoolName=name, **kwargs)["UserPool"]
    resolver.refs[logical_id] = pool["Id"]
    resolver.attrs[(logical_id, "Arn")] = pool["Arn"]
    resolver.attrs[(logical_id, "ProviderURL")] = (
        f"cognito-idp.{resolver.region}.amazonaws.com/{pool['Id']}"
    )


def _user_pool_group(
    logical_id: str, props: dict[str, Any], resolver: Resolver, session: Any
) -> None:
    session.client("cognito-idp").create_group(**props)
    resolver.refs[logical_id] = props["GroupName"]


def _user_pool_client(
    logical_id: str, props: dict[str, Any], resolver: Resolver, session: Any
) -> None:
    kwargs = dict(props)
    kwargs.setdefault("ClientName", logical_id)
    client = session.client("cognito-idp").create_user_pool_client(**kwargs)["UserPoolClient"]
    resolver.refs[logical_id] = client["ClientId"]
    resolver.attrs[(logical_id, "ClientId")] = client["ClientId"]
    if client.get("ClientSecret"):
        resolver.attrs[(logical_id, "ClientSecret")] = client["ClientSecret"]


def _resource_server(
    logical_id: str, props: dict[str, Any], resolver: Resolver, session: Any
) -> None:
    session.client("cognito-idp").create_resource_server(**props)
    resolver.refs[logical_id] = props["Identifier"]


def _user_pool_domain(
    logical_id: str, props: dict[str, Any], resolver: Resolver, session: Any
) -> None:
    # The hosted domain's token endpoint is served locally by local/operator_auth.py.
    session.client("cognito-idp").create_user_pool_domain(**props)
    resolver.refs[logical_id] = props["Domain"]


def _parameter(logical_id: str, props: dict[str, Any], resolver: Resolver, session: Any) -> None:
    # As CloudFormation writes it; the local stack then puts local URLs in the
    # console's config (LocalStack._localize_console).
    name = props.get("Name") or physical_name(resolver.stack_name, logical_id, limit=2048)
    session.client("ssm").put_parameter(
        Name=name, Value=props["Value"], Type=props.get("Type", "String"), Overwrite=True
    )
    resolver.refs[logical_id] = name
    resolver.attrs[(logical_id, "Type")] = props.get("Type", "String")
    resolver.attrs[(logical_id, "Value")] = props["Value"]


_CREATORS = {
    "AWS::DynamoDB::Table": _table,
    "AWS::SQS::Queue": _queue,
    "AWS::S3::Bucket": _bucket,
    "AWS::S3::BucketPolicy": _bucket_policy,
    "AWS::SecretsManager::Secret": _secret,
    "AWS::Events::EventBus": _event_bus,
    "AWS::SNS::Topic": _topic,
    "AWS::Cognito::UserPool": _user_pool,
    "AWS::Cognito::UserPoolGroup": _user_pool_group,
    "AWS::Cognito::UserPoolClient": _user_pool_client,
    "AWS::Cognito::UserPoolResourceServer": _resource_server,
    "AWS::Cognito::UserPoolDomain": _user_pool_domain,
    "AWS::SSM::Parameter": _parameter,
}
