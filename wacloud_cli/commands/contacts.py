"""`contacts`: the number's customers, their tags and attributes, opt-out and block."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from wacloud_cli.app import (
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
from wacloud_cli.build import key_values
from wacloud_cli.commands._common import Section

section = Section()

contacts = section.group("contacts", "Contacts: tags, attributes, opt-out, block.")
CONTACT_COLUMNS = ["wa_id", "profile_name", "tags", "opted_out", "blocked", "last_seen"]


def _contact(number: str | None, wa_id: str, action: str = "") -> str:
    path = f"/v1/numbers/{seg(pnid(number))}/contacts/{seg(wa_id)}"
    return f"{path}/{action}" if action else path


@command(contacts, "list", help="Contacts, newest activity first.")
def contacts_list(
    tag: Annotated[str | None, typer.Option(help="Only contacts with this tag.")] = None,
    limit: LimitOpt = None,
    cursor: CursorOpt = None,
    all_pages: AllOpt = False,
    number: NumberOpt = None,
) -> None:
    list_command(
        f"/v1/numbers/{seg(pnid(number))}/contacts",
        CONTACT_COLUMNS,
        limit=limit,
        cursor=cursor,
        all_pages=all_pages,
        empty="no contacts match",
        tag=tag,
    )


@command(contacts, "show", help="One contact.")
def contacts_show(wa_id: str, number: NumberOpt = None) -> None:
    out().record(api().get(_contact(number, wa_id)))


def _patch_contact(number: str | None, wa_id: str, body: dict[str, Any]) -> None:
    data = api().patch(_contact(number, wa_id), body)
    out().record(data)


@command(contacts, "tag", help="Add tags.")
def contacts_tag(wa_id: str, tags: list[str], number: NumberOpt = None) -> None:
    _patch_contact(number, wa_id, {"tags_add": tags})


@command(contacts, "untag", help="Remove tags.")
def contacts_untag(wa_id: str, tags: list[str], number: NumberOpt = None) -> None:
    _patch_contact(number, wa_id, {"tags_remove": tags})


@command(contacts, "set", help="Set attributes: name=value (name= removes it).")
def contacts_set(wa_id: str, pairs: list[str], number: NumberOpt = None) -> None:
    _patch_contact(number, wa_id, {"attributes": key_values(pairs, what="an attribute")})


@command(contacts, "opt-out", help="Record an opt-out (--undo: opted in again).")
def contacts_opt_out(
    wa_id: str,
    undo: Annotated[bool, typer.Option(help="Clear the opt-out.")] = False,
    number: NumberOpt = None,
) -> None:
    _patch_contact(number, wa_id, {"opted_out": not undo})


@command(contacts, "block", help="Block the customer (Meta's Block API).")
def contacts_block(wa_id: str, number: NumberOpt = None) -> None:
    data = api().post(_contact(number, wa_id, "block"))
    out().done(data, f"blocked {wa_id}")


@command(contacts, "unblock", help="Unblock the customer.")
def contacts_unblock(wa_id: str, number: NumberOpt = None) -> None:
    data = api().post(_contact(number, wa_id, "unblock"))
    out().done(data, f"unblocked {wa_id}")
