"""JSON Schemas (draft 2020-12) of the events' details, checked in at schema/events/.

Generated from the same lists that build the details (wacloud.events_out.details) and
the facts' type hints, so the published schema and what is put on the bus cannot drift
apart unnoticed: tests/unit/test_events_out.py compares the files with this output and
validates emitted details against them. Every key is required (a detail always has all
its keys, null where there is no value); nothing forbids more keys, since a version
may gain fields. Rewrite the files with::

    PYTHONPATH=layers/common/python python -m wacloud.events_out.schemas schema/events

Only this module and the tests import pydantic here; the Facts function does not.
"""

from __future__ import annotations

import json
import sys
import typing
from pathlib import Path
from typing import Any, Literal

from .details import DETAIL_VERSION, PUBLIC, PublicEvent

SCHEMA_BASE = "https://github.com/wacloud/wacloud/schema/events/"

#: What each published field means (one text per name: a name means the same in every
#: event). A field without one fails the schema test.
FIELD_DOCS = {
    "version": "Version of this detail's shape; a field removed or changed bumps it.",
    "id": "The fact's id: the same for every delivery of this event. Deduplicate on it.",
    "phone_number_id": "The business phone number's id (Meta's phone_number_id).",
    "at": "When it happened, ISO-8601 UTC (Meta's timestamp where there is one).",
    "wamid": "Meta's message id.",
    "wa_id": "The customer's WhatsApp id (their phone number, digits only).",
    "message_type": "Meta's message type: text, image, interactive, template, ...",
    "context_wamid": "The message this one replies to (Meta's context.id), if any.",
    "context_message_id": "Our message id of the replied-to message, when it was ours.",
    "campaign_id": "The campaign the message belongs to (or replies to), if any.",
    "referral": "It came from a Click-to-WhatsApp ad or a Page call to action.",
    "message_id": "Our id of the outbound message (from the send API).",
    "previous": "The state before this change (null: none recorded yet).",
    "status": "The state after this change.",
    "crossed": "Funnel steps (sent, delivered, read, played) this change newly reached, "
    "in order: each step of a message appears in exactly one event.",
    "template_name": "The template's name.",
    "template_language": "The template's language code.",
    "variant": "The campaign's A/B variant, if any.",
    "error_codes": "Meta's error codes when the message failed.",
    "pricing_category": "Meta's pricing category (marketing, utility, authentication, "
    "service), on the change that first carried pricing.",
    "pricing_type": "Meta's pricing type (e.g. regular, free_customer_service).",
    "pricing_model": "Meta's pricing model (e.g. PMP).",
    "billable": "Whether Meta bills the message.",
    "reason": "Why (handoff: keyword, human_request, low_confidence, complaint, "
    "assistant_error, budget_exhausted, menu, operator; template: Meta's reason).",
    "resolved_by": "Who resolved it: agent or assistant.",
    "agent": "The agent concerned, if any.",
    "handed_off": "Whether the conversation went through a person.",
    "first_response_seconds": "From the customer's first waiting message to the first answer.",
    "resolution_seconds": "From the conversation's start (or handoff) to its resolution.",
    "score": "The customer's answer: good, ok or bad.",
    "counts": "The campaign's final counts by outcome.",
    "waba_id": "The WhatsApp Business Account's id.",
    "language": "The template's language code.",
    "quality": "Meta's quality rating of the template (GREEN, YELLOW, RED), if known.",
}


def _fields(event: PublicEvent) -> dict[str, Any]:
    from pydantic import Field

    hints = typing.get_type_hints(event.fact)
    types: dict[str, Any] = {
        "version": Literal[DETAIL_VERSION],
        "id": str,
        "phone_number_id": str,
        "at": str,
        **{name: hints[name] for name in event.fields},
    }
    return {
        name: (
            kind,
            Field(
                description=FIELD_DOCS[name],
                json_schema_extra={"format": "date-time"} if name == "at" else None,
            ),
        )
        for name, kind in types.items()
    }


def event_schema(detail_type: str) -> dict[str, Any]:
    """The JSON Schema of one event type's detail."""
    from pydantic import create_model

    event = PUBLIC[detail_type]
    name = "".join(part.title() for part in detail_type.replace("_", ".").split(".")) + "Detail"
    model = create_model(name, **_fields(event))
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"{SCHEMA_BASE}{detail_type}.schema.json",
        **model.model_json_schema(mode="serialization"),
        "description": f"detail of `{detail_type}` (source `wacloud`): {event.when}",
    }


def schema_files() -> dict[str, str]:
    """File name -> exact content, so the writer and the staleness test cannot disagree."""
    return {
        f"{t}.schema.json": json.dumps(event_schema(t), indent=2, ensure_ascii=False) + "\n"
        for t in PUBLIC
    }


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    target = Path(args[0] if args else "schema/events")
    target.mkdir(parents=True, exist_ok=True)
    for name, text in schema_files().items():
        (target / name).write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
