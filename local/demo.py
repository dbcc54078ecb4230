"""`make demo`: the round trip, played and checked on the local stack.

Customer says "hi" -> signed webhook -> WebhookReceive -> inbound queue ->
InboundProcessor (records, opens the window, asks the responder) -> outbound queue ->
Sender (Graph API on the emulator) -> status webhooks -> statuses recorded in order.
Then the AI assistant (#12): the business's FAQ is put in the knowledge base, the
customer asks a question answered from it (the OpenAI stand-in plays the model), and
asks for a person: the conversation is handed over.
Exits 0 only if every step happened.
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

import httpx

from local.stack import LocalStack, LocalStackConfig, use_stack_in_this_process
from local.template import REPO_ROOT
from local.waiting import wait_for

CUSTOMER = "15551234567"
FAQ = """# Delivery

## Shipping times
Orders ship within 2 business days and arrive in 3 to 5 business days.

## Returns
You can return any item within 30 days for a full refund.
"""
# A handler's first call imports it (a cold start); on a loaded machine that can take
# longer than httpx's default 5 s, which is not what the demo checks.
HTTP_TIMEOUT = 30.0


class Checks:
    def __init__(self) -> None:
        self.failures: list[str] = []

    def expect(self, label: str, ok: bool, detail: str = "") -> None:
        mark = "ok  " if ok else "FAIL"
        print(f"  [{mark}] {label}{(' - ' + detail) if detail else ''}", flush=True)
        if not ok:
            self.failures.append(label)


def run_demo() -> int:
    checks = Checks()
    print("Starting the local stack (moto, emulator, gateway, handlers)...", flush=True)
    started = time.monotonic()
    log_dir = REPO_ROOT / ".local-state" / "demo-logs"
    print(f"(handler logs: {log_dir})")
    with LocalStack(LocalStackConfig(run_schedules=False, log_dir=log_dir)) as stack:
        assert stack.emulator is not None
        emulator = stack.emulator
        use_stack_in_this_process(stack)
        from local.emulator import DEFAULT_PHONE_NUMBER_ID as PNID
        from wacloud.store import contacts, messages
        from wacloud.store import inbound_log as events

        print(
            f"  up in {time.monotonic() - started:.1f}s; webhook {stack.webhook_url}, "
            f"emulator {stack.emulator.url}\n",
            flush=True,
        )

        print("1. Webhook verification (GET /webhook)")
        base = stack.webhook_url
        good = httpx.get(
            base,
            timeout=HTTP_TIMEOUT,
            params={
                "hub.mode": "subscribe",
                "hub.challenge": "1158201444",
                "hub.verify_token": stack.config.verify_token,
            },
        )
        checks.expect(
            "right token -> 200 with the challenge as plain text",
            good.status_code == 200 and good.text == "1158201444",
            f"{good.status_code} {good.text!r}",
        )
        bad = httpx.get(
            base,
            timeout=HTTP_TIMEOUT,
            params={"hub.mode": "subscribe", "hub.challenge": "1", "hub.verify_token": "wrong"},
        )
        checks.expect("wrong token -> 403", bad.status_code == 403, str(bad.status_code))

        print("\n2. Webhook signature (POST /webhook)")
        missing = httpx.post(
            base,
            timeout=HTTP_TIMEOUT,
            content=b'{"object":"whatsapp_business_account","entry":[]}',
            headers={"content-type": "application/json"},
        )
        checks.expect(
            "missing signature -> 401", missing.status_code == 401, str(missing.status_code)
        )
        wrong = httpx.post(
            base,
            timeout=HTTP_TIMEOUT,
            content=b'{"entry":[]}',
            headers={
                "content-type": "application/json",
                "x-hub-signature-256": "sha256=" + "0" * 64,
            },
        )
        checks.expect("wrong signature -> 403", wrong.status_code == 403, str(wrong.status_code))
        from wacloud.inbound.signature import sign

        body = b'{"entry": [oops'
        malformed = httpx.post(
            base,
            timeout=HTTP_TIMEOUT,
            content=body,
            headers={
                "content-type": "application/json",
                "x-hub-signature-256": sign(body, stack.config.app_secret.encode()),
            },
        )
        import hashlib

        parked_key = f"webhooks/unparsed/{hashlib.sha256(body).hexdigest()}.json"
        try:
            parked = (
                stack.client("s3")
                .get_object(Bucket=stack.outputs["MediaBucketName"], Key=parked_key)["Body"]
                .read()
            )
        except Exception as exc:  # the check below reports it
            parked = repr(exc).encode()
        checks.expect(
            "malformed JSON (signed) -> 200, parked in the media bucket",
            malformed.status_code == 200 and parked == body,
            f"{malformed.status_code}, {parked_key}",
        )

        # The assistant is on for this number from the start, and its FAQ is indexed
        # while the round trip plays (an S3 event runs the KnowledgeIndexer).
        from wacloud.store import assistant as assistant_settings

        assistant_settings.save_settings(
            PNID, assistant_settings.load_settings(PNID), enabled=True, business_name="Demo Bakery"
        )
        bucket = stack.outputs["MediaBucketName"]
        stack.client("s3").put_object(
            Bucket=bucket, Key=f"knowledge/{PNID}/faq.md", Body=FAQ.encode()
        )

        print("\n3. The customer says 'hi'")
        wamid = stack.emulator.customer_text(CUSTOMER, "hi", profile_name="Ana")
        print(f"  customer {CUSTOMER} -> business: 'hi' ({wamid})")
        inbound = wait_for(
            "inbound message recorded",
            lambda: (
                events.conversation(PNID, CUSTOMER)
                and [i for i in events.conversation(PNID, CUSTOMER) if i.get("wamid") == wamid]
            ),
        )
        checks.expect("InboundProcessor recorded the message", bool(inbound))
        contact = contacts.load(PNID, CUSTOMER) or {}
        checks.expect(
            "contact recorded with profile name and an open 24-hour window",
            contact.get("profile_name") == "Ana" and contacts.window_open(contact),
        )

        print("\n4. The business answers")
        reply = wait_for(
            "reply sent to the emulator",
            lambda: emulator.sent_messages(to=CUSTOMER),
            timeout=30,
        )[0]
        reply_text = reply["payload"]["text"]["body"] if reply["payload"].get("text") else reply
        print("  business -> customer:\n    " + str(reply_text).replace("\n", "\n    "))
        checks.expect("Sender sent a reply through the Graph API", bool(reply))

        def final_record() -> dict[str, Any] | None:
            for item in events.conversation(PNID, CUSTOMER):
                if item.get("direction") == "out":
                    record = messages.load(PNID, item["message_id"])
                    if record and record.get("state") == "read":
                        return record
            return None

        record = wait_for("status webhooks to move the reply to 'read'", final_record, timeout=30)
        checks.expect(
            "reply record carries Meta's wamid",
            record.get("wamid") == reply["wamid"],
            str(record.get("wamid")),
        )

        print("\n5. Status transitions of the reply")
        for step in record.get("history", []):
            print(f"  {step['at']}  {step['state']}")
        states = [s["state"] for s in record.get("history", [])]
        checks.expect(
            "states moved forward in order sending -> sent -> delivered -> read",
            [s for s in states if s in ("sending", "sent", "delivered", "read")]
            == ["sending", "sent", "delivered", "read"],
            " -> ".join(states),
        )

        # The record can reach `read` before the `sent` webhook is recorded: `sent` is
        # also set by the Sender when Graph accepts the message, and the inbound queue
        # is processed by concurrent batches, so the `sent` webhook may still be in
        # another batch when `delivered` and `read` are done. Wait for the three.
        def all_statuses() -> list[dict[str, Any]] | None:
            found = events.status_history(PNID, record["wamid"])
            seen = {s["status"] for s in found}
            return found if {"sent", "delivered", "read"} <= seen else None

        try:
            history = wait_for("the three status webhooks recorded", all_statuses, timeout=30)
        except TimeoutError:  # the check below reports what was recorded
            history = events.status_history(PNID, record["wamid"])
        checks.expect(
            "each status webhook recorded exactly once with its timestamp",
            sorted(s["status"] for s in history) == ["delivered", "read", "sent"]
            and all(s.get("occurred_at") for s in history),
            ", ".join(f"{s['status']}@{int(s['occurred_at'])}" for s in history),
        )

        print("\n6. The conversation as stored")
        for item in events.conversation(PNID, CUSTOMER):
            if item.get("direction") == "in":
                text = (item.get("content") or {}).get("text", {}).get("body")
                print(f"  customer: {text}")
            else:
                print(f"  business: [{item.get('type')}] state={item.get('state')}")

        _assistant_steps(stack, checks, bucket)

    print()
    if checks.failures:
        print(f"DEMO FAILED: {len(checks.failures)} check(s) failed: {checks.failures}")
        return 1
    print("DEMO OK: the whole round trip happened.")
    return 0


def _assistant_steps(stack: LocalStack, checks: Checks, bucket: str) -> None:
    """7-8: a question answered from the knowledge base, then a request for a person."""
    from local.emulator import DEFAULT_PHONE_NUMBER_ID as PNID
    from wacloud.store import conversations

    assert stack.emulator is not None and stack.openai is not None
    emulator, openai = stack.emulator, stack.openai
    s3 = stack.client("s3")

    print("\n7. The customer asks a question the FAQ answers")

    def indexed() -> bool:
        try:
            s3.head_object(Bucket=bucket, Key=f"knowledge-index/{PNID}/index.bin")
        except Exception:
            return False
        return True

    with contextlib.suppress(TimeoutError):  # the check below reports it
        wait_for("the FAQ indexed", indexed, timeout=60)
    checks.expect("KnowledgeIndexer indexed knowledge/.../faq.md", indexed())
    before = len(emulator.sent_messages(to=CUSTOMER))
    question = "How long does shipping take?"
    emulator.customer_text(CUSTOMER, question, profile_name="Ana")
    print(f"  customer: {question}")

    reply = wait_for("the assistant's answer", answer_after(emulator, before), timeout=60)
    body = str((reply["payload"].get("text") or {}).get("body", ""))
    print(f"  business: {body}")
    checks.expect(
        "the answer comes from the FAQ's shipping section",
        "2 business days" in body or "3 to 5 business days" in body,
        body[:80],
    )
    asked = openai.requests(path="/v1/responses")
    checks.expect(
        "the model was given the FAQ passage as knowledge",
        any('<knowledge document="faq.md"' in str(r["body"].get("instructions")) for r in asked),
    )

    print("\n8. The customer asks for a person")
    before = len(emulator.sent_messages(to=CUSTOMER))
    ask = "quiero hablar con una persona"
    emulator.customer_text(CUSTOMER, ask, profile_name="Ana")
    print(f"  customer: {ask}")
    notice = wait_for("the handoff notice", answer_after(emulator, before), timeout=60)
    print(f"  business: {(notice['payload'].get('text') or {}).get('body', '')}")
    # The notice is sent after the state is written (wacloud.conversations.HandoffGate).
    conversation = conversations.load(PNID, CUSTOMER)
    checks.expect(
        "the conversation is with a person now (state handoff, reason keyword)",
        conversation.state == "handoff" and conversation.handoff_reason == "keyword",
        f"{conversation.state}, {conversation.handoff_reason}",
    )


def answer_after(emulator: Any, before: int) -> Any:
    """A wait_for probe: the first message sent to the customer after ``before``."""

    def probe() -> dict[str, Any] | None:
        sent = emulator.sent_messages(to=CUSTOMER)
        return sent[before] if len(sent) > before else None

    return probe
