"""Contacts index, profile edits, segment rules and the contacts/campaigns routes'
refusals, in-process (moto): the parts the integration tests only pass through."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from tests.unit.indexed_table import indexed_state_table
from tests.unit.test_api_core import http_event

PNID = "1098765"
ADMIN = {"sub": "s-1", "username": "ops", "cognito:groups": "[admin]"}
AGENT = {"sub": "s-2", "username": "ana", "cognito:groups": "[agent]"}
DAY = 86400.0
NOW = 1_780_000_000.0


@pytest.fixture
def table(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    with indexed_state_table(monkeypatch, MEDIA_BUCKET="media") as name:
        boto3.client("s3").create_bucket(Bucket="media")
        yield name


def seen(wa_id: str, at: float) -> None:
    from wacloud.store import contacts

    contacts.record_customer_message(
        PNID,
        wa_id,
        at=at,
        profile_name="Ana",
        user_id=None,
        window_seconds=86400,
        free_entry_point=False,
    )


def call(method: str, path: str, claims: dict[str, Any], body: Any = None) -> tuple[int, Any]:
    from wacloud.api.app import handle

    event = http_event(method, path, claims, body)
    if "?" in path:
        path, query = path.split("?", 1)
        event["rawPath"] = path
        event["requestContext"]["http"]["path"] = path
        event["rawQueryString"] = query
        event["queryStringParameters"] = dict(p.split("=", 1) for p in query.split("&"))
    result = handle(event, None)
    return int(result["statusCode"]), json.loads(result["body"])


# ------------------------------------------------------------------ the index


def test_a_customer_message_indexes_the_contact_by_last_seen(table: str) -> None:
    from wacloud.store import contacts, segments

    seen("15550001", NOW - 30)
    seen("15550002", NOW - 20)
    seen("15550001", NOW - 10)  # newer again: moves to the top
    seen("15550002", NOW - 40)  # older, late: changes nothing
    item = contacts.load(PNID, "15550001") or {}
    assert item["gsi2pk"] == f"{PNID}#CONTACTS" and item["gsi2sk"] == f"{NOW - 10:017.6f}"
    found, cursor = segments.contacts_page(PNID, limit=10)
    assert [c["wa_id"] for c in found] == ["15550001", "15550002"] and cursor is None
    first, cursor = segments.contacts_page(PNID, limit=1)
    assert [c["wa_id"] for c in first] == ["15550001"] and cursor
    rest, end = segments.contacts_page(PNID, limit=1, cursor=cursor)
    assert [c["wa_id"] for c in rest] == ["15550002"] and end is None
    old = list(segments.contacts(PNID, seen_before=NOW - 15))
    assert [c["wa_id"] for c in old] == ["15550002"]


def test_a_cursor_from_another_list_is_refused(table: str) -> None:
    from wacloud.store import segments

    seen("15550001", NOW - 30)
    seen("15550002", NOW - 20)
    _, cursor = segments.contacts_page(PNID, limit=1)
    assert cursor
    with pytest.raises(segments.CursorError):
        segments.contacts_page("999", limit=1, cursor=cursor)
    with pytest.raises(segments.CursorError):
        segments.contacts_page(PNID, limit=1, cursor="not base64 json")


def test_profile_edits_merge_tags_and_attributes(table: str) -> None:
    from wacloud.errors import NotFoundError
    from wacloud.store import segments

    seen("15550001", NOW)
    segments.update_profile(
        PNID, "15550001", tags_add=["a", "b"], tags_remove=[], attributes={"x": 1, "y": "z"}
    )
    after = segments.update_profile(
        PNID, "15550001", tags_add=["c"], tags_remove=["a", "b"], attributes={"y": None}
    )
    assert after["tags"] == {"c"} and after["attributes"] == {"x": 1}
    emptied = segments.update_profile(
        PNID, "15550001", tags_add=[], tags_remove=["c"], attributes={}
    )
    assert "tags" not in emptied and emptied["profile_version"] == 3
    with pytest.raises(NotFoundError):
        segments.update_profile(PNID, "15559999", tags_add=["a"], tags_remove=[], attributes={})


# ------------------------------------------------------------------ segment rules


@pytest.mark.parametrize(
    ("rule", "attributes", "expected"),
    [
        ({"name": "n", "op": "gte", "value": 3}, {"n": 3}, True),
        ({"name": "n", "op": "gt", "value": 3}, {"n": "3"}, False),
        ({"name": "n", "op": "lt", "value": 3}, {"n": "2.5"}, True),
        ({"name": "n", "op": "lte", "value": 3}, {"n": "many"}, False),
        ({"name": "n", "op": "eq", "value": "5"}, {"n": 5}, True),
        ({"name": "c", "op": "eq", "value": "Lisbon"}, {"c": "Lisbon"}, True),
        ({"name": "c", "op": "ne", "value": "Lisbon"}, {}, True),
        ({"name": "c", "op": "eq", "value": "Lisbon"}, {}, False),
        ({"name": "d", "op": "before", "value": "2026-06-01"}, {"d": "2026-01-15"}, True),
        ({"name": "d", "op": "after", "value": "2026-06-01"}, {"d": "2026-01-15"}, False),
        ({"name": "d", "op": "before", "value": "30d"}, {"d": NOW - 40 * DAY}, True),
        ({"name": "d", "op": "after", "value": "30d"}, {"d": "not a date"}, False),
        ({"name": "d", "op": "exists"}, {"d": 1}, True),
        ({"name": "d", "op": "exists", "value": False}, {"d": 1}, False),
    ],
)
def test_attribute_filters(
    rule: dict[str, Any], attributes: dict[str, Any], expected: bool
) -> None:
    from wacloud.campaigns.audience import attribute_matches

    assert attribute_matches(rule, attributes, NOW) is expected


def test_segment_tags_and_opt_out() -> None:
    from wacloud.campaigns.audience import matches

    contact = {"tags": {"vip", "lisbon"}, "attributes": {}}
    assert matches({"tags_any": ["vip", "x"], "opted_out": False}, contact, NOW)
    assert not matches({"tags_all": ["vip", "x"]}, contact, NOW)
    assert not matches({"tags_none": ["lisbon"]}, contact, NOW)
    assert not matches({"opted_out": False}, {**contact, "opted_out_marketing": True}, NOW)
    assert matches({"opted_out": None}, {**contact, "opted_out_marketing": True}, NOW)


def test_last_seen_ranges(table: str) -> None:
    from wacloud.campaigns.audience import segment_wa_ids
    from wacloud.campaigns.service import CampaignError

    seen("15550001", NOW - 100 * DAY)
    seen("15550002", NOW - 10 * DAY)
    seen("15550003", NOW - 1 * DAY)
    assert segment_wa_ids(PNID, {"last_seen_before": "90d"}, NOW) == ["15550001"]
    assert segment_wa_ids(PNID, {"last_seen_after": "30d"}, NOW) == ["15550003", "15550002"]
    window = {"last_seen_after": NOW - 50 * DAY, "last_seen_before": "2d"}
    assert segment_wa_ids(PNID, window, NOW) == ["15550002"]
    with pytest.raises(CampaignError):
        segment_wa_ids(PNID, {"last_seen_before": "soon"}, NOW)


# ------------------------------------------------------------------ routes


def test_contact_routes_and_logs_carry_no_number(
    table: str, capsys: pytest.CaptureFixture[str]
) -> None:
    marker = "15550123987"
    seen(marker, NOW)
    status, body = call("GET", f"/v1/numbers/{PNID}/contacts?limit=5", AGENT)
    assert status == 200 and body["items"][0]["wa_id"] == marker
    status, body = call(
        "PATCH",
        f"/v1/numbers/{PNID}/contacts/{marker}",
        ADMIN,
        {"tags_add": ["vip"], "attributes": {"bad name": "x"}},
    )
    assert status == 400 and body["error"]["fields"][0]["field"] == "attributes"
    status, body = call("PATCH", f"/v1/numbers/{PNID}/contacts/{marker}", AGENT, {})
    assert status == 403
    status, body = call("GET", f"/v1/numbers/{PNID}/contacts?cursor=xyz", AGENT)
    assert status == 400 and body["error"]["fields"][0]["field"] == "cursor"
    status, body = call("GET", f"/v1/numbers/{PNID}/contacts/15550000000", AGENT)
    assert status == 404 and "15550000000" not in json.dumps(body)
    captured = capsys.readouterr()
    assert marker not in captured.out + captured.err


def test_campaign_routes_refuse_before_writing(table: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from wacloud.store import tenants

    monkeypatch.setattr(tenants, "waba_for", lambda pnid: None)  # no mirror to check
    status, body = call(
        "POST",
        f"/v1/numbers/{PNID}/campaigns",
        ADMIN,
        {"variants": [{"template": "t"}], "recipients": {"segment": {"tags_any": ["none"]}}},
    )
    assert status == 400 and "no contact matches" in body["error"]["message"]
    assert boto3.client("s3").list_objects_v2(Bucket="media").get("KeyCount") == 0
    status, body = call(
        "POST",
        f"/v1/numbers/{PNID}/campaigns",
        ADMIN,
        {"variants": [{"template": "t"}], "recipients": {"csv": "name\nAna\n"}},
    )
    assert status == 400 and "wa_id" in body["error"]["message"]
    assert boto3.client("s3").list_objects_v2(Bucket="media").get("KeyCount") == 0
    status, body = call("GET", f"/v1/numbers/{PNID}/campaigns", ADMIN)
    assert status == 200 and body == {"items": [], "next_cursor": None}
    status, _ = call("GET", f"/v1/numbers/{PNID}/campaigns", AGENT)
    assert status == 403
