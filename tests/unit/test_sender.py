"""The sender on moto with a fake Graph client: claims, policy, limits, errors, records."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from tests.unit.conftest import mocked_state_table
from wacloud.graph.client import GraphTransportError, SentMessage
from wacloud.graph.errors import GraphAPIError
from wacloud.infra import aws, config
from wacloud.infra.clock import now
from wacloud.infra.dynamo import marshal
from wacloud.outbound.sender import Outcome, Sender, batch_counts, message_id_for, rate_limit_delay
from wacloud.store import contacts, messages
from wacloud.templates.sync import template_pk

PNID = "100000000000001"
WABA = "200000000000001"
TO = "15551230000"


class FakeGraph:
    """Records sends; raises queued errors first."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        self.errors: list[Exception] = []

    def send_message(self, phone_number_id: str, payload: dict[str, Any]) -> SentMessage:
        if self.errors:
            raise self.errors.pop(0)
        self.sent.append(payload)
        return SentMessage(wamid=f"wamid.{len(self.sent)}", wa_id=TO, message_status=None)


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    with mocked_state_table(monkeypatch, SEND_RECONCILE_GRACE_SECONDS="300", MAX_SEND_ATTEMPTS="3"):
        yield
        config.settings.cache_clear()
        for client in (aws.dynamodb, aws.sqs, aws.s3):
            client.cache_clear()


@pytest.fixture
def graph(env: None) -> FakeGraph:
    return FakeGraph()


@pytest.fixture
def sender(graph: FakeGraph) -> Sender:
    return Sender(graph, waba_for=lambda pnid: WABA)  # type: ignore[arg-type]


def put(item: dict[str, Any]) -> None:
    boto3.client("dynamodb").put_item(TableName="state", Item=marshal(item))


def open_window(wa_id: str = TO) -> None:
    contacts.record_customer_message(
        PNID,
        wa_id,
        at=now(),
        profile_name=None,
        user_id=None,
        window_seconds=86400,
        free_entry_point=False,
    )


def text(key: str = "k1", to: str = TO, **extra: Any) -> str:
    doc = {
        "phone_number_id": PNID,
        "to": to,
        "type": "text",
        "text": {"body": "hi"},
        "idempotency_key": key,
        **extra,
    }
    return json.dumps(doc)


def template(name: str = "order_update", params: list[str] | None = None, **extra: Any) -> str:
    comps = (
        [{"type": "body", "parameters": [{"type": "text", "text": p} for p in params]}]
        if params
        else []
    )
    doc = {
        "phone_number_id": PNID,
        "to": TO,
        "type": "template",
        "idempotency_key": name,
        "template": {"name": name, "language": {"code": "en_US"}, "components": comps},
        **extra,
    }
    return json.dumps(doc)


def synced(
    name: str,
    *,
    category: str = "UTILITY",
    status: str = "APPROVED",
    body: str = "Order {{1}} is ready",
    **more: Any,
) -> None:
    put(
        {
            "pk": template_pk(WABA),
            "sk": f"{name}#en_US",
            "name": name,
            "language": "en_US",
            "status": status,
            "category": category,
            "parameter_format": "POSITIONAL",
            "components": [{"type": "BODY", "text": body}],
            "deleted": False,
            **more,
        }
    )


def record(body: str) -> dict[str, Any]:
    doc = json.loads(body)
    item = messages.load(PNID, message_id_for(PNID, doc["idempotency_key"]))
    assert item is not None
    return item


# ---------------------------------------------------------------- happy path and claims


def test_sends_once_and_records_states_in_order(sender: Sender, graph: FakeGraph) -> None:
    open_window()
    result = sender.handle(text())
    assert result.outcome is Outcome.SENT and len(graph.sent) == 1
    item = record(text())
    assert item["state"] == "sent" and item["wamid"] == "wamid.1"
    assert [h["state"] for h in item["history"]] == ["sending", "sent"]
    assert item["at_sending"] <= item["at_sent"]
    assert graph.sent[0]["biz_opaque_callback_data"] == f"wc1.{item['message_id']}"


def test_redelivery_sends_nothing(sender: Sender, graph: FakeGraph) -> None:
    open_window()
    sender.handle(text())
    again = sender.handle(text())
    assert again.outcome is Outcome.DUPLICATE and again.retry_in is None
    assert len(graph.sent) == 1


def test_transport_error_keeps_the_claim(sender: Sender, graph: FakeGraph) -> None:
    open_window()
    graph.errors.append(GraphTransportError("read timeout"))
    first = sender.handle(text())
    assert first.outcome is Outcome.IN_FLIGHT and first.retry_in == 301
    second = sender.handle(text())  # a copy inside the grace: must not send
    assert second.outcome is Outcome.IN_FLIGHT and graph.sent == []
    assert record(text())["state"] == "sending"


# ---------------------------------------------------------------- policy


def test_window_closed_rejects_free_form(sender: Sender, graph: FakeGraph) -> None:
    result = sender.handle(text())
    assert result.outcome is Outcome.REJECTED and result.detail["rule"] == "window"
    assert record(text())["error"]["rule"] == "window" and graph.sent == []


def test_blocked_recipient_rejected(sender: Sender, graph: FakeGraph) -> None:
    open_window()
    contacts.set_flag(PNID, TO, "blocked", True, reason="test")
    assert sender.handle(text()).detail["rule"] == "blocked"
    assert graph.sent == []


def test_marketing_template_refused_after_opt_out(sender: Sender, graph: FakeGraph) -> None:
    synced("promo", category="MARKETING", body="Sale on {{1}}")
    synced("receipt", category="UTILITY", body="Paid {{1}}")
    contacts.set_flag(PNID, TO, "opted_out_marketing", True, reason="keyword:STOP")
    promo = sender.handle(template("promo", ["shoes"]))
    assert promo.outcome is Outcome.REJECTED and promo.detail["rule"] == "opt_out"
    receipt = sender.handle(template("receipt", ["$5"]))
    assert receipt.outcome is Outcome.SENT  # utility is not marketing


@pytest.mark.parametrize(
    ("setup", "send", "rule", "words"),
    [
        ({}, template("nope", ["x"]), "template", "not among"),
        ({"status": "PAUSED"}, template("order_update", ["1"]), "template", "132015"),
        ({}, template("order_update", []), "template_parameters", "1 parameter(s), 0 sent"),
        ({}, template("order_update", ["1", "2"]), "template_parameters", "132000"),
    ],
)
def test_template_checked_against_the_mirror(
    sender: Sender, graph: FakeGraph, setup: dict[str, Any], send: str, rule: str, words: str
) -> None:
    synced("order_update", **setup)
    result = sender.handle(send)
    assert result.outcome is Outcome.REJECTED, result
    assert result.detail["rule"] == rule and words in result.detail["reason"]
    assert graph.sent == []


def test_unsynced_waba_leaves_templates_to_meta(sender: Sender, graph: FakeGraph) -> None:
    assert sender.handle(template("anything", ["x"])).outcome is Outcome.SENT


# ---------------------------------------------------------------- limits and deferrals


def test_throughput_deferral_then_early_copy_waits(sender: Sender, graph: FakeGraph) -> None:
    put({"pk": "TENANT#" + PNID, "sk": "#", "throughput_mps": 1})
    for i in range(3):
        open_window(f"1555000000{i}")
    budget = sender.budget()
    budget.reserve({PNID: 3})
    results = [sender.handle(text(f"t{i}", to=f"1555000000{i}"), budget) for i in range(3)]
    assert [r.outcome for r in results] == [Outcome.SENT, Outcome.DEFERRED, Outcome.DEFERRED]
    assert results[1].detail["rule"] == "throughput" and results[2].retry_in
    deferred = messages.load(PNID, message_id_for(PNID, "t1"))
    assert deferred is not None and deferred["state"] == "deferred"
    assert deferred["deferrals"] == 1 and "claim_token" not in deferred
    # A copy arriving long before retry_at (e.g. left by a crash) waits again, unsent.
    deferred_at = float(deferred["retry_at"])
    put({**deferred, "retry_at": deferred_at + 600})
    early = sender.handle(text("t1", to="15550000001"))
    assert early.outcome is Outcome.NOT_DUE and early.retry_in and early.retry_in > 590
    assert len(graph.sent) == 1


def test_messaging_limit_defers_new_business_initiated(sender: Sender, graph: FakeGraph) -> None:
    put({"pk": "TENANT#" + PNID, "sk": "#", "messaging_limit": 1})
    first = sender.handle(template("a_template", ["x"]))
    assert first.outcome is Outcome.SENT
    doc = json.loads(template("a_template", ["x"]))
    doc.update(to="15559998888", idempotency_key="other")
    second = sender.handle(json.dumps(doc))
    assert second.outcome is Outcome.DEFERRED and second.detail["rule"] == "messaging_limit"
    open_window("15559998888")  # inside the window it is not business-initiated
    doc["idempotency_key"] = "third"
    assert sender.handle(json.dumps(doc)).outcome is Outcome.SENT


def meta_error(code: int, details: str = "d") -> GraphAPIError:
    return GraphAPIError.from_response(
        400,
        {
            "error": {
                "code": code,
                "message": f"({code}) x",
                "type": "OAuthException",
                "error_data": {"details": details},
            }
        },
    )


def test_meta_rate_limits_defer_and_never_fail(sender: Sender, graph: FakeGraph) -> None:
    open_window()
    graph.errors += [meta_error(131056), meta_error(130429)]
    first = sender.handle(text())
    assert first.outcome is Outcome.DEFERRED and first.retry_in == 1  # 4^0
    item = record(text())
    put({**item, "retry_at": now() - 1})
    second = sender.handle(text())
    assert second.outcome is Outcome.DEFERRED and second.detail["code"] == 130429
    put({**record(text()), "retry_at": now() - 1})
    assert sender.handle(text()).outcome is Outcome.SENT
    final = record(text())
    assert final["deferrals"] == 2 and final.get("retries", 0) == 0


def test_retryable_errors_are_bounded_then_fail(sender: Sender, graph: FakeGraph) -> None:
    open_window()
    graph.errors += [meta_error(131000), meta_error(131000), meta_error(131000)]
    outcomes = []
    for _ in range(3):
        outcomes.append(sender.handle(text()).outcome)
        put({**record(text()), "retry_at": now() - 1})
    assert outcomes == [Outcome.RETRY, Outcome.RETRY, Outcome.FAILED]  # MAX_SEND_ATTEMPTS=3


def test_terminal_error_recorded_with_code_title_details(sender: Sender, graph: FakeGraph) -> None:
    open_window()
    graph.errors.append(meta_error(131026, "not on WhatsApp"))
    assert sender.handle(text()).outcome is Outcome.FAILED
    error = record(text())["error"]
    assert error["code"] == 131026 and error["details"] == "not on WhatsApp"
    assert error["title"] == "Message Undeliverable"


def test_opt_out_from_meta_is_remembered(sender: Sender, graph: FakeGraph) -> None:
    graph.errors.append(meta_error(131050))
    assert sender.handle(template("t", ["x"])).outcome is Outcome.FAILED
    contact = contacts.load(PNID, TO)
    assert contact is not None and contact["opted_out_marketing"] is True


# ---------------------------------------------------------------- small pure helpers


def test_rate_limit_delay_follows_metas_advice() -> None:
    assert [rate_limit_delay(131056, d, 1) for d in range(6)] == [1, 4, 16, 64, 256, 256]
    assert rate_limit_delay(131057, 0, 60) >= 60
    assert 1 <= rate_limit_delay(130429, 0, None) <= 900


def test_batch_counts_by_number() -> None:
    bodies = [
        text(),
        text("k2"),
        "not json",
        json.dumps({"phone_number_id": "x"}),
        json.dumps({"phone_number_id": "200"}),
    ]
    assert batch_counts(bodies) == {PNID: 2, "200": 1}


def test_a_claim_past_half_the_grace_is_never_sent(sender: Sender, graph: FakeGraph) -> None:
    import dataclasses

    open_window()
    sender.cfg = dataclasses.replace(sender.cfg, send_reconcile_grace_seconds=0)
    result = sender.handle(text())
    assert result.outcome is Outcome.DEFERRED and result.detail["rule"] == "claim_expired"
    assert graph.sent == [] and record(text())["state"] == "deferred"


def test_messages_of_a_cancelled_campaign_are_withdrawn_not_sent(
    sender: Sender, graph: FakeGraph
) -> None:
    from wacloud.store.campaigns import campaign_pk

    open_window()
    put({"pk": campaign_pk(PNID, "c1"), "sk": "#", "status": "running"})
    assert sender.handle(text("a", campaign_id="c1")).outcome is Outcome.SENT
    put({"pk": campaign_pk(PNID, "c2"), "sk": "#", "status": "cancelled"})
    result = sender.handle(text("b", campaign_id="c2"))
    assert result.outcome is Outcome.CANCELLED and len(graph.sent) == 1
    item = record(text("b"))
    assert item["state"] == "cancelled"
    assert item["error"] == {"reason": "campaign cancelled", "campaign_id": "c2"}
    assert sender.handle(text("b", campaign_id="c2")).outcome is Outcome.DUPLICATE


def test_withdrawn_and_refused_campaign_messages_count_in_its_figures(
    sender: Sender, graph: FakeGraph
) -> None:
    from wacloud.store import contacts
    from wacloud.store.campaigns import campaign_pk, figures_items

    open_window()
    put({"pk": campaign_pk(PNID, "c3"), "sk": "#", "status": "cancelled"})
    sender.handle(text("w", campaign_id="c3", variant="B"))
    sender.handle(text("w", campaign_id="c3", variant="B"))  # a redelivery adds nothing
    put({"pk": campaign_pk(PNID, "c4"), "sk": "#", "status": "running"})
    contacts.set_flag(PNID, TO, "blocked", True, reason="test")
    assert sender.handle(text("r", campaign_id="c4")).outcome is Outcome.REJECTED
    (cancelled,) = figures_items(PNID, "c3")
    assert cancelled == {"figures": {"cancelled"}, "variant": "B"}
    (rejected,) = figures_items(PNID, "c4")
    assert rejected == {"figures": {"rejected"}, "variant": "A"}
    assert graph.sent == []
