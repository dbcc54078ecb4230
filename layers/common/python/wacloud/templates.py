"""Template mirror: Meta's templates per WABA, upserted by TemplateSync.

One item per name and language (`{waba}#TPL`, sort key `{name}#{language}`); templates
that disappeared from Meta are marked deleted rather than removed, so history stays.
"""

from __future__ import annotations

from typing import Any

from wacloud.aws import dynamodb
from wacloud.clock import now
from wacloud.graph import GraphClient
from wacloud.store.dynamo import marshal, query, table


def template_pk(waba_id: str) -> str:
    return f"{waba_id}#TPL"


def sync_templates(graph: GraphClient, waba_id: str, phone_number_id: str) -> int:
    """Mirror every template (following cursor pages); returns how many Meta has."""
    seen: set[str] = set()
    after: str | None = None
    at = now()
    while True:
        page = graph.list_templates(waba_id, phone_number_id, after=after)
        for template in page.get("data", []):
            sk = f"{template['name']}#{template['language']}"
            seen.add(sk)
            dynamodb().put_item(
                TableName=table(),
                Item=marshal(
                    {
                        "pk": template_pk(waba_id),
                        "sk": sk,
                        "template_id": template.get("id"),
                        "name": template["name"],
                        "language": template["language"],
                        "status": template.get("status"),
                        "category": template.get("category"),
                        "quality": (template.get("quality_score") or {}).get("score"),
                        "parameter_format": template.get("parameter_format"),
                        "components": template.get("components", []),
                        "synced_at": at,
                        "deleted": False,
                    }
                ),
            )
        after = (page.get("paging") or {}).get("cursors", {}).get("after")
        if not after or not (page.get("paging") or {}).get("next"):
            break
    for item in query(template_pk(waba_id)):
        if item["sk"] not in seen and not item.get("deleted"):
            dynamodb().update_item(
                TableName=table(),
                Key=marshal({"pk": item["pk"], "sk": item["sk"]}),
                UpdateExpression="SET deleted = :t, deleted_at = :at",
                ExpressionAttributeValues=marshal({":t": True, ":at": at}),
            )
    return len(seen)


def known_templates(waba_id: str) -> list[dict[str, Any]]:
    return query(template_pk(waba_id))
