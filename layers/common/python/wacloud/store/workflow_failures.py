"""What a business event could not do, kept for operators (wacloud/workflows/failures.py).

`{pnid}#WFFAIL` / `{workflow_id}#{event_id}#{step_id}#{message_id}`: one per event,
workflow, step and recipient, so EventBridge's redelivery rewrites rather than adds.
Records hold ids and error locations and types only (the caller builds them so).
"""

from __future__ import annotations

from typing import Any

from wacloud.infra.dynamo import put, query

FAILURE_TTL_SECONDS = 90 * 24 * 3600


def failures_pk(phone_number_id: str) -> str:
    return f"{phone_number_id}#WFFAIL"


def failure_sk(workflow_id: str, event_id: str, step_id: str, message_id: str) -> str:
    return f"{workflow_id}#{event_id}#{step_id}#{message_id}"


def keep(phone_number_id: str, fields: dict[str, Any]) -> dict[str, Any]:
    """Write one failure record (overwriting the same failure); returns the item."""
    item = {
        "pk": failures_pk(phone_number_id),
        "sk": failure_sk(
            str(fields["workflow_id"]),
            str(fields["event_id"]),
            str(fields["step_id"]),
            str(fields["message_id"]),
        ),
        **fields,
        "expires_at": int(float(fields["at"]) + FAILURE_TTL_SECONDS),
    }
    put(item)
    return item


def failures_for(phone_number_id: str) -> list[dict[str, Any]]:
    """A tenant's kept failures (what an operator or a test reads)."""
    return query(failures_pk(phone_number_id))
