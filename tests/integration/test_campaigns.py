"""Campaigns through the local runtime: QueueProcessor fan-out -> outbound queue ->
SenderFunction -> emulator -> status webhooks -> InboundProcessor -> campaign counters.

The module runs its own stack with the QueueProcessor told its period is 5 s
(`QUEUE_PROCESSOR_PERIOD`) and campaigns' share of a number's throughput cut to
2 msg/s (`CAMPAIGN_MPS`), as a deployer would set them: a run's budget is then
2 x 5 = 10 messages, spread over the period with SQS delays, so a list of a few dozen
takes several runs. The test fires the schedule itself (one `fire()` per period), so
runs are counted and timed exactly.

"Sent once" is counted at the emulator by our message id in `biz_opaque_callback_data`:
a campaign message's id derives from `campaign:{id}:{wa_id}` (fanout.py).
"""

from __future__ import annotations

import itertools
import json
import math
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from local.emulator import DEFAULT_WABA_ID as WABA
from local.emulator import Emulator
from local.stack import LocalStack, use_stack_in_this_process
from local.waiting import wait_for
from tests.integration.conftest import TEST_ENVIRONMENT, stack_config
from tests.integration.test_outbound import emulator, fresh_pnid, set_tenant, sync_templates

pytestmark = pytest.mark.integration

PERIOD = 5  # seconds between QueueProcessor runs (QUEUE_PROCESSOR_PERIOD)
CAMPAIGN_MPS = 2  # campaigns' share of a number's throughput (CAMPAIGN_MPS)
BUDGET = CAMPAIGN_MPS * PERIOD  # messages a number's campaigns may queue per run
# The number's own throughput, above the campaign share (which is at most half of it).
TENANT_MPS = 3 * CAMPAIGN_MPS
TICKER = "QueueProcessorFunctionEveryMinute"
TEMPLATES = {"A": "spring_offer_a", "B": "spring_offer_b", "U": "account_notice"}
_numbers = itertools.count(1)


# ---------------------------------------------------------------- stack and helpers


@pytest.fixture(scope="module")
def campaign_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    environment = {k: dict(v) for k, v in TEST_ENVIRONMENT.items()}
    environment["QueueProcessorFunction"] = {
        "QUEUE_PROCESSOR_PERIOD": str(PERIOD),
        "CAMPAIGN_MPS": str(CAMPAIGN_MPS),
    }
    config = stack_config(tmp_path_factory.mktemp("campaign-stack"), environment=environment)
    with LocalStack(config) as running:
        use_stack_in_this_process(running)
        emu = emulator(running)
        emu.add_template(TEMPLATES["A"], category="MARKETING", body="Hi {{1}}, 20% off today")
        emu.add_template(TEMPLATES["B"], category="MARKETING", body="{{1}}, save 20% this week")
        emu.add_template(TEMPLATES["U"], category="UTILITY", body="Hi {{1}}, your account")
        sync_templates(running)
        yield running


@pytest.fixture
def stack(campaign_stack: LocalStack) -> LocalStack:
    use_stack_in_this_process(campaign_stack)
    return campaign_stack


def tenant(**fields: Any) -> str:
    """A business number of the test's own (its budgets and reach are its own)."""
    pnid = fresh_pnid()
    set_tenant(pnid, waba_id=WABA, throughput_mps=TENANT_MPS, **fields)
    return pnid


def numbers(count: int) -> list[str]:
    block = next(_numbers)
    return [f"1666{block:03d}{i:05d}" for i in range(count)]


def variant(name: str, weight: float = 1, template: str | None = None) -> dict[str, Any]:
    return {
        "name": name,
        "template": template or TEMPLATES[name],
        "weight": weight,
        "variables": {"body": ["{first_name}"]},
    }


def message_id(pnid: str, campaign_id: str, wa_id: str) -> str:
    from wacloud.outbound.sender import message_id_for

    return message_id_for(pnid, f"campaign:{campaign_id}:{wa_id}")


def campaign_sends(
    emu: Emulator, pnid: str, campaign_id: str, wa_ids: list[str]
) -> dict[str, list[dict[str, Any]]]:
    """What the emulator accepted for each recipient's campaign message."""
    by_id = {f"wc1.{message_id(pnid, campaign_id, w)}": w for w in wa_ids}
    sends: dict[str, list[dict[str, Any]]] = {w: [] for w in wa_ids}
    for sent in emu.sent_messages(phone_number_id=pnid):
        ours = (sent.get("biz_opaque_callback_data") or "").split("|")[0]
        if ours in by_id:
            sends[by_id[ours]].append(sent)
    return sends


def sent_to(emu: Emulator, pnid: str, campaign_id: str, wa_ids: list[str]) -> set[str]:
    return {w for w, s in campaign_sends(emu, pnid, campaign_id, wa_ids).items() if s}


def templates_to(emu: Emulator, pnid: str, wa_ids: list[str]) -> list[dict[str, Any]]:
    """Every template message this number sent to any of these people (campaign or not)."""
    wanted = set(wa_ids)
    return [
        m
        for m in emu.sent_messages(phone_number_id=pnid)
        if m["type"] == "template" and m["wa_id"] in wanted
    ]


def fire(stack: LocalStack) -> dict[str, Any]:
    """One QueueProcessor run, as its schedule would start it."""
    run = stack.tickers[TICKER].fire()
    assert run.ok, run.error
    return dict(run.payload)


def queued_by(run: dict[str, Any], campaign_id: str) -> int | None:
    """What one run queued for a campaign (None: the run did not work on it)."""
    entry = run["campaigns"]["campaigns"].get(campaign_id)
    return None if entry is None else int(entry["queued"])


def stats(pnid: str, campaign_id: str) -> dict[str, Any]:
    from wacloud import campaigns

    return campaigns.stats(pnid, campaign_id)


def control(stack: LocalStack, **request: Any) -> dict[str, Any]:
    """Steer a campaign the way an operator does: invoking CampaignControl."""
    result = stack.invoke("CampaignControlFunction", request)
    assert result.ok, result.error
    return dict(result.payload)


def wait_sent(
    emu: Emulator, pnid: str, campaign_id: str, wa_ids: list[str], count: int, timeout: float = 30
) -> set[str]:
    return wait_for(
        f"{count} campaign messages at the emulator",
        lambda: s if len(s := sent_to(emu, pnid, campaign_id, wa_ids)) >= count else None,
        timeout,
    )


@dataclass(frozen=True)
class Run:
    fired_at: float  # wall time just before the run was started
    queued: int  # what the run queued for the campaign
    already_sent: int  # campaign messages the emulator had accepted before the run


def run_to_completion(
    stack: LocalStack, pnid: str, campaign_id: str, wa_ids: list[str], max_runs: int = 12
) -> list[Run]:
    """Fire a run every period (as the schedule would) until the campaign completes."""
    emu = emulator(stack)
    runs: list[Run] = []
    for _ in range(max_runs):
        started = time.monotonic()
        already = len(sent_to(emu, pnid, campaign_id, wa_ids))
        fired_at = time.time()
        runs.append(Run(fired_at, queued_by(fire(stack), campaign_id) or 0, already))
        if stats(pnid, campaign_id)["status"] == "completed":
            return runs
        time.sleep(max(0.0, PERIOD - (time.monotonic() - started)))
    raise AssertionError(f"not completed after {max_runs} runs: {stats(pnid, campaign_id)}")


def settled_figures(
    emu: Emulator, pnid: str, campaign_id: str, read: int, failed: int, timeout: float = 45
) -> dict[str, Any]:
    """Campaign figures once every status webhook the emulator sent has been counted."""

    def check() -> dict[str, Any] | None:
        figures = stats(pnid, campaign_id)
        totals = figures["totals"]
        done = totals["read"] >= read and totals["failed"] >= failed and emu.webhooks_idle()
        return figures if done else None

    wait_for(f"{read} reads and {failed} failures counted", check, timeout)
    time.sleep(1.0)  # anything counted twice would show by now
    return stats(pnid, campaign_id)


def assert_paced(
    runs: list[Run], sends: dict[str, list[dict[str, Any]]], eligible_in_order: list[str]
) -> None:
    """Each run within its budget, and its messages spread over the period."""
    queued = [r.queued for r in runs]
    assert sum(queued) == len(eligible_in_order)
    assert max(queued) <= BUDGET, queued
    assert len([q for q in queued if q]) >= math.ceil(len(eligible_in_order) / BUDGET), queued
    # Before run k+1 at most k runs' budgets can have reached Meta (a run that queued
    # too much shows here however slow the machine is).
    for k, run in enumerate(runs):
        assert run.already_sent <= k * BUDGET, (k, runs)
    # A run takes recipients in list order; its i-th message waits int(i / mps) seconds
    # in SQS, so a full run's last one cannot reach Meta before that (slowness only
    # makes it later; an unspread burst would make it sooner).
    first = 0
    for run in runs:
        taken = eligible_in_order[first : first + run.queued]
        first += run.queued
        if run.queued == BUDGET:
            last = max(sends[w][0]["time"] for w in taken)
            assert last >= run.fired_at + (BUDGET - 1) // CAMPAIGN_MPS - 0.05, (run, last)


# ---------------------------------------------------------------- the tests


def test_ab_campaign_paced_skips_opted_out_and_blocked_and_counts_per_variant(
    stack: LocalStack,
) -> None:
    from wacloud.campaigns.model import pick_variant
    from wacloud.infra.clock import now
    from wacloud.scheduling import release as scheduling
    from wacloud.store import contacts

    emu = emulator(stack)
    pnid = tenant()
    people = numbers(40)
    # Marketing opt-outs, two ways Meta tells us: the user_preferences webhook (the
    # customer stopped marketing messages in WhatsApp) and a STOP keyword message.
    by_preference, by_keyword = [people[0], people[17]], [people[5]]
    for wa_id in by_preference:
        emu.user_preferences(wa_id, "stop", phone_number_id=pnid)
    for wa_id in by_keyword:
        emu.customer_text(wa_id, "STOP", phone_number_id=pnid)
    blocked = [people[9], people[30]]
    for wa_id in blocked:
        contacts.set_flag(pnid, wa_id, "blocked", True, reason="test")
    blocked_for_now = people[22]  # a temporary block that is still on
    scheduling.temporary_block(pnid, blocked_for_now, now() + 3600, reason="abuse")
    block_over = people[25]  # a temporary block that has ended: eligible again
    unreachable = people[33]  # accepted by Meta, then failed (131026, not on WhatsApp)
    emu.mark_not_on_whatsapp(unreachable)
    scheduling.temporary_block(pnid, block_over, now() - 1, reason="abuse")
    opted_out = by_preference + by_keyword

    def all_opted_out() -> bool:
        return all((contacts.load(pnid, w) or {}).get("opted_out_marketing") for w in opted_out)

    wait_for("opt-outs recorded from the webhooks", all_opted_out)

    campaign_id = f"ab-{pnid}"
    variants = [variant("A", weight=3), variant("B", weight=1)]
    rows = [{"wa_id": f"+{w}", "first_name": f"Guest{i}"} for i, w in enumerate(people)]
    rows.insert(12, {"wa_id": "12", "first_name": "Nobody"})  # not a phone number
    from wacloud import campaigns

    assert (
        campaigns.create_campaign(
            {
                "phone_number_id": pnid,
                "waba_id": WABA,
                "campaign_id": campaign_id,
                "name": "Spring A/B",
                "variants": variants,
                "recipients": rows,
            }
        )
        == campaign_id
    )
    runs = run_to_completion(stack, pnid, campaign_id, people)

    skipped = set(opted_out) | set(blocked) | {blocked_for_now}
    eligible = [w for w in people if w not in skipped]
    assert block_over in eligible
    figures = stats(pnid, campaign_id)
    assert figures["status"] == "completed" and figures["progress"] == 1.0
    assert figures["skipped"] == {"opted_out": 3, "blocked": 3, "invalid": 1}
    assert figures["queued"] == len(eligible)

    # Every eligible recipient got exactly one message, nobody skipped got any template.
    wait_sent(emu, pnid, campaign_id, people, len(eligible))
    sends = campaign_sends(emu, pnid, campaign_id, people)
    assert {w: len(s) for w, s in sends.items() if w in eligible} == dict.fromkeys(eligible, 1)
    assert templates_to(emu, pnid, sorted(skipped)) == []
    assert_paced(runs, sends, eligible)

    # The split: deterministic per recipient (campaign id + number), weighted 3:1.
    expected = {w: pick_variant(campaign_id, w, variants)["name"] for w in eligible}
    for wa_id, (sent,) in ((w, s) for w, s in sends.items() if w in eligible):
        assert sent["payload"]["template"]["name"] == TEMPLATES[expected[wa_id]]
    counts = Counter(expected.values())
    assert {name: v["queued"] for name, v in figures["variants"].items()} == {
        "A": counts["A"],
        "B": counts["B"],
    }
    # And the weights hold: within three standard deviations of a binomial split with
    # p = 3/4 over the n eligible (the hash makes each recipient an independent draw).
    # The assignment is fixed by the campaign id, so this passes or fails every time.
    n, share = len(eligible), 0.75
    tolerance = 3 * math.sqrt(share * (1 - share) / n)
    assert abs(counts["A"] / n - share) <= tolerance, (counts, tolerance)

    # Per-variant figures are what the emulator sent and reported back.
    final = settled_figures(emu, pnid, campaign_id, read=len(eligible) - 1, failed=1)
    reported: dict[str, Counter[str]] = {"A": Counter(), "B": Counter()}
    for wa_id, (sent,) in campaign_sends(emu, pnid, campaign_id, eligible).items():
        reported[expected[wa_id]].update(set(sent["statuses"]))
    for name in ("A", "B"):
        got = final["variants"][name]
        lost = int(expected[unreachable] == name)
        assert got["queued"] == counts[name]
        for figure in ("sent", "delivered", "read"):
            assert got[figure] == reported[name][figure] == counts[name] - lost, (name, got)
        assert got["failed"] == reported[name]["failed"] == lost
        assert got["replied"] == 0

    # Replies count for the variant that was answered: one replying to the message
    # (context), one writing in twice without context; each message counts one reply.
    answer_a = next(w for w in eligible if expected[w] == "A")
    answer_b = next(w for w in eligible if expected[w] == "B")
    emu.customer_button_reply(
        answer_a, "yes", "Yes", context_id=sends[answer_a][0]["wamid"], phone_number_id=pnid
    )
    for text in ("Interested!", "When does it end?"):
        emu.customer_text(answer_b, text, phone_number_id=pnid)

    def replies_counted() -> dict[str, Any] | None:
        figures = stats(pnid, campaign_id)
        done = figures["totals"]["replied"] >= 2 and emu.webhooks_idle()
        return figures if done else None

    wait_for("replies counted", replies_counted)
    time.sleep(1.0)
    replied = stats(pnid, campaign_id)["variants"]
    assert (replied["A"]["replied"], replied["B"]["replied"]) == (1, 1)


def test_messaging_limit_caps_what_runs_queue(stack: LocalStack) -> None:
    emu = emulator(stack)
    limit = 4
    pnid = tenant(messaging_limit=limit)
    people = numbers(8)
    campaign_id = f"limit-{pnid}"
    from wacloud import campaigns

    campaigns.create_campaign(
        {
            "phone_number_id": pnid,
            "waba_id": WABA,
            "campaign_id": campaign_id,
            "variants": [variant("U")],
            "recipients": [{"wa_id": w, "first_name": "Ana"} for w in people],
        }
    )
    first = fire(stack)
    assert queued_by(first, campaign_id) == limit
    assert first["campaigns"]["campaigns"][campaign_id]["tier_left"] == limit
    reached = wait_sent(emu, pnid, campaign_id, people, limit)
    assert reached == set(people[:limit])

    def tally_full() -> bool:
        from wacloud.campaigns.pacing import reach_room

        return reach_room(pnid, time.time()) == 0

    wait_for("the sender counted the reached recipients", tally_full)
    second = fire(stack)
    # No room left under the messaging limit: the run queues nothing for this number.
    assert not queued_by(second, campaign_id)
    time.sleep(2)
    figures = stats(pnid, campaign_id)
    assert figures["status"] == "running" and figures["queued"] == limit
    assert figures["progress"] == pytest.approx(0.5, abs=0.02)
    assert sent_to(emu, pnid, campaign_id, people) == set(people[:limit])
    control(stack, action="cancel", phone_number_id=pnid, campaign_id=campaign_id)


def test_pause_resume_and_cancel(stack: LocalStack) -> None:
    from wacloud import campaigns

    emu = emulator(stack)
    pnid = tenant()
    people = numbers(3 * BUDGET)
    campaign_id = f"steer-{pnid}"
    created = control(
        stack,
        action="create",
        spec={
            "phone_number_id": pnid,
            "waba_id": WABA,
            "campaign_id": campaign_id,
            "variants": [variant("A")],
            "recipients": [{"wa_id": w, "first_name": "Bo"} for w in people],
        },
    )
    assert created == {"campaign_id": campaign_id}

    assert queued_by(fire(stack), campaign_id) == BUDGET
    paused = control(stack, action="pause", phone_number_id=pnid, campaign_id=campaign_id)
    assert paused["status"] == "paused" and paused["queued"] == BUDGET
    # What was queued before the pause still goes out; nothing more is queued.
    assert wait_sent(emu, pnid, campaign_id, people, BUDGET) == set(people[:BUDGET])
    with pytest.raises(campaigns.CampaignStateError):
        campaigns.pause(pnid, campaign_id)  # already paused
    for _ in range(2):
        assert queued_by(fire(stack), campaign_id) is None
        time.sleep(1)
    assert sent_to(emu, pnid, campaign_id, people) == set(people[:BUDGET])

    resumed = control(stack, action="resume", phone_number_id=pnid, campaign_id=campaign_id)
    assert resumed["status"] == "running"
    assert queued_by(fire(stack), campaign_id) == BUDGET  # continues from the cursor
    assert wait_sent(emu, pnid, campaign_id, people, 2 * BUDGET) == set(people[: 2 * BUDGET])

    cancelled = control(stack, action="cancel", phone_number_id=pnid, campaign_id=campaign_id)
    assert cancelled["status"] == "cancelled"
    with pytest.raises(campaigns.CampaignStateError):
        campaigns.resume(pnid, campaign_id)  # cancelled is final
    for _ in range(2):
        assert queued_by(fire(stack), campaign_id) is None
        time.sleep(1)
    sends = campaign_sends(emu, pnid, campaign_id, people)
    assert all(len(sends[w]) == 1 for w in people[: 2 * BUDGET])
    assert all(sends[w] == [] for w in people[2 * BUDGET :])  # the rest stays unsent
    figures = stats(pnid, campaign_id)
    assert figures["status"] == "cancelled" and figures["queued"] == 2 * BUDGET
    assert figures["progress"] == pytest.approx(2 / 3, abs=0.02)


def test_csv_list_in_s3_with_segment_and_future_start(stack: LocalStack) -> None:
    emu = emulator(stack)
    pnid = tenant()
    people = numbers(12)
    cities = ["Lisbon", "Porto", "Faro"]
    lines = ["phone,first_name,city,tags"]
    for i, wa_id in enumerate(people):
        tags = "staff" if i == 3 else "newsletter|vip"
        lines.append(f'+{wa_id},"Silva, Ana {i}",{cities[i % 3]},{tags}')
    key = f"campaigns/lists/{pnid}.csv"
    stack.client("s3").put_object(
        Bucket=stack.outputs["MediaBucketName"], Key=key, Body="\r\n".join(lines).encode()
    )
    in_segment = [w for i, w in enumerate(people) if i % 3 != 2 and i != 3]
    start_at = math.ceil(time.time()) + 2 * PERIOD
    campaign_id = control(
        stack,
        action="create",
        spec={
            "phone_number_id": pnid,
            "waba_id": WABA,
            "variants": [variant("U")],
            "segment": {"attributes": {"city": ["Lisbon", "Porto"]}, "tags_none": ["staff"]},
            "start_at": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(start_at)),
            "recipients_s3_key": key,
        },
    )["campaign_id"]

    # Before its start time no run touches it.
    assert queued_by(fire(stack), campaign_id) is None
    before = control(stack, action="stats", phone_number_id=pnid, campaign_id=campaign_id)
    assert before["status"] == "scheduled" and before["queued"] == 0 and before["runs"] == 0
    # (A run reads the time a moment after it is fired: stop firing 3 s before the start.)
    while time.time() < start_at - 3:
        assert queued_by(fire(stack), campaign_id) is None
        time.sleep(1)
    time.sleep(max(0.0, start_at - time.time()))
    assert queued_by(fire(stack), campaign_id) == len(in_segment)
    wait_sent(emu, pnid, campaign_id, people, len(in_segment))
    sends = campaign_sends(emu, pnid, campaign_id, people)
    assert {w for w, s in sends.items() if s} == set(in_segment)
    assert all(len(sends[w]) == 1 for w in in_segment)
    assert min(s[0]["time"] for s in sends.values() if s) >= start_at
    first = people.index(in_segment[0])
    params = sends[in_segment[0]][0]["payload"]["template"]["components"][0]["parameters"]
    assert params == [{"type": "text", "text": f"Silva, Ana {first}"}]  # quoted CSV field
    after = control(stack, action="stats", phone_number_id=pnid, campaign_id=campaign_id)
    assert after["status"] == "completed"
    assert after["skipped"] == {"segment": len(people) - len(in_segment)}


def test_a_run_takes_recipients_in_list_order_and_loses_none(stack: LocalStack) -> None:
    """More rows than one contacts lookup (100) in the chunk a run reads, with skips
    among the first: the run must take the next recipients in list order."""
    from wacloud.store import contacts

    emu = emulator(stack)
    pnid = tenant()
    people = numbers(110)
    for wa_id in people[:3]:
        contacts.set_flag(pnid, wa_id, "opted_out_marketing", True, reason="test")
    rows = [{"wa_id": w, "first_name": f"G{i}"} for i, w in enumerate(people)]
    campaign_id = f"order-{pnid}"
    from wacloud import campaigns

    campaigns.create_campaign(
        {
            "phone_number_id": pnid,
            "waba_id": WABA,
            "campaign_id": campaign_id,
            "variants": [variant("A")],
            "recipients": rows,
        }
    )
    assert queued_by(fire(stack), campaign_id) == BUDGET
    figures = stats(pnid, campaign_id)
    assert figures["skipped"] == {"opted_out": 3}
    # The cursor stands just past the last recipient the run took (JSON Lines as stored).
    line = [len(json.dumps(r, separators=(",", ":")).encode()) + 1 for r in rows]
    assert figures["progress"] == round(sum(line[: 3 + BUDGET]) / sum(line), 4)
    assert wait_sent(emu, pnid, campaign_id, people, BUDGET) == set(people[3 : 3 + BUDGET])
    control(stack, action="cancel", phone_number_id=pnid, campaign_id=campaign_id)
    time.sleep(1)
    assert sent_to(emu, pnid, campaign_id, people) == set(people[3 : 3 + BUDGET])


def test_a_campaign_just_completed_can_still_be_cancelled(stack: LocalStack) -> None:
    """Its last run's messages may still be waiting out their SQS delays."""
    from wacloud import campaigns
    from wacloud.infra.aws import dynamodb
    from wacloud.infra.dynamo import marshal, table

    pnid = tenant()
    people = numbers(3)
    made = []
    for name in ("recent", "old"):
        campaign_id = f"{name}-{pnid}"
        campaigns.create_campaign(
            {
                "phone_number_id": pnid,
                "waba_id": WABA,
                "campaign_id": campaign_id,
                "variants": [variant("U")],
                "recipients": [{"wa_id": w, "first_name": "Di"} for w in people],
            }
        )
        made.append(campaign_id)
    fire(stack)
    recent, old = made
    assert [stats(pnid, c)["status"] for c in made] == ["completed", "completed"]
    # One that completed an hour ago: its messages are long gone, its record is history.
    dynamodb().update_item(
        TableName=table(),
        Key=marshal({"pk": f"{pnid}#CMP#{old}", "sk": "#"}),
        UpdateExpression="SET completed_at = :then",
        ExpressionAttributeValues=marshal({":then": time.time() - 3600}),
    )
    assert (
        control(stack, action="cancel", phone_number_id=pnid, campaign_id=recent)["status"]
        == "cancelled"
    )
    assert campaigns.is_halted(pnid, recent)
    with pytest.raises(campaigns.CampaignStateError):
        campaigns.cancel(pnid, old)
    assert stats(pnid, old)["status"] == "completed" and not campaigns.is_halted(pnid, old)


def test_cancel_withdraws_messages_already_queued(stack: LocalStack) -> None:
    """A run's messages wait in SQS (spread over the period); a cancel reaches them at
    the sender, which withdraws rather than sends them."""
    from wacloud import campaigns
    from wacloud.store import messages

    emu = emulator(stack)
    sqs, queue = stack.client("sqs"), stack.outputs["OutboundQueueUrl"]
    pnid = tenant()
    people = numbers(BUDGET + 5)
    campaign_id = f"halt-{pnid}"
    campaigns.create_campaign(
        {
            "phone_number_id": pnid,
            "waba_id": WABA,
            "campaign_id": campaign_id,
            "variants": [variant("A")],
            "recipients": [{"wa_id": w, "first_name": "Cy"} for w in people],
        }
    )
    # The run's first messages carry no delay of their own; a queue default delay holds
    # them too, so the whole run is still waiting when the cancel lands. (The sender
    # caches a campaign's state for a few seconds; the cancel must come before its
    # first look, or this would test the cache rather than the withdrawal.)
    sqs.set_queue_attributes(QueueUrl=queue, Attributes={"DelaySeconds": "5"})
    try:
        assert queued_by(fire(stack), campaign_id) == BUDGET
        control(stack, action="cancel", phone_number_id=pnid, campaign_id=campaign_id)
    finally:
        sqs.set_queue_attributes(QueueUrl=queue, Attributes={"DelaySeconds": "0"})
    ids = [message_id(pnid, campaign_id, w) for w in people[:BUDGET]]

    def withdrawn() -> bool:
        return all((messages.load(pnid, m) or {}).get("state") == "cancelled" for m in ids)

    wait_for("the queued messages withdrawn", withdrawn, timeout=30)
    time.sleep(1.0)
    assert sent_to(emu, pnid, campaign_id, people) == set()
    assert all(messages.load(pnid, m) is not None for m in ids)
    for wa_id in people[BUDGET:]:  # never queued: no record at all
        assert messages.load(pnid, message_id(pnid, campaign_id, wa_id)) is None
    figures = stats(pnid, campaign_id)
    assert figures["status"] == "cancelled" and figures["totals"]["sent"] == 0
