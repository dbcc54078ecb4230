"""`tenants`: the configured numbers, their sending limits and assistant (admin)."""

from __future__ import annotations

from typing import Annotated

import typer

from wacloud_cli.app import NumberOpt, api, command, out, pnid, seg
from wacloud_cli.build import key_values, usage
from wacloud_cli.commands._common import Section

section = Section()

tenants = section.group("tenants", "Numbers (tenants) and their settings (admin).")


@command(tenants, "list", help="Configured numbers.")
def tenants_list() -> None:
    data = api().get("/v1/tenants")
    out().items(
        data,
        ["phone_number_id", "waba_id", "throughput", "messaging_limit", "auto_reply"],
        empty="no numbers configured",
    )


@command(tenants, "show", help="One number's settings.")
def tenants_show(number: NumberOpt = None) -> None:
    out().record(api().get(f"/v1/tenants/{seg(pnid(number))}"))


@command(tenants, "set", help="Change throughput, messaging limit or WABA.")
def tenants_set(
    throughput: Annotated[int | None, typer.Option(help="Messages per second.")] = None,
    messaging_limit: Annotated[int | None, typer.Option(help="Unique recipients per 24 h.")] = None,
    waba_id: Annotated[str | None, typer.Option(help="WhatsApp Business Account id.")] = None,
    number: NumberOpt = None,
) -> None:
    body = {
        k: v
        for k, v in {
            "throughput": throughput,
            "messaging_limit": messaging_limit,
            "waba_id": waba_id,
        }.items()
        if v is not None
    }
    if not body:
        raise usage("give --throughput, --messaging-limit and/or --waba-id")
    out().record(api().patch(f"/v1/tenants/{seg(pnid(number))}", body))


@command(
    tenants,
    "assistant",
    help="The assistant's settings; change with --set name=value, --auto-reply/--no-auto-reply; "
    "--organisation: the defaults every number inherits (name=null: inherit again).",
)
def tenants_assistant(
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="Setting name=value (JSON values allowed); repeat."),
    ] = None,
    auto_reply: Annotated[bool | None, typer.Option("--auto-reply/--no-auto-reply")] = None,
    organisation: Annotated[
        bool,
        typer.Option("--organisation", help="The organisation's defaults, not one number's."),
    ] = False,
    number: NumberOpt = None,
) -> None:
    path = (
        "/v1/settings/assistant" if organisation else f"/v1/tenants/{seg(pnid(number))}/assistant"
    )
    body = key_values(set_ or [])
    if auto_reply is not None:
        body["enabled"] = auto_reply
    out().record(api().patch(path, body) if body else api().get(path))
