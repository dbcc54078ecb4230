"""Template management (docs/meta/templates.md#management) and template sends
(docs/meta/templates.md#sending) over HTTP."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest

from local.emulator import Emulator

from .conftest import USER, WABA, Receiver, assert_error, send

PATH = f"/v23.0/{WABA}/message_templates"
URL_BUTTON = {"type": "URL", "text": "u", "url": "https://e.com"}


def create(client: httpx.Client, **over: Any) -> httpx.Response:
    body: dict[str, Any] = {
        "name": "order_update",
        "language": "en_US",
        "category": "UTILITY",
        "components": [{"type": "BODY", "text": "Order {{1}} shipped"}],
    }
    body.update(over)
    return client.post(PATH, json=body)


def test_create_pending_then_approved_with_webhooks(
    emu: Emulator, client: httpx.Client, receiver: Receiver
) -> None:
    r = create(client)
    assert r.status_code == 200
    assert r.json()["status"] == "PENDING" and r.json()["category"] == "UTILITY"
    events = emu.wait_for(
        lambda: (
            [c["value"]["event"] for c in receiver.changes("message_template_status_update")]
            if len(receiver.changes("message_template_status_update")) >= 2
            else None
        )
    )
    assert events == ["PENDING", "APPROVED"]
    value = receiver.changes("message_template_status_update")[1]["value"]
    assert value["message_template_id"] == int(r.json()["id"])
    assert value["message_template_name"] == "order_update"
    entry = receiver.payloads()[-1]["entry"][0]
    assert isinstance(entry["time"], int)  # WABA-level fields carry entry.time
    assert "metadata" not in value


def test_rejected_review(emu: Emulator, client: httpx.Client, receiver: Receiver) -> None:
    emu.set_template_review("promo_one", "REJECTED", "PROMOTIONAL")
    create(client, name="promo_one")
    emu.wait_for(
        lambda: any(
            c["value"]["event"] == "REJECTED"
            for c in receiver.changes("message_template_status_update")
        )
    )
    got = client.get(PATH, params={"name": "promo_one"}).json()["data"][0]
    assert got["status"] == "REJECTED"


@pytest.mark.parametrize(
    ("field", "ok", "bad", "subcode"),
    [
        ("name regex", {"name": "ok_name_1"}, {"name": "Bad-Name"}, None),
        ("name<=512", {"name": "a" * 512}, {"name": "a" * 513}, None),
        ("category enum", {"category": "marketing"}, {"category": "SPAM"}, None),
        (
            "body<=1024",
            {"components": [{"type": "BODY", "text": "a" * 1024}]},
            {"components": [{"type": "BODY", "text": "a" * 1025}]},
            2388040,
        ),
        (
            "no leading/trailing variable",
            {"components": [{"type": "BODY", "text": "Hi {{1}}!"}]},
            {"components": [{"type": "BODY", "text": "{{1}} hi"}]},
            2388299,
        ),
        (
            "header<=60 and 1 variable",
            {
                "components": [
                    {"type": "HEADER", "format": "TEXT", "text": "Hi {{1}}"},
                    {"type": "BODY", "text": "b"},
                ]
            },
            {
                "components": [
                    {"type": "HEADER", "format": "TEXT", "text": "{{1}} {{2}}"},
                    {"type": "BODY", "text": "b"},
                ]
            },
            2388047,
        ),
        (
            "footer<=60",
            {"components": [{"type": "BODY", "text": "b"}, {"type": "FOOTER", "text": "f" * 60}]},
            {"components": [{"type": "BODY", "text": "b"}, {"type": "FOOTER", "text": "f" * 61}]},
            2388040,
        ),
        (
            "button label<=25",
            {
                "components": [
                    {"type": "BODY", "text": "b"},
                    {"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": "x" * 25}]},
                ]
            },
            {
                "components": [
                    {"type": "BODY", "text": "b"},
                    {"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": "x" * 26}]},
                ]
            },
            2388040,
        ),
        (
            "URL buttons<=2",
            {
                "components": [
                    {"type": "BODY", "text": "b"},
                    {"type": "BUTTONS", "buttons": [URL_BUTTON] * 2},
                ]
            },
            {
                "components": [
                    {"type": "BODY", "text": "b"},
                    {"type": "BUTTONS", "buttons": [URL_BUTTON] * 3},
                ]
            },
            None,
        ),
        (
            "URL variable only at end",
            {
                "components": [
                    {"type": "BODY", "text": "b"},
                    {
                        "type": "BUTTONS",
                        "buttons": [{"type": "URL", "text": "u", "url": "https://e.com/{{1}}"}],
                    },
                ]
            },
            {
                "components": [
                    {"type": "BODY", "text": "b"},
                    {
                        "type": "BUTTONS",
                        "buttons": [{"type": "URL", "text": "u", "url": "https://e.com/{{1}}/x"}],
                    },
                ]
            },
            None,
        ),
        (
            "quick replies grouped",
            {
                "components": [
                    {"type": "BODY", "text": "b"},
                    {
                        "type": "BUTTONS",
                        "buttons": [
                            {"type": "QUICK_REPLY", "text": "a"},
                            {"type": "QUICK_REPLY", "text": "b"},
                            {"type": "URL", "text": "u", "url": "https://e.com"},
                        ],
                    },
                ]
            },
            {
                "components": [
                    {"type": "BODY", "text": "b"},
                    {
                        "type": "BUTTONS",
                        "buttons": [
                            {"type": "QUICK_REPLY", "text": "a"},
                            {"type": "URL", "text": "u", "url": "https://e.com"},
                            {"type": "QUICK_REPLY", "text": "b"},
                        ],
                    },
                ]
            },
            None,
        ),
        (
            "buttons<=10",
            {
                "components": [
                    {"type": "BODY", "text": "b"},
                    {"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": "q"}] * 10},
                ]
            },
            {
                "components": [
                    {"type": "BODY", "text": "b"},
                    {"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": "q"}] * 11},
                ]
            },
            None,
        ),
        (
            "named params lowercase",
            {
                "parameter_format": "named",
                "components": [{"type": "BODY", "text": "Hi {{first_name}}!"}],
            },
            {
                "parameter_format": "named",
                "components": [{"type": "BODY", "text": "Hi {{Name1}}!"}],
            },
            2388072,
        ),
    ],
)
def test_create_rules(
    client: httpx.Client, field: str, ok: dict[str, Any], bad: dict[str, Any], subcode: int | None
) -> None:
    assert create(client, **ok).status_code == 200, field
    bad = {"name": "other_name", **bad}
    err = assert_error(create(client, **bad), 100, 400)
    if subcode is not None:
        assert err["error_subcode"] == subcode


def test_duplicate_name_language(client: httpx.Client) -> None:
    assert create(client).status_code == 200
    assert create(client, language="es").status_code == 200
    err = assert_error(create(client), 100, 400)
    assert err["error_subcode"] == 2388024


def test_list_paging_fields_and_cursors(emu: Emulator, client: httpx.Client) -> None:
    for i in range(5):
        emu.add_template(f"t{i}")
    r = client.get(PATH, params={"limit": 2, "fields": "name,status"}).json()
    assert [t["name"] for t in r["data"]] == ["t0", "t1"]
    assert set(r["data"][0]) == {"name", "status", "id"}
    after = r["paging"]["cursors"]["after"]
    assert base64.b64decode(after)  # base64 cursor
    nxt = httpx.get(r["paging"]["next"], headers=client.headers).json()
    assert [t["name"] for t in nxt["data"]] == ["t2", "t3"]
    last = client.get(PATH, params={"limit": 2, "after": nxt["paging"]["cursors"]["after"]})
    assert [t["name"] for t in last.json()["data"]] == ["t4"]
    assert "next" not in last.json()["paging"]


def test_delete_by_name_and_hsm_id(emu: Emulator, client: httpx.Client) -> None:
    a = emu.add_template("greet", language="en_US")
    emu.add_template("greet", language="es")
    b = emu.add_template("bye")
    assert client.delete(PATH, params={"name": "greet", "hsm_id": a.id}).json() == {"success": True}
    assert [t["language"] for t in emu.templates() if t["name"] == "greet"] == ["es"]
    assert client.delete(PATH, params={"name": "greet"}).json() == {"success": True}
    assert_error(client.delete(PATH, params={"name": "greet"}), 100, 400)
    assert_error(client.delete(PATH, params={"hsm_ids": f'["{b.id}","999"]'}), 100, 400)
    assert any(t["name"] == "bye" for t in emu.templates())  # nothing deleted
    assert_error(client.delete(PATH, params={"hsm_ids": f'["{b.id}"]', "name": "bye"}), 100, 400)
    assert client.delete(PATH, params={"hsm_ids": f'["{b.id}"]'}).json() == {"success": True}
    # an approved template's name is blocked for 30 days
    assert_error(create(client, name="bye"), 100, 400)
    emu.clock.advance(30 * 86400 + 1)
    assert create(client, name="bye").status_code == 200


def _tsend(
    client: httpx.Client,
    name: str,
    components: list[dict[str, Any]] | None = None,
    version: str = "v22.0",
    lang: str = "en_US",
) -> httpx.Response:
    t: dict[str, Any] = {"name": name, "language": {"code": lang}}
    if components is not None:
        t["components"] = components
    return send(client, {"to": USER, "type": "template", "template": t}, version=version)


def body_params(*values: str, named: list[str] | None = None) -> list[dict[str, Any]]:
    params = []
    for i, v in enumerate(values):
        p: dict[str, Any] = {"type": "text", "text": v}
        if named:
            p["parameter_name"] = named[i]
        params.append(p)
    return [{"type": "body", "parameters": params}]


def test_template_send_checks(emu: Emulator, client: httpx.Client) -> None:
    emu.add_template("ship", body="Order {{1}} ships {{2}}", category="UTILITY")
    assert _tsend(client, "ship", body_params("A1", "today")).status_code == 200
    assert_error(_tsend(client, "nope"), 132001, 404)
    assert_error(_tsend(client, "ship", body_params("A1"), lang="fr"), 132001, 404)
    assert_error(_tsend(client, "ship", body_params("A1")), 132000, 400)
    # v23+: parameter problems come back as 132018 (docs/meta/templates.md#management)
    assert_error(_tsend(client, "ship", body_params("A1"), version="v23.0"), 132018, 400)
    bad_type = [
        {
            "type": "body",
            "parameters": [
                {"type": "image", "image": {"link": "https://e.com/a.jpg"}},
                {"type": "text", "text": "x"},
            ],
        }
    ]
    assert_error(_tsend(client, "ship", bad_type), 132012, 400)
    emu.add_template("pending_one", status="PENDING")
    assert_error(_tsend(client, "pending_one"), 132001, 404)
    emu.add_template("paused_one", status="PAUSED")
    assert_error(_tsend(client, "paused_one"), 132015, 400)
    emu.add_template("disabled_one", status="DISABLED")
    assert_error(_tsend(client, "disabled_one"), 132016, 400)


def test_named_parameters(emu: Emulator, client: httpx.Client) -> None:
    emu.add_template(
        "named", body="Hi {{first_name}}, order {{order_id}}!", parameter_format="NAMED"
    )
    ok = body_params("42", "Ann", named=["order_id", "first_name"])  # any order
    assert _tsend(client, "named", ok).status_code == 200
    assert_error(_tsend(client, "named", body_params("Ann", "42")), 132012, 400)
    assert_error(
        _tsend(client, "named", body_params("Ann", "42", named=["first_name", "x"])), 132012, 400
    )


def test_header_and_button_parameters(emu: Emulator, client: httpx.Client) -> None:
    emu.add_template(
        "rich",
        components=[
            {"type": "HEADER", "format": "IMAGE"},
            {"type": "BODY", "text": "See {{1}} now"},
            {
                "type": "BUTTONS",
                "buttons": [{"type": "URL", "text": "Track", "url": "https://e.com/t/{{1}}"}],
            },
        ],
    )
    header = {
        "type": "header",
        "parameters": [{"type": "image", "image": {"link": "https://e.com/a.jpg"}}],
    }
    button = {
        "type": "button",
        "sub_type": "url",
        "index": 0,
        "parameters": [{"type": "text", "text": "abc"}],
    }
    good = [header, *body_params("this"), button]
    assert _tsend(client, "rich", good).status_code == 200
    assert_error(_tsend(client, "rich", [header, *body_params("this")]), 132000, 400)
    wrong_header = {"type": "header", "parameters": [{"type": "text", "text": "t"}]}
    assert_error(_tsend(client, "rich", [wrong_header, *body_params("this"), button]), 132012, 400)
    assert_error(_tsend(client, "rich", [header, *body_params("x" * 1025), button]), 100, 400)


def test_template_pricing_and_window(
    emu: Emulator, client: httpx.Client, receiver: Receiver
) -> None:
    emu.add_template("promo", category="MARKETING")
    emu.add_template("util", category="UTILITY")
    r1 = _tsend(client, "promo").json()["messages"][0]["id"]
    emu.customer_text(USER, "hi")
    r2 = _tsend(client, "util").json()["messages"][0]["id"]
    emu.wait_for(
        lambda: {s["id"] for s in receiver.statuses() if s["status"] == "sent"} >= {r1, r2}
    )
    sent = {s["id"]: s for s in receiver.statuses() if s["status"] == "sent"}
    assert sent[r1]["pricing"] == {
        "billable": True,
        "pricing_model": "PMP",
        "type": "regular",
        "category": "marketing",
    }
    assert sent[r1]["conversation"]["origin"]["type"] == "marketing"
    assert sent[r2]["pricing"]["type"] == "free_customer_service"
    assert sent[r2]["pricing"]["category"] == "utility"


def test_get_template_by_id(emu: Emulator, client: httpx.Client) -> None:
    t = emu.add_template("one")
    assert client.get(f"/v23.0/{t.id}", params={"fields": "status"}).json() == {
        "status": "APPROVED",
        "id": t.id,
    }
