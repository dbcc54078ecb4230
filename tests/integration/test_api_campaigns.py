"""Campaigns through the operator API on the local stack: created from a segment of
known contacts (tags, a numeric and a date attribute filter, last seen more than 90
days ago) and from an inline CSV, steered (pause, resume, cancel), and run by the real
QueueProcessor -> SenderFunction -> emulator -> status webhooks until `completed`,
with per-variant figures that match what the emulator sent and reported.

Runs on its own stack with the QueueProcessor's period at 5 s (test_campaigns.py's
`campaign_stack`), firing the schedule itself.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from local.stack import LocalStack, use_stack_in_this_process
from local.waiting import wait_for
from tests.integration.test_campaigns import (
    TEMPLATES,
    campaign_sends,
    campaign_stack,  # noqa: F401 (a module fixture, used by name)
    fire,
    numbers,
    tenant,
    variant,
)
from tests.integration.test_outbound import emulator

pytestmark = pytest.mark.integration
DAY = 86400.0


@pytest.fixture
def stack(campaign_stack: LocalStack) -> Iterator[LocalStack]:  # noqa: F811
    use_stack_in_this_process(campaign_stack)
    yield campaign_stack


def known_contact(pnid: str, wa_id: str, last_seen: float) -> None:
    """A customer who wrote to the number at `last_seen` (the inbound path's write)."""
    from wacloud.store import contacts

    contacts.record_customer_message(
        pnid,
        wa_id,
        at=last_seen,
        profile_name=None,
        user_id=None,
        window_seconds=24 * 3600,
        free_entry_point=False,
    )


def edit(api: Any, pnid: str, wa_id: str, **body: Any) -> dict[str, Any]:
    response = api("admin").patch(f"/v1/numbers/{pnid}/contacts/{wa_id}", json=body)
    assert response.status_code == 200, response.text
    return dict(response.json())


def progress(api: Any, pnid: str, campaign_id: str) -> dict[str, Any]:
    response = api("admin").get(f"/v1/numbers/{pnid}/campaigns/{campaign_id}")
    assert response.status_code == 200, response.text
    return dict(response.json())


def run_until_completed(stack: LocalStack, api: Any, pnid: str, campaign_id: str) -> None:
    for _ in range(8):
        started = time.monotonic()
        fire(stack)
        if progress(api, pnid, campaign_id)["status"] == "completed":
            return
        time.sleep(max(0.0, 5 - (time.monotonic() - started)))
    raise AssertionError(progress(api, pnid, campaign_id))


def settled(api: Any, pnid: str, campaign_id: str, read: int) -> dict[str, Any]:
    emu_idle = emulator_of(api).webhooks_idle

    def check() -> dict[str, Any] | None:
        figures = progress(api, pnid, campaign_id)
        return figures if figures["totals"]["read"] >= read and emu_idle() else None

    wait_for(f"{read} reads counted", check, timeout=45)
    return progress(api, pnid, campaign_id)


def emulator_of(api: Any) -> Any:
    return emulator(api.stack)


def test_a_campaign_from_a_segment_runs_to_completed_with_the_right_figures(
    stack: LocalStack, api: Any
) -> None:
    from wacloud.campaigns.model import pick_variant
    from wacloud.infra.clock import now

    pnid = tenant()
    at = now()
    people = numbers(12)
    old, recent = at - 100 * DAY, at - 10 * DAY
    matching = people[:6]
    few_visits, late_renewal, seen_lately, not_vip, opted_out, blocked = people[6:12]
    for wa_id in people:
        known_contact(pnid, wa_id, recent if wa_id == seen_lately else old)
        edit(
            api,
            pnid,
            wa_id,
            tags_add=["regular"] if wa_id == not_vip else ["vip", "regular"],
            attributes={
                "first_name": f"Guest{wa_id[-2:]}",
                "visits": 2 if wa_id == few_visits else 5,
                "renewal": "2026-09-01" if wa_id == late_renewal else "2026-01-15",
            },
        )
    edit(api, pnid, opted_out, opted_out=True)
    block = api("admin").post(f"/v1/numbers/{pnid}/contacts/{blocked}/block")
    assert block.status_code == 200, block.text

    campaign_id = f"seg-{pnid}"
    variants = [variant("A"), variant("B")]
    body = {
        "campaign_id": campaign_id,
        "name": "Win back VIPs",
        "variants": variants,
        "recipients": {
            "segment": {
                "tags_any": ["vip"],
                "attributes": [
                    {"name": "visits", "op": "gte", "value": 3},
                    {"name": "renewal", "op": "before", "value": "2026-06-01"},
                ],
                "last_seen_before": "90d",
            }
        },
    }
    assert api("agent").post(f"/v1/numbers/{pnid}/campaigns", json=body).error_code == ("forbidden")
    created = api("admin").post(f"/v1/numbers/{pnid}/campaigns", json=body)
    assert created.status_code == 201, created.text
    # The blocked contact is in the segment; the fan-out skips and counts it.
    assert created.json() == {"campaign_id": campaign_id, "recipients": 7, "created": True}
    again = api("admin").post(f"/v1/numbers/{pnid}/campaigns", json=body)
    assert again.status_code == 200 and again.json()["created"] is False

    listed = api("admin").get(f"/v1/numbers/{pnid}/campaigns").json()["items"]
    assert [c["campaign_id"] for c in listed] == [campaign_id]
    assert listed[0]["audience"]["recipients"] == 7

    # Steering: a paused campaign is passed over by the run; pausing twice conflicts.
    paused = api("admin").post(f"/v1/numbers/{pnid}/campaigns/{campaign_id}/pause")
    assert paused.status_code == 200 and paused.json()["status"] == "paused"
    twice = api("admin").post(f"/v1/numbers/{pnid}/campaigns/{campaign_id}/pause")
    assert twice.status_code == 409 and twice.error_code == "conflict"
    fire(stack)
    assert progress(api, pnid, campaign_id)["queued"] == 0
    resumed = api("admin").post(f"/v1/numbers/{pnid}/campaigns/{campaign_id}/resume")
    assert resumed.status_code == 200 and resumed.json()["status"] == "running"

    run_until_completed(stack, api, pnid, campaign_id)
    expected = {w: pick_variant(campaign_id, w, variants)["name"] for w in matching}
    split = Counter(expected.values())
    final = settled(api, pnid, campaign_id, read=len(matching))
    assert final["status"] == "completed" and final["progress"] == 1.0
    assert final["skipped"] == {"blocked": 1}
    assert final["queued"] == len(matching)

    sends = campaign_sends(emulator(stack), pnid, campaign_id, people)
    assert {w for w, s in sends.items() if s} == set(matching)  # each once, nobody else
    assert all(len(sends[w]) == 1 for w in matching)
    for wa_id in matching:
        template = sends[wa_id][0]["payload"]["template"]
        assert template["name"] == TEMPLATES[expected[wa_id]]
    assert set(final["totals"]) >= {"rejected", "cancelled", "failed", "replied"}
    for name in ("A", "B"):
        got = final["variants"].get(name, {})
        count = split[name]
        assert got.get("queued", 0) == count, (name, got)
        for figure in ("sent", "delivered", "read"):
            assert got.get(figure, 0) == count, (name, figure, got)
        assert got.get("failed", 0) == got.get("rejected", 0) == got.get("cancelled", 0) == 0
    assert final["totals"]["read"] == len(matching)

    # Completed: nothing more to pause or resume.
    late = api("admin").post(f"/v1/numbers/{pnid}/campaigns/{campaign_id}/resume")
    assert late.status_code == 409 and late.error_code == "conflict"


def test_a_campaign_from_an_inline_csv_and_a_cancel(stack: LocalStack, api: Any) -> None:
    pnid = tenant()
    people = numbers(3)
    csv = "wa_id,first_name\n" + "".join(f"+{w},Ana{i}\n" for i, w in enumerate(people))
    created = api("admin").post(
        f"/v1/numbers/{pnid}/campaigns",
        json={"variants": [variant("A")], "recipients": {"csv": csv}},
    )
    assert created.status_code == 201, created.text
    campaign_id = created.json()["campaign_id"]
    run_until_completed(stack, api, pnid, campaign_id)
    final = settled(api, pnid, campaign_id, read=3)
    assert final["variants"]["A"]["queued"] == final["variants"]["A"]["read"] == 3

    cancelled_id = f"cx-{pnid}"
    other = api("admin").post(
        f"/v1/numbers/{pnid}/campaigns",
        json={
            "campaign_id": cancelled_id,
            "variants": [variant("A")],
            "recipients": {"csv": csv},
            "start_at": "2099-01-01T00:00:00+00:00",
        },
    )
    assert other.status_code == 201, other.text
    cancel = api("admin").post(f"/v1/numbers/{pnid}/campaigns/{cancelled_id}/cancel")
    assert cancel.status_code == 200 and cancel.json()["status"] == "cancelled"
    again = api("admin").post(f"/v1/numbers/{pnid}/campaigns/{cancelled_id}/cancel")
    assert again.status_code == 409
    assert progress(api, pnid, cancelled_id)["status"] == "cancelled"


def test_campaign_refusals_name_the_field_and_change_nothing(stack: LocalStack, api: Any) -> None:
    pnid = tenant()
    path = f"/v1/numbers/{pnid}/campaigns"
    segment = {"segment": {"tags_any": ["nobody-has-this"]}}
    empty = api("admin").post(path, json={"variants": [variant("A")], "recipients": segment})
    assert empty.status_code == 400 and "segment" in empty.json()["error"]["message"]
    both = api("admin").post(
        path,
        json={"variants": [variant("A")], "recipients": {"csv": "wa_id\n1\n", **segment}},
    )
    assert both.status_code == 400 and both.error_code == "invalid_request"
    bad_op = api("admin").post(
        path,
        json={
            "variants": [variant("A")],
            "recipients": {"segment": {"attributes": [{"name": "x", "op": "like", "value": 1}]}},
        },
    )
    assert bad_op.status_code == 400
    assert any("attributes" in f["field"] for f in bad_op.json()["error"]["fields"])
    unknown = api("admin").post(
        path,
        json={
            "variants": [variant("A", template="no_such_template")],
            "recipients": {"csv": "wa_id\n+15550001111\n"},
        },
    )
    assert unknown.status_code == 400 and "not in the mirror" in unknown.text
    no_number = api("admin").post(
        path, json={"variants": [variant("A")], "recipients": {"csv": "name\nAna\n"}}
    )
    assert no_number.status_code == 400 and "wa_id" in no_number.text
    assert api("admin").get(path).json()["items"] == []  # nothing was created
    missing = api("admin").get(f"{path}/nope")
    assert missing.status_code == 404 and missing.error_code == "not_found"
    assert api("admin").post(f"{path}/nope/pause").status_code == 404
