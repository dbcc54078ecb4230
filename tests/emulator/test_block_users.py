"""Block Users API in the emulator: Meta's shapes, limits and per-user errors
(docs/meta/blocking.md)."""

from __future__ import annotations

import httpx
import pytest

from local.emulator import Emulator
from local.emulator.handlers import account
from tests.emulator.conftest import PNID, USER, assert_error, send


def block(client: httpx.Client, users: list[str], method: str = "POST") -> httpx.Response:
    return client.request(
        method,
        f"/v23.0/{PNID}/block_users",
        json={"messaging_product": "whatsapp", "block_users": [{"user": u} for u in users]},
    )


def users(n: int) -> list[str]:
    return [f"1555800{i:04d}" for i in range(n)]


def test_all_blocked_is_200_without_error(emu: Emulator, client: httpx.Client) -> None:
    emu.customer_text(USER, "hi")
    r = block(client, [USER])
    assert r.status_code == 200
    assert "error" not in r.json() and "failed_users" not in r.json()["block_users"]


def test_partial_failure_is_400_with_139100_and_the_lists(
    emu: Emulator, client: httpx.Client
) -> None:
    emu.customer_text(USER, "hi")
    r = block(client, [USER, "15557770001"])
    body = assert_error(r, 139100, 400)
    lists = r.json()["block_users"]
    assert body["error_data"]["details"]
    assert lists["added_users"] == [{"input": USER, "wa_id": USER}]
    (failed,) = lists["failed_users"]
    assert failed["input"] == "15557770001" and failed["errors"][0]["code"] == 139100
    assert "24 hours" in failed["errors"][0]["error_data"]["details"]


def test_unblock_not_blocked_fails_per_user(emu: Emulator, client: httpx.Client) -> None:
    r = block(client, [USER], method="DELETE")
    assert r.status_code == 400
    assert r.json()["block_users"]["removed_users"] == []
    assert r.json()["block_users"]["failed_users"][0]["wa_id"] == USER


def test_sending_to_blocked_user_is_130403_and_unblock_restores(
    emu: Emulator, client: httpx.Client
) -> None:
    emu.customer_text(USER, "hi")
    block(client, [USER])
    assert_error(send(client, {"to": USER, "type": "text", "text": {"body": "x"}}), 130403, 400)
    assert block(client, [USER], method="DELETE").status_code == 200
    assert send(client, {"to": USER, "type": "text", "text": {"body": "x"}}).status_code == 200


def test_a_business_cannot_be_blocked(emu: Emulator, client: httpx.Client) -> None:
    business = emu.core.phone_number(PNID).display_phone_number
    r = block(client, [business])
    assert r.status_code == 400
    assert (
        "business"
        in r.json()["block_users"]["failed_users"][0]["errors"][0]["error_data"]["details"]
    )


def test_at_most_1000_per_request(emu: Emulator, client: httpx.Client) -> None:
    assert_error(block(client, users(1001)), 100, 400)
    assert block(client, users(1000)).status_code == 400  # per-user failures, not refused


def test_blocklist_limit_is_139101(
    emu: Emulator, client: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(account, "BLOCKLIST_MAX", 2)
    batch = users(3)
    for u in batch:
        emu.customer_text(u, "hi")
    r = block(client, batch)
    assert r.status_code == 400
    lists = r.json()["block_users"]
    assert len(lists["added_users"]) == 2
    assert lists["failed_users"][0]["errors"][0]["code"] == 139101


def test_list_pages_forward_and_back(emu: Emulator, client: httpx.Client) -> None:
    batch = users(5)
    for u in batch:
        emu.customer_text(u, "hi")
    block(client, batch)
    first = client.get(f"/v23.0/{PNID}/block_users", params={"limit": 2}).json()
    assert [d["wa_id"] for d in first["data"]] == batch[:2]
    assert "next" in first["paging"] and "previous" not in first["paging"]
    seen = [d["wa_id"] for d in first["data"]]
    after = first["paging"]["cursors"]["after"]
    while True:
        page = client.get(f"/v23.0/{PNID}/block_users", params={"limit": 2, "after": after}).json()
        seen += [d["wa_id"] for d in page["data"]]
        if "next" not in page["paging"]:
            break
        after = page["paging"]["cursors"]["after"]
    assert seen == batch
    back = client.get(
        f"/v23.0/{PNID}/block_users",
        params={"limit": 2, "before": page["paging"]["cursors"]["before"]},
    ).json()
    assert [d["wa_id"] for d in back["data"]] == batch[2:4]
    assert_error(client.get(f"/v23.0/{PNID}/block_users", params={"limit": 0}), 100, 400)


def test_list_changed_while_paging_is_139102(emu: Emulator, client: httpx.Client) -> None:
    batch = users(3)
    for u in batch:
        emu.customer_text(u, "hi")
    block(client, batch)
    first = client.get(f"/v23.0/{PNID}/block_users", params={"limit": 1}).json()
    block(client, [batch[2]], method="DELETE")
    after = first["paging"]["cursors"]["after"]
    resp = client.get(f"/v23.0/{PNID}/block_users", params={"limit": 1, "after": after})
    assert_error(resp, 139102, 400)


def test_a_blocked_user_expires_out_of_the_24h_window_but_stays_blocked(
    emu: Emulator, client: httpx.Client
) -> None:
    emu.customer_text(USER, "hi")
    block(client, [USER])
    emu.clock.advance(2 * 86400)
    listed = client.get(f"/v23.0/{PNID}/block_users").json()
    assert [d["wa_id"] for d in listed["data"]] == [USER]
    # Unblocking has no 24 h rule.
    assert block(client, [USER], method="DELETE").status_code == 200
