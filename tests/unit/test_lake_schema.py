"""The lake's row schema: what a fact becomes (no phone number), and the one list of
columns the Glue table (template.yaml), the Firehose stream and DuckDB all follow."""

from __future__ import annotations

import json
import types
import typing
from dataclasses import fields
from typing import Any

import pytest

from local.template import load_sam_template
from tests.unit.lake_support import MARKER_WA_ID, scripted_day
from wacloud.lake.duck import EVENTS_PREFIX
from wacloud.lake.rows import COLUMNS, EXCLUDED_FIELDS, PARTITION_KEY, day_of, line, row
from wacloud.models import facts as facts_module
from wacloud.models.facts import ANY_FACT, MessageStatusChanged

COLUMN = {c.name: c for c in COLUMNS}


@pytest.fixture(scope="module")
def lake() -> dict[str, Any]:
    resources: dict[str, Any] = load_sam_template()["Resources"]
    return resources


def test_no_phone_number_or_text_reaches_a_row() -> None:
    for fact in scripted_day():
        text = line(fact).decode()
        assert MARKER_WA_ID not in text, fact.type
        assert "wa_id" not in json.loads(text)


def test_a_row_is_flat_and_named_by_the_facts_fields() -> None:
    fact = MessageStatusChanged(
        id="f1", phone_number_id="pn", at=1741948800.5, message_id="m1", wamid=None,
        wa_id=MARKER_WA_ID, previous="sent", status="read", crossed=("delivered", "read"),
        error_codes=(131026,),
    )  # fmt: skip
    assert row(fact) == {
        "id": "f1",
        "type": "message.status_changed",
        "phone_number_id": "pn",
        "at": 1741948800.5,
        "message_id": "m1",
        "previous": "sent",
        "status": "read",
        "crossed": ["delivered", "read"],
        "error_codes": [131026],
        "day": "2025-03-14",
    }
    assert line(fact).endswith(b"\n") and line(fact).count(b"\n") == 1


def test_day_is_the_utc_day_of_at() -> None:
    midnight = 1735689600.0  # 2025-01-01T00:00:00Z
    assert day_of(midnight - 0.001) == "2024-12-31"
    assert day_of(midnight) == "2025-01-01"


_GLUE_OF = {str: "string", float: "double", bool: "boolean", int: "bigint"}


def _glue_type(annotation: Any) -> str:
    """The Glue type a Fact field's annotation is written as (None allowed)."""
    hint = annotation
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        (hint,) = args
        args = list(typing.get_args(hint))
    origin = typing.get_origin(hint)
    if origin is tuple:
        return f"array<{_GLUE_OF[args[0]]}>"
    if origin is dict:
        return f"map<{_GLUE_OF[args[0]]},{_GLUE_OF[args[1]]}>"
    return _GLUE_OF[hint]


def test_every_fact_field_has_a_column_of_its_type() -> None:
    """A field added to a Fact fails here until the lake has a column for it (and the
    Glue table, which the next test holds equal to COLUMNS)."""
    seen = {"type"}
    for kind in ANY_FACT:
        hints = typing.get_type_hints(kind, vars(facts_module))
        for f in fields(kind):
            if f.name in EXCLUDED_FIELDS:
                continue
            assert f.name in COLUMN, f"{kind.__name__}.{f.name}"
            assert COLUMN[f.name].glue == _glue_type(hints[f.name]), f"{kind.__name__}.{f.name}"
            seen.add(f.name)
    assert seen == set(COLUMN), "a column no fact writes"


def test_glue_table_columns_are_the_row_schema(lake: dict[str, Any]) -> None:
    table = lake["LakeEventsTable"]["Properties"]["TableInput"]
    columns = [(c["Name"], c["Type"]) for c in table["StorageDescriptor"]["Columns"]]
    assert columns == [(c.name, c.glue) for c in COLUMNS]
    assert table["PartitionKeys"] == [{"Name": PARTITION_KEY, "Type": "string"}]
    assert PARTITION_KEY not in COLUMN  # a partition key may not repeat a column
    assert table["StorageDescriptor"]["SerdeInfo"]["SerializationLibrary"] == (
        "org.openx.data.jsonserde.JsonSerDe"
    )
    params = table["Parameters"]
    assert params["projection.enabled"] == "true"
    assert params["projection.day.type"] == "date"
    assert params["projection.day.format"] == "yyyy-MM-dd"  # day_of's %Y-%m-%d
    location = table["StorageDescriptor"]["Location"]["Fn::Sub"]
    assert location == f"s3://${{LakeBucket}}/{EVENTS_PREFIX}"
    assert params["storage.location.template"]["Fn::Sub"] == (
        f"s3://${{LakeBucket}}/{EVENTS_PREFIX}{PARTITION_KEY}=${{!day}}/"
    )


def test_firehose_partitions_by_the_rows_day_where_glue_looks(lake: dict[str, Any]) -> None:
    destination = lake["LakeDeliveryStream"]["Properties"]["ExtendedS3DestinationConfiguration"]
    assert (
        destination["Prefix"] == f"{EVENTS_PREFIX}{PARTITION_KEY}=!{{partitionKeyFromQuery:day}}/"
    )
    assert destination["CompressionFormat"] == "GZIP"
    assert destination["DynamicPartitioningConfiguration"]["Enabled"] is True
    assert not destination["ErrorOutputPrefix"].startswith(EVENTS_PREFIX)
    processors = destination["ProcessingConfiguration"]["Processors"]
    assert [p["Type"] for p in processors] == [
        "RecordDeAggregation",  # the function packs many rows per record
        "MetadataExtraction",
        "AppendDelimiterToRecord",
    ]
    (query,) = [
        p["ParameterValue"]
        for p in processors[1]["Parameters"]
        if p["ParameterName"] == "MetadataExtractionQuery"
    ]
    assert query == "{day: .day}"


def test_facts_function_writes_to_the_stream_and_nothing_else_of_the_lake(
    lake: dict[str, Any],
) -> None:
    props = lake["FactsFunction"]["Properties"]
    assert props["Environment"]["Variables"]["LAKE_STREAM_NAME"] == {"Ref": "LakeDeliveryStream"}
    statements = [s for p in props["Policies"] for s in p["Statement"]]
    (lake_grant,) = [s for s in statements if "firehose" in str(s["Action"])]
    assert lake_grant["Action"] == "firehose:PutRecordBatch"
    assert lake_grant["Resource"] == {"Fn::GetAtt": ["LakeDeliveryStream", "Arn"]}
    assert "LakeBucket" not in json.dumps(props)


def test_firehose_writes_only_the_lakes_prefixes(lake: dict[str, Any]) -> None:
    role = lake["LakeDeliveryRole"]["Properties"]
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "firehose.amazonaws.com"}
    assert trust["Condition"]["StringEquals"]["sts:ExternalId"] == {"Ref": "AWS::AccountId"}
    statements = {s["Sid"]: s for p in role["Policies"] for s in p["PolicyDocument"]["Statement"]}
    assert set(statements) == {"Objects", "Bucket", "DeliveryLog"}
    assert statements["Objects"]["Resource"] == [
        {"Fn::Sub": "${LakeBucket.Arn}/events/*"},
        {"Fn::Sub": "${LakeBucket.Arn}/errors/*"},
    ]
    assert "s3:DeleteObject" not in str(statements)
    bucket = lake["LakeBucket"]
    assert bucket["DeletionPolicy"] == "Retain"
    rules = {r["Id"]: r for r in bucket["Properties"]["LifecycleConfiguration"]["Rules"]}
    assert rules["expire-events"]["ExpirationInDays"] == {"Ref": "MessageRetentionDays"}
    policy = lake["LakeBucketTlsOnly"]["Properties"]["PolicyDocument"]["Statement"][0]
    assert policy["Effect"] == "Deny" and "aws:SecureTransport" in str(policy["Condition"])
    workgroup = lake["LakeWorkGroup"]["Properties"]["WorkGroupConfiguration"]
    assert workgroup["EnforceWorkGroupConfiguration"] is True
    assert workgroup["BytesScannedCutoffPerQuery"] <= 10 * 1024**3
    assert workgroup["ResultConfiguration"]["OutputLocation"] == {
        "Fn::Sub": "s3://${LakeBucket}/athena-results/"
    }
