"""The event lake: every fact as a JSON line in S3 by day, queried with Athena (Glue
table) on AWS and with an embedded engine (DuckDB) locally, with the same SQL
(docs/lake.md).

`deliver(facts)` is what the Facts function calls: each fact becomes one row
(wacloud.lake.rows: no phone number, no message text), rows are packed into Firehose
records and sent to the stream LAKE_STREAM_NAME names (wacloud.lake.delivery); Firehose
writes them gzipped under ``events/day=YYYY-MM-DD/`` of the lake bucket. Without
LAKE_STREAM_NAME there is no lake and this does nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

from wacloud.lake.delivery import LakeDeliveryError
from wacloud.models.facts import Fact

__all__ = ["LakeDeliveryError", "deliver"]


def deliver(facts: Sequence[Fact]) -> int:
    """Send the facts' rows to the lake's stream; returns the PutRecordBatch calls made.

    Raises LakeDeliveryError when Firehose still refuses some rows after retries, so the
    stream batch fails and is retried (rows carry the fact id for readers to deduplicate).
    """
    from wacloud.infra.config import settings

    stream = settings().lake_stream_name
    if not stream or not facts:
        return 0
    from wacloud.infra.aws import firehose
    from wacloud.lake.delivery import put_lines
    from wacloud.lake.rows import lines

    return put_lines(firehose(), stream, lines(facts))
