"""The console in a real browser against the local stack, as the business's people use it:
a customer (the emulator) asks for a person and the conversation appears in the inbox
without a reload; an agent takes it over and replies, and the customer receives the
reply; outside the 24-hour window the agent answers with an approved template; an admin
creates a campaign from the page and watches it reach completed; a hostile message shows
as text. Every page is photographed under .screenshots/ (desktop and phone width).
"""

from __future__ import annotations

import struct
import time
import zlib
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import expect

from local.emulator import DEFAULT_PHONE_NUMBER_ID as PNID
from local.stack import LocalStack, use_stack_in_this_process
from local.waiting import wait_for

pytestmark = pytest.mark.browser

HOSTILE = "<img src=x onerror=alert(1)>"
PHONE = {"width": 375, "height": 740}
TEMPLATE = "console_order_ready"
CAMPAIGN_TEMPLATE = "console_spring_offer"
UI_TIMEOUT_MS = 60_000


def png(width: int = 24, height: int = 16) -> bytes:
    """A real (tiny, solid green) PNG, so the browser can decode what the cache serves."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + b"\x20\xa0\x40" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def sent_to(stack: LocalStack, wa_id: str) -> list[dict[str, Any]]:
    assert stack.emulator is not None
    return stack.emulator.sent_messages(to=wa_id)


def sent_text(stack: LocalStack, wa_id: str, body: str) -> dict[str, Any] | None:
    for message in sent_to(stack, wa_id):
        if message["type"] == "text" and message["payload"]["text"]["body"] == body:
            return message
    return None


def row(page: Any, wa_id: str) -> Any:
    return page.locator(f"[data-testid=conversation-row][data-wa-id='{wa_id}']")


def choose(select: Any, prefix: str) -> None:
    """Pick the option whose label starts with `prefix`, once the page has loaded it."""
    select.locator("option", has_text=prefix).first.wait_for(state="attached")
    label = next(t for t in select.locator("option").all_inner_texts() if t.startswith(prefix))
    select.select_option(label=label)


def no_dialogs(page: Any) -> list[str]:
    """Every alert/confirm the page opens (a hostile message must open none)."""
    opened: list[str] = []

    def seen(dialog: Any) -> None:
        opened.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", seen)
    return opened


@pytest.fixture(scope="module")
def templates(session_stack: LocalStack) -> None:
    """Approved templates on the emulator's WABA, mirrored by the real sync code."""
    from tests.integration.test_outbound import sync_templates

    use_stack_in_this_process(session_stack)  # the sync writes to this stack's table
    assert session_stack.emulator is not None
    session_stack.emulator.add_template(TEMPLATE, body="Hi {{1}}, your order is ready")
    session_stack.emulator.add_template(
        CAMPAIGN_TEMPLATE, category="MARKETING", body="Hi {{1}}, 20% off today"
    )
    sync_templates(session_stack)


def test_a_customer_asks_for_a_person_and_the_agent_replies_from_the_inbox(
    stack: LocalStack,
    customer: str,
    signed_in_page: Callable[..., Any],
    screenshot: Callable[[Any, str], Any],
    browser_errors: list[str],
) -> None:
    assert stack.emulator is not None
    page = signed_in_page("agent")
    dialogs = no_dialogs(page)
    page.click("[data-testid=nav-inbox]")
    page.click("[data-testid=filter-unassigned]")

    # The customer writes after the page loaded: the inbox shows them without a reload.
    stack.emulator.customer_text(customer, "I want to talk to a human please")
    waiting = row(page, customer)
    waiting.wait_for(timeout=UI_TIMEOUT_MS)
    assert waiting.get_attribute("data-state") == "handoff"
    assert "wait" in waiting.locator("[data-testid=waiting]").inner_text().lower()
    screenshot(page, "inbox")

    waiting.click()
    page.wait_for_url(f"**#/inbox/{customer}")
    page.locator("[data-testid=message][data-direction=in]").first.wait_for()
    page.click("[data-testid=take]")
    expect(row(page, customer)).to_have_count(0)  # taken: no longer unassigned
    page.click("[data-testid=filter-all]")
    wait_for(
        "the conversation assigned to the agent",
        lambda: row(page, customer).get_attribute("data-state") == "assigned",
        timeout=30,
    )
    expect(page.locator("[data-testid=window-state]")).to_contain_text("open", ignore_case=True)

    page.fill("[data-testid=reply-text]", "Hello from the console, how can I help?")
    page.click("[data-testid=reply-send]")
    wait_for(
        "the agent's reply at the customer's phone",
        lambda: sent_text(stack, customer, "Hello from the console, how can I help?"),
        timeout=60,
    )
    # The reply shows in the thread with Meta's delivery state, updated by polling.
    reply = page.locator("[data-testid=message][data-direction=out]").filter(
        has_text="Hello from the console"
    )
    reply.wait_for(timeout=UI_TIMEOUT_MS)
    wait_for(
        "the reply's delivery state in the thread",
        lambda: reply.get_attribute("data-status") in ("delivered", "read"),
        timeout=60,
    )

    # A hostile message from the customer is text, not markup: no image, no script.
    stack.emulator.customer_text(customer, HOSTILE)
    hostile = page.locator("[data-testid=message-text]").filter(has_text=HOSTILE)
    hostile.wait_for(timeout=UI_TIMEOUT_MS)
    assert hostile.inner_text() == HOSTILE
    assert page.locator("[data-testid=message-text] img").count() == 0
    page.wait_for_timeout(500)
    assert dialogs == []

    # A photo from the customer is shown from the media cache (a presigned link the
    # console's CSP admits), decoded by the browser.
    stack.emulator.customer_sends(
        customer, {"type": "image", "image": {"data": png(), "mime_type": "image/png"}}
    )
    photo = page.locator("img[data-testid=media]")
    photo.wait_for(timeout=UI_TIMEOUT_MS)
    page.wait_for_function(
        "() => { const i = document.querySelector('img[data-testid=media]');"
        " return i && i.complete && i.naturalWidth === 24; }",
        timeout=UI_TIMEOUT_MS,
    )
    screenshot(page, "thread")

    # The customer's page: profile and the same history, the hostile text still text.
    page.goto(f"{page.url.split('#')[0]}#/customers/{customer}")
    page.locator("[data-testid=customer-profile]").wait_for()
    page.locator("[data-testid=message-text]").filter(has_text=HOSTILE).wait_for()
    expect(page.locator("[data-testid=opt-out-state]")).to_be_visible()
    assert page.locator("[data-testid=message-text] img").count() == 0
    screenshot(page, "customer")

    phone = signed_in_page("agent", viewport=PHONE)
    phone.goto(page.url)
    phone.locator("[data-testid=message-text]").filter(has_text=HOSTILE).wait_for()
    screenshot(phone, "thread-phone")
    assert browser_errors == []


def test_outside_the_window_the_agent_answers_with_a_template(
    stack: LocalStack,
    customer: str,
    templates: None,
    signed_in_page: Callable[..., Any],
    screenshot: Callable[[Any, str], Any],
    browser_errors: list[str],
) -> None:
    from wacloud.store import contacts

    # The customer wrote two days ago: the 24-hour window has closed.
    contacts.record_customer_message(
        PNID,
        customer,
        at=time.time() - 2 * 86400,
        profile_name="Ana",
        user_id=None,
        window_seconds=24 * 3600,
        free_entry_point=False,
    )
    page = signed_in_page("agent")
    page.goto(f"{page.url.split('#')[0]}#/inbox/{customer}")
    expect(page.locator("[data-testid=window-state]")).to_contain_text("closed", ignore_case=True)
    expect(page.locator("[data-testid=reply-text]")).to_have_count(0)

    choose(page.locator("[data-testid=template-select]"), f"{TEMPLATE} ")
    page.fill("[data-testid=template-param][data-name='1']", "Ana")
    screenshot(page, "template-reply")
    page.click("[data-testid=template-send]")

    def template_sent() -> dict[str, Any] | None:
        for message in sent_to(stack, customer):
            if message["type"] == "template" and message["payload"]["template"]["name"] == TEMPLATE:
                return message
        return None

    sent = wait_for("the template at the customer's phone", template_sent, timeout=60)
    (body,) = sent["payload"]["template"]["components"]
    assert body["parameters"] == [{"type": "text", "text": "Ana"}]
    assert browser_errors == []


def test_an_admin_creates_a_campaign_and_watches_it_complete(
    stack: LocalStack,
    templates: None,
    signed_in_page: Callable[..., Any],
    screenshot: Callable[[Any, str], Any],
    browser_errors: list[str],
) -> None:
    from tests.integration.test_campaigns import fire

    people = [f"1777{int(time.time()) % 100000:05d}{i:02d}" for i in range(3)]
    page = signed_in_page("admin")
    page.click("[data-testid=nav-campaigns]")
    page.click("[data-testid=campaign-new]")
    page.fill("[data-testid=campaign-name]", "Spring offer from the console")
    choose(page.locator("[data-testid=campaign-template]"), CAMPAIGN_TEMPLATE)
    page.fill("[data-testid=campaign-variable][data-name='1']", "{first_name}")
    names = ("Ana", "Bruno", "Chen")
    csv = "wa_id,first_name\n" + "".join(f"+{w},{n}\n" for w, n in zip(people, names, strict=True))
    page.fill("[data-testid=campaign-csv-text]", csv)
    screenshot(page, "campaign-new")
    page.click("[data-testid=campaign-create]")
    page.wait_for_url("**#/campaigns/*")
    page.locator("[data-testid=campaign-status]").wait_for()
    status = page.locator("[data-testid=campaign-status]")

    def completed() -> bool:
        fire(stack)  # one QueueProcessor run, as its schedule would start it
        return bool(status.inner_text().strip().lower() == "completed")

    wait_for("the campaign completed on the page", completed, timeout=120, interval=3)
    progress = page.locator("[data-testid=campaign-progress]")
    wait_for(
        "the progress bar full",
        lambda: float(progress.get_attribute("value") or 0) == 1.0,
        timeout=30,
    )
    funnel = page.locator("[data-testid=variant-funnel]")
    assert funnel.count() >= 1
    received = {
        m["wa_id"]: m["payload"]["template"]["components"][0]["parameters"][0]["text"]
        for w in people
        for m in sent_to(stack, w)
        if m["type"] == "template"
    }
    assert received == dict(zip(people, names, strict=True))
    screenshot(page, "campaign")
    assert browser_errors == []


@pytest.mark.parametrize("viewport", [None, PHONE], ids=["desktop", "phone"])
def test_every_page_renders_for_an_admin(
    stack: LocalStack,
    templates: None,
    signed_in_page: Callable[..., Any],
    screenshot: Callable[[Any, str], Any],
    browser_errors: list[str],
    viewport: dict[str, int] | None,
    customer: str,
) -> None:
    from wacloud.store import contacts

    # A customer of this test's own, so the customers page has a row whatever ran before.
    contacts.record_customer_message(
        PNID,
        customer,
        at=time.time(),
        profile_name="Bea",
        user_id=None,
        window_seconds=24 * 3600,
        free_entry_point=False,
    )
    page = signed_in_page("admin", viewport=viewport)
    suffix = "" if viewport is None else "-phone"
    base = page.url.split("#")[0]
    pages = {
        "inbox": "[data-testid=filter-all]",
        "templates": f"[data-testid=template-row][data-name='{TEMPLATE}']",
        "analytics": "[data-testid=chart-funnel]",
        "settings": "[data-testid=settings-form]",
        "campaigns": "[data-testid=campaign-new]",
        "customers": f"[data-testid=customer-row][data-wa-id='{customer}']",
    }
    for name, ready in pages.items():
        page.goto(f"{base}#/{name}")
        page.locator(ready).first.wait_for(timeout=UI_TIMEOUT_MS)
        screenshot(page, f"{name}{suffix}")
    assert page.locator("[data-testid=error]:visible").count() == 0
    assert browser_errors == []


def test_the_assistants_draft_is_offered_to_the_agent_who_takes_over(
    stack: LocalStack,
    api: Any,
    customer: str,
    signed_in_page: Callable[..., Any],
    screenshot: Callable[[Any, str], Any],
    browser_errors: list[str],
) -> None:
    from wacloud.store import conversations
    from wacloud.store.assistant import AssistantSettings, save_settings

    # A number of this test's own with the assistant on; the model (the OpenAI
    # stand-in) answers this customer's question without confidence.
    pnid = "100000000000777"
    draft = "Our warranty covers two years, abroad included."
    assert stack.emulator is not None and stack.openai is not None
    stack.emulator.add_phone_number(pnid, "+1 555 0177")
    listed = api("admin").patch(f"/v1/tenants/{pnid}", json={"display_phone_number": "+1 555 0177"})
    assert listed.status_code == 200, listed.text
    save_settings(pnid, AssistantSettings(enabled=True, business_name="Console Shop"))
    stack.openai.add_rules(
        {"match": "zqconsoleunsure", "intent": "question", "confidence": 0.2, "reply": draft}
    )
    stack.emulator.customer_text(
        customer, "Is the warranty valid abroad? zqconsoleunsure", phone_number_id=pnid
    )
    wait_for(
        "the assistant's draft kept on the handed-over conversation",
        lambda: (found := conversations.load(pnid, customer)) and found.suggestion,
        timeout=90,
    )

    page = signed_in_page("agent")
    page.select_option("[data-testid=number-select]", value=pnid)
    page.goto(f"{page.url.split('#')[0]}#/inbox/{customer}")
    suggestion = page.locator("[data-testid=suggestion]")
    expect(suggestion).to_contain_text(draft)
    page.click("[data-testid=take]")
    page.click("[data-testid=use-suggestion]")
    expect(page.locator("[data-testid=reply-text]")).to_have_value(draft)
    screenshot(page, "suggestion")
    page.click("[data-testid=reply-send]")

    def answered() -> dict[str, Any] | None:
        for message in stack.emulator.sent_messages(phone_number_id=pnid, to=customer):  # type: ignore[union-attr]
            if message["type"] == "text" and message["payload"]["text"]["body"] == draft:
                return message
        return None

    wait_for("the agent's reply (the draft) at the customer's phone", answered, timeout=60)
    expect(suggestion).to_have_count(0)  # an agent answered: the draft is gone
    assert browser_errors == []
