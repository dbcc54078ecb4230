"""The inbox through the operator API's app against moto: list order and filters,
take / release / resolve, replies and the window, canned responses, notes, labels,
assignment (manual and round-robin with availability and limits), the survey."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import boto3
import pytest

from tests.unit.indexed_table import indexed_state_table
from wacloud.infra.clock import now

PNID = "100000000000013"
A, B, C = "5215550000001", "5215550000002", "5215550000003"


@pytest.fixture
def queue(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    with indexed_state_table(monkeypatch) as _:
        url = boto3.client("sqs").create_queue(QueueName="outbound")["QueueUrl"]
        monkeypatch.setenv("OUTBOUND_QUEUE_URL", url)
        monkeypatch.delenv("EVENT_BUS_NAME", raising=False)
        monkeypatch.delenv("HANDOFF_TOPIC_ARN", raising=False)
        from wacloud.infra import aws, config

        config.settings.cache_clear()
        aws.sqs.cache_clear()
        yield url


def call(
    method: str,
    path: str,
    role: str | None = "agent",
    user: str = "ana",
    body: Any = None,
    params: dict[str, Any] | None = None,
) -> tuple[int, Any]:
    from wacloud.api.app import handle

    query = {k: str(v) for k, v in (params or {}).items() if v is not None}
    context: dict[str, Any] = {
        "requestId": "req-1",
        "http": {"method": method, "path": path, "sourceIp": "127.0.0.1"},
        "routeKey": "$default",
        "stage": "$default",
    }
    if role is not None:
        claims = {"sub": f"sub-{user}", "username": user, "cognito:groups": f"[{role}]"}
        context["authorizer"] = {"jwt": {"claims": claims, "scopes": None}}
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": urlencode(query),
        "headers": {"content-type": "application/json"},
        "requestContext": context,
        "isBase64Encoded": False,
    }
    if query:
        event["queryStringParameters"] = query
    if body is not None:
        event["body"] = json.dumps(body)
    result = handle(event, None)
    return int(result["statusCode"]), json.loads(result["body"]) if result["body"] else None


def conv(wa_id: str, suffix: str = "") -> str:
    return f"/v1/numbers/{PNID}/conversations/{wa_id}{suffix}"


def customer_writes(wa_id: str, at: float | None = None) -> None:
    from wacloud.store import contacts

    contacts.record_customer_message(
        PNID,
        wa_id,
        at=now() if at is None else at,
        profile_name="Profile " + wa_id[-1],
        user_id=None,
        window_seconds=86400,
        free_entry_point=False,
    )


def hand_over(wa_id: str, at: float | None = None) -> None:
    from wacloud.conversations import request_handoff

    assert request_handoff(PNID, wa_id, reason="keyword", at=now() if at is None else at)


def queued(url: str) -> list[dict[str, Any]]:
    sqs = boto3.client("sqs")
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(m["Body"]) for m in got]


def test_waiting_first_then_by_activity_with_filters_and_paging(queue: str) -> None:
    t = now()
    customer_writes(A)
    hand_over(A, t - 300)  # waiting, oldest activity
    hand_over(B, t - 100)
    assert call("POST", conv(B, "/take"))[0] == 200  # assigned: not waiting any more
    hand_over(C, t - 200)

    status, body = call("GET", f"/v1/numbers/{PNID}/conversations")
    assert status == 200, body
    assert [i["wa_id"] for i in body["items"]] == [C, A, B]
    first = body["items"][1]
    assert first["state"] == "handoff" and first["waiting_since"] == pytest.approx(t - 300)
    assert first["handoff_reason"] == "keyword" and first["profile_name"] == "Profile 1"
    assert body["items"][2]["state"] == "assigned" and body["items"][2]["assignee"] == "ana"

    assigned = call("GET", f"/v1/numbers/{PNID}/conversations", params={"assignee": "me"})[1]
    assert [i["wa_id"] for i in assigned["items"]] == [B]
    waiting = call("GET", f"/v1/numbers/{PNID}/conversations", params={"state": "handoff"})[1]
    assert [i["wa_id"] for i in waiting["items"]] == [C, A]
    free = call("GET", f"/v1/numbers/{PNID}/conversations", params={"unassigned": "true"})[1]
    assert [i["wa_id"] for i in free["items"]] == [C, A]
    status, bad = call(
        "GET", f"/v1/numbers/{PNID}/conversations", params={"unassigned": "true", "assignee": "me"}
    )
    assert status == 400 and bad["error"]["fields"][0]["field"] == "unassigned"
    recent = call(
        "GET", f"/v1/numbers/{PNID}/conversations", params={"since": t - 250, "state": "handoff"}
    )[1]
    assert [i["wa_id"] for i in recent["items"]] == [C]

    page1 = call("GET", f"/v1/numbers/{PNID}/conversations", params={"limit": 2})[1]
    assert [i["wa_id"] for i in page1["items"]] == [C, A] and page1["next_cursor"]
    page2 = call(
        "GET",
        f"/v1/numbers/{PNID}/conversations",
        params={"limit": 2, "cursor": page1["next_cursor"]},
    )[1]
    assert [i["wa_id"] for i in page2["items"]] == [B] and page2["next_cursor"] is None

    status, bad = call("GET", f"/v1/numbers/{PNID}/conversations", params={"cursor": "bm90LW91cnM"})
    assert status == 400 and bad["error"]["code"] == "invalid_request"
    status, bad = call("GET", f"/v1/numbers/{PNID}/conversations", params={"since": "yesterday"})
    assert status == 400 and bad["error"]["fields"][0]["field"] == "since"


def test_take_silences_the_bot_release_gives_it_back_and_others_cannot_take_it(
    queue: str,
) -> None:
    from wacloud.conversations import HandoffGate
    from wacloud.inbound import IncomingMessage, Response, text_reply

    class Bot:
        def respond(self, message: IncomingMessage) -> Response:
            return Response((text_reply("bot here"),))

    def says(text: str) -> Response:
        return HandoffGate(Bot()).respond(
            IncomingMessage(PNID, A, f"wamid.{text}", "text", text, None, None, at=now())
        )

    customer_writes(A)
    assert len(says("hello")) == 1
    status, body = call("POST", conv(A, "/take"))
    assert status == 200 and body["state"] == "assigned" and body["assignee"] == "ana"
    assert len(says("hello?")) == 0  # the assistant/menu is silent while ana has it
    status, body = call("POST", conv(A, "/take"), user="bob")
    assert status == 409 and body["error"]["code"] == "assigned_to_other"
    assert call("GET", "/v1/agents")[1]["items"][0] == {
        "name": "ana",
        "available": False,
        "max_open": 5,
        "open": 1,
        "last_assigned_at": pytest.approx(now(), abs=5),
    }
    status, body = call("POST", conv(A, "/take"), role="admin", user="boss")
    assert status == 200 and body["assignee"] == "boss"
    agents = {a["name"]: a["open"] for a in call("GET", "/v1/agents")[1]["items"]}
    assert agents == {"ana": 0, "boss": 1}

    status, body = call("POST", conv(A, "/release"))
    assert status == 200 and body["state"] == "bot" and body["assignee"] is None
    assert {a["name"]: a["open"] for a in call("GET", "/v1/agents")[1]["items"]}["boss"] == 0
    assert len(says("hi again")) == 1
    status, body = call("POST", conv(A, "/release"))
    assert status == 409 and body["error"]["code"] == "not_with_a_person"


def test_reply_inside_the_window_is_recorded_as_the_agents_and_queued(queue: str) -> None:
    from wacloud.store import messages

    customer_writes(A)
    status, body = call(
        "POST", conv(A, "/reply"), body={"text": "Hola, soy Ana", "idempotency_key": "k1"}
    )
    assert status == 202, body
    message_id = body["message_id"]
    record = messages.load(PNID, message_id)
    assert record is not None
    assert record["origin"] == "agent" and record["agent"] == "ana"
    assert record["state"] == "accepted"
    (sent,) = queued(queue)
    assert sent["to"] == f"+{A}" and sent["text"] == {"body": "Hola, soy Ana"}
    again = call("POST", conv(A, "/reply"), body={"text": "Hola, soy Ana", "idempotency_key": "k1"})
    assert again[1]["message_id"] == message_id

    thread = call("GET", conv(A))[1]
    assert thread["window_open"] is True
    assert thread["window"]["open"] is True
    assert thread["window"]["closes_at"] == pytest.approx(now() + 86400, abs=5)
    assert thread["messages"][0]["status"] == "accepted"
    assert thread["messages"][0]["origin"] == "agent" and thread["messages"][0]["agent"] == "ana"
    assert thread["messages"][0]["text"] == "Hola, soy Ana"


def test_outside_the_window_only_a_template(queue: str) -> None:
    customer_writes(B, now() - 2 * 86400)
    status, body = call("POST", conv(B, "/reply"), body={"text": "hi"})
    assert status == 409 and body["error"]["code"] == "window_closed"
    assert queued(queue) == []
    status, body = call(
        "POST",
        conv(B, "/reply"),
        body={"template": {"name": "hello_world", "language": "en_US"}},
    )
    assert status == 202, body
    (sent,) = queued(queue)
    assert sent["template"] == {"name": "hello_world", "language": {"code": "en_US"}}
    status, body = call("POST", conv(B, "/reply"), body={"text": "a", "canned": "x"})
    assert status == 400 and body["error"]["code"] == "invalid_request"
    thread = call("GET", conv(B))[1]
    assert thread["window"] == {"open": False, "closes_at": None}
    assert thread["window_open"] is False


def test_canned_responses_with_params(queue: str) -> None:
    customer_writes(A)
    path = f"/v1/numbers/{PNID}/canned-responses/greet"
    assert call("PUT", path, body={"text": "Hola {name}, tu pedido {order}"})[0] == 403
    status, body = call("PUT", path, role="admin", body={"text": "Hola {name}, tu pedido {order}"})
    assert status == 200 and body["name"] == "greet"
    status, body = call("PUT", path, role="admin", body={"text": "Hola {0}"})
    assert status == 400
    assert call("GET", f"/v1/numbers/{PNID}/canned-responses")[1]["items"][0]["name"] == "greet"

    status, body = call(
        "POST", conv(A, "/reply"), body={"canned": "greet", "params": {"name": "MARKER-77"}}
    )
    assert status == 400
    assert body["error"]["fields"][0]["field"] == "params.order"
    assert "MARKER-77" not in json.dumps(body)
    status, body = call(
        "POST",
        conv(A, "/reply"),
        body={"canned": "greet", "params": {"name": "Eva", "order": "42"}},
    )
    assert status == 202
    assert queued(queue)[0]["text"]["body"] == "Hola Eva, tu pedido 42"
    assert call("POST", conv(A, "/reply"), body={"canned": "nope"})[0] == 404
    assert call("DELETE", path, role="admin")[0] == 200
    assert call("DELETE", path, role="admin")[0] == 404


def test_notes_and_labels(queue: str) -> None:
    status, note = call("POST", conv(A, "/notes"), body={"text": "VIP, be nice"})
    assert status == 201 and note["author"] == "ana"
    call("POST", conv(A, "/notes"), user="bob", body={"text": "second"})
    notes = call("GET", conv(A, "/notes"))[1]["items"]
    assert [n["text"] for n in notes] == ["second", "VIP, be nice"]
    assert queued(queue) == []  # never sent

    status, body = call("PUT", conv(A, "/labels"), body={"add": ["vip", "billing"]})
    assert status == 200 and body["labels"] == ["billing", "vip"]
    body = call("PUT", conv(A, "/labels"), body={"add": ["urgent"], "remove": ["billing"]})[1]
    assert body["labels"] == ["urgent", "vip"]
    listed = call("GET", f"/v1/numbers/{PNID}/conversations", params={"label": "vip"})[1]
    assert [i["wa_id"] for i in listed["items"]] == [A]  # a label puts it in the inbox
    assert listed["items"][0]["state"] == "bot"
    bots = call("GET", f"/v1/numbers/{PNID}/conversations", params={"state": "bot"})[1]
    assert [i["wa_id"] for i in bots["items"]] == [A]
    none = call("GET", f"/v1/numbers/{PNID}/conversations", params={"label": "billing"})[1]
    assert none["items"] == []


def test_auto_assignment_round_robin_with_availability_and_limits(queue: str) -> None:
    settings = f"/v1/numbers/{PNID}/inbox-settings"
    assert call("PATCH", settings, body={"auto_assign": True})[0] == 403
    assert call("PATCH", settings, role="admin", body={"auto_assign": True})[1] == {
        "auto_assign": True,
        "survey": False,
    }
    assert call("PUT", "/v1/agents/ana", body={"max_open": 1})[0] == 403
    assert call("PUT", "/v1/agents/ana", role="admin", body={"max_open": 1})[0] == 200
    assert call("PUT", "/v1/agents/me", user="ana", body={"available": True})[1]["available"]
    assert call("PUT", "/v1/agents/me", user="bob", body={"available": True})[0] == 200
    call("PUT", "/v1/agents/me", user="carl", body={"available": False})

    from wacloud.store import conversations

    hand_over(A)
    hand_over(B)
    hand_over(C)
    first, second = conversations.load(PNID, A).assignee, conversations.load(PNID, B).assignee
    assert {first, second} == {"ana", "bob"}  # one each: the least recently assigned first
    # ana is at her limit (1), bob has one of 5: the third goes to bob, carl is away
    assert conversations.load(PNID, C).assignee == "bob"
    call("PUT", "/v1/agents/me", user="bob", body={"available": False})
    hand_over("5215550000004")
    waiting = conversations.load(PNID, "5215550000004")
    assert waiting.state == "handoff" and waiting.assignee is None  # waits unassigned

    status, body = call("POST", conv("5215550000004", "/assign"), body={"agent": "carl"})
    assert status == 200 and body["assignee"] == "carl"
    opens = {a["name"]: a["open"] for a in call("GET", "/v1/agents")[1]["items"]}
    assert opens == {"ana": 1, "bob": 2, "carl": 1}


def test_resolve_sends_the_survey_and_keeps_only_an_answer_to_it(queue: str) -> None:
    from wacloud.conversations import HandoffGate
    from wacloud.inbound import IncomingMessage, Response
    from wacloud.store import messages

    class Silent:
        def respond(self, message: IncomingMessage) -> Response:
            return Response()

    call("PATCH", f"/v1/numbers/{PNID}/inbox-settings", role="admin", body={"survey": True})
    customer_writes(A)
    hand_over(A)
    call("POST", conv(A, "/take"))
    status, body = call("POST", conv(A, "/resolve"))
    assert status == 200 and body["state"] == "resolved" and body["survey_message_id"]
    survey_id = body["survey_message_id"]
    (sent,) = queued(queue)
    assert sent["type"] == "interactive"
    ids = [b["reply"]["id"] for b in sent["interactive"]["action"]["buttons"]]
    assert ids == ["survey:good", "survey:ok", "survey:bad"]
    messages.link_wamid(PNID, survey_id, "wamid.SURVEY")
    from wacloud.infra.dynamo import Expr, update

    update(messages.message_pk(PNID, survey_id), "#", Expr().set("wamid", "wamid.SURVEY"))

    def answer(reply_id: str, context: str | None) -> Response:
        return HandoffGate(Silent()).respond(
            IncomingMessage(
                PNID,
                A,
                f"wamid.{reply_id}{context}",
                "interactive",
                None,
                reply_id,
                None,
                at=now(),
                context_wamid=context,
            )
        )

    assert len(answer("survey:bad", "wamid.OTHER")) == 0  # forged: not a reply to it
    assert call("GET", conv(A))[1]["survey"]["answer"] is None
    assert len(answer("survey:good", "wamid.SURVEY")) == 1  # thanked
    survey = call("GET", conv(A))[1]["survey"]
    assert survey["answer"] == "good" and survey["message_id"] == survey_id
    answer("survey:bad", "wamid.SURVEY")
    assert call("GET", conv(A))[1]["survey"]["answer"] == "good"  # the first answer stays
    status, body = call("POST", conv(A, "/resolve"))
    assert status == 409


def test_roles_and_unknowns(queue: str) -> None:
    assert call("GET", f"/v1/numbers/{PNID}/conversations", role=None)[0] == 401
    assert call("GET", f"/v1/numbers/{PNID}/conversations", role="viewer")[0] == 403
    assert call("GET", f"/v1/numbers/{PNID}/inbox-settings")[0] == 403
    assert call("GET", conv("5215559999999"))[1]["error"]["code"] == "not_found"
    assert call("GET", conv("not-a-number"))[0] == 400


def test_erasure_takes_the_notes_with_the_conversation(queue: str) -> None:
    from wacloud.erasure import erase_customer
    from wacloud.store import inbox

    call("POST", conv(A, "/notes"), body={"text": "MARKER-NOTE-1313"})
    call("POST", conv(A, "/take"))
    assert inbox.notes(PNID, A)
    report = erase_customer(PNID, A)
    assert report.complete and report.conversation == 2
    assert inbox.notes(PNID, A) == []
    assert call("GET", conv(A, "/notes"))[1]["items"] == []


def suggest(wa_id: str, text: str, handoff_at: float) -> bool:
    """What the assistant's default port does when it handed over for low confidence."""
    from wacloud.assistant.ports import Ports

    save = Ports.__dataclass_fields__["save_suggestion"].default
    return bool(
        save(PNID, wa_id, text=text, confidence=0.4, handoff_at=handoff_at, at=handoff_at + 1)
    )


def test_the_assistants_suggestion_until_an_agent_answers_or_resolves(queue: str) -> None:
    from wacloud.conversations import request_handoff

    customer_writes(A)
    t = now()
    assert call("GET", conv(A))[1]["suggestion"] is None
    assert request_handoff(PNID, A, reason="low_confidence", at=t)
    assert not suggest(A, "Draft for another handoff", t - 10)  # not this handoff's
    assert suggest(A, "Abrimos de 9 a 18.", t)
    shown = call("GET", conv(A))[1]
    assert shown["suggestion"] == {"text": "Abrimos de 9 a 18.", "confidence": 0.4, "at": t + 1}
    assert call("POST", conv(A, "/take"))[0] == 200
    assert call("GET", conv(A))[1]["suggestion"]["text"] == "Abrimos de 9 a 18."

    assert call("POST", conv(A, "/reply"), body={"text": "Hola"})[0] == 202
    assert call("GET", conv(A))[1]["suggestion"] is None
    assert not suggest(A, "late draft", t)  # the agent has answered this handoff

    call("POST", conv(A, "/resolve"))
    t2 = now() + 1
    assert request_handoff(PNID, A, reason="low_confidence", at=t2)
    assert suggest(A, "second draft", t2)
    call("POST", conv(A, "/resolve"))
    assert call("GET", conv(A))[1]["suggestion"] is None
    assert not suggest(A, "after resolve", t2)  # nobody has it: dropped

    t3 = now() + 2
    assert request_handoff(PNID, A, reason="low_confidence", at=t3)
    assert suggest(A, "third draft", t3)
    assert call("POST", conv(A, "/release"))[0] == 200
    assert call("GET", conv(A))[1]["suggestion"] is None


def test_a_new_handoff_drops_an_old_suggestion(queue: str) -> None:
    from wacloud.conversations import request_handoff
    from wacloud.store import conversations as store

    customer_writes(A)
    from wacloud.conversations import load_handoff_settings

    t = now() - load_handoff_settings(PNID).timeout_seconds - 60
    assert request_handoff(PNID, A, reason="low_confidence", at=t)
    assert suggest(A, "old draft", t)
    # The handoff timed out (the bot answers again): not shown, then gone at the next one.
    assert call("GET", conv(A))[1]["suggestion"] is None
    assert store.load(PNID, A).suggestion is not None
    assert request_handoff(PNID, A, reason="keyword", at=now())
    assert store.load(PNID, A).suggestion is None


def test_inbound_media_is_described_without_its_bucket_or_key(queue: str) -> None:
    from wacloud.store import inbound_log

    customer_writes(A)
    digest = "ab" * 32
    inbound_log.record_inbound_message(
        PNID,
        "wamid.IMG",
        A,
        now() - 5,
        {
            "type": "document",
            "content": {"document": {"id": "m1", "caption": "factura"}},
            "media": {
                "bucket": "media-bucket",
                "s3_key": f"media/{digest}",
                "mime_type": "application/pdf",
                "size": 10,
                "sha256": digest,
                "kind": "document",
                "filename": "factura.pdf",
            },
            "media_status": "stored",
        },
    )
    inbound_log.record_inbound_message(
        PNID,
        "wamid.FAILED",
        A,
        now() - 4,
        {"type": "image", "media_error": {"code": "too_large"}, "media_status": "failed"},
    )
    call("POST", conv(A, "/take"))
    messages = call("GET", conv(A))[1]["messages"]
    by_wamid = {m.get("wamid"): m for m in messages}
    assert by_wamid["wamid.IMG"]["media"] == {
        "sha256": digest,
        "mime_type": "application/pdf",
        "kind": "document",
        "filename": "factura.pdf",
    }
    assert "media" not in by_wamid["wamid.FAILED"]
