"""Rule table: one row per outbound rule in docs/meta (docs/meta/messages.md#send,
docs/meta/messages.md#reactions, docs/meta/limits.md), each with an accepted and a rejected payload,
sent over HTTP to a live emulator."""

from __future__ import annotations

import copy
from typing import Any

import httpx
import pytest

from local.emulator import Emulator

from .conftest import USER, assert_error, send

INBOUND = "<inbound-wamid>"


def txt(n: int) -> str:
    return "x" * n


def msg(mtype: str, obj: Any, **extra: Any) -> dict[str, Any]:
    return {"to": USER, "type": mtype, mtype: obj, **extra}


def buttons(
    n: int = 1, title: str = "Yes", bid: str = "b", unique: bool = True, **over: Any
) -> dict[str, Any]:
    btns = [
        {
            "type": "reply",
            "reply": {
                "id": f"{bid}{i}" if unique else bid,
                "title": f"{title}{i}" if unique else title,
            },
        }
        for i in range(n)
    ]
    it: dict[str, Any] = {"type": "button", "body": {"text": "Pick"}, "action": {"buttons": btns}}
    it.update(over)
    return msg("interactive", it)


def button_with(reply: dict[str, str]) -> dict[str, Any]:
    return msg(
        "interactive",
        {
            "type": "button",
            "body": {"text": "Pick"},
            "action": {"buttons": [{"type": "reply", "reply": reply}]},
        },
    )


def lst(
    sections: int = 1,
    rows: int = 1,
    row: dict[str, Any] | None = None,
    button: str = "Menu",
    **over: Any,
) -> dict[str, Any]:
    secs = [
        {
            "title": f"S{s}",
            "rows": [dict(row or {"id": f"r{s}-{r}", "title": "Row"}) for r in range(rows)],
        }
        for s in range(sections)
    ]
    it: dict[str, Any] = {
        "type": "list",
        "body": {"text": "Choose"},
        "action": {"button": button, "sections": secs},
    }
    it.update(over)
    return msg("interactive", it)


def cta(display: str = "Open", url: str = "https://example.com", **over: Any) -> dict[str, Any]:
    it: dict[str, Any] = {
        "type": "cta_url",
        "body": {"text": "Visit"},
        "action": {"name": "cta_url", "parameters": {"display_text": display, "url": url}},
    }
    it.update(over)
    return msg("interactive", it)


def flow(**params: Any) -> dict[str, Any]:
    p: dict[str, Any] = {"flow_message_version": "3", "flow_id": "123", "flow_cta": "Book"}
    p.update(params)
    p = {k: v for k, v in p.items() if v is not None}
    return msg(
        "interactive",
        {"type": "flow", "body": {"text": "Go"}, "action": {"name": "flow", "parameters": p}},
    )


def product_list(sections: int = 1, items: int = 1, header: bool = True) -> dict[str, Any]:
    it: dict[str, Any] = {
        "type": "product_list",
        "body": {"text": "Shop"},
        "action": {
            "catalog_id": "c1",
            "sections": [
                {
                    "title": f"S{s}",
                    "product_items": [{"product_retailer_id": f"p{s}-{i}"} for i in range(items)],
                }
                for s in range(sections)
            ],
        },
    }
    if header:
        it["header"] = {"type": "text", "text": "Products"}
    return msg("interactive", it)


def contacts(n: int, name: bool = True) -> dict[str, Any]:
    c = {"name": {"formatted_name": "Ann", "first_name": "Ann"}} if name else {"org": {}}
    return msg("contacts", [c] * n)


def carousel(cards: int) -> dict[str, Any]:
    card = {
        "card_index": 0,
        "type": "cta_url",
        "header": {"type": "image", "image": {"link": "https://example.com/a.jpg"}},
        "action": {
            "name": "cta_url",
            "parameters": {"display_text": "Buy", "url": "https://example.com"},
        },
    }
    return msg(
        "interactive",
        {"type": "carousel", "body": {"text": "Look"}, "action": {"cards": [card] * cards}},
    )


def tmpl(**over: Any) -> dict[str, Any]:
    t: dict[str, Any] = {"name": "hello", "language": {"code": "en_US"}}
    t.update(over)
    return msg("template", t)


def without(d: dict[str, Any], *path: str) -> dict[str, Any]:
    out = copy.deepcopy(d)
    cur = out
    for k in path[:-1]:
        cur = cur[k]
    del cur[path[-1]]
    return out


# (rule id, accepted payload, rejected payload, code, HTTP status)
ROWS: list[tuple[str, dict[str, Any], dict[str, Any], int, int]] = [
    (
        "text.body<=4096",
        msg("text", {"body": txt(4096)}),
        msg("text", {"body": txt(4097)}),
        100,
        400,
    ),
    ("text.body required", msg("text", {"body": "x"}), msg("text", {}), 131008, 400),
    (
        "text.preview_url boolean",
        msg("text", {"body": "x", "preview_url": False}),
        msg("text", {"body": "x", "preview_url": "yes"}),
        100,
        400,
    ),
    (
        "type enum",
        msg("text", {"body": "x"}),
        {"to": USER, "type": "hologram", "hologram": {}},
        131051,
        400,
    ),
    ("type required", msg("text", {"body": "x"}), {"to": USER, "text": {"body": "x"}}, 131008, 400),
    (
        "messaging_product whatsapp",
        msg("text", {"body": "x"}),
        msg("text", {"body": "x"}, messaging_product="sms"),
        131009,
        400,
    ),
    (
        "to required",
        msg("text", {"body": "x"}),
        {"type": "text", "text": {"body": "x"}},
        131008,
        400,
    ),
    (
        "to well formed",
        msg("text", {"body": "x"}) | {"to": "+1 555-123-4567"},
        msg("text", {"body": "x"}) | {"to": "call-me"},
        131009,
        400,
    ),
    (
        "recipient != sender",
        msg("text", {"body": "x"}),
        msg("text", {"body": "x"}) | {"to": "15550000001"},
        131021,
        400,
    ),
    (
        "unknown key rejected",
        msg("text", {"body": "x"}),
        msg("text", {"body": "x"}, colour="red"),
        100,
        400,
    ),
    (
        "biz_opaque<=512",
        msg("text", {"body": "x"}, biz_opaque_callback_data=txt(512)),
        msg("text", {"body": "x"}, biz_opaque_callback_data=txt(513)),
        100,
        400,
    ),
    (
        "recipient_type enum",
        msg("text", {"body": "x"}, recipient_type="individual"),
        msg("text", {"body": "x"}, recipient_type="broadcast"),
        131009,
        400,
    ),
    (
        "image caption<=1024",
        msg("image", {"link": "https://example.com/a.jpg", "caption": txt(1024)}),
        msg("image", {"link": "https://example.com/a.jpg", "caption": txt(1025)}),
        100,
        400,
    ),
    (
        "media exactly one of id/link",
        msg("image", {"link": "https://example.com/a.jpg"}),
        msg("image", {"link": "https://example.com/a.jpg", "id": "1"}),
        100,
        400,
    ),
    (
        "media link http(s)",
        msg("image", {"link": "https://example.com/a.jpg"}),
        msg("image", {"link": "ftp://example.com/a.jpg"}),
        131009,
        400,
    ),
    (
        "document caption<=1024 + filename",
        msg("document", {"link": "https://e.com/a.pdf", "caption": txt(1024), "filename": "a.pdf"}),
        msg("document", {"link": "https://e.com/a.pdf", "caption": txt(1025)}),
        100,
        400,
    ),
    (
        "video caption<=1024",
        msg("video", {"link": "https://e.com/v.mp4", "caption": txt(1024)}),
        msg("video", {"link": "https://e.com/v.mp4", "caption": txt(1025)}),
        100,
        400,
    ),
    (
        "audio has no caption",
        msg("audio", {"link": "https://e.com/a.mp3"}),
        msg("audio", {"link": "https://e.com/a.mp3", "caption": "no"}),
        100,
        400,
    ),
    (
        "sticker has no caption",
        msg("sticker", {"link": "https://e.com/s.webp"}),
        msg("sticker", {"link": "https://e.com/s.webp", "caption": "no"}),
        100,
        400,
    ),
    (
        "location lat/long required",
        msg("location", {"latitude": 1.5, "longitude": "2.5"}),
        msg("location", {"longitude": 2.5}),
        131008,
        400,
    ),
    (
        "location latitude range",
        msg("location", {"latitude": -90, "longitude": 180}),
        msg("location", {"latitude": 91, "longitude": 0}),
        131009,
        400,
    ),
    ("contacts<=5 (CONFLICT stricter)", contacts(5), contacts(6), 100, 400),
    ("contacts name.formatted_name", contacts(1), contacts(1, name=False), 131008, 400),
    (
        "reaction message_id required",
        msg("reaction", {"message_id": INBOUND, "emoji": "x"}),
        msg("reaction", {"emoji": "x"}),
        131008,
        400,
    ),
    (
        "reaction target must exist",
        msg("reaction", {"message_id": INBOUND, "emoji": ""}),
        msg("reaction", {"message_id": "wamid.nope", "emoji": "x"}),
        131009,
        400,
    ),
    (
        "interactive.type enum",
        buttons(),
        msg("interactive", {"type": "poll", "action": {}}),
        131009,
        400,
    ),
    (
        "interactive.action required",
        buttons(),
        msg("interactive", {"type": "button", "body": {"text": "x"}}),
        131008,
        400,
    ),
    ("button count 1-3", buttons(3), buttons(4), 100, 400),
    ("button title<=20", buttons(1, title=txt(19)), buttons(1, title=txt(20)), 100, 400),
    ("button titles unique", buttons(2), buttons(2, unique=False), 131009, 400),
    (
        "button id<=256",
        button_with({"id": txt(256), "title": "t"}),
        button_with({"id": txt(257), "title": "t"}),
        100,
        400,
    ),
    (
        "button id no outer spaces",
        button_with({"id": "a b", "title": "t"}),
        button_with({"id": " ab", "title": "t"}),
        131009,
        400,
    ),
    ("button body required", buttons(), without(buttons(), "interactive", "body"), 131008, 400),
    (
        "button body<=1024",
        buttons(body={"text": txt(1024)}),
        buttons(body={"text": txt(1025)}),
        100,
        400,
    ),
    (
        "button footer<=60",
        buttons(footer={"text": txt(60)}),
        buttons(footer={"text": txt(61)}),
        100,
        400,
    ),
    (
        "button header text<=60",
        buttons(header={"type": "text", "text": txt(60)}),
        buttons(header={"type": "text", "text": txt(61)}),
        100,
        400,
    ),
    (
        "button header media by id or link",
        buttons(header={"type": "image", "image": {"link": "https://e.com/a.jpg"}}),
        buttons(header={"type": "image", "image": {}}),
        100,
        400,
    ),
    ("list button<=20", lst(button=txt(20)), lst(button=txt(21)), 100, 400),
    ("list sections<=10", lst(sections=10), lst(sections=11), 100, 400),
    ("list rows<=10 total", lst(sections=2, rows=5), lst(sections=2, rows=6), 100, 400),
    (
        "list row title<=24",
        lst(row={"id": "r", "title": txt(24)}),
        lst(row={"id": "r", "title": txt(25)}),
        100,
        400,
    ),
    (
        "list row description<=72",
        lst(row={"id": "r", "title": "t", "description": txt(72)}),
        lst(row={"id": "r", "title": "t", "description": txt(73)}),
        100,
        400,
    ),
    (
        "list row id<=200",
        lst(row={"id": txt(200), "title": "t"}),
        lst(row={"id": txt(201), "title": "t"}),
        100,
        400,
    ),
    (
        "list header text only",
        lst(header={"type": "text", "text": "h"}),
        lst(header={"type": "image", "image": {"link": "https://e.com/a.jpg"}}),
        131009,
        400,
    ),
    (
        "list body<=1024 (CONFLICT stricter)",
        lst(body={"text": txt(1024)}),
        lst(body={"text": txt(1025)}),
        100,
        400,
    ),
    ("cta_url display_text<=20", cta(display=txt(20)), cta(display=txt(21)), 100, 400),
    (
        "cta_url url http(s)",
        cta(url="https://e.com/x"),
        cta(url="javascript:alert(1)"),
        131009,
        400,
    ),
    (
        "cta_url media header by link only",
        cta(header={"type": "image", "image": {"link": "https://e.com/a.jpg"}}),
        cta(header={"type": "image", "image": {"id": "123"}}),
        131009,
        400,
    ),
    (
        "location_request body<=1024 (CONFLICT stricter)",
        msg(
            "interactive",
            {
                "type": "location_request_message",
                "body": {"text": txt(1024)},
                "action": {"name": "send_location"},
            },
        ),
        msg(
            "interactive",
            {
                "type": "location_request_message",
                "body": {"text": txt(1025)},
                "action": {"name": "send_location"},
            },
        ),
        100,
        400,
    ),
    (
        "location_request action name",
        msg(
            "interactive",
            {
                "type": "location_request_message",
                "body": {"text": "x"},
                "action": {"name": "send_location"},
            },
        ),
        msg(
            "interactive",
            {
                "type": "location_request_message",
                "body": {"text": "x"},
                "action": {"name": "location"},
            },
        ),
        131009,
        400,
    ),
    (
        "call_permission_request no header",
        msg(
            "interactive",
            {
                "type": "call_permission_request",
                "body": {"text": "May we call?"},
                "action": {"name": "call_permission_request"},
            },
        ),
        msg(
            "interactive",
            {
                "type": "call_permission_request",
                "header": {"type": "text", "text": "h"},
                "action": {"name": "call_permission_request"},
            },
        ),
        100,
        400,
    ),
    (
        "product has no header",
        msg(
            "interactive",
            {"type": "product", "action": {"catalog_id": "c", "product_retailer_id": "p"}},
        ),
        msg(
            "interactive",
            {
                "type": "product",
                "header": {"type": "text", "text": "h"},
                "action": {"catalog_id": "c", "product_retailer_id": "p"},
            },
        ),
        100,
        400,
    ),
    (
        "product catalog_id required",
        msg(
            "interactive",
            {"type": "product", "action": {"catalog_id": "c", "product_retailer_id": "p"}},
        ),
        msg("interactive", {"type": "product", "action": {"product_retailer_id": "p"}}),
        131008,
        400,
    ),
    ("product_list header required", product_list(), product_list(header=False), 131008, 400),
    (
        "product_list items<=30 total",
        product_list(sections=3, items=10),
        product_list(sections=3, items=11),
        100,
        400,
    ),
    ("product_list sections<=10", product_list(sections=10), product_list(sections=11), 100, 400),
    (
        "catalog_message thumbnail required",
        msg(
            "interactive",
            {
                "type": "catalog_message",
                "body": {"text": "b"},
                "action": {
                    "name": "catalog_message",
                    "parameters": {"thumbnail_product_retailer_id": "p"},
                },
            },
        ),
        msg(
            "interactive",
            {
                "type": "catalog_message",
                "body": {"text": "b"},
                "action": {"name": "catalog_message", "parameters": {}},
            },
        ),
        131008,
        400,
    ),
    ('flow_message_version "3"', flow(), flow(flow_message_version=3), 131009, 400),
    (
        "flow one of flow_id/flow_name",
        flow(flow_id=None, flow_name="signup"),
        flow(flow_name="signup"),
        100,
        400,
    ),
    ("flow_cta<=20 (CONFLICT stricter)", flow(flow_cta=txt(20)), flow(flow_cta=txt(21)), 100, 400),
    ("flow mode enum", flow(mode="draft"), flow(mode="live"), 131009, 400),
    ("flow_action enum", flow(flow_action="data_exchange"), flow(flow_action="jump"), 131009, 400),
    (
        "flow payload data non-empty",
        flow(flow_action_payload={"screen": "A", "data": {"k": "v"}}),
        flow(flow_action_payload={"screen": "A", "data": {}}),
        131009,
        400,
    ),
    ("carousel cards<=10 (NOT CONFIRMED)", carousel(10), carousel(11), 100, 400),
    ("template name required", tmpl(), without(tmpl(), "template", "name"), 131008, 400),
    (
        "template language.code required",
        tmpl(),
        tmpl(language={"policy": "deterministic"}),
        131008,
        400,
    ),
    (
        "template language.policy optional+enum",
        tmpl(language={"code": "en_US", "policy": "deterministic"}),
        tmpl(language={"code": "en_US", "policy": "fallback"}),
        131009,
        400,
    ),
    (
        "template button index 0-9 (string or int)",
        tmpl(
            name="qr",
            components=[
                {
                    "type": "button",
                    "sub_type": "quick_reply",
                    "index": "0",
                    "parameters": [{"type": "payload", "payload": "p"}],
                }
            ],
        ),
        tmpl(
            name="qr",
            components=[
                {
                    "type": "button",
                    "sub_type": "quick_reply",
                    "index": 10,
                    "parameters": [{"type": "payload", "payload": "p"}],
                }
            ],
        ),
        131009,
        400,
    ),
]


@pytest.mark.parametrize(("rule", "ok", "bad", "code", "status"), ROWS, ids=[r[0] for r in ROWS])
def test_rule(
    emu: Emulator,
    client: httpx.Client,
    rule: str,
    ok: dict[str, Any],
    bad: dict[str, Any],
    code: int,
    status: int,
) -> None:
    inbound = emu.customer_text(USER, "open the window")
    emu.add_template("hello")
    emu.add_template(
        "qr",
        components=[
            {"type": "BODY", "text": "Pick one"},
            {"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": "Yes"}]},
        ],
    )

    def fill(p: dict[str, Any]) -> dict[str, Any]:
        out = copy.deepcopy(p)
        if out.get("type") == "reaction" and out["reaction"].get("message_id") == INBOUND:
            out["reaction"]["message_id"] = inbound
        return out

    accepted = send(client, fill(ok))
    assert accepted.status_code == 200, f"{rule}: {accepted.text}"
    assert accepted.json()["messages"][0]["id"].startswith("wamid.")
    assert_error(send(client, fill(bad)), code, status)
