"""The shared inbox, for agents: conversations, replies, hand-offs and their settings.

`conversations`, `reply`, `handoff`, `assign`, `notes`, `labels`, `agents`, `canned`
and `inbox-settings` all act on one number's conversations (or the agents answering
them), so they share the conversation path and live together.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from wacloud_cli.app import (
    STATE,
    AllOpt,
    CursorOpt,
    LimitOpt,
    NumberOpt,
    api,
    command,
    list_command,
    out,
    pnid,
    seg,
)
from wacloud_cli.build import iso, key_values, parse_when, template_object, usage
from wacloud_cli.commands._common import IdemOpt, LanguageOpt, ParamOpt, Section, TemplateOpt
from wacloud_cli.output import cell

section = Section()

conversations = section.group(
    "conversations", "The inbox: conversations waiting for a person first."
)
CONVERSATION_COLUMNS = [
    "wa_id",
    "state",
    "assignee",
    "labels",
    "waiting_since",
    "last_activity_at",
    "handoff_reason",
    "profile_name",
]


def _since(text: str | None) -> str | None:
    return iso(parse_when(text, future=False)) if text else None


@command(conversations, "list", help="Conversations: waiting for a person first, then by activity.")
def conversations_list(
    state: Annotated[str | None, typer.Option(help="bot | handoff | assigned | resolved")] = None,
    assignee: Annotated[str | None, typer.Option(help="An agent's name, or me.")] = None,
    label: Annotated[str | None, typer.Option(help="Only conversations with this label.")] = None,
    since: Annotated[str | None, typer.Option(help="Active since (ISO, epoch, or 7d ago).")] = None,
    until: Annotated[str | None, typer.Option(help="Active until (ISO, epoch, or 1d ago).")] = None,
    limit: LimitOpt = None,
    cursor: CursorOpt = None,
    all_pages: AllOpt = False,
    number: NumberOpt = None,
) -> None:
    list_command(
        f"/v1/numbers/{seg(pnid(number))}/conversations",
        CONVERSATION_COLUMNS,
        limit=limit,
        cursor=cursor,
        all_pages=all_pages,
        empty="no conversations match",
        state=state,
        assignee=assignee,
        label=label,
        since=_since(since),
        until=_since(until),
    )


@command(conversations, "show", help="One conversation and its latest messages.")
def conversations_show(
    wa_id: str,
    limit: LimitOpt = None,
    before: Annotated[str | None, typer.Option(help="Older page: the cursor shown.")] = None,
    number: NumberOpt = None,
) -> None:
    data = api().get(
        f"/v1/numbers/{seg(pnid(number))}/conversations/{seg(wa_id)}", limit=limit, before=before
    )
    if STATE.json:
        out().raw(data)
        return
    out().record(data, skip=("messages", "next_cursor", "notes"))
    page = data.get("messages") if isinstance(data, dict) else None
    if isinstance(page, dict):
        out().items(page, ["at", "direction", "type", "text", "status", "agent"], title="messages")
    elif isinstance(page, list):
        out().items({"items": page}, ["at", "direction", "type", "text", "status", "agent"])


def _conversation(number: str | None, wa_id: str, action: str = "") -> str:
    path = f"/v1/numbers/{seg(pnid(number))}/conversations/{seg(wa_id)}"
    return f"{path}/{action}" if action else path


@section.command(
    "reply", help="Answer a customer: text inside the 24-hour window, a template any time."
)
def reply(
    wa_id: str,
    text: Annotated[str | None, typer.Argument(help="Free-form text.")] = None,
    template: TemplateOpt = None,
    language: LanguageOpt = "en_US",
    param: ParamOpt = None,
    canned: Annotated[str | None, typer.Option(help="A canned response's name.")] = None,
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="Canned response parameter name=value.")
    ] = None,
    idempotency_key: IdemOpt = None,
    number: NumberOpt = None,
) -> None:
    chosen = [x for x in (text, template, canned) if x is not None]
    if len(chosen) != 1:
        raise usage("give exactly one of TEXT, --template or --canned")
    body: dict[str, Any]
    if text is not None:
        body = {"text": text}
    elif template is not None:
        body = {"template": template_object(template, language, param or [])}
    else:
        body = {"canned": canned, "params": key_values(set_ or [])}
    if idempotency_key:
        body["idempotency_key"] = idempotency_key
    data = api().post(_conversation(number, wa_id, "reply"), body)
    out().done(data, f"sent: message {data.get('message_id') if isinstance(data, dict) else ''}")


handoff = section.group(
    "handoff", "Take a conversation over from the bot, give it back, resolve it."
)


def _handoff(action: str, wa_id: str, number: str | None, said: str) -> None:
    data = api().post(_conversation(number, wa_id, action))
    state = data.get("state") if isinstance(data, dict) else None
    out().done(data, f"{said}" + (f" (state {state})" if state else ""))


@command(handoff, "take", help="You take the conversation: the bot stays silent.")
def handoff_take(wa_id: str, number: NumberOpt = None) -> None:
    _handoff("take", wa_id, number, "taken: you answer this customer now")


@command(handoff, "release", help="Give the conversation back to the bot.")
def handoff_release(wa_id: str, number: NumberOpt = None) -> None:
    _handoff("release", wa_id, number, "released to the bot")


@command(handoff, "resolve", help="Resolve it (a satisfaction survey goes out if enabled).")
def handoff_resolve(wa_id: str, number: NumberOpt = None) -> None:
    _handoff("resolve", wa_id, number, "resolved")


@section.command("assign", help="Assign a conversation to an agent.")
def assign(wa_id: str, agent: str, number: NumberOpt = None) -> None:
    data = api().post(_conversation(number, wa_id, "assign"), {"agent": agent})
    out().done(data, f"assigned to {agent}")


notes = section.group("notes", "Private notes between agents (never sent to the customer).")


@command(notes, "list", help="A conversation's notes.")
def notes_list(wa_id: str, number: NumberOpt = None) -> None:
    data = api().get(_conversation(number, wa_id, "notes"))
    out().items(data, ["created_at", "author", "text"], empty="no notes")


@command(notes, "add", help="Add a note.")
def notes_add(wa_id: str, text: str, number: NumberOpt = None) -> None:
    data = api().post(_conversation(number, wa_id, "notes"), {"text": text})
    out().done(data, "note added")


@section.command("labels", help="Add or remove a conversation's labels.")
def labels(
    wa_id: str,
    add: Annotated[list[str] | None, typer.Option("--add", help="Label to add; repeat.")] = None,
    remove: Annotated[
        list[str] | None, typer.Option("--remove", help="Label to remove; repeat.")
    ] = None,
    number: NumberOpt = None,
) -> None:
    if not add and not remove:
        raise usage("give --add and/or --remove")
    data = api().put(
        _conversation(number, wa_id, "labels"), {"add": add or [], "remove": remove or []}
    )
    shown = data.get("labels") if isinstance(data, dict) else None
    out().done(data, f"labels: {cell('labels', shown)}" if shown is not None else "labels updated")


agents = section.group("agents", "Agents: availability and limits.")


@command(agents, "list", help="Agents, their availability and open conversations.")
def agents_list() -> None:
    data = api().get("/v1/agents")
    out().items(data, ["name", "available", "open", "max_open"], empty="no agents yet")


@command(agents, "available", help="Mark yourself available (or --no for unavailable).")
def agents_available(
    available: Annotated[bool, typer.Option("--yes/--no", help="Available or not.")] = True,
) -> None:
    data = api().put("/v1/agents/me", {"available": available})
    out().done(data, "available" if available else "unavailable")


@command(agents, "set", help="Set an agent's limit or availability (admin).")
def agents_set(
    name: str,
    max_open: Annotated[int | None, typer.Option(help="Most open conversations at once.")] = None,
    available: Annotated[bool | None, typer.Option("--available/--unavailable")] = None,
) -> None:
    body: dict[str, Any] = {}
    if max_open is not None:
        body["max_open"] = max_open
    if available is not None:
        body["available"] = available
    if not body:
        raise usage("give --max-open and/or --available/--unavailable")
    data = api().put(f"/v1/agents/{seg(name)}", body)
    out().done(data, f"agent {name} updated")


canned = section.group("canned", "Canned responses per number, with {param} placeholders.")


@command(canned, "list", help="The number's canned responses.")
def canned_list(number: NumberOpt = None) -> None:
    data = api().get(f"/v1/numbers/{seg(pnid(number))}/canned-responses")
    out().items(data, ["name", "text"], empty="no canned responses")


@command(canned, "set", help="Create or replace one (admin).")
def canned_set(name: str, text: str, number: NumberOpt = None) -> None:
    data = api().put(
        f"/v1/numbers/{seg(pnid(number))}/canned-responses/{seg(name)}", {"text": text}
    )
    out().done(data, f"canned response {name} saved")


@command(canned, "delete", help="Delete one (admin).")
def canned_delete(name: str, number: NumberOpt = None) -> None:
    data = api().delete(f"/v1/numbers/{seg(pnid(number))}/canned-responses/{seg(name)}")
    out().done(data, f"canned response {name} deleted")


@section.command("inbox-settings", help="Show, or with flags change, the inbox settings (admin).")
def inbox_settings(
    auto_assign: Annotated[bool | None, typer.Option("--auto-assign/--no-auto-assign")] = None,
    survey: Annotated[bool | None, typer.Option("--survey/--no-survey")] = None,
    number: NumberOpt = None,
) -> None:
    path = f"/v1/numbers/{seg(pnid(number))}/inbox-settings"
    body = {
        k: v for k, v in {"auto_assign": auto_assign, "survey": survey}.items() if v is not None
    }
    data = api().patch(path, body) if body else api().get(path)
    out().record(data)
