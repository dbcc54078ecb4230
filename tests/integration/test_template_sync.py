"""TemplateSync through the local runtime: cursor paging, deletion, webhooks applied."""

from __future__ import annotations

import httpx

from local.stack import LocalStack
from wacloud.templates.sync import apply_template_webhook, known_templates, load_template

WABA = "299000000000001"  # a WABA of its own, so other tests' templates do not count


def test_pages_and_marks_deleted(stack: LocalStack) -> None:
    emu = stack.emulator
    assert emu is not None
    for i in range(130):  # two pages of 100
        emu.add_template(f"sync_tpl_{i:03d}", body="Hi {{1}}", waba_id=WABA)
    first = stack.invoke("TemplateSyncFunction", {"waba_id": WABA})
    assert first.ok, first.error
    assert first.payload["synced"][WABA] == {"total": 130, "written": 130, "deleted": 0}
    item = load_template(WABA, "sync_tpl_007", "en_US")
    assert item and item["parameters"] == {"body": 1} and item["status"] == "APPROVED"

    gone = httpx.delete(
        f"{emu.url}/v23.0/{WABA}/message_templates",
        params={"name": "sync_tpl_007"},
        headers={"Authorization": f"Bearer {stack.config.access_token}"},
    )
    assert gone.status_code == 200, gone.text
    second = stack.invoke("TemplateSyncFunction", {"waba_id": WABA})
    assert second.payload["synced"][WABA] == {"total": 129, "written": 0, "deleted": 1}
    deleted = [t for t in known_templates(WABA) if t.get("deleted")]
    assert [t["name"] for t in deleted] == ["sync_tpl_007"]


def test_webhooks_apply_at_once_and_in_order(stack: LocalStack) -> None:
    value = {
        "event": "PAUSED",
        "message_template_id": 1,
        "message_template_name": "sync_hook",
        "message_template_language": "en_US",
        "reason": "NONE",
    }
    assert apply_template_webhook(WABA, "message_template_status_update", value, at=100.0)
    older = {**value, "event": "APPROVED"}
    assert not apply_template_webhook(WABA, "message_template_status_update", older, at=50.0)
    assert apply_template_webhook(
        WABA,
        "message_template_quality_update",
        {"new_quality_score": "RED", **{k: value[k] for k in value if k.startswith("message")}},
    )
    item = load_template(WABA, "sync_hook", "en_US")
    assert item and item["status"] == "PAUSED" and item["quality"] == "RED"
