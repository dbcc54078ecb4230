"""Throughput (docs/meta/throughput.md), webhook modes (docs/meta/webhooks.md#other-fields,
docs/meta/webhooks.md#delivery), fault injection and the control API."""

from __future__ import annotations

import time

import httpx

from local.emulator import Emulator

from .conftest import PNID, USER, Receiver, assert_error, send


def text(to: str = USER) -> dict[str, object]:
    return {"to": to, "type": "text", "text": {"body": "x"}}


def test_throughput_130429(emu: Emulator, client: httpx.Client) -> None:
    emu.clock.freeze()
    emu.set_throughput(5)
    for i in range(5):
        assert send(client, text(f"1555200{i:04d}")).status_code == 200
    err = assert_error(send(client, text("15550009999")), 130429, 400)
    assert err["error_data"]["details"] == "Cloud API message throughput has been reached."
    emu.clock.advance(1.0)
    assert send(client, text("15550009999")).status_code == 200


def test_pair_rate_131056_burst_45(emu: Emulator, client: httpx.Client) -> None:
    emu.clock.freeze()
    emu.customer_text(USER, "hi")
    for _ in range(45):
        assert send(client, text()).status_code == 200
    assert_error(send(client, text()), 131056, 400)
    assert send(client, text("15557654321")).status_code == 200  # other users unaffected
    emu.clock.advance(6)  # one message per 6 s after the burst
    assert send(client, text()).status_code == 200
    assert_error(send(client, text()), 131056, 400)


def test_messaging_limit_unique_users(
    emu: Emulator, client: httpx.Client, receiver: Receiver
) -> None:
    emu.config.messaging_limit = 2
    emu.add_template("hello", category="MARKETING")
    ids = []
    for i in range(3):
        r = send(
            client,
            {
                "to": f"1555111{i:04d}",
                "type": "template",
                "template": {"name": "hello", "language": {"code": "en_US"}},
            },
        )
        ids.append(r.json()["messages"][0]["id"])
    emu.wait_for(lambda: {s["id"] for s in receiver.statuses()} >= set(ids))
    first = {s["id"]: s for s in reversed(receiver.statuses())}
    assert [first[i]["status"] for i in ids] == ["sent", "sent", "failed"]
    assert first[ids[2]]["errors"][0]["code"] == emu.config.messaging_limit_error_code


def test_batching_merges_statuses(emu: Emulator, receiver: Receiver) -> None:
    emu.dispatcher.cfg.batch_size = 10
    emu.dispatcher.hold()
    emu.customer_text(USER, "one")
    emu.customer_text(USER, "two")
    emu.user_preferences(USER, "stop")
    emu.dispatcher.release()
    emu.wait_for(lambda: receiver.received)
    emu.wait_for(emu.webhooks_idle)
    assert len(receiver.received) == 1
    changes = receiver.payloads()[0]["entry"][0]["changes"]
    assert [c["field"] for c in changes] == ["messages", "user_preferences"]
    assert [m["text"]["body"] for m in changes[0]["value"]["messages"]] == ["one", "two"]
    pref = changes[1]["value"]["user_preferences"][0]
    assert pref["value"] == "stop" and pref["category"] == "marketing_messages"


def test_duplicates_and_out_of_order(emu: Emulator, receiver: Receiver) -> None:
    emu.dispatcher.cfg.duplicate_rate = 1.0
    emu.customer_text(USER, "dup")
    emu.wait_for(lambda: any(w["duplicate"] for w in emu.webhooks()))
    assert len(receiver.received) == 2
    assert receiver.received[0][1] == receiver.received[1][1]
    emu.dispatcher.cfg.duplicate_rate = 0.0
    emu.dispatcher.cfg.out_of_order = True
    receiver.received.clear()
    emu.dispatcher.hold()
    bodies = [f"m{i}" for i in range(8)]
    for b in bodies:
        emu.customer_text(USER, b)
    emu.dispatcher.release()
    emu.wait_for(lambda: len(receiver.received) >= 8)
    got = [c["value"]["messages"][0]["text"]["body"] for c in receiver.changes("messages")]
    assert sorted(got) == sorted(bodies) and got != bodies


def test_inbound_types(emu: Emulator, receiver: Receiver) -> None:
    out = emu.customer_text(USER, "hi")
    emu.customer_button_reply(USER, "yes", "Yes", context_id=out)
    emu.customer_list_reply(USER, "row1", "Row", "desc")
    emu.customer_flow_reply(USER, '{"flow_token":"t"}')
    emu.customer_reaction(USER, out, None)
    emu.customer_sends(USER, {"type": "unsupported"})
    emu.customer_sends(
        USER,
        {
            "type": "system",
            "system": {"body": "changed", "wa_id": "15550001111", "type": "user_changed_number"},
        },
    )
    values = emu.wait_for(
        lambda: (
            [c["value"] for c in receiver.changes("messages")]
            if len(receiver.changes("messages")) >= 7
            else None
        )
    )
    msgs = [v["messages"][0] for v in values]
    assert msgs[1]["interactive"]["button_reply"] == {"id": "yes", "title": "Yes"}
    assert msgs[1]["context"]["id"] == out
    assert msgs[2]["interactive"]["list_reply"]["description"] == "desc"
    assert msgs[3]["interactive"]["nfm_reply"]["body"] == "Sent"
    assert "emoji" not in msgs[4]["reaction"]  # removal omits emoji
    assert msgs[5]["errors"][0]["code"] == 131051
    assert "contacts" not in values[6]  # system messages come without contacts


def test_other_fields(emu: Emulator, receiver: Receiver) -> None:
    emu.add_template("t1")
    emu.template_quality_update("t1", "YELLOW")
    emu.template_category_update("t1", "MARKETING")
    emu.account_update("ACCOUNT_VIOLATION", violation_info={"violation_type": "SPAM"})
    emu.phone_number_quality_update("THROUGHPUT_UPGRADE", current_limit="TIER_UNLIMITED")
    emu.call_event(USER, "connect", session={"sdp": "v=0", "sdp_type": "offer"})
    emu.wait_for(lambda: len(receiver.received) >= 5)
    fields = [c["field"] for c in receiver.changes()]
    assert fields == [
        "message_template_quality_update",
        "template_category_update",
        "account_update",
        "phone_number_quality_update",
        "calls",
    ]
    assert receiver.changes("calls")[0]["value"]["calls"][0]["id"].startswith("wacid.")


def test_forced_errors_and_rates(emu: Emulator, client: httpx.Client) -> None:
    emu.customer_text(USER, "hi")
    emu.faults.force_error(131000, times=2, path_contains="/messages")
    assert_error(send(client, text()), 131000, 500)
    assert_error(send(client, text()), 131000, 500)
    assert send(client, text()).status_code == 200
    assert client.get(f"/v23.0/{PNID}").status_code == 200  # path filter
    emu.faults.set_error_rate(1.0, path_contains="/messages", code=2)
    assert_error(send(client, text()), 2, 503)
    emu.faults.clear()
    assert send(client, text()).status_code == 200


def test_latency_and_timeout(emu: Emulator, client: httpx.Client) -> None:
    emu.faults.set_latency_ms(80)
    t0 = time.monotonic()
    client.get(f"/v23.0/{PNID}")
    assert time.monotonic() - t0 >= 0.08
    emu.faults.set_latency_ms(None)
    emu.faults.add_timeout(hold_seconds=1.0)
    try:
        client.get(f"/v23.0/{PNID}", timeout=0.2)
        raise AssertionError("expected a timeout")
    except httpx.TimeoutException:
        pass


def test_control_api(emu: Emulator, receiver: Receiver) -> None:
    base = f"{emu.url}/_emulator"
    r = httpx.post(f"{base}/customer/text", json={"wa_id": USER, "body": "via control"})
    assert r.json()["id"].startswith("wamid.")
    emu.wait_for(lambda: receiver.received)
    assert httpx.post(f"{base}/templates", json={"name": "ctl"}).json()["status"] == "APPROVED"
    before = emu.clock.now()
    httpx.post(f"{base}/clock/advance", json={"seconds": 100})
    assert emu.clock.now() - before >= 100
    httpx.post(f"{base}/faults/force_error", json={"code": 4, "times": 1})
    r = httpx.get(f"{emu.url}/v23.0/{PNID}", headers={"Authorization": "Bearer test-token"})
    assert_error(r, 4, 400)
    httpx.post(f"{base}/users/not_on_whatsapp", json={"wa_id": "15550000042"})
    assert "15550000042" in emu.core.state.not_on_whatsapp
    assert httpx.get(f"{base}/requests").json()["data"][-1]["status"] == 400
    assert httpx.get(f"{base}/webhooks").json()["data"][0]["status"] == 200
    assert httpx.get(f"{base}/nope").status_code == 404
