"""The AI assistant end to end on the local stack (#12): the real openai SDK talks to
the OpenAI stand-in over HTTP, the stores are moto's, customers are the emulator's.

One tenant of its own (a phone number added to the emulator, assistant settings saved
before its first message, so no warm container holds stale settings), one knowledge
document indexed through the S3 event, and one customer per scenario. The slowest
scenario (an OpenAI timeout: two attempts of the client's 20 s) starts with the
module's tenant and is checked last, so its wait overlaps the others.

What the stand-in answers: its default behaviour (knowledge grounding, complaint and
spam keywords) or a rule matching a word of the scenario's text; faults match the
scenario's own word, so no scenario disturbs another.
"""

from __future__ import annotations

import itertools
import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from local.stack import LocalStack, use_stack_in_this_process
from local.waiting import wait_for

pytestmark = pytest.mark.integration

PNID = "106540399912012"  # this module's business number (the emulator's default is others')
FAQ = b"""# Shipping

Orders ship within two business days. City shipping takes 24 hours and costs 5 dollars.

# Returns

You can return any product within 30 days for a full refund. Returned items must be
unused and in their original packaging.
"""
FALLBACK_EN = "Sorry, I can't answer right now."
NOTICE_EN = "Thanks! A member of our team will take over"
TIMEOUT_TEXT = "Do you sell gift cards? zqtimeout"
_numbers = itertools.count(1)


def new_customer() -> str:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or "0"
    return f"1445{int(worker):02d}{next(_numbers):05d}"


@dataclass
class Tenant:
    stack: LocalStack
    pnid: str
    timeout_customer: str
    timeout_wamid: str
    indexed: list[bool] = field(default_factory=list)

    @property
    def emulator(self) -> Any:
        assert self.stack.emulator is not None
        return self.stack.emulator

    @property
    def openai(self) -> Any:
        assert self.stack.openai is not None
        return self.stack.openai

    def says(self, customer: str, text: str) -> str:
        wamid: str = self.emulator.customer_text(customer, text, phone_number_id=self.pnid)
        return wamid

    def sent(self, customer: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.emulator.sent_messages(self.pnid, to=customer)
        return found

    def texts(self, customer: str) -> list[str]:
        return [
            m["payload"]["text"]["body"]
            for m in self.sent(customer)
            if m["payload"].get("type") == "text"
        ]

    def wait_texts(self, customer: str, count: int, timeout: float = 60) -> list[str]:
        return wait_for(
            f"{count} text(s) to the customer",
            lambda: len(t := self.texts(customer)) >= count and t,
            timeout=timeout,
        )

    def model_requests(self, containing: str) -> list[dict[str, Any]]:
        """Structured-answer requests whose last user turn contains `containing`."""
        found = []
        for request in self.openai.requests("/v1/responses"):
            turns = request["body"].get("input") or []
            users = [t for t in turns if t.get("role") == "user"]
            if users and containing in str(users[-1].get("content")):
                found.append(request)
        return found

    def receipt(self, wamid: str) -> dict[str, Any]:
        def find() -> dict[str, Any] | None:
            for r in self.emulator.requests():
                body = r.get("json") or {}
                if body.get("message_id") == wamid and body.get("status") == "read":
                    return dict(body)
            return None

        return wait_for("read receipt", find, timeout=60)

    def wait_indexed(self) -> None:
        if self.indexed:
            return
        from wacloud.store import knowledge

        def combined() -> bool:
            loaded = knowledge.load_combined(self.pnid)
            return isinstance(loaded, knowledge.CombinedIndex) and loaded.documents == ["faq.md"]

        wait_for("faq.md indexed", combined, timeout=90)
        self.indexed.append(True)

    def job_log(self, wamid: str) -> list[dict[str, Any]]:
        """The AssistantFunction's "assistant job" log lines for `wamid`."""
        log_dir = self.stack.config.log_dir
        assert log_dir is not None
        path = log_dir / "AssistantFunction.log"
        lines = path.read_text().splitlines() if path.exists() else []
        out = []
        for line in lines:
            if wamid not in line or not line.startswith("{"):
                continue
            entry = json.loads(line)
            if entry.get("message") == "assistant job" and entry.get("wamid") == wamid:
                out.append(entry)
        return out


def conversation(pnid: str, customer: str) -> Any:
    from wacloud.store import conversations

    return conversations.load(pnid, customer)


def records(pnid: str, customer: str) -> list[dict[str, Any]]:
    from wacloud.store import inbound_log

    return inbound_log.conversation(pnid, customer)


@pytest.fixture(scope="module")
def tenant(session_stack: LocalStack) -> Iterator[Tenant]:
    from wacloud.store.assistant import AssistantSettings, save_settings

    stack = session_stack
    use_stack_in_this_process(stack)
    assert stack.emulator is not None and stack.openai is not None
    stack.emulator.add_phone_number(PNID, "+1 555 0199")
    save_settings(PNID, AssistantSettings(enabled=True, business_name="Test Shop"))
    stack.client("s3").put_object(
        Bucket=stack.outputs["MediaBucketName"], Key=f"knowledge/{PNID}/faq.md", Body=FAQ
    )
    stack.openai.add_rules(
        {"match": "zqescalate", "intent": "human_request", "confidence": 0.95},
        {"match": "zqunsure", "intent": "question", "confidence": 0.3, "reply": "Maybe?"},
    )
    # Both attempts of the model call time out (20 s each): started now, checked last.
    stack.openai.add_fault(
        {
            "timeout": True,
            "hold_seconds": 25,
            "count": 2,
            "path": "/v1/responses",
            "match": "zqtimeout",
        }
    )
    customer = new_customer()
    wamid = stack.emulator.customer_text(customer, TIMEOUT_TEXT, phone_number_id=PNID)
    yield Tenant(stack, PNID, customer, wamid)


@pytest.fixture
def shop(tenant: Tenant, stack: LocalStack) -> Tenant:
    return tenant


# ------------------------------------------------------------------ knowledge, tags, typing
def test_answer_grounded_in_the_knowledge_base_from_the_assistant(shop: Tenant) -> None:
    from wacloud.store import inbound_log

    shop.wait_indexed()
    customer = new_customer()
    question = "How long does shipping take?"
    wamid = shop.says(customer, question)

    (reply,) = shop.wait_texts(customer, 1)
    assert "two business days" in reply
    (request,) = shop.model_requests(question)
    instructions = request["body"]["instructions"]
    assert '<knowledge document="faq.md" chunk="' in instructions
    assert "two business days" in instructions

    receipt = shop.receipt(wamid)
    assert receipt.get("typing_indicator") == {"type": "text"}

    (out,) = [r for r in records(shop.pnid, customer) if r.get("direction") == "out"]
    assert out["tags"] == ["assistant"]
    assert out["idempotency_key"] == f"assist:{wamid}:0"
    assert json.loads(out["submission"])["context"] == {"message_id": wamid}
    inbound = next(r for r in inbound_log.conversation(shop.pnid, customer) if r.get("wamid"))
    assert inbound["wamid"] == wamid
    assert not conversation(shop.pnid, customer).in_handoff(time.time())
    assert conversation(shop.pnid, customer).tokens > 0


def test_context_carries_over_to_a_follow_up(shop: Tenant) -> None:
    shop.wait_indexed()
    customer = new_customer()
    first = "Can I return a product for a refund?"
    shop.says(customer, first)
    (answer,) = shop.wait_texts(customer, 1)
    assert "30 days" in answer

    follow_up = "And what about the original packaging?"
    shop.says(customer, follow_up)
    shop.wait_texts(customer, 2)
    (request,) = shop.model_requests(follow_up)
    turns = [(t["role"], t["content"]) for t in request["body"]["input"]]
    assert turns[-3:] == [("user", first), ("assistant", answer), ("user", follow_up)]


# ------------------------------------------------------------------ handoff by the model
HANDOFFS = [
    ("Please escalate my case zqescalate", "human_request"),
    ("Is the warranty valid abroad zqunsure", "low_confidence"),
    ("This is terrible, my parcel arrived broken", "complaint"),
]


def test_handoff_by_intent_low_confidence_and_complaint_then_silence(shop: Tenant) -> None:
    customers = [new_customer() for _ in HANDOFFS]
    for customer, (text, _) in zip(customers, HANDOFFS, strict=True):
        shop.says(customer, text)
    for customer, (text, reason) in zip(customers, HANDOFFS, strict=True):
        (notice,) = shop.wait_texts(customer, 1)
        assert notice.startswith(NOTICE_EN), (reason, notice)
        state = wait_for(
            "handoff",
            lambda c=customer: (s := conversation(shop.pnid, c)).in_handoff(time.time()) and s,
        )
        assert state.handoff_reason == reason
        assert len(shop.model_requests(text)) == 1

    # A person has them now: the next message is recorded, read without typing, and
    # never reaches the assistant.
    for customer in customers:
        wamid = shop.says(customer, "hello? zqsilence")
        receipt = shop.receipt(wamid)
        assert "typing_indicator" not in receipt
        assert any(r.get("wamid") == wamid for r in records(shop.pnid, customer))
    assert shop.model_requests("zqsilence") == []
    for customer in customers:
        assert len(shop.texts(customer)) == 1

    # Released by a person: the assistant answers again.
    from wacloud.conversations import release

    assert release(shop.pnid, customers[0], by="operator-1", at=time.time())
    shop.says(customers[0], "How long does shipping take? zqback")
    assert "two business days" in shop.wait_texts(customers[0], 2)[1]


# ------------------------------------------------------------------ voice notes
def test_voice_note_is_transcribed_stored_and_answered(shop: Tenant) -> None:
    shop.wait_indexed()
    customer = new_customer()
    question = "How much does city shipping cost?"
    audio = b"OggS" + b"\x00" * 24 + b"OpusHead" + b"TRANSCRIPT: " + question.encode()
    wamid = shop.emulator.customer_sends(
        customer,
        {"type": "audio", "audio": {"data": audio, "mime_type": "audio/ogg", "voice": True}},
        phone_number_id=shop.pnid,
    )
    (reply,) = shop.wait_texts(customer, 1)
    assert "5 dollars" in reply or "two business days" in reply
    (request,) = shop.model_requests(question)
    assert request["body"]["input"][-1]["content"] == f"[voice note] {question}"
    (record,) = [r for r in records(shop.pnid, customer) if r.get("wamid") == wamid]
    assert record["transcript"] == question
    assert len(shop.openai.requests("/v1/audio/transcriptions")) >= 1


# ------------------------------------------------------------------ OpenAI faults
FAULTS = [
    ({"status": 429, "retry_after": 1, "count": 2}, "Do you ship abroad? zqratelimit"),
    ({"status": 500, "count": 2}, "Do you ship abroad? zqoutage"),
]


def assert_fallback_and_handoff(shop: Tenant, customer: str, wamid: str, timeout: float) -> None:
    (fallback,) = shop.wait_texts(customer, 1, timeout=timeout)
    assert fallback.startswith(FALLBACK_EN)
    state = wait_for(
        "handoff", lambda: (s := conversation(shop.pnid, customer)).in_handoff(time.time()) and s
    )
    assert state.handoff_reason == "assistant_error"
    (out,) = [r for r in records(shop.pnid, customer) if r.get("direction") == "out"]
    assert out["idempotency_key"] == f"assist:{wamid}:0"


def redeliver(shop: Tenant, customer: str, wamid: str, text: str) -> None:
    """The same job again, as SQS redelivers it (a lost delete, a retry)."""
    from wacloud.infra.queues import send_bodies

    job = {
        "phone_number_id": shop.pnid,
        "wa_id": customer,
        "wamid": wamid,
        "type": "text",
        "text": text,
        "at": time.time(),
    }
    send_bodies(shop.stack.outputs["AssistantQueueUrl"], [json.dumps(job)])


def outbound_drained(shop: Tenant) -> None:
    """Every submission queued so far has been through the sender."""
    sqs = shop.stack.client("sqs")
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]

    def drained() -> bool:
        found = sqs.get_queue_attributes(
            QueueUrl=shop.stack.outputs["OutboundQueueUrl"], AttributeNames=names
        )["Attributes"]
        return all(found[n] == "0" for n in names)

    wait_for("outbound queue drained", drained, timeout=60)


@pytest.mark.parametrize(("fault", "text"), FAULTS, ids=["429", "500"])
def test_openai_fault_ends_in_one_fallback_and_a_handoff(
    shop: Tenant, fault: dict[str, Any], text: str
) -> None:
    token = text.rsplit(maxsplit=1)[-1]
    shop.openai.add_fault({**fault, "path": "/v1/responses", "match": token})
    customer = new_customer()
    wamid = shop.says(customer, text)
    assert_fallback_and_handoff(shop, customer, wamid, timeout=60)
    assert len(shop.model_requests(text)) == 2  # the SDK's one retry, then ours: none

    # Redelivered while a person has it: silent, no model call.
    redeliver(shop, customer, wamid, text)
    wait_for("redelivered job done", lambda: len(shop.job_log(wamid)) >= 2, timeout=60)
    assert [e["action"] for e in shop.job_log(wamid)] == ["fallback", "in_handoff"]
    assert len(shop.texts(customer)) == 1
    assert len(shop.model_requests(text)) == 2

    # Redelivered after a release: the model answers this time, but the answer has
    # the fallback's idempotency key (assist:{wamid}:0), so the sender drops it.
    from wacloud.conversations import release

    assert release(shop.pnid, customer, by="operator-1", at=time.time())
    redeliver(shop, customer, wamid, text)
    wait_for("job done again", lambda: len(shop.job_log(wamid)) >= 3, timeout=60)
    assert shop.job_log(wamid)[-1]["action"] in ("answered", "handoff")
    outbound_drained(shop)
    assert len(shop.texts(customer)) == 1


# ------------------------------------------------------------------ spam
def test_spam_raises_the_score_and_blocks_here_and_at_meta(shop: Tenant) -> None:
    from wacloud.store import contacts

    customer = new_customer()
    shop.says(customer, "WIN a FREE phone now at http://win-prize.xyz")
    score = wait_for(
        "spam score",
        lambda: (
            float((contacts.load(shop.pnid, customer) or {}).get("mod_score", 0)) >= 6
            and contacts.load(shop.pnid, customer)
        ),
        timeout=60,
    )
    assert score.get("blocked") is not True
    # A second report within minutes passes the default threshold (10): blocked.
    shop.says(customer, "Claim your FREE crypto prize http://win-prize.xyz")
    wait_for(
        "contact blocked",
        lambda: (contacts.load(shop.pnid, customer) or {}).get("blocked") is True,
        timeout=60,
    )
    item = contacts.load(shop.pnid, customer) or {}
    assert item["blocked_by"] == "moderation" and item["meta_blocked"] is True
    assert customer in shop.emulator.core.phone_number(shop.pnid).blocklist
    assert shop.texts(customer) == []


# ------------------------------------------------------------------ timeout (started first)
def test_openai_timeout_ends_in_one_fallback_and_a_handoff(shop: Tenant) -> None:
    customer, wamid = shop.timeout_customer, shop.timeout_wamid
    assert_fallback_and_handoff(shop, customer, wamid, timeout=120)
    assert len(shop.model_requests(TIMEOUT_TEXT)) == 2
    # The job logs its outcome after sending the fallback: wait for the line, then
    # check it is the only one.
    wait_for("the job's log line", lambda: shop.job_log(wamid), timeout=30)
    assert [e["action"] for e in shop.job_log(wamid)] == ["fallback"]
