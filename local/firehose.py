"""The lake's delivery stream on this machine: moto's Firehose, delivering as Firehose does.

The Facts function calls PutRecordBatch on the stream template.yaml defines
(LakeDeliveryStream), through boto3's ordinary endpoint (AWS_ENDPOINT_URL: moto), so
nothing in the runtime knows it is local. moto keeps the API but not the delivery: it
writes each call's bytes as they came under the literal prefix (``!{...}`` not
evaluated), never gzips and ignores the processors. `apply()` replaces that one step in
the moto process with what the stream's configuration says, for the parts the lake uses:

* processors, in Firehose's order: RecordDeAggregation (JSON or Delimited), then
  MetadataExtraction (partition keys; JQ queries of the form ``{key: .field, ...}``
  only), then AppendDelimiterToRecord;
* dynamic partitioning: one object per partition, under the Prefix with
  ``!{partitionKeyFromQuery:key}``, ``!{timestamp:...}`` (arrival time, UTC) and
  ``!{firehose:random-string}`` evaluated; a record without its key goes under the
  ErrorOutputPrefix with ``!{firehose:error-output-type}`` = ``processing-failed``;
* CompressionFormat GZIP (and the ``.gz`` suffix) or UNCOMPRESSED, FileExtension;
* object names ``<prefix><stream>-<version>-<yyyy-MM-dd-HH-mm-ss>-<uuid><ext>``.

Buffering is the one difference: Firehose holds a partition's records for its
BufferingHints (up to 15 minutes); locally each PutRecordBatch is delivered at once,
one object per partition, so tests wait on the object rather than on a buffer.

`create_delivery_streams` creates the template's streams in moto at start-up
(local/stack.py), as CloudFormation would, so LAKE_STREAM_NAME resolves.
"""

from __future__ import annotations

import base64
import gzip
import json
import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from local.template import Resolver

__all__ = ["apply", "create_delivery_streams", "deaggregate", "evaluate_prefix"]

_JQ_KEYS = re.compile(r"^\s*\{(.*)\}\s*$", re.S)
_JQ_PAIR = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*:\s*\.([A-Za-z_][A-Za-z0-9_]*)\s*$")
_EXPRESSION = re.compile(r"!\{([A-Za-z]+):([^}]*)\}")
# Java DateTimeFormatter letters Firehose prefixes use, as strftime directives.
_JAVA_TIME = (("yyyy", "%Y"), ("MM", "%m"), ("dd", "%d"), ("HH", "%H"), ("mm", "%M"), ("ss", "%S"))


def _parameters(processor: dict[str, Any]) -> dict[str, str]:
    return {p["ParameterName"]: p["ParameterValue"] for p in processor.get("Parameters", [])}


def deaggregate(data: bytes, sub_record_type: str, delimiter_b64: str | None = None) -> list[bytes]:
    """A record split as RecordDeAggregation does: consecutive JSON objects (JSON; on one
    line each or newline-separated) or pieces between a base64-given delimiter."""
    if sub_record_type.upper() == "DELIMITED":
        delimiter = base64.b64decode(delimiter_b64 or "")
        return [piece for piece in data.split(delimiter) if piece]
    decoder = json.JSONDecoder()
    text = data.decode()
    out: list[bytes] = []
    index = 0
    while True:
        while index < len(text) and text[index].isspace():
            index += 1
        if index >= len(text):
            return out
        _, end = decoder.raw_decode(text, index)
        out.append(text[index:end].encode())
        index = end


def _jq_keys(query: str) -> dict[str, str]:
    """``{day: .day}`` as {"day": "day"}; any other JQ is beyond this stand-in."""
    match = _JQ_KEYS.match(query)
    if not match:
        raise NotImplementedError(f"local Firehose: JQ query {query!r}")
    keys = {}
    for pair in match.group(1).split(","):
        found = _JQ_PAIR.match(pair)
        if not found:
            raise NotImplementedError(f"local Firehose: JQ query {query!r}")
        keys[found.group(1)] = found.group(2)
    return keys


def _timestamp(pattern: str, at: datetime) -> str:
    for java, directive in _JAVA_TIME:
        pattern = pattern.replace(java, directive)
    return at.strftime(pattern)


def evaluate_prefix(
    prefix: str, *, keys: dict[str, str], at: datetime, error_type: str | None = None
) -> str:
    """A Prefix or ErrorOutputPrefix with its ``!{namespace:value}`` expressions evaluated."""

    def replace(match: re.Match[str]) -> str:
        namespace, value = match.group(1), match.group(2)
        if namespace == "partitionKeyFromQuery":
            return keys[value]
        if namespace == "timestamp":
            return _timestamp(value, at)
        if namespace == "firehose" and value == "random-string":
            return uuid.uuid4().hex[:11]
        if namespace == "firehose" and value == "error-output-type" and error_type:
            return error_type
        raise NotImplementedError(f"local Firehose: prefix expression {match.group(0)}")

    return _EXPRESSION.sub(replace, prefix)


def _processed(
    records: list[bytes], destination: dict[str, Any]
) -> list[tuple[bytes, dict[str, str] | None]]:
    """Each sub-record with its partition keys (None: extraction failed), processors applied."""
    processing = destination.get("ProcessingConfiguration") or {}
    processors = processing.get("Processors", []) if processing.get("Enabled") else []
    by_type = {p["Type"]: _parameters(p) for p in processors}
    if "RecordDeAggregation" in by_type:
        params = by_type["RecordDeAggregation"]
        records = [
            piece
            for record in records
            for piece in deaggregate(
                record, params.get("SubRecordType", "JSON"), params.get("Delimiter")
            )
        ]
    out: list[tuple[bytes, dict[str, str] | None]] = []
    keys_query = by_type.get("MetadataExtraction", {}).get("MetadataExtractionQuery")
    fields = _jq_keys(keys_query) if keys_query else {}
    for item in records:
        record = item
        keys: dict[str, str] | None = {}
        if fields:
            try:
                document = json.loads(record)
                keys = {
                    k: str(document[f]) for k, f in fields.items() if document.get(f) is not None
                }
            except (ValueError, TypeError, AttributeError):
                keys = None
            if keys is not None and len(keys) < len(fields):
                keys = None
        if "AppendDelimiterToRecord" in by_type:
            delimiter = by_type["AppendDelimiterToRecord"].get("Delimiter", "\\n")
            record = record + delimiter.encode().decode("unicode_escape").encode()
        out.append((record, keys))
    return out


def deliver(
    put_object: Callable[[str, str, bytes], object],
    stream: str,
    version: str,
    destination: dict[str, Any],
    records: list[bytes],
    now: datetime | None = None,
) -> int:
    """Write the records as Firehose would with its buffer flushed now; returns the
    number of objects written."""
    now = now or datetime.now(UTC)
    bucket = destination["BucketARN"].split(":::", 1)[-1]
    partitioned = (destination.get("DynamicPartitioningConfiguration") or {}).get("Enabled")
    gzipped = destination.get("CompressionFormat", "UNCOMPRESSED") == "GZIP"
    extension = destination.get("FileExtension") or (".gz" if gzipped else "")
    groups: dict[str, list[bytes]] = {}
    for record, keys in _processed(records, destination):
        if keys is None and partitioned:
            prefix = evaluate_prefix(
                destination.get("ErrorOutputPrefix", ""),
                keys={},
                at=now,
                error_type="processing-failed",
            )
        else:
            prefix = evaluate_prefix(destination.get("Prefix", ""), keys=keys or {}, at=now)
        groups.setdefault(prefix, []).append(record)
    for prefix, items in groups.items():
        body = b"".join(items)
        if gzipped:
            body = gzip.compress(body)
        name = f"{stream}-{version}-{now.strftime('%Y-%m-%d-%H-%M-%S')}-{uuid.uuid4()}{extension}"
        put_object(bucket, f"{prefix}{name}", body)
    return len(groups)


def apply() -> Callable[[], None]:
    """Patch moto's Firehose S3 delivery in this process; returns what undoes it."""
    from moto.firehose.models import FirehoseBackend
    from moto.moto_api._internal import mock_random
    from moto.s3.models import s3_backends

    original = FirehoseBackend.put_s3_records

    def put_s3_records(
        self: Any,
        delivery_stream_name: str,
        version_id: str,
        s3_destination: dict[str, Any],
        records: list[dict[str, Any]],
    ) -> list[dict[str, str]]:
        backend = s3_backends[self.account_id][self.partition]
        data = [
            r["Data"] if isinstance(r["Data"], bytes) else base64.b64decode(r["Data"])
            for r in records
        ]
        deliver(
            backend.put_object,
            delivery_stream_name,
            version_id,
            s3_destination,
            data,
        )
        return [{"RecordId": str(mock_random.uuid4())} for _ in records]

    FirehoseBackend.put_s3_records = put_s3_records  # type: ignore[method-assign]

    def undo() -> None:
        FirehoseBackend.put_s3_records = original  # type: ignore[method-assign]

    return undo


def create_delivery_streams(resources: dict[str, Any], resolver: Resolver, session: Any) -> None:
    """Create the template's DirectPut streams with S3 destinations in moto.

    The delivery role is not modelled locally (moto's Firehose does not assume it), so
    its ARN is the one the role would have; everything else is the template's.
    """
    for logical_id, resource in resources.items():
        if resource["Type"] != "AWS::KinesisFirehose::DeliveryStream":
            continue
        props = resource["Properties"]
        destination = dict(props["ExtendedS3DestinationConfiguration"])
        role = destination.pop("RoleARN")
        destination.pop("CloudWatchLoggingOptions", None)
        destination = resolver.resolve(destination)
        destination["RoleARN"] = (
            resolver.resolve(role)
            if resolver.can_resolve(role)
            else f"arn:aws:iam::{resolver.account_id}:role/{resolver.stack_name}-{logical_id}"
        )
        name = props.get("DeliveryStreamName") or f"{resolver.stack_name}-{logical_id}"[:64]
        session.client("firehose").create_delivery_stream(
            DeliveryStreamName=name,
            DeliveryStreamType=props.get("DeliveryStreamType", "DirectPut"),
            ExtendedS3DestinationConfiguration=destination,
        )
        resolver.refs[logical_id] = name
        resolver.attrs[(logical_id, "Arn")] = (
            f"arn:aws:firehose:{resolver.region}:{resolver.account_id}:deliverystream/{name}"
        )
