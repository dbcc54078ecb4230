"""Template mirror helpers: parameters per component, webhook changes."""

from __future__ import annotations

from wacloud.templates.sync import component_parameters, webhook_changes


def test_parameters_named_and_positional() -> None:
    components = [
        {"type": "HEADER", "format": "TEXT", "text": "Hi {{1}}"},
        {"type": "BODY", "text": "{{1}} and {{2}} and {{1}}"},
        {"type": "BUTTONS", "buttons": [{"type": "URL", "url": "https://x/{{1}}"}]},
    ]
    assert component_parameters(components, "POSITIONAL") == {
        "header": 1,
        "body": 2,
        "buttons": [{"index": 0, "type": "URL", "count": 1}],
    }
    named = [{"type": "BODY", "text": "Hi {{first_name}}"}]
    assert component_parameters(named, "NAMED") == {"body": ["first_name"]}


def test_webhook_changes() -> None:
    assert (
        webhook_changes("message_template_status_update", {"event": "PAUSED"})["status"] == "PAUSED"
    )  # type: ignore[index]
    assert (
        webhook_changes("message_template_status_update", {"event": "DELETED"})["deleted"] is True
    )  # type: ignore[index]
    assert webhook_changes("message_template_quality_update", {"new_quality_score": "RED"}) == {
        "quality": "RED"
    }
    assert webhook_changes("template_category_update", {"new_category": "MARKETING"}) == {
        "category": "MARKETING"
    }
    assert webhook_changes("messages", {}) is None
