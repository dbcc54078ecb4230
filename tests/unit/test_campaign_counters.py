"""Campaign figures count each message once: redelivered, reordered, raced, or killed.

Against moto, through the real code (`campaigns.count_status` / `count_reply`, and the
InboundProcessor for the killed-Lambda cases). Faults are injected on the DynamoDB
client's own events, so every call the code makes can be the one that fails:

* before a call reaches DynamoDB (nothing applied, the Lambda dies), and
* after DynamoDB applied it (the outcome is lost with the Lambda: a timeout).

Then the item is redelivered, as SQS does, and the figures must be exactly once.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import boto3
import pytest

from tests.unit.function_apps import inbound_features
from tests.unit.indexed_table import indexed_state_table
from wacloud.campaigns import count_reply, count_status, stats
from wacloud.inbound.processor import InboundOptions, InboundProcessor
from wacloud.inbound.responder import EchoResponder
from wacloud.infra import aws
from wacloud.infra.clock import iso
from wacloud.infra.dynamo import get, marshal, put_if_absent, table
from wacloud.store import messages
from wacloud.store.campaigns import campaign_pk
from wacloud.store.contacts import contact_pk

PNID = "100000000000001"
CAMPAIGN = "c0123456789abcdef"
CUSTOMER = "15550009999"


class LambdaKilled(BaseException):
    """The execution environment died: nothing after this point ran.

    A BaseException, as Lambda's kill is not an error the code could catch and
    carry on from (an `except Exception` in the code under test must not swallow it).
    """


@contextmanager
def fresh_state(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A moto state table (with gsi1) holding one running A/B campaign."""
    for name in ("MARK_AS_READ", "TYPING_INDICATOR"):
        monkeypatch.delenv(name, raising=False)
    # The shared mocked table also drops a local stack's endpoints left in this worker.
    with indexed_state_table(monkeypatch):
        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="media")
        new_campaign(CAMPAIGN)
        yield


@pytest.fixture
def state(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    with fresh_state(monkeypatch):
        yield


def new_campaign(campaign: str) -> None:
    put_if_absent(
        {
            "pk": campaign_pk(PNID, campaign),
            "sk": "#",
            "status": "running",
            "variants": [{"name": "A"}, {"name": "B"}],
        }
    )


def campaign_message(
    n: int, variant: str = "A", wa_id: str = CUSTOMER, campaign: str = CAMPAIGN
) -> str:
    """A campaign message's record, as the sender writes it."""
    message_id = f"m{n:032x}"
    messages.record_new(
        PNID,
        message_id,
        messages.State.SENT,
        {
            "campaign_id": campaign,
            "variant": variant,
            "direction": "out",
            "gsi1pk": contact_pk(PNID, wa_id),
            "gsi1sk": f"{iso(1767225600 + n % 60)}#OUT",
        },
    )
    return message_id


def totals(campaign: str = CAMPAIGN) -> dict[str, int]:
    figures: dict[str, int] = stats(PNID, campaign)["totals"]
    return {k: v for k, v in figures.items() if k != "queued"}


def expect(
    sent: int = 0, delivered: int = 0, read: int = 0, failed: int = 0, replied: int = 0
) -> dict[str, int]:
    return {
        "sent": sent,
        "delivered": delivered,
        "read": read,
        "failed": failed,
        "replied": replied,
        "rejected": 0,
        "cancelled": 0,
    }


@contextmanager
def dynamodb_hooks(
    before: Callable[[str], None] | None = None, after: Callable[[str], None] | None = None
) -> Iterator[list[str]]:
    """Watch (and fault) every call of wacloud's DynamoDB client; yields the calls made."""
    events = aws.dynamodb().meta.events
    calls: list[str] = []

    def on_before(model: Any, **_: Any) -> None:
        if before:
            before(model.name)

    def on_after(model: Any, **_: Any) -> None:
        calls.append(model.name)
        if after:
            after(model.name)

    events.register("before-call.dynamodb", on_before)
    events.register("after-call.dynamodb", on_after)
    try:
        yield calls
    finally:
        events.unregister("before-call.dynamodb", on_before)
        events.unregister("after-call.dynamodb", on_after)


# ----------------------------------------------------------------- direct counting
def test_a_redelivered_status_counts_once(state: None) -> None:
    mid = campaign_message(1)
    assert count_status(PNID, mid, "sent") is True
    assert count_status(PNID, mid, "sent") is False
    assert count_status(PNID, mid, "delivered") is True
    for _ in range(3):
        assert count_status(PNID, mid, "delivered") is False
    assert totals() == expect(sent=1, delivered=1)


@pytest.mark.parametrize("order", list(itertools.permutations(["sent", "delivered", "read"])))
def test_statuses_in_any_order_count_each_figure_once(state: None, order: tuple[str, ...]) -> None:
    mid = campaign_message(2)
    moved = [count_status(PNID, mid, status) for status in order]
    assert moved[0] is True  # the first always moves something
    assert totals() == expect(sent=1, delivered=1, read=1)


def test_read_before_delivered_before_sent_moves_nothing_after_the_read(state: None) -> None:
    mid = campaign_message(3)
    assert [count_status(PNID, mid, s) for s in ("read", "delivered", "sent")] == [
        True,
        False,
        False,
    ]
    assert totals() == expect(sent=1, delivered=1, read=1)


def test_failed_played_and_unknown_statuses(state: None) -> None:
    a, b = campaign_message(4), campaign_message(5, "B")
    assert count_status(PNID, a, "sent") and count_status(PNID, a, "failed")
    assert count_status(PNID, b, "played")  # a voice message played implies read
    assert count_status(PNID, b, "deleted") is False
    got = stats(PNID, CAMPAIGN)["variants"]
    assert (got["A"]["sent"], got["A"]["failed"]) == (1, 1)
    assert (got["B"]["sent"], got["B"]["delivered"], got["B"]["read"]) == (1, 1, 1)


def test_messages_outside_campaigns_move_nothing(state: None) -> None:
    messages.record_new(PNID, "m-plain", messages.State.SENT, {"direction": "out"})
    assert count_status(PNID, "m-plain", "delivered") is False
    assert count_status(PNID, "m-missing", "delivered") is False
    assert totals() == expect()


def test_one_update_per_status_after_the_record_read(state: None) -> None:
    mid = campaign_message(6)
    with dynamodb_hooks() as calls:
        count_status(PNID, mid, "delivered")
        count_status(PNID, mid, "delivered")  # a duplicate costs the same, nothing more
        count_status(PNID, mid, "read", campaign_id=CAMPAIGN, variant="A")
    assert calls == ["GetItem", "UpdateItem", "GetItem", "UpdateItem", "UpdateItem"]


def test_replies_count_once_per_campaign_message(state: None) -> None:
    mid = campaign_message(7, "B")
    for _ in range(3):  # a customer writing in three times, no context
        count_reply(PNID, CUSTOMER, 1767225700.0)
    assert stats(PNID, CAMPAIGN)["variants"]["B"]["replied"] == 1
    marker = get(campaign_pk(PNID, CAMPAIGN), f"M#{mid}") or {}
    assert marker["figures"] == {"replied"} and marker["variant"] == "B"


def test_a_failing_write_raises_rather_than_losing_the_count(state: None) -> None:
    from botocore.exceptions import ClientError

    mid = campaign_message(8)

    def throttle(operation: str) -> None:
        if operation == "UpdateItem":
            raise ClientError(
                {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow"}},
                operation,
            )

    with dynamodb_hooks(before=throttle), pytest.raises(ClientError):
        count_status(PNID, mid, "delivered")
    assert totals() == expect()
    assert count_status(PNID, mid, "delivered") is True  # the SQS retry
    assert totals() == expect(sent=1, delivered=1)


# ----------------------------------------------------------------- concurrency
@contextmanager
def atomic_requests() -> Iterator[None]:
    """DynamoDB applies each request atomically; moto in-process does not (two threads
    can interleave inside one request). Serialise requests, not the code's steps, so a
    race between the code's calls is as real as on DynamoDB."""
    lock = threading.RLock()

    def acquire(operation: str) -> None:
        lock.acquire()

    def release(operation: str) -> None:
        lock.release()

    with dynamodb_hooks(before=acquire, after=release):
        yield


def test_statuses_of_one_message_racing_count_once(state: None) -> None:
    """sent, delivered and read of each message (twice each: Meta's retries) at once,
    from as many threads as SQS batches could run."""
    ids = [campaign_message(100 + n, "AB"[n % 2]) for n in range(12)]
    jobs = [(mid, s) for mid in ids for s in ("sent", "delivered", "read") * 2]
    barrier = threading.Barrier(len(jobs))
    errors: list[BaseException] = []

    def run(mid: str, status: str) -> None:
        try:
            barrier.wait()
            count_status(PNID, mid, status)
        except BaseException as exc:  # reported below, never lost in a thread
            errors.append(exc)

    with atomic_requests():
        threads = [threading.Thread(target=run, args=job) for job in jobs]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert errors == []
    assert totals() == expect(sent=12, delivered=12, read=12)
    variants = stats(PNID, CAMPAIGN)["variants"]
    assert variants["A"]["read"] == variants["B"]["read"] == 6


# ----------------------------------------------------------------- killed Lambdas
@dataclass(frozen=True)
class Case:
    """One killed-Lambda case: its own campaign, message, customer and wamids."""

    n: int

    @property
    def campaign(self) -> str:
        return f"c{self.n:016x}"

    @property
    def customer(self) -> str:
        return f"1555100{self.n:04d}"

    def wamid(self, kind: str) -> str:
        return f"wamid.{kind}{self.n}"

    def message(self) -> str:
        new_campaign(self.campaign)
        return campaign_message(self.n, wa_id=self.customer, campaign=self.campaign)


def webhook(value: dict[str, Any]) -> dict[str, Any]:
    metadata = {"display_phone_number": "15550000001", "phone_number_id": PNID}
    value = {"messaging_product": "whatsapp", "metadata": metadata, **value}
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": "200000000000001", "changes": [{"field": "messages", "value": value}]}],
    }


def status_webhook(case: Case, message_id: str, status: str, ts: int) -> dict[str, Any]:
    callback = messages.tracking_callback(message_id, None)
    return webhook(
        {
            "statuses": [
                {
                    "id": case.wamid("K"),
                    "status": status,
                    "timestamp": str(ts),
                    "recipient_id": case.customer,
                    "biz_opaque_callback_data": callback,
                }
            ]
        },
    )


def reply_webhook(case: Case, ts: int) -> dict[str, Any]:
    return webhook(
        {
            "contacts": [{"profile": {"name": "Ana"}, "wa_id": case.customer}],
            "messages": [
                {
                    "from": case.customer,
                    "id": case.wamid("R"),
                    "timestamp": str(ts),
                    "type": "text",
                    "text": {"body": "hi"},
                }
            ],
        },
    )


class NoGraph:
    """Nothing in these webhooks needs Graph: replies are collected, never sent."""

    def submit(self, docs: list[dict[str, Any]]) -> None:
        pass

    def mark_read(self, pnid: str, wamid: str, typing: bool) -> None:
        pass

    def get_media(self, media_id: str, phone_number_id: str) -> Any:
        raise AssertionError("no media in these webhooks")

    def download_media(self, url: str, phone_number_id: str) -> bytes:
        raise AssertionError("no media in these webhooks")


def processor() -> InboundProcessor:
    graph = NoGraph()
    return inbound_features()(
        InboundProcessor(
            responder=EchoResponder(),
            submit=graph.submit,
            mark_read=graph.mark_read,
            options=InboundOptions(mark_as_read=False, typing_indicator=False),
            media_source=graph,
            media_store=aws.s3(),
            media_bucket="media",
        )
    )


def killed_at(call: int, when: str) -> dict[str, Callable[[str], None]]:
    """Hooks that kill the Lambda at its `call`-th DynamoDB call, before or after it."""
    seen = {"n": 0}

    def count(operation: str) -> None:
        seen["n"] += 1
        if seen["n"] == call:
            raise LambdaKilled(f"{when} call {call} ({operation})")

    return {when: count}


Webhooks = Callable[[Case, str], list[dict[str, Any]]]
SCENARIOS: list[tuple[str, Webhooks, dict[str, int]]] = [
    (
        "sent then delivered",
        lambda case, mid: [
            status_webhook(case, mid, "sent", 1767225601),
            status_webhook(case, mid, "delivered", 1767225602),
        ],
        expect(sent=1, delivered=1),
    ),
    (
        "read before delivered before sent",
        lambda case, mid: [
            status_webhook(case, mid, "read", 1767225603),
            status_webhook(case, mid, "delivered", 1767225602),
            status_webhook(case, mid, "sent", 1767225601),
        ],
        expect(sent=1, delivered=1, read=1),
    ),
    ("a reply", lambda case, mid: [reply_webhook(case, 1767225700)], expect(replied=1)),
]


@pytest.mark.parametrize(("name", "webhooks", "want"), SCENARIOS, ids=[s[0] for s in SCENARIOS])
def test_a_lambda_killed_at_any_call_then_redelivered_counts_once(
    state: None, name: str, webhooks: Webhooks, want: dict[str, int]
) -> None:
    """Each webhook item is processed with the Lambda killed at its k-th DynamoDB call,
    before the call reaches DynamoDB or after DynamoDB applied it, for every k; then
    SQS redelivers the item, twice. The figures must be exactly once every time."""
    cases = itertools.count(1)
    # How many calls each item makes when nothing fails.
    dry = Case(next(cases))
    per_item: list[int] = []
    for doc in webhooks(dry, dry.message()):
        with dynamodb_hooks() as calls:
            processor().process(doc)
        per_item.append(len(calls))
    assert totals(dry.campaign) == want
    assert all(n >= 3 for n in per_item), per_item  # record, apply, count at least
    tried = 0
    for item, calls_made in enumerate(per_item):
        for k, when in itertools.product(range(1, calls_made + 1), ("before", "after")):
            case = Case(next(cases))
            docs = webhooks(case, case.message())
            for earlier in docs[:item]:
                processor().process(earlier)
            with dynamodb_hooks(**killed_at(k, when)), pytest.raises(LambdaKilled):
                processor().process(docs[item])
            for _ in range(2):  # SQS redelivers the item (and once more)
                processor().process(docs[item])
            for later in docs[item + 1 :]:
                processor().process(later)
            assert totals(case.campaign) == want, (name, item, when, k)
            tried += 1
    assert tried == 2 * sum(per_item)


# ----------------------------------------------------------------- legacy campaigns
def test_campaigns_counted_before_keep_their_figures_and_count_nothing_twice(
    state: None,
) -> None:
    """A campaign counted by the marker + counter design: its counters still count, and
    a marker's `levels` (counted there already) are not counted again."""
    pk = campaign_pk(PNID, CAMPAIGN)
    put_if_absent({"pk": pk, "sk": "N#A#3", "variant": "A", "sent": 5, "delivered": 4})
    put_if_absent({"pk": pk, "sk": "N#B#0", "variant": "B", "sent": 2, "delivered": 2, "read": 1})
    legacy = {"v": 1, "expires_at": 1900000000}
    a = campaign_message(20)
    put_if_absent({"pk": pk, "sk": f"M#{a}", "levels": ["sent"], **legacy})
    b = campaign_message(21, "B")
    put_if_absent({"pk": pk, "sk": f"M#{b}", "levels": ["delivered", "sent"], **legacy})
    assert totals() == expect(sent=7, delivered=6, read=1)

    assert count_status(PNID, a, "sent") is False  # counted by the old counters
    assert count_status(PNID, a, "delivered") is True
    assert count_status(PNID, b, "delivered") is False
    assert count_status(PNID, b, "read") is True
    assert count_status(PNID, b, "read") is False
    got = stats(PNID, CAMPAIGN)["variants"]
    assert (got["A"]["sent"], got["A"]["delivered"], got["A"]["read"]) == (5, 5, 0)
    assert (got["B"]["sent"], got["B"]["delivered"], got["B"]["read"]) == (2, 2, 2)
    # The marker now carries figures of its own: it keeps them (no TTL any more).
    assert "expires_at" not in (get(pk, f"M#{a}") or {})


def test_stats_reads_every_page(state: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """Figures of a campaign larger than one Query page are all summed."""
    pk = campaign_pk(PNID, CAMPAIGN)
    client = aws.dynamodb()
    for n in range(30):
        client.update_item(
            TableName=table(),
            Key=marshal({"pk": pk, "sk": f"M#m{n:03d}"}),
            UpdateExpression="ADD figures :f SET variant = :v",
            ExpressionAttributeValues={":f": {"SS": ["sent"]}, ":v": {"S": "AB"[n % 2]}},
        )
    query = client.query

    def small_pages(**kwargs: Any) -> Any:
        return query(**{**kwargs, "Limit": 7})

    monkeypatch.setattr(client, "query", small_pages)
    assert totals() == expect(sent=30)


def test_a_timeout_is_not_mistaken_for_a_conditional_failure() -> None:
    """botocore's ReadTimeoutError has `response = None`: telling it apart from a
    conditional failure must not raise (that hid moto read timeouts in the sender as
    AttributeErrors in make demo-campaign)."""
    from botocore.exceptions import ClientError, ReadTimeoutError

    from wacloud.infra.dynamo import is_conditional_failure

    assert is_conditional_failure(ReadTimeoutError(endpoint_url="http://x/")) is False
    conditional = {"Error": {"Code": "ConditionalCheckFailedException", "Message": "no"}}
    assert is_conditional_failure(ClientError(conditional, "UpdateItem")) is True
