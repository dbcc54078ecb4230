"""Contacts through the operator API on the local stack: a customer who writes in is
listed (newest activity first, by tag), shown, tagged, given attributes, opted out,
blocked at Meta (the emulator's block list) and unblocked; refusals are JSON."""

from __future__ import annotations

import time
from typing import Any

import pytest

from local.emulator import DEFAULT_PHONE_NUMBER_ID as PNID
from local.stack import LocalStack
from local.waiting import wait_for
from tests.integration.test_outbound import emulator

pytestmark = pytest.mark.integration


def writes_in(stack: LocalStack, wa_id: str, text: str = "hello") -> None:
    """The customer writes to the number; waits until the contact has it recorded.

    Meta's timestamps are whole seconds and the contacts list is ordered by them, so
    each message starts in a second of its own: strictly newer than any before it.
    """
    from wacloud.store import contacts

    time.sleep(1.01 - time.time() % 1)
    sent_second = int(time.time())
    emulator(stack).customer_text(wa_id, text, phone_number_id=PNID)
    wait_for(
        "customer message recorded",
        lambda: float((contacts.load(PNID, wa_id) or {}).get("last_seen", 0)) >= sent_second,
        timeout=60,
    )


def listed(api: Any, **params: Any) -> list[str]:
    response = api("agent").get(f"/v1/numbers/{PNID}/contacts", params=params)
    assert response.status_code == 200, response.text
    return [c["wa_id"] for c in response.json()["items"]]


def test_contacts_listed_newest_first_edited_and_filtered_by_tag(
    stack: LocalStack, api: Any, customer: str
) -> None:
    other = str(int(customer) + 500)
    writes_in(stack, customer)
    writes_in(stack, other)
    assert listed(api, limit=200).index(other) < listed(api, limit=200).index(customer)
    writes_in(stack, customer, "me again")
    assert listed(api, limit=2)[0] == customer  # the newest activity first

    shown = api("agent").get(f"/v1/numbers/{PNID}/contacts/{customer}")
    assert shown.status_code == 200, shown.text
    assert shown.json()["window_open"] is True and shown.json()["tags"] == []

    tag = f"vip{customer[-5:]}"
    patched = api("admin").patch(
        f"/v1/numbers/{PNID}/contacts/+{customer}",
        json={
            "tags_add": [tag, "lisbon"],
            "attributes": {"city": "Lisbon", "visits": 7, "renewal": "2026-03-01"},
        },
    )
    assert patched.status_code == 200, patched.text
    body = patched.json()
    assert body["tags"] == sorted([tag, "lisbon"])
    assert body["attributes"] == {"city": "Lisbon", "visits": 7, "renewal": "2026-03-01"}
    assert listed(api, tag=tag) == [customer]

    again = api("admin").patch(
        f"/v1/numbers/{PNID}/contacts/{customer}",
        json={"tags_remove": ["lisbon"], "attributes": {"city": None}, "opted_out": True},
    )
    assert again.status_code == 200, again.text
    body = again.json()
    assert body["tags"] == [tag] and body["attributes"] == {"visits": 7, "renewal": "2026-03-01"}
    assert body["opted_out"] is True and body["opted_out_reason"] == "operator:admin-user"
    back_in = api("admin").patch(
        f"/v1/numbers/{PNID}/contacts/{customer}", json={"opted_out": False}
    )
    assert back_in.json()["opted_out"] is False

    # Paging: one at a time, every contact once, in order.
    first = api("agent").get(f"/v1/numbers/{PNID}/contacts", params={"limit": 1}).json()
    assert len(first["items"]) == 1 and first["next_cursor"]
    second = api("agent").get(
        f"/v1/numbers/{PNID}/contacts", params={"limit": 1, "cursor": first["next_cursor"]}
    )
    assert second.json()["items"][0]["wa_id"] != first["items"][0]["wa_id"]


def test_contact_refusals(stack: LocalStack, api: Any, customer: str) -> None:
    writes_in(stack, customer)
    path = f"/v1/numbers/{PNID}/contacts/{customer}"
    assert api("agent").patch(path, json={"tags_add": ["x"]}).error_code == "forbidden"
    assert api(None).get(path).status_code == 401
    assert api("viewer").get(path).error_code == "forbidden"
    missing = api("agent").get(f"/v1/numbers/{PNID}/contacts/19999999999")
    assert missing.status_code == 404 and missing.error_code == "not_found"
    bad = api("admin").patch(path, json={"tags_add": ["no spaces"], "colour": "red"})
    assert bad.status_code == 400 and bad.error_code == "invalid_request"
    fields = {f["field"] for f in bad.json()["error"]["fields"]}
    assert {"tags_add.0", "colour"} <= fields
    assert "no spaces" not in bad.text  # fields are named, values never echoed
    both = api("admin").patch(path, json={"tags_add": ["a"], "tags_remove": ["a"]})
    assert both.status_code == 400
    cursor = api("agent").get(f"/v1/numbers/{PNID}/contacts", params={"cursor": "bm9wZQ"})
    assert cursor.status_code == 400 and cursor.json()["error"]["fields"][0]["field"] == "cursor"


def test_block_and_unblock_here_and_at_meta(stack: LocalStack, api: Any, customer: str) -> None:
    from wacloud.store import contacts

    emu = emulator(stack)
    writes_in(stack, customer)  # Meta blocks only users who wrote in the last 24 h
    blocked = api("admin").post(
        f"/v1/numbers/{PNID}/contacts/{customer}/block", json={"reason": "abuse"}
    )
    assert blocked.status_code == 200, blocked.text
    assert blocked.json()["blocked"] is True and blocked.json()["meta_blocked"] is True
    assert customer in emu.core.phone_number(PNID).blocklist
    assert (contacts.load(PNID, customer) or {})["blocked_by"] == "admin-user"
    shown = api("agent").get(f"/v1/numbers/{PNID}/contacts/{customer}").json()
    assert shown["blocked"] is True and shown["blocked_reason"] == "abuse"

    unblocked = api("admin").post(f"/v1/numbers/{PNID}/contacts/{customer}/unblock")
    assert unblocked.status_code == 200, unblocked.text
    assert unblocked.json()["blocked"] is False
    assert customer not in emu.core.phone_number(PNID).blocklist
    assert (
        api("agent").post(f"/v1/numbers/{PNID}/contacts/{customer}/block").error_code == "forbidden"
    )
