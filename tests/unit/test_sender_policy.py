"""send_policy: the pure rules applied before a Graph call."""

from __future__ import annotations

from typing import Any

from wacloud.models.outbound.template import TemplateObject
from wacloud.outbound import policy as send_policy


def tpl(**over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "name": "t",
        "language": "en_US",
        "status": "APPROVED",
        "category": "UTILITY",
        "parameter_format": "POSITIONAL",
        "components": [{"type": "BODY", "text": "Hi {{1}}, order {{2}}"}],
    }
    base.update(over)
    return base


def send(components: list[dict[str, Any]] | None = None) -> TemplateObject:
    return TemplateObject.model_validate(
        {"name": "t", "language": {"code": "en_US"}, "components": components or []}
    )


def body(*values: str, names: list[str] | None = None) -> dict[str, Any]:
    params = [{"type": "text", "text": v} for v in values]
    for p, n in zip(params, names or [], strict=False):
        p["parameter_name"] = n
    return {"type": "body", "parameters": params}


def test_matching_positional_send_passes() -> None:
    assert send_policy.template_refusal(tpl(), True, send([body("Ana", "7")])) is None


def test_named_parameters_must_match_names() -> None:
    named = tpl(
        parameter_format="NAMED",
        components=[{"type": "BODY", "text": "Hi {{first_name}} {{first_name}}"}],
    )
    ok = send([body("Ana", names=["first_name"])])
    assert send_policy.template_refusal(named, True, ok) is None
    wrong = send([body("Ana", names=["last_name"])])
    refusal = send_policy.template_refusal(named, True, wrong)
    assert refusal is not None and "132012" in refusal["reason"]


def test_positional_template_refuses_parameter_names() -> None:
    sent = send([body("a", "b", names=["x", "y"])])
    refusal = send_policy.template_refusal(tpl(), True, sent)
    assert refusal is not None and "positional" in refusal["reason"]


def test_media_header_needs_its_parameter() -> None:
    with_header = tpl(
        components=[{"type": "HEADER", "format": "IMAGE"}, {"type": "BODY", "text": "Hello"}]
    )
    refusal = send_policy.template_refusal(with_header, True, send())
    assert refusal is not None and "image header" in refusal["reason"]
    image = {
        "type": "header",
        "parameters": [{"type": "image", "image": {"link": "https://x.example/a.jpg"}}],
    }
    assert send_policy.template_refusal(with_header, True, send([image])) is None


def test_url_button_with_variable_needs_a_parameter() -> None:
    buttons = tpl(
        components=[
            {"type": "BODY", "text": "Hello"},
            {
                "type": "BUTTONS",
                "buttons": [{"type": "URL", "text": "Go", "url": "https://x.example/{{1}}"}],
            },
        ]
    )
    refusal = send_policy.template_refusal(buttons, True, send())
    assert refusal is not None and "button 0" in refusal["reason"]
    button = {
        "type": "button",
        "sub_type": "url",
        "index": "0",
        "parameters": [{"type": "text", "text": "abc"}],
    }
    assert send_policy.template_refusal(buttons, True, send([button])) is None
    wrong = {
        "type": "button",
        "sub_type": "quick_reply",
        "index": 0,
        "parameters": [{"type": "payload", "payload": "p"}],
    }
    refusal = send_policy.template_refusal(buttons, True, send([wrong]))
    assert refusal is not None and "sub_type" in refusal["reason"]


def test_deleted_or_unapproved_templates_refused() -> None:
    assert send_policy.template_refusal(tpl(deleted=True), True, send([body("a", "b")]))
    rejected = send_policy.template_refusal(tpl(status="REJECTED"), True, send([body("a", "b")]))
    assert rejected is not None and "REJECTED" in rejected["reason"]
    assert send_policy.template_refusal(None, False, send()) is None  # mirror unknown


def test_opt_out_only_for_marketing() -> None:
    contact = {"opted_out_marketing": True}
    assert send_policy.opt_out_refusal(contact, "MARKETING", None)
    assert send_policy.opt_out_refusal(contact, "UTILITY", ["marketing"])
    assert send_policy.opt_out_refusal(contact, "UTILITY", None) is None
    assert send_policy.opt_out_refusal({}, "MARKETING", None) is None


def test_window_and_block_rules() -> None:
    assert send_policy.window_refusal(False, False)
    assert send_policy.window_refusal(True, False) is None
    assert send_policy.window_refusal(False, True) is None
    assert send_policy.blocked_refusal({"blocked": True})
    assert send_policy.blocked_refusal({"blocked": False}) is None
    # A temporary block: refused until its end, not after (housekeeping may lag a minute).
    block = {"blocked": True, "blocked_until": 1000.0}
    assert send_policy.blocked_refusal(block, at=999.0)
    assert send_policy.blocked_refusal(block, at=1000.0) is None
