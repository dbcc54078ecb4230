"""Automatic assignment end to end (#13): the InboundProcessor hands a conversation that
asks for a person to the least recently assigned agent who is available and below
their limit, as the operator API configured it; with nobody free it waits unassigned.

A stack of its own: auto-assignment changes what every handoff on the number does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from local.emulator import DEFAULT_PHONE_NUMBER_ID as PNID
from local.stack import LocalStack, use_stack_in_this_process
from local.waiting import wait_for
from tests.integration.api_client import Api

pytestmark = pytest.mark.integration


def conversation(api: Any, wa_id: str) -> dict[str, Any]:
    response = api.get(f"/v1/numbers/{PNID}/conversations/{wa_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def handed_over(api: Any, wa_id: str) -> bool:
    response = api.get(f"/v1/numbers/{PNID}/conversations/{wa_id}")
    return response.status_code == 200 and response.json()["state"] in ("handoff", "assigned")


def test_handoffs_go_round_robin_to_available_agents_within_their_limits(
    make_stack: Callable[..., LocalStack],
) -> None:
    stack = make_stack()
    use_stack_in_this_process(stack)
    assert stack.emulator is not None
    api = Api(stack)
    admin, ana, bob, cleo = (
        api("admin"),
        api("agent", "ana"),
        api("agent", "bob"),
        api("agent", "cleo"),
    )
    for agent in (ana, bob, cleo):  # each agent exists once they say whether they work
        assert agent.put("/v1/agents/me", json={"available": True}).status_code == 200
    assert admin.put("/v1/agents/ana", json={"max_open": 1}).status_code == 200
    assert admin.put("/v1/agents/bob", json={"max_open": 1}).status_code == 200
    assert cleo.put("/v1/agents/me", json={"available": False}).status_code == 200  # off shift
    settings = admin.patch(f"/v1/numbers/{PNID}/inbox-settings", json={"auto_assign": True})
    assert settings.status_code == 200, settings.text

    customers = ["15557000001", "15557000002", "15557000003"]
    for wa_id in customers:
        stack.emulator.customer_text(wa_id, "quiero hablar con una persona")
        wait_for(
            "the handoff was recorded",
            lambda w=wa_id: handed_over(ana, w),
            timeout=60,
        )
    assignees = [conversation(ana, w).get("assignee") for w in customers]
    # Two agents free, one place each: the first two handoffs go one to each, the
    # third waits for a person; the agent who is off shift gets none.
    assert sorted(a for a in assignees[:2] if a) == ["ana", "bob"], assignees
    assert assignees[2] is None and conversation(ana, customers[2])["state"] == "handoff"
    agents = {a["name"]: a for a in ana.get("/v1/agents").json()["items"]}
    assert (agents["ana"]["open"], agents["bob"]["open"], agents["cleo"]["open"]) == (1, 1, 0)
    # The waiting one is first in the inbox.
    listed = ana.get(f"/v1/numbers/{PNID}/conversations").json()["items"]
    assert listed[0]["wa_id"] == customers[2]
    # Resolving frees a place: the agent's open count goes down.
    first_agent = assignees[0]
    owner = ana if first_agent == "ana" else bob
    assert owner.post(f"/v1/numbers/{PNID}/conversations/{customers[0]}/resolve").status_code == 200
    agents = {a["name"]: a for a in ana.get("/v1/agents").json()["items"]}
    assert agents[str(first_agent)]["open"] == 0
