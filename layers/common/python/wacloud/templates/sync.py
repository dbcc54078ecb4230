"""Template mirror: Meta's templates per WABA, kept current by TemplateSync and webhooks.

One item per name and language (`{waba}#TPL`, sort key `{name}#{language}`). Templates
that disappeared from Meta are marked deleted rather than removed, so campaigns and
history can still say what was sent. Sync writes only templates whose content changed
(a digest per item), so a WABA with thousands of templates costs one query plus the
changes every six hours. Status, quality and category webhooks (docs/meta/webhooks.md#other-fields)
are applied at once by `apply_template_webhook`, so a PAUSED template stops campaigns
within seconds rather than at the next sync.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from wacloud.infra.clock import now
from wacloud.store import template_mirror as mirror
from wacloud.store.template_mirror import template_pk, template_sk

if TYPE_CHECKING:
    from wacloud.graph.client import GraphClient

# {{1}} (positional) or {{first_name}} (named) placeholders in template text
# (docs/meta/templates.md#sending).
_PLACEHOLDER = re.compile(r"\{\{\s*([a-z0-9_]+)\s*\}\}")
# Page size we ask for. Meta's default page size is NOT CONFIRMED
# (docs/meta/templates.md#management); asking keeps the number of Graph calls (200/hour per WABA by
# default, docs/meta/throughput.md) small.
PAGE_LIMIT = 100
# A cursor chain longer than this is a loop (6,000 templates per WABA max,
# docs/meta/templates.md#management).
MAX_PAGES = 1000
SENDABLE_STATUSES = frozenset({"APPROVED"})
# Webhook events after which a template is gone for good (docs/meta/webhooks.md#other-fields event
# enum).
GONE_EVENTS = frozenset({"DELETED", "PENDING_DELETION"})
# Changes an operator must hear about (docs/operations.md, the template alarms): sends of
# the template fail (132015 while paused) or will soon. Metric name per status or quality.
ALERT_STATUSES = {"PAUSED": "TemplatePaused", "DISABLED": "TemplateDisabled"}
ALERT_QUALITIES = {"RED": "TemplateQualityRed"}

# The mirror's keys are the store's; `template_pk` is named here for existing callers.
__all__ = [
    "ALERT_QUALITIES",
    "ALERT_STATUSES",
    "GONE_EVENTS",
    "SENDABLE_STATUSES",
    "TEMPLATE_FIELDS",
    "apply_template_webhook",
    "component_parameters",
    "digest",
    "iter_pages",
    "known_templates",
    "load_template",
    "mirror_fields",
    "placeholders",
    "sendable",
    "sync_templates",
    "template_alerts",
    "template_pk",
    "template_sk",
    "webhook_changes",
]

TEMPLATE_FIELDS = (
    "message_template_status_update",
    "message_template_quality_update",
    "template_category_update",
)


# ------------------------------------------------------------------ pure helpers
def placeholders(text: str | None) -> list[str]:
    """Placeholder names in order of first appearance ("1", "2" or "first_name")."""
    seen: dict[str, None] = {}
    for match in _PLACEHOLDER.finditer(text or ""):
        seen.setdefault(match.group(1), None)
    return list(seen)


def component_parameters(
    components: list[dict[str, Any]], parameter_format: str | None
) -> dict[str, Any]:
    """What each component expects at send time: names (NAMED) or a count (POSITIONAL).

    Kept with the template so campaigns and workflows can check their variable
    mappings before sending a thousand messages Meta would fail with 132000.
    """
    named = (parameter_format or "POSITIONAL").upper() == "NAMED"
    out: dict[str, Any] = {}
    for component in components:
        kind = str(component.get("type", "")).lower()
        if kind in ("header", "body"):
            if kind == "header" and str(component.get("format", "TEXT")).upper() != "TEXT":
                out[kind] = {"media": str(component.get("format")).lower()}
                continue
            names = placeholders(component.get("text"))
            if names:
                out[kind] = names if named else len(names)
        elif kind == "buttons":
            buttons = []
            for index, button in enumerate(component.get("buttons", [])):
                names = placeholders(button.get("url"))
                if names:
                    buttons.append(
                        {"index": index, "type": button.get("type"), "count": len(names)}
                    )
            if buttons:
                out["buttons"] = buttons
    return out


def mirror_fields(template: dict[str, Any]) -> dict[str, Any]:
    """The fields we keep from one `GET /{waba}/message_templates` entry
    (docs/meta/templates.md#management)."""
    components = template.get("components") or []
    parameter_format = template.get("parameter_format") or "POSITIONAL"
    quality = template.get("quality_score")
    return {
        "template_id": str(template["id"]) if template.get("id") is not None else None,
        "name": template["name"],
        "language": template["language"],
        "status": template.get("status"),
        "category": template.get("category"),
        "sub_category": template.get("sub_category"),
        "quality": quality.get("score") if isinstance(quality, dict) else quality,
        "parameter_format": parameter_format,
        "components": components,
        "parameters": component_parameters(components, parameter_format),
    }


def digest(fields: dict[str, Any]) -> str:
    return hashlib.sha256(
        json.dumps(fields, sort_keys=True, separators=(",", ":"), default=str).encode()
    ).hexdigest()[:32]


# ------------------------------------------------------------------ sync
def iter_pages(graph: GraphClient, waba_id: str, phone_number_id: str) -> Iterator[dict[str, Any]]:
    """Every template entry, following `paging.cursors.after` while `paging.next` exists."""
    after: str | None = None
    seen_cursors: set[str] = set()
    for _ in range(MAX_PAGES):
        page = graph.list_templates(waba_id, phone_number_id, after=after, limit=PAGE_LIMIT)
        yield from page.get("data", [])
        paging = page.get("paging") or {}
        after = (paging.get("cursors") or {}).get("after")
        if not paging.get("next") or not after or after in seen_cursors:
            return
        seen_cursors.add(after)
    raise RuntimeError(f"template paging for WABA {waba_id} did not end after {MAX_PAGES} pages")


def template_alerts(old: dict[str, Any] | None, new: dict[str, Any]) -> list[str]:
    """The alert metrics a template's change from `old` to `new` (mirror fields, a
    webhook's changes) warrants: newly PAUSED or DISABLED, newly RED. A field `new`
    does not carry is unchanged; a repeat of the same state is no news."""
    before = old or {}
    alerts = []
    status, quality = new.get("status"), new.get("quality")
    if status in ALERT_STATUSES and before.get("status") != status:
        alerts.append(ALERT_STATUSES[status])
    if quality in ALERT_QUALITIES and before.get("quality") != quality:
        alerts.append(ALERT_QUALITIES[quality])
    return alerts


def sync_templates(
    graph: GraphClient,
    waba_id: str,
    phone_number_id: str,
    alert: Callable[[str], None] | None = None,
) -> dict[str, int]:
    """Mirror every template of one WABA; returns counts (total, written, deleted).

    The full listing is read before anything is marked deleted, so a paging error
    (an exception here) never deletes templates that were simply not reached.
    `alert` gets the metric name of each template found newly paused, disabled or
    RED (`template_alerts`): the webhook that should have said so may have been
    missed. A template seen for the first time is not news (a first sync would
    alert on every template paused long ago).
    """
    at = now()
    existing = {item["sk"]: item for item in mirror.mirror_items(waba_id)}
    listed: dict[str, dict[str, Any]] = {}
    for template in iter_pages(graph, waba_id, phone_number_id):
        fields = mirror_fields(template)
        listed[template_sk(fields["name"], fields["language"])] = fields
    written = 0
    for sk, fields in listed.items():
        old = existing.get(sk)
        fingerprint = digest(fields)
        if old and old.get("digest") == fingerprint and not old.get("deleted"):
            continue
        if old and alert is not None:
            for name in template_alerts(old, fields):
                alert(name)
        mirror.upsert(
            waba_id, sk, {**fields, "digest": fingerprint, "synced_at": at, "deleted": False}
        )
        written += 1
    deleted = 0
    for sk, item in existing.items():
        if sk not in listed and not item.get("deleted"):
            mirror.upsert(waba_id, sk, {"deleted": True, "deleted_at": at, "status": "DELETED"})
            deleted += 1
    return {"total": len(listed), "written": written, "deleted": deleted}


# ------------------------------------------------------------------ webhooks
def webhook_changes(field: str, value: dict[str, Any]) -> dict[str, Any] | None:
    """The mirror fields a template webhook changes (docs/meta/webhooks.md#other-fields), or None if
    not a template one."""
    if field == "message_template_status_update":
        event = str(value.get("event") or "").upper()
        if not event:
            return None
        changes: dict[str, Any] = {"status": event, "status_reason": value.get("reason")}
        if value.get("message_template_category"):
            changes["category"] = value["message_template_category"]
        if event in GONE_EVENTS:
            changes["deleted"] = True
        elif event in SENDABLE_STATUSES or event == "REINSTATED":
            changes["deleted"] = False
        return changes
    if field == "message_template_quality_update":
        score = value.get("new_quality_score")
        return {"quality": score} if score else None
    if field == "template_category_update":
        category = value.get("new_category")
        return {"category": category} if category else None
    return None


def apply_template_webhook(
    waba_id: str, field: str, value: dict[str, Any], *, at: float | None = None
) -> bool:
    """Apply a template status, quality or category webhook to the mirror at once.

    For the inbound owner: call from `InboundProcessor._field` with the WABA id of the
    entry, the field name and the change's `value` dict. Webhooks arrive out of order
    and are retried, so each kind of change carries its own time and only a newer
    one is applied. A template we have not synced yet gets a minimal item (the next
    sync fills in its components). Returns True if the mirror changed.
    """
    changes = webhook_changes(field, value)
    name = value.get("message_template_name")
    language = value.get("message_template_language")
    if changes is None or not name or not language:
        return False
    when = now() if at is None else at
    fields = {k: v for k, v in changes.items() if v is not None}
    fields.update(name=name, language=language)
    if value.get("message_template_id") is not None:
        fields["template_id"] = str(value["message_template_id"])
    return mirror.apply_if_newer(waba_id, name, language, fields, f"{field}_at", when)


# ------------------------------------------------------------------ reads
def known_templates(waba_id: str) -> list[dict[str, Any]]:
    return mirror.mirror_items(waba_id)


def load_template(waba_id: str, name: str, language: str) -> dict[str, Any] | None:
    return mirror.load(waba_id, name, language)


def sendable(template: dict[str, Any] | None) -> bool:
    """True when Meta would accept a send of this template right now."""
    if not template or template.get("deleted"):
        return False
    return template.get("status") in SENDABLE_STATUSES
