"""The inbox through the local stack (#13): a customer asks for a person, an agent
takes over through the operator API and replies, the customer (emulator) receives
it while the assistant/menu stays silent; resolve sends the survey and the answer to
THAT survey is kept. Also: a free-form reply outside the window is refused."""

from __future__ import annotations

import time
from typing import Any

import pytest

from local.emulator import DEFAULT_PHONE_NUMBER_ID as PNID
from local.stack import LocalStack
from local.waiting import wait_for
from tests.integration.test_handoff import recorded

pytestmark = pytest.mark.integration


def sent(stack: LocalStack, customer: str) -> list[dict[str, Any]]:
    assert stack.emulator is not None
    return stack.emulator.sent_messages(to=customer)


def texts(stack: LocalStack, customer: str) -> list[str]:
    return [m["payload"]["text"]["body"] for m in sent(stack, customer) if m["type"] == "text"]


def wait_count(stack: LocalStack, customer: str, count: int) -> list[dict[str, Any]]:
    return wait_for(
        f"{count} message(s) to the customer",
        lambda: len(sent(stack, customer)) >= count and sent(stack, customer),
        timeout=60,
    )


def quiet_after(stack: LocalStack, customer: str, wamid: str, count: int) -> None:
    """The customer's message was recorded and, a moment later, nothing more was sent."""
    wait_for("message recorded", lambda: recorded(customer, wamid), timeout=60)
    time.sleep(3)
    assert len(sent(stack, customer)) == count


@pytest.fixture
def warm(stack: LocalStack) -> LocalStack:
    assert stack.emulator is not None
    stack.emulator.customer_text("15559990013", "warm up")
    wait_for("stack warm", lambda: sent(stack, "15559990013"), timeout=90)
    return stack


def test_agent_takes_over_replies_resolves_and_the_survey_answer_is_kept(
    warm: LocalStack, api: Any, customer: str
) -> None:
    stack = warm
    assert stack.emulator is not None
    base = f"/v1/numbers/{PNID}/conversations"
    ana = api("agent", user="ana")

    stack.emulator.customer_text(customer, "hola, quiero hablar con un humano")
    (notice,) = wait_count(stack, customer, 1)
    assert notice["payload"]["text"]["body"].startswith("Gracias. Te paso con una persona")

    listed = ana.get(base, params={"state": "handoff"})
    assert listed.status_code == 200, listed.text
    mine = [i for i in listed.json()["items"] if i["wa_id"] == customer]
    assert mine and mine[0]["handoff_reason"] == "keyword" and mine[0]["waiting_since"]

    taken = ana.post(f"{base}/{customer}/take")
    assert taken.status_code == 200, taken.text
    assert taken.json()["state"] == "assigned" and taken.json()["assignee"] == "ana"
    assert api("agent", user="bob").post(f"{base}/{customer}/take").error_code == (
        "assigned_to_other"
    )

    # The customer writes (the menu's option 2 and a greeting): nobody but ana answers.
    wamid = stack.emulator.customer_text(customer, "hola")
    quiet_after(stack, customer, wamid, 1)

    reply = ana.post(f"{base}/{customer}/reply", json={"text": "Hola, soy Ana. ¿En qué te ayudo?"})
    assert reply.status_code == 202, reply.text
    wait_count(stack, customer, 2)
    assert texts(stack, customer)[-1] == "Hola, soy Ana. ¿En qué te ayudo?"

    wamid = stack.emulator.customer_text(customer, "2")
    quiet_after(stack, customer, wamid, 2)

    thread = ana.get(f"{base}/{customer}", params={"limit": 10})
    assert thread.status_code == 200, thread.text
    outs = [m for m in thread.json()["messages"] if m["direction"] == "out"]
    assert outs[0]["origin"] == "agent" and outs[0]["agent"] == "ana"
    assert outs[0]["message_id"] == reply.json()["message_id"]
    assert [m["text"] for m in thread.json()["messages"] if m["direction"] == "in"][:2] == [
        "2",
        "hola",
    ]

    settings = api("admin").patch(f"/v1/numbers/{PNID}/inbox-settings", json={"survey": True})
    assert settings.status_code == 200, settings.text
    resolved = ana.post(f"{base}/{customer}/resolve")
    assert resolved.status_code == 200, resolved.text
    assert resolved.json()["state"] == "resolved"
    survey_id = resolved.json()["survey_message_id"]
    survey = wait_count(stack, customer, 3)[-1]
    assert survey["type"] == "interactive"
    buttons = survey["payload"]["interactive"]["action"]["buttons"]
    assert [b["reply"]["id"] for b in buttons] == ["survey:good", "survey:ok", "survey:bad"]

    from wacloud.store import messages

    wait_for(
        "the survey's wamid recorded",
        lambda: (messages.load(PNID, survey_id) or {}).get("wamid") == survey["wamid"],
        timeout=30,
    )
    # A survey id without the survey as its context is not an answer (forgeable).
    forged = stack.emulator.customer_button_reply(customer, "survey:bad", "Mal")
    wait_for("forged recorded", lambda: recorded(customer, forged), timeout=60)
    answer = stack.emulator.customer_button_reply(
        customer, "survey:good", "Bien", context_id=survey["wamid"]
    )
    wait_for("answer recorded", lambda: recorded(customer, answer), timeout=60)
    kept = wait_for(
        "the answer kept",
        lambda: (ana.get(f"{base}/{customer}").json().get("survey") or {}).get("answer"),
        timeout=30,
    )
    assert kept == "good"
    wait_for(
        "thanks sent",
        lambda: "¡Gracias por tu opinión!" in texts(stack, customer),
        timeout=30,
    )
    api("admin").patch(f"/v1/numbers/{PNID}/inbox-settings", json={"survey": False})


def test_free_form_outside_the_window_is_refused_with_the_reason(
    warm: LocalStack, api: Any, customer: str
) -> None:
    path = f"/v1/numbers/{PNID}/conversations/{customer}/reply"
    refused = api("agent").post(path, json={"text": "hello"})
    assert refused.status_code == 409 and refused.error_code == "window_closed"
    assert "template" in refused.json()["error"]["message"]
    assert api(None).post(path, json={"text": "hello"}).status_code == 401
    assert api("viewer").post(path, json={"text": "hello"}).status_code == 403
    bad = api("agent").post(path, json={"text": ""})
    assert bad.status_code == 400 and bad.json()["error"]["fields"][0]["field"] == "text"
