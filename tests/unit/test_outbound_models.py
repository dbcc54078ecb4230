"""Outbound message models: every limit accepted at the edge and rejected past it,
Meta's example payloads round-tripped byte-for-byte, and the sender helpers."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from pydantic import ValidationError

from wacloud.models.outbound.message import (
    ImageMessage,
    InteractiveMessage,
    MarkRead,
    TemplateMessage,
    TextMessage,
    TypingIndicator,
    describe_validation_error,
    has_unresolved_media,
    is_template,
    media_s3_key,
    message_kind,
    parse_outbound,
    with_media_id,
)

Payload = dict[str, Any]


def dump(message: Any) -> Payload:
    out: Payload = message.model_dump(mode="json", by_alias=True, exclude_none=True)
    return out


def reason(payload: Payload) -> str:
    with pytest.raises(ValidationError) as info:
        parse_outbound(payload)
    return describe_validation_error(info.value)


# ------------------------------------------------------------------------ builders


def text(body: str = "hi") -> Payload:
    return {"type": "text", "text": {"body": body}}


def media(kind: str, **obj: Any) -> Payload:
    return {"type": kind, kind: obj or {"id": "1234"}}


def buttons(
    n: int = 2,
    title: Callable[[int], str] = lambda i: f"Option {i}",
    rid: Callable[[int], str] = lambda i: f"id-{i}",
    **extra: Any,
) -> Payload:
    inter: Payload = {
        "type": "button",
        "body": {"text": "Pick one"},
        "action": {
            "buttons": [
                {"type": "reply", "reply": {"id": rid(i), "title": title(i)}} for i in range(n)
            ]
        },
    }
    inter.update(extra)
    return {"type": "interactive", "interactive": inter}


def rows(n: int, **row: Any) -> list[Payload]:
    return [{"id": f"r{i}", "title": f"Row {i}", **row} for i in range(n)]


def lst(sections: list[Payload] | None = None, button: str = "Choose", **extra: Any) -> Payload:
    inter: Payload = {
        "type": "list",
        "body": {"text": "Pick"},
        "action": {"button": button, "sections": sections or [{"title": "S", "rows": rows(2)}]},
    }
    inter.update(extra)
    return {"type": "interactive", "interactive": inter}


def cta(display: str = "Open", **extra: Any) -> Payload:
    inter: Payload = {
        "type": "cta_url",
        "body": {"text": "See it"},
        "action": {
            "name": "cta_url",
            "parameters": {"display_text": display, "url": "https://example.com/x"},
        },
    }
    inter.update(extra)
    return {"type": "interactive", "interactive": inter}


def flow(**params: Any) -> Payload:
    parameters: Payload = {"flow_message_version": "3", "flow_id": "1234", "flow_cta": "Book"}
    parameters.update(params)
    parameters = {k: v for k, v in parameters.items() if v is not None}
    return {
        "type": "interactive",
        "interactive": {
            "type": "flow",
            "body": {"text": "Book now"},
            "action": {"name": "flow", "parameters": parameters},
        },
    }


def product_list(sections: list[Payload], header: Payload | None = None) -> Payload:
    inter: Payload = {
        "type": "product_list",
        "body": {"text": "Our picks"},
        "action": {"catalog_id": "cat", "sections": sections},
    }
    if header is not None:
        inter["header"] = header
    return {"type": "interactive", "interactive": inter}


def psec(n: int, title: str = "S") -> Payload:
    return {"title": title, "product_items": [{"product_retailer_id": f"sku{i}"} for i in range(n)]}


def template(components: list[Payload] | None = None, name: str = "order_update") -> Payload:
    tpl: Payload = {"name": name, "language": {"code": "en_US"}}
    if components is not None:
        tpl["components"] = components
    return {"type": "template", "template": tpl}


def tparam(value: str, name: str | None = None) -> Payload:
    p: Payload = {"type": "text", "text": value}
    if name:
        p["parameter_name"] = name
    return p


def header(*params: Payload) -> Payload:
    return {"type": "header", "parameters": list(params)}


def body(*params: Payload) -> Payload:
    return {"type": "body", "parameters": list(params)}


def button(sub_type: str, index: Any, param: Payload) -> Payload:
    return {"type": "button", "sub_type": sub_type, "index": index, "parameters": [param]}


def card(i: int) -> Payload:
    return {
        "card_index": i,
        "components": [
            header({"type": "image", "image": {"link": f"https://example.com/{i}.png"}})
        ],
    }


def x(n: int) -> str:
    return "x" * n


# --------------------------------------------------------------- the limit tables
# Each row: (id, payload at the limit, payload past it, words expected in the reason).

LIMITS: list[tuple[str, Payload, Payload, str]] = [
    ("text.body 4096", text(x(4096)), text(x(4097)), "at most 4096 characters"),
    ("text.body empty", text("a"), text(""), "must not be empty"),
    (
        "image caption 1024",
        media("image", id="1", caption=x(1024)),
        media("image", id="1", caption=x(1025)),
        "at most 1024 characters",
    ),
    (
        "video caption 1024",
        media("video", id="1", caption=x(1024)),
        media("video", id="1", caption=x(1025)),
        "at most 1024 characters",
    ),
    (
        "document caption 1024",
        media("document", id="1", caption=x(1024), filename="a.pdf"),
        media("document", id="1", caption=x(1025)),
        "at most 1024 characters",
    ),
    (
        "audio no caption",
        media("audio", id="1"),
        media("audio", id="1", caption="c"),
        "audio.caption: unknown field",
    ),
    (
        "sticker no caption",
        media("sticker", id="1"),
        media("sticker", id="1", caption="c"),
        "sticker.caption: unknown field",
    ),
    (
        "media one source",
        media("image", link="https://e.com/a.png"),
        media("image", id="1", link="https://e.com/a.png"),
        "exactly one of id, link or s3_key",
    ),
    (
        "media no source",
        media("image", s3_key="outbound/k/a.png"),
        media("image", caption="c"),
        "got none",
    ),
    (
        "media link scheme",
        media("image", link="http://e.com/a.png"),
        media("image", link="ftp://e.com/a.png"),
        "http:// or https://",
    ),
    (
        "contacts 5 (strict)",
        {"type": "contacts", "contacts": [{"name": {"formatted_name": "A"}}] * 5},
        {"type": "contacts", "contacts": [{"name": {"formatted_name": "A"}}] * 6},
        "at most 5 contacts",
    ),
    (
        "contacts birthday",
        {
            "type": "contacts",
            "contacts": [{"name": {"formatted_name": "A"}, "birthday": "2000-02-29"}],
        },
        {
            "type": "contacts",
            "contacts": [{"name": {"formatted_name": "A"}, "birthday": "2001-02-29"}],
        },
        "YYYY-MM-DD",
    ),
    (
        "location latitude",
        {"type": "location", "location": {"latitude": 90, "longitude": "-180"}},
        {"type": "location", "location": {"latitude": "90.5", "longitude": 0}},
        "between -90 and 90",
    ),
    (
        "location longitude",
        {"type": "location", "location": {"latitude": 0, "longitude": 180.0}},
        {"type": "location", "location": {"latitude": 0, "longitude": 180.01}},
        "between -180 and 180",
    ),
    (
        "location numeric",
        {"type": "location", "location": {"latitude": "1.5", "longitude": 2}},
        {"type": "location", "location": {"latitude": "north", "longitude": 2}},
        "numeric string",
    ),
    (
        "reaction emoji may be empty",
        {"type": "reaction", "reaction": {"message_id": "wamid.X", "emoji": ""}},
        {"type": "reaction", "reaction": {"message_id": "", "emoji": "x"}},
        "must not be empty",
    ),
    # reply buttons
    (
        "buttons max 3",
        buttons(3),
        buttons(4),
        "interactive.action.buttons: at most 3 reply buttons (Meta limit), got 4",
    ),
    ("buttons min 1", buttons(1), buttons(0), "at least 1 reply buttons"),
    (
        "button title 20",
        buttons(1, title=lambda i: x(20)),
        buttons(1, title=lambda i: x(21)),
        "buttons[0].reply.title: at most 20 characters",
    ),
    (
        "button titles unique",
        buttons(2),
        buttons(2, title=lambda i: "Same"),
        "button titles must be unique",
    ),
    (
        "button id 256",
        buttons(1, rid=lambda i: x(256)),
        buttons(1, rid=lambda i: x(257)),
        "reply.id: at most 256 characters",
    ),
    (
        "button id spaces",
        buttons(1, rid=lambda i: "a b"),
        buttons(1, rid=lambda i: " a"),
        "whitespace",
    ),
    (
        "button body 1024",
        buttons(1, body={"text": x(1024)}),
        buttons(1, body={"text": x(1025)}),
        "interactive.body.text: at most 1024 characters",
    ),
    (
        "button footer 60",
        buttons(1, footer={"text": x(60)}),
        buttons(1, footer={"text": x(61)}),
        "interactive.footer.text: at most 60 characters",
    ),
    (
        "button header text 60",
        buttons(1, header={"type": "text", "text": x(60)}),
        buttons(1, header={"type": "text", "text": x(61)}),
        "interactive.header.text: at most 60",
    ),
    (
        "button header media",
        buttons(1, header={"type": "video", "video": {"id": "1"}}),
        buttons(1, header={"type": "location", "location": {}}),
        "header.type: unsupported value; expected one of 'text'",
    ),
    # list
    (
        "list button 20",
        lst(button=x(20)),
        lst(button=x(21)),
        "interactive.action.button: at most 20 characters",
    ),
    (
        "list sections 10",
        lst([{"title": f"S{i}", "rows": rows(1)} for i in range(10)]),
        lst([{"title": f"S{i}", "rows": rows(1)} for i in range(11)]),
        "at most 10 sections",
    ),
    (
        "list rows total 10",
        lst([{"title": "A", "rows": rows(5)}, {"title": "B", "rows": rows(5)}]),
        lst([{"title": "A", "rows": rows(5)}, {"title": "B", "rows": rows(6)}]),
        "at most 10 rows in total across all sections",
    ),
    (
        "list row id 200",
        lst([{"title": "A", "rows": [{"id": x(200), "title": "t"}]}]),
        lst([{"title": "A", "rows": [{"id": x(201), "title": "t"}]}]),
        "sections[0].rows[0].id: at most 200",
    ),
    (
        "list row title 24",
        lst([{"title": "A", "rows": [{"id": "1", "title": x(24)}]}]),
        lst([{"title": "A", "rows": [{"id": "1", "title": x(25)}]}]),
        "title: at most 24",
    ),
    (
        "list row description 72",
        lst([{"title": "A", "rows": rows(1, description=x(72))}]),
        lst([{"title": "A", "rows": rows(1, description=x(73))}]),
        "description: at most 72",
    ),
    (
        "list section title 24",
        lst([{"title": x(24), "rows": rows(1)}]),
        lst([{"title": x(25), "rows": rows(1)}]),
        "sections[0].title: at most 24",
    ),
    (
        "list section title required (strict)",
        lst([{"title": "A", "rows": rows(1)}]),
        lst([{"rows": rows(1)}]),
        "sections[0].title: required field is missing",
    ),
    (
        "list body 4096",
        lst(body={"text": x(4096)}),
        lst(body={"text": x(4097)}),
        "at most 4096 characters",
    ),
    (
        "list header text only",
        lst(header={"type": "text", "text": "Menu"}),
        lst(header={"type": "image", "image": {"id": "1"}}),
        "only take a text header",
    ),
    # cta_url
    ("cta display_text 20", cta(x(20)), cta(x(21)), "display_text: at most 20"),
    ("cta body 1024", cta(body={"text": x(1024)}), cta(body={"text": x(1025)}), "at most 1024"),
    (
        "cta header media by link",
        cta(header={"type": "image", "image": {"link": "https://e.com/a.png"}}),
        cta(header={"type": "image", "image": {"id": "1"}}),
        "must be given by link",
    ),
    # location request, call permission, product, product_list, catalog
    (
        "location request body 1024 (strict)",
        {
            "type": "interactive",
            "interactive": {
                "type": "location_request_message",
                "body": {"text": x(1024)},
                "action": {"name": "send_location"},
            },
        },
        {
            "type": "interactive",
            "interactive": {
                "type": "location_request_message",
                "body": {"text": x(1025)},
                "action": {"name": "send_location"},
            },
        },
        "at most 1024",
    ),
    (
        "call permission no header",
        {
            "type": "interactive",
            "interactive": {
                "type": "call_permission_request",
                "action": {"name": "call_permission_request"},
            },
        },
        {
            "type": "interactive",
            "interactive": {
                "type": "call_permission_request",
                "header": {"type": "text", "text": "h"},
                "action": {"name": "call_permission_request"},
            },
        },
        "interactive.header: unknown field",
    ),
    (
        "call permission no footer",
        {
            "type": "interactive",
            "interactive": {
                "type": "call_permission_request",
                "body": {"text": "May we call?"},
                "action": {"name": "call_permission_request"},
            },
        },
        {
            "type": "interactive",
            "interactive": {
                "type": "call_permission_request",
                "footer": {"text": "f"},
                "action": {"name": "call_permission_request"},
            },
        },
        "interactive.footer: unknown field",
    ),
    (
        "product no header",
        {
            "type": "interactive",
            "interactive": {
                "type": "product",
                "action": {"catalog_id": "c", "product_retailer_id": "p"},
            },
        },
        {
            "type": "interactive",
            "interactive": {
                "type": "product",
                "header": {"type": "text", "text": "h"},
                "action": {"catalog_id": "c", "product_retailer_id": "p"},
            },
        },
        "interactive.header: unknown field",
    ),
    (
        "product_list header required",
        product_list([psec(1)], {"type": "text", "text": "Menu"}),
        product_list([psec(1)]),
        "interactive.header: required field is missing",
    ),
    (
        "product_list sections 10",
        product_list([psec(1, f"S{i}") for i in range(10)], {"type": "text", "text": "h"}),
        product_list([psec(1, f"S{i}") for i in range(11)], {"type": "text", "text": "h"}),
        "at most 10 sections",
    ),
    (
        "product_list items 30 total",
        product_list([psec(15), psec(15, "T")], {"type": "text", "text": "h"}),
        product_list([psec(15), psec(16, "T")], {"type": "text", "text": "h"}),
        "at most 30 product items in total",
    ),
    (
        "catalog_message body required",
        {
            "type": "interactive",
            "interactive": {
                "type": "catalog_message",
                "body": {"text": "b"},
                "action": {
                    "name": "catalog_message",
                    "parameters": {"thumbnail_product_retailer_id": "p"},
                },
            },
        },
        {
            "type": "interactive",
            "interactive": {
                "type": "catalog_message",
                "action": {
                    "name": "catalog_message",
                    "parameters": {"thumbnail_product_retailer_id": "p"},
                },
            },
        },
        "interactive.body: required field is missing",
    ),
    # flow
    (
        "flow_cta 20 (strict)",
        flow(flow_cta=x(20)),
        flow(flow_cta=x(21)),
        "flow_cta: at most 20 characters (PYWA limit",
    ),
    (
        "flow version 3",
        flow(flow_message_version="3"),
        flow(flow_message_version="2"),
        "flow_message_version",
    ),
    (
        "flow id xor name",
        flow(flow_id=None, flow_name="booking"),
        flow(flow_name="booking"),
        "exactly one of flow_id or flow_name",
    ),
    (
        "flow id or name required",
        flow(flow_id="1"),
        flow(flow_id=None),
        "exactly one of flow_id or flow_name",
    ),
    (
        "flow payload data non-empty",
        flow(flow_action="navigate", flow_action_payload={"screen": "A", "data": {"k": 1}}),
        flow(flow_action="navigate", flow_action_payload={"screen": "A", "data": {}}),
        "flow_action_payload.data: must be non-empty",
    ),
    ("flow mode", flow(mode="draft"), flow(mode="test"), "mode"),
    # templates
    (
        "template name pattern",
        template(name="order_update_2"),
        template(name="Order-Update"),
        "^[a-z0-9_]+$",
    ),
    ("template name 512", template(name="a" * 512), template(name="a" * 513), "at most 512"),
    (
        "template header text param 60",
        template([header(tparam(x(60)))]),
        template([header(tparam(x(61)))]),
        "header text parameter at most 60",
    ),
    (
        "template one header component",
        template([header(tparam("a")), body(tparam("b"))]),
        template([header(tparam("a")), header(tparam("b"))]),
        "template.components: at most one header component, got 2",
    ),
    (
        "template header one param",
        template([header(tparam("a"))]),
        template([header(tparam("a"), tparam("b"))]),
        "at most 1 header parameters",
    ),
    (
        "template body param 1024 with other components",
        template([header(tparam("h")), body(tparam(x(1024)))]),
        template([header(tparam("h")), body(tparam(x(1025)))]),
        "components[1].parameters[0].text: at most 1024 characters",
    ),
    (
        "template body-only param 32768",
        template([body(tparam(x(32768)))]),
        template([body(tparam(x(32769)))]),
        "at most 32768",
    ),
    (
        "template copy_code 15",
        template([button("copy_code", 0, {"type": "coupon_code", "coupon_code": x(15)})]),
        template([button("copy_code", 0, {"type": "coupon_code", "coupon_code": x(16)})]),
        "coupon_code: at most 15",
    ),
    (
        "template button index 0-9",
        template([button("url", 9, {"type": "text", "text": "a"})]),
        template([button("url", 10, {"type": "text", "text": "a"})]),
        "must be 0-9",
    ),
    (
        "template button index string",
        template([button("url", "0", {"type": "text", "text": "a"})]),
        template([button("url", "first", {"type": "text", "text": "a"})]),
        "must be 0-9",
    ),
    (
        "template button index unique",
        template(
            [
                button("quick_reply", 0, {"type": "payload", "payload": "a"}),
                button("quick_reply", 1, {"type": "payload", "payload": "b"}),
            ]
        ),
        template(
            [
                button("quick_reply", 0, {"type": "payload", "payload": "a"}),
                button("quick_reply", "0", {"type": "payload", "payload": "b"}),
            ]
        ),
        "button index must be unique",
    ),
    (
        "template button sub_type",
        template([button("flow", 0, {"type": "action", "action": {"flow_token": "t"}})]),
        template([button("voice", 0, {"type": "action", "action": {}})]),
        "sub_type: unsupported value; expected one of 'quick_reply'",
    ),
    (
        "template named params",
        template([body(tparam("Jo", "first_name"), tparam("12", "order_id"))]),
        template([body(tparam("Jo", "first_name"), tparam("12"))]),
        "mix of named",
    ),
    (
        "template param name rule",
        template([body(tparam("Jo", "first_name"))]),
        template([body(tparam("Jo", "FirstName"))]),
        "lowercase letters and underscores",
    ),
    (
        "template param names unique",
        template([header(tparam("a", "name")), body(tparam("b", "city"))]),
        template([header(tparam("a", "name")), body(tparam("b", "name"))]),
        "parameter_name must be unique",
    ),
    (
        "template currency code",
        template(
            [
                body(
                    {
                        "type": "currency",
                        "currency": {"fallback_value": "$1", "code": "USD", "amount_1000": 1000},
                    }
                )
            ]
        ),
        template(
            [
                body(
                    {
                        "type": "currency",
                        "currency": {"fallback_value": "$1", "code": "usd", "amount_1000": 1000},
                    }
                )
            ]
        ),
        "currency.code: must be an ISO 4217",
    ),
    (
        "template document no caption",
        template(
            [
                header(
                    {
                        "type": "document",
                        "document": {"link": "https://e.com/a.pdf", "filename": "a.pdf"},
                    }
                )
            ]
        ),
        template(
            [
                header(
                    {
                        "type": "document",
                        "document": {"link": "https://e.com/a.pdf", "caption": "c"},
                    }
                )
            ]
        ),
        "document.caption: unknown field",
    ),
    (
        "template carousel 10 cards",
        template([{"type": "carousel", "cards": [card(i) for i in range(10)]}]),
        template([{"type": "carousel", "cards": [card(i % 10) for i in range(11)]}]),
        "at most 10 carousel cards",
    ),
    (
        "policy deterministic",
        {
            "type": "template",
            "template": {"name": "a", "language": {"code": "en", "policy": "deterministic"}},
        },
        {
            "type": "template",
            "template": {"name": "a", "language": {"code": "en", "policy": "fallback"}},
        },
        "template.language.policy",
    ),
    (
        "one s3_key per message",
        template(
            [
                {"type": "carousel", "cards": [card(0)]},
                header({"type": "image", "image": {"s3_key": "outbound/a.png"}}),
            ]
        ),
        template(
            [
                {
                    "type": "carousel",
                    "cards": [
                        {
                            "card_index": 0,
                            "components": [
                                header({"type": "image", "image": {"s3_key": "outbound/x"}})
                            ],
                        }
                    ],
                },
                header({"type": "image", "image": {"s3_key": "outbound/a.png"}}),
            ]
        ),
        "at most one media may use s3_key",
    ),
]


@pytest.mark.parametrize(
    ("ok", "bad", "words"), [r[1:] for r in LIMITS], ids=[r[0] for r in LIMITS]
)
def test_limit_edge_accepted_and_past_it_rejected(ok: Payload, bad: Payload, words: str) -> None:
    parse_outbound(ok)
    assert words in reason(bad)


# ------------------------------------------------------------ Meta example payloads

META_EXAMPLES: list[Payload] = [
    {
        "type": "text",
        "text": {
            "preview_url": True,
            "body": "As requested, here's the link: https://www.meta.com",
        },
    },
    {"type": "image", "image": {"id": "1479537139650973", "caption": "The best succulent ever?"}},
    {"type": "image", "image": {"link": "https://www.example.com/images/succulent.png"}},
    {"type": "audio", "audio": {"id": "1013859600285441"}},
    {"type": "video", "video": {"id": "1166846181421424", "caption": "A succulent eclipse!"}},
    {
        "type": "document",
        "document": {
            "id": "1376223850470843",
            "filename": "order_abc123.pdf",
            "caption": "Your order confirmation (PDF)",
        },
    },
    {"type": "sticker", "sticker": {"id": "798882015472548"}},
    {
        "type": "reaction",
        "reaction": {
            "message_id": "wamid.HBgLMTY0NjcwNDM1OTUVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=",
            "emoji": "\U0001f44d",
        },
    },
    {
        "type": "location",
        "location": {
            "latitude": "37.44216251868683",
            "longitude": "-122.16153582049394",
            "name": "Philz Coffee",
            "address": "101 Forest Ave, Palo Alto, CA 94301",
        },
    },
    {
        "type": "contacts",
        "contacts": [
            {
                "addresses": [
                    {
                        "street": "1 Lucky Shrub Way",
                        "city": "Menlo Park",
                        "state": "CA",
                        "zip": "94025",
                        "country": "United States",
                        "country_code": "US",
                        "type": "Office",
                    }
                ],
                "birthday": "1999-01-23",
                "emails": [{"email": "bjohnson@luckyshrub.com", "type": "Work"}],
                "name": {
                    "formatted_name": "Barbara J. Johnson",
                    "first_name": "Barbara",
                    "last_name": "Johnson",
                    "middle_name": "Joana",
                    "suffix": "Esq.",
                    "prefix": "Dr.",
                },
                "org": {"company": "Lucky Shrub", "department": "Legal", "title": "Lead Counsel"},
                "phones": [
                    {"phone": "+16505559999", "type": "Landline"},
                    {"phone": "+19175559999", "type": "Mobile", "wa_id": "19175559999"},
                ],
                "urls": [{"url": "https://www.luckyshrub.com", "type": "Company"}],
            }
        ],
    },
    {
        "type": "interactive",
        "interactive": {
            "type": "button",
            "header": {"type": "image", "image": {"id": "2762702990552401"}},
            "body": {
                "text": "Hi Pablo! Your gardening workshop is scheduled for 9am tomorrow. "
                "Use the buttons if you need to reschedule. Thank you!"
            },
            "footer": {"text": "Lucky Shrub: Your gateway to succulents!\u2122"},
            "action": {
                "buttons": [
                    {"type": "reply", "reply": {"id": "change-button", "title": "Change"}},
                    {"type": "reply", "reply": {"id": "cancel-button", "title": "Cancel"}},
                ]
            },
        },
    },
    {
        "type": "interactive",
        "interactive": {
            "type": "list",
            "header": {"type": "text", "text": "Choose Shipping Option"},
            "body": {"text": "Which shipping option do you prefer?"},
            "footer": {"text": "Lucky Shrub: Your gateway to succulents\u2122"},
            "action": {
                "button": "Shipping Options",
                "sections": [
                    {
                        "title": "I want it ASAP!",
                        "rows": [
                            {
                                "id": "priority_express",
                                "title": "Priority Mail Express",
                                "description": "Next Day to 2 Days",
                            },
                            {
                                "id": "priority_mail",
                                "title": "Priority Mail",
                                "description": "1\u20133 Days",
                            },
                        ],
                    },
                    {
                        "title": "I can wait a bit",
                        "rows": [
                            {
                                "id": "ground_advantage",
                                "title": "USPS Ground Advantage",
                                "description": "2\u20135 Days",
                            },
                            {
                                "id": "media_mail",
                                "title": "Media Mail",
                                "description": "2\u20138 Days",
                            },
                        ],
                    },
                ],
            },
        },
    },
    {
        "type": "interactive",
        "interactive": {
            "type": "cta_url",
            "header": {
                "type": "image",
                "image": {
                    "link": "https://www.luckyshrub.com/assets/lucky-shrub-banner-logo-v1.png"
                },
            },
            "body": {"text": "Tap the button below to see available dates."},
            "footer": {"text": "Dates subject to change."},
            "action": {
                "name": "cta_url",
                "parameters": {
                    "display_text": "See Dates",
                    "url": "https://www.luckyshrub.com?clickID=kqDGWd24Q5TRwoEQTICY7W1JKoXvaZOXWAS7h1P76s0R7Paec4",
                },
            },
        },
    },
    {
        "type": "interactive",
        "interactive": {
            "type": "location_request_message",
            "body": {
                "text": "Let's start with your pickup. You can either manually *enter an "
                "address* or *share your current location*."
            },
            "action": {"name": "send_location"},
        },
    },
    {
        "type": "interactive",
        "interactive": {
            "type": "call_permission_request",
            "body": {
                "text": "We would like to call you to help support your query on Order No: "
                "ON-12853."
            },
            "action": {"name": "call_permission_request"},
        },
    },
    {
        "type": "interactive",
        "interactive": {
            "type": "flow",
            "header": {"type": "text", "text": "Flow message header"},
            "body": {"text": "Flow message body"},
            "footer": {"text": "Flow message footer"},
            "action": {
                "name": "flow",
                "parameters": {
                    "flow_message_version": "3",
                    "flow_token": "AQAAAAACS5FpgQ_cAAAAAD0QI3s.",
                    "flow_id": "1",
                    "flow_cta": "Book!",
                    "flow_action": "navigate",
                    "flow_action_payload": {
                        "screen": "<SCREEN_NAME>",
                        "data": {
                            "product_name": "name",
                            "product_description": "description",
                            "product_price": 100,
                        },
                    },
                },
            },
        },
    },
    {
        "type": "interactive",
        "interactive": {
            "type": "product",
            "body": {"text": "optional body text"},
            "footer": {"text": "optional footer text"},
            "action": {"catalog_id": "367025965434465", "product_retailer_id": "SKU123"},
        },
    },
    {
        "type": "interactive",
        "interactive": {
            "type": "product_list",
            "header": {"type": "text", "text": "header-content"},
            "body": {"text": "body-content"},
            "footer": {"text": "footer-content"},
            "action": {
                "catalog_id": "367025965434465",
                "sections": [
                    {
                        "title": "section-title",
                        "product_items": [
                            {"product_retailer_id": "SKU1"},
                            {"product_retailer_id": "SKU2"},
                        ],
                    }
                ],
            },
        },
    },
    {
        "type": "interactive",
        "interactive": {
            "type": "catalog_message",
            "body": {
                "text": "Hello! Thanks for your interest. Ordering is easy. Just visit our "
                "catalog and add items to purchase."
            },
            "action": {
                "name": "catalog_message",
                "parameters": {"thumbnail_product_retailer_id": "2lc20305pt"},
            },
            "footer": {"text": "Best grocery deals on WhatsApp!"},
        },
    },
    {"type": "template", "template": {"name": "hello_world", "language": {"code": "en_US"}}},
    {
        "type": "template",
        "template": {
            "name": "order_confirmation",
            "language": {"code": "en_US"},
            "components": [
                {
                    "type": "header",
                    "parameters": [
                        {
                            "type": "document",
                            "document": {
                                "link": "https://example.com/invoice.pdf",
                                "filename": "invoice.pdf",
                            },
                        }
                    ],
                },
                {
                    "type": "body",
                    "parameters": [
                        {"type": "text", "text": "Pablo", "parameter_name": "customer_name"},
                        {
                            "type": "currency",
                            "parameter_name": "order_total",
                            "currency": {
                                "fallback_value": "$100.99",
                                "code": "USD",
                                "amount_1000": 100990,
                            },
                        },
                        {
                            "type": "date_time",
                            "parameter_name": "order_date",
                            "date_time": {"fallback_value": "February 25, 1977"},
                        },
                    ],
                },
            ],
        },
    },
    {
        "type": "template",
        "template": {
            "name": "verification_code",
            "language": {"code": "en_US"},
            "components": [
                {"type": "body", "parameters": [{"type": "text", "text": "J$FpnYnP"}]},
                {
                    "type": "button",
                    "sub_type": "url",
                    "index": "0",
                    "parameters": [{"type": "text", "text": "J$FpnYnP"}],
                },
            ],
        },
    },
    {
        "type": "template",
        "template": {
            "name": "flow_template",
            "language": {"code": "en_US", "policy": "deterministic"},
            "components": [
                {
                    "type": "button",
                    "sub_type": "flow",
                    "index": 0,
                    "parameters": [
                        {
                            "type": "action",
                            "action": {"flow_token": "FLOW_TOKEN", "flow_action_data": {"x": 1}},
                        }
                    ],
                }
            ],
        },
    },
    {
        "type": "template",
        "template": {
            "name": "coupon",
            "language": {"code": "en"},
            "components": [
                {
                    "type": "header",
                    "parameters": [
                        {
                            "type": "location",
                            "location": {
                                "latitude": "37.48",
                                "longitude": "-122.14",
                                "name": "Shop",
                                "address": "1 Hacker Way",
                            },
                        }
                    ],
                },
                {
                    "type": "button",
                    "sub_type": "copy_code",
                    "index": 1,
                    "parameters": [{"type": "coupon_code", "coupon_code": "25OFF"}],
                },
                {
                    "type": "button",
                    "sub_type": "quick_reply",
                    "index": 2,
                    "parameters": [{"type": "payload", "payload": "stop"}],
                },
                {
                    "type": "button",
                    "sub_type": "catalog",
                    "index": 0,
                    "parameters": [
                        {"type": "action", "action": {"thumbnail_product_retailer_id": "sku"}}
                    ],
                },
            ],
        },
    },
    {
        "type": "template",
        "template": {
            "name": "mpm",
            "language": {"code": "en"},
            "components": [
                {
                    "type": "button",
                    "sub_type": "mpm",
                    "index": 0,
                    "parameters": [
                        {
                            "type": "action",
                            "action": {
                                "thumbnail_product_retailer_id": "sku",
                                "sections": [
                                    {
                                        "title": "Popular",
                                        "product_items": [{"product_retailer_id": "sku"}],
                                    }
                                ],
                            },
                        }
                    ],
                }
            ],
        },
    },
    {
        "type": "template",
        "template": {
            "name": "lto",
            "language": {"code": "en"},
            "components": [
                {
                    "type": "limited_time_offer",
                    "parameters": [
                        {
                            "type": "limited_time_offer",
                            "limited_time_offer": {"expiration_time_ms": 1209600000},
                        }
                    ],
                }
            ],
        },
    },
]


@pytest.mark.parametrize(
    "payload",
    META_EXAMPLES,
    ids=lambda p: (
        f"{p['type']}-{p[p['type']].get('type', '')}"
        if isinstance(p[p["type"]], dict)
        else p["type"]
    ),
)
def test_meta_examples_round_trip(payload: Payload) -> None:
    message = parse_outbound(copy.deepcopy(payload))
    assert dump(message) == payload


def test_text_dump_is_request_part() -> None:
    assert dump(TextMessage.model_validate(text("hi"))) == {
        "type": "text",
        "text": {"body": "hi", "preview_url": False},
    }


def test_interactive_carousel_shape() -> None:
    cards = [
        {
            "card_index": i,
            "type": "cta_url",
            "header": {"type": "image", "image": {"link": f"https://e.com/{i}.png"}},
            "body": {"text": "Card"},
            "action": {
                "name": "cta_url",
                "parameters": {"display_text": "Buy", "url": "https://e.com"},
            },
        }
        for i in range(2)
    ]
    payload = {
        "type": "interactive",
        "interactive": {"type": "carousel", "body": {"text": "Pick"}, "action": {"cards": cards}},
    }
    assert dump(parse_outbound(payload)) == payload
    payload["interactive"]["action"]["cards"][1]["card_index"] = 0  # type: ignore[index]
    assert "card_index must be unique" in reason(payload)


# ----------------------------------------------------------------- helpers / kinds


@pytest.mark.parametrize(
    ("payload", "kind"),
    [
        (text(), "text"),
        (media("sticker"), "sticker"),
        (buttons(1), "interactive.button"),
        (lst(), "interactive.list"),
        (flow(), "interactive.flow"),
        (template(), "template"),
    ],
)
def test_message_kind_and_is_template(payload: Payload, kind: str) -> None:
    message = parse_outbound(payload)
    assert message_kind(message) == kind
    assert is_template(message) is (kind == "template")


def test_s3_key_found_and_replaced_by_media_id() -> None:
    message = parse_outbound(media("image", s3_key="outbound/uploads/a.png", caption="Look"))
    assert isinstance(message, ImageMessage)
    assert media_s3_key(message) == "outbound/uploads/a.png"
    assert has_unresolved_media(message)
    sent = with_media_id(message, "98765")
    assert dump(sent) == {"type": "image", "image": {"id": "98765", "caption": "Look"}}
    assert media_s3_key(sent) is None
    assert dump(message)["image"]["s3_key"] == "outbound/uploads/a.png"  # original untouched


@pytest.mark.parametrize(
    "payload",
    [
        buttons(
            1,
            header={
                "type": "document",
                "document": {"s3_key": "outbound/k.pdf", "filename": "k.pdf"},
            },
        ),
        template([header({"type": "video", "video": {"s3_key": "outbound/k.mp4"}})]),
    ],
)
def test_s3_key_in_headers(payload: Payload) -> None:
    message = parse_outbound(payload)
    assert media_s3_key(message) in ("outbound/k.pdf", "outbound/k.mp4")
    resolved = with_media_id(message, "42")
    assert media_s3_key(resolved) is None
    assert '"id":"42"' in resolved.model_dump_json(exclude_none=True)


def test_with_media_id_without_s3_key_is_identity() -> None:
    message = parse_outbound(text())
    assert with_media_id(message, "1") is message
    with pytest.raises(ValueError, match="non-empty"):
        with_media_id(message, "")


def test_error_messages_name_field_and_limit() -> None:
    msg = reason(buttons(4))
    assert msg == "interactive.action.buttons: at most 3 reply buttons (Meta limit), got 4"
    assert reason({"type": "fax"}).startswith("type: unsupported value; expected one of 'text'")
    assert reason({"text": {"body": "x"}}).startswith("type: required field is missing")
    assert reason({"type": "text", "text": {"body": "x", "bold": True}}) == (
        "text.bold: unknown field (not part of this object; Meta rejects unknown parameters)"
    )


def test_describe_works_for_variant_models_directly() -> None:
    with pytest.raises(ValidationError) as info:
        InteractiveMessage.model_validate(buttons(4))
    assert describe_validation_error(info.value).startswith("interactive.action.buttons:")
    with pytest.raises(ValidationError) as info2:
        TemplateMessage.model_validate(template([body(tparam(""))]))
    assert describe_validation_error(info2.value) == (
        "template.components[0].parameters[0].text: must not be empty"
    )


def test_mark_read_and_typing_indicator() -> None:
    assert dump(MarkRead(message_id="wamid.A")) == {
        "messaging_product": "whatsapp",
        "status": "read",
        "message_id": "wamid.A",
    }
    assert dump(TypingIndicator(message_id="wamid.A")) == {
        "messaging_product": "whatsapp",
        "status": "read",
        "message_id": "wamid.A",
        "typing_indicator": {"type": "text"},
    }
    with pytest.raises(ValidationError):
        MarkRead(message_id="")
