"""`make demo-campaign`: a scheduled reminder and a 1,000-recipient A/B campaign, checked.

On the local stack (moto, the emulator, the real handlers): a booking event starts
a workflow whose day-before reminder is scheduled; a campaign of 1,000 recipients
(with opted-out and blocked contacts among them) fans out over several QueueProcessor
runs within the pacing budget; status webhooks move the per-variant figures; the
reminder fires when due. Exits 0 only if all of it happened.

The QueueProcessor runs every 5 s here instead of every minute (`QUEUE_PROCESSOR_PERIOD`
tells it so, and pacing scales its budget to the period), so the demo takes about a
minute and a half, most of it waiting for the reminder: the sender only schedules
what is more than 60 s ahead.
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from local.emulator.config import StatusDelays
from local.stack import LocalStack, LocalStackConfig, use_stack_in_this_process
from local.template import REPO_ROOT
from local.waiting import wait_for

RECIPIENTS = 1000
PERIOD_SECONDS = 5
STALL_SECONDS = 90
# Past the inbound queue's visibility timeout (180 s): a timed-out batch's retry.
IN_FLIGHT_SECONDS = 240


def demo_config(log_dir: Any, **overrides: Any) -> LocalStackConfig:
    env = {
        "QueueProcessorFunction": {
            "CAMPAIGN_MPS": "40",
            "QUEUE_PROCESSOR_PERIOD": str(PERIOD_SECONDS),
        },
    }
    config = LocalStackConfig(
        run_schedules=False,
        log_dir=log_dir,
        environment=env,
        # sent + delivered only: a third of the status webhooks fewer for 2 cores.
        emulator={"status_delays": StatusDelays(auto_read=False)},
    )
    for key, value in overrides.items():
        setattr(config, key, value)
    return config


def _expect(failures: list[str], label: str, ok: bool, detail: str = "") -> None:
    print(f"  [{'ok  ' if ok else 'FAIL'}] {label}{(' - ' + detail) if detail else ''}", flush=True)
    if not ok:
        failures.append(label)


def seed_templates(emulator: Any) -> None:
    body3 = "Hi {{1}}, {{2}} on {{3}}."
    for name, body in (
        ("booking_confirmation", body3),
        ("booking_reminder", "Hi {{1}}, a reminder: {{2}} tomorrow at {{3}}."),
        ("booking_follow_up", "Hi {{1}}, how was your {{2}}?"),
        ("spring_sale_a", "Hi {{1}}, spring sale: {{2}} off!"),
        ("spring_sale_b", "{{1}}, save {{2}} this week only."),
    ):
        category = "MARKETING" if name.startswith("spring") else "UTILITY"
        emulator.add_template(name, body=body, category=category)


def _in_flight(stack: Any) -> dict[str, int]:
    """What could still move the figures: webhooks the emulator has yet to deliver, and
    queue items waiting, delayed or in flight (a batch that timed out is invisible for
    the queue's visibility timeout, 180 s for the inbound queue, before its retry).
    Dead-lettered items are listed too: they will not move anything again."""
    sqs = stack.client("sqs")
    out: dict[str, int] = {}
    if not stack.emulator.webhooks_idle():
        out["emulator webhooks"] = 1
    for name in (
        "InboundQueue",
        "OutboundQueue",
        "InboundDeadLetterQueue",
        "OutboundDeadLetterQueue",
    ):
        attributes = sqs.get_queue_attributes(
            QueueUrl=stack.resolver.refs[name],
            AttributeNames=[
                "ApproximateNumberOfMessages",
                "ApproximateNumberOfMessagesNotVisible",
                "ApproximateNumberOfMessagesDelayed",
            ],
        )["Attributes"]
        count = sum(int(v) for v in attributes.values())
        if count:
            out[name] = count
    return out


def _await_statuses(stack: Any, campaign_id: str, eligible: int) -> dict[str, Any]:
    """Wait for every campaign message to be sent and delivered, with progress.

    How long that takes depends on the machine (moto serves every DynamoDB call of
    the sender and of each status webhook), so the demo waits as long as the figures
    keep moving. After STALL_SECONDS without progress it gives up if nothing is left
    that could move them (a figure was lost), and otherwise waits for what is still in
    flight, such as a timed-out batch's retry, up to IN_FLIGHT_SECONDS more.
    """
    from local.emulator import DEFAULT_PHONE_NUMBER_ID as PNID
    from wacloud import campaigns

    last: tuple[int, int] | None = None
    moved = time.monotonic()
    started = moved
    while True:
        figures = campaigns.stats(PNID, campaign_id)
        totals = figures["totals"]
        now_seen = (totals["sent"], totals["delivered"])
        if now_seen != last:
            last, moved = now_seen, time.monotonic()
            print(
                f"  sending: sent {totals['sent']:4d} / {eligible}, delivered "
                f"{totals['delivered']:4d} / {eligible}  "
                f"({time.monotonic() - started:.0f}s)",
                flush=True,
            )
        if totals["sent"] >= eligible and totals["delivered"] >= eligible:
            return figures
        still = time.monotonic() - moved
        if still > STALL_SECONDS:
            pending = _in_flight(stack)
            live = {k: v for k, v in pending.items() if "DeadLetter" not in k}
            dead = {k: v for k, v in pending.items() if k not in live}
            if not live or still > STALL_SECONDS + IN_FLIGHT_SECONDS:
                print(
                    f"  no progress for {still:.0f}s, in flight: {live or 'nothing'}, "
                    f"dead-lettered: {dead or 'nothing'} - giving up",
                    flush=True,
                )
                return figures
            if int(still) % 30 < 5:
                print(f"  no progress for {still:.0f}s; still in flight: {live}", flush=True)
        time.sleep(5)


def run_demo() -> int:
    failures: list[str] = []
    log_dir = REPO_ROOT / ".local-state" / "demo-campaign-logs"
    print(f"Starting the local stack (handler logs: {log_dir})...", flush=True)
    with LocalStack(demo_config(log_dir)) as stack:
        assert stack.emulator is not None
        emulator = stack.emulator
        use_stack_in_this_process(stack)
        from local.emulator import DEFAULT_PHONE_NUMBER_ID as PNID
        from local.emulator import DEFAULT_WABA_ID as WABA
        from wacloud import campaigns, workflows
        from wacloud.store import contacts, messages

        ticker = stack.tickers["QueueProcessorFunctionEveryMinute"]
        seed_templates(emulator)
        # The emulator's number is on the 2,000-recipient tier (docs/meta/throughput.md); the sender
        # and the fan-out pace to the limit stored for it.
        campaigns.set_messaging_limit(PNID, 2000)
        sync = stack.invoke("TemplateSyncFunction", {})
        _expect(failures, "TemplateSync mirrored the WABA's templates", sync.ok, str(sync.payload))

        print("\n1. A booking is confirmed: confirmation now, reminder scheduled")
        workflows.install_shipped(PNID, ["booking_confirmation"])
        starts = datetime.now(UTC) + timedelta(days=1, seconds=65)
        # Published as a business app would: on the stack's own bus, with a source
        # under BusinessEventSourcePrefix (README, "Business events").
        (started,) = stack.put_event(
            "booking.confirmed",
            {
                "phone_number_id": PNID,
                "booking_id": "B-1",
                "service": "Haircut",
                "starts_at": starts.isoformat(),
                "customer": {"wa_id": "15550009999", "name": "Ana"},
            },
            source="business.demo",
            bus=stack.business_event_bus,
            event_id="demo-booking-1",
        )
        report = started.payload or {}
        _expect(
            failures,
            "workflow queued the confirmation and scheduled the reminder",
            started.ok and report.get("queued") == 1 and report.get("scheduled") == 1,
            str(report if started.ok else started.error),
        )
        reminder_due = time.monotonic() + 65

        print(f"\n2. A campaign of {RECIPIENTS} recipients, A/B 50/50")
        rows = [
            {"wa_id": f"1555100{i:04d}", "first_name": f"Guest{i}", "discount": "20%"}
            for i in range(RECIPIENTS)
        ]
        for i in range(0, 20):
            contacts.set_flag(PNID, rows[i]["wa_id"], "opted_out_marketing", True, reason="demo")
        for i in range(20, 30):
            contacts.set_flag(PNID, rows[i]["wa_id"], "blocked", True, reason="demo")
        variables = {"body": ["{first_name}", "{discount}"]}
        campaign_id = campaigns.create_campaign(
            {
                "phone_number_id": PNID,
                "waba_id": WABA,
                "name": "Spring sale",
                "variants": [
                    {"name": "A", "template": "spring_sale_a", "weight": 1, "variables": variables},
                    {"name": "B", "template": "spring_sale_b", "weight": 1, "variables": variables},
                ],
                "recipients": rows,
            }
        )
        print(
            f"  campaign {campaign_id}: fanning out, one QueueProcessor run every "
            f"{PERIOD_SECONDS}s (budget per run: CAMPAIGN_MPS x period)"
        )
        runs: list[dict[str, Any]] = []
        while True:
            outcome = ticker.fire()
            if not outcome.ok:
                print(outcome.error)
                _expect(failures, "QueueProcessor run", False, str(outcome.error)[:300])
                break
            runs.append(outcome.payload)
            figures = campaigns.stats(PNID, campaign_id)
            bar = "#" * int(figures["progress"] * 30)
            print(
                f"  run {len(runs):2d} [{bar:<30}] {figures['progress']:6.1%}  "
                f"queued {figures['queued']:4d}  sent {figures['totals']['sent']:4d}  "
                f"read {figures['totals']['read']:4d}  ({outcome.payload['seconds']}s)",
                flush=True,
            )
            if figures["status"] == "completed" or len(runs) > 30:
                break
            time.sleep(PERIOD_SECONDS)
        eligible = RECIPIENTS - 30
        final = _await_statuses(stack, campaign_id, eligible)
        print("\n  variant  queued   sent  delivered  read  failed  replied")
        for name, v in sorted(final["variants"].items()):
            print(
                f"  {name:7s} {v['queued']:7d} {v['sent']:6d} {v['delivered']:10d} "
                f"{v['read']:5d} {v['failed']:7d} {v['replied']:8d}"
            )
        print(f"  skipped: {final['skipped']}")
        _expect(failures, "campaign completed", final["status"] == "completed")
        _expect(failures, "fan-out took several bounded runs", len(runs) >= 3, f"{len(runs)} runs")
        per_run = max(r["campaigns"]["queued"] for r in runs)
        _expect(
            failures,
            "no run queued more than its budget (40 mps x 5 s)",
            per_run <= 40 * PERIOD_SECONDS,
            f"max {per_run} per run",
        )
        _expect(
            failures,
            f"{eligible} queued, 20 opted-out and 10 blocked skipped",
            final["queued"] == eligible
            and final["skipped"].get("opted_out") == 20
            and final["skipped"].get("blocked") == 10,
        )
        a, b = final["variants"]["A"]["queued"], final["variants"]["B"]["queued"]
        _expect(failures, "A/B split near 50/50", abs(a - b) <= 0.1 * eligible, f"A {a} / B {b}")
        _expect(
            failures,
            "every campaign message sent and delivered (per-variant counters)",
            final["totals"]["delivered"] == eligible and final["totals"]["sent"] == eligible,
            str(final["totals"]),
        )
        dead = {k: v for k, v in _in_flight(stack).items() if "DeadLetter" in k}
        _expect(failures, "no queue item dead-lettered", not dead, str(dead))
        failed_batches = {
            name: poller.failed_invocations
            for name, poller in stack.pollers.items()
            if poller.failed_invocations
        }
        if failed_batches:  # retried by SQS, so not a failure; shown for diagnosis
            print(f"  batches failed and retried (e.g. timed out): {failed_batches}")
        sent_to = {m["wa_id"] for m in emulator.sent_messages() if m["type"] == "template"}
        _expect(
            failures,
            "nobody opted-out or blocked got a message",
            not sent_to & {r["wa_id"] for r in rows[:30]},
        )

        print("\n3. The scheduled reminder fires when due")
        while time.monotonic() < reminder_due + 2:
            time.sleep(1)
        fired = ticker.fire()
        _expect(failures, "QueueProcessor released due messages", fired.ok, str(fired.payload))

        def reminder() -> Any:
            return [
                m
                for m in emulator.sent_messages(to="15550009999")
                if m["payload"].get("template", {}).get("name") == "booking_reminder"
            ]

        try:
            got = wait_for("the reminder at the emulator", reminder, 30)
            _expect(failures, "reminder sent when due", bool(got))
        except TimeoutError:
            _expect(failures, "reminder sent when due", False)
        records = [
            r
            for r in (
                messages.load(PNID, m)
                for m in [
                    __import__("wacloud.outbound.sender", fromlist=["x"]).message_id_for(
                        PNID, "wf:booking_confirmation:B-1:reminder_1d:15550009999"
                    )
                ]
            )
            if r
        ]
        _expect(
            failures,
            "reminder record went scheduled -> queued -> sent",
            bool(records)
            and [h["state"] for h in records[0]["history"]][:2] == ["scheduled", "sending"],
            " -> ".join(h["state"] for h in records[0]["history"]) if records else "missing",
        )

    print()
    if failures:
        print(f"DEMO-CAMPAIGN FAILED: {len(failures)} check(s): {failures}")
        return 1
    print("DEMO-CAMPAIGN OK: reminder fired, campaign fanned out, paced and counted.")
    return 0


if __name__ == "__main__":
    sys.exit(run_demo())
