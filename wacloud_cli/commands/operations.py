"""Running the stack: `queues`, `dlq`, `health`, and `request` for any API call.

`health --check` exits by the report's status (errors.py's ExitCode.OUTCOME when
degraded) so a monitor can call it; `request` is the escape hatch for endpoints that
have no command yet.
"""

from __future__ import annotations

from typing import Annotated

import typer

from wacloud_cli.app import STATE, api, command, out, seg
from wacloud_cli.build import key_values, load_json
from wacloud_cli.commands._common import Section
from wacloud_cli.errors import CliError, ExitCode
from wacloud_cli.output import cell

section = Section()

dlq = section.group("dlq", "Dead-letter queues: look, and move messages back.")


@command(dlq, "peek", help="Messages in a DLQ, without consuming them.")
def dlq_peek(
    name: str,
    max_messages: Annotated[int, typer.Option("--max", help="At most this many (1-10).")] = 10,
) -> None:
    data = api().get(f"/v1/ops/dlqs/{seg(name)}/messages", max=max_messages)
    out().items(
        data, ["message_id", "sent_at", "receive_count", "size", "body"], empty=f"{name} is empty"
    )


@command(
    dlq,
    "redrive",
    help="Move a DLQ's messages back to their source queue (--status: the latest move).",
)
def dlq_redrive(
    name: str,
    status: Annotated[
        bool, typer.Option("--status", help="Show the latest move task instead.")
    ] = False,
) -> None:
    path = f"/v1/ops/dlqs/{seg(name)}/redrive"
    if status:
        out().record(api().get(path))
        return
    data = api().post(path)
    out().done(
        data, f"redrive started: {cell('', data.get('status')) if isinstance(data, dict) else ''}"
    )


@section.command("queues", help="Queue depths, dead-letter queues marked.")
def queues() -> None:
    data = api().get("/v1/ops/queues")
    out().items(data, ["name", "visible", "in_flight", "delayed", "dead_letter"], empty="no queues")


@section.command("health", help="The stack's health report (--check: exit 5 when degraded).")
def health(
    check: Annotated[
        bool, typer.Option("--check", help="Exit 5 when the status is not ok.")
    ] = False,
) -> None:
    data = api().get("/v1/ops/health")
    if STATE.json:
        out().raw(data)
    else:
        out().console.print(f"status: {data.get('status') if isinstance(data, dict) else data}")
        checks = data.get("checks", []) if isinstance(data, dict) else []
        out().items(checks, ["name", "status", "phone_number_id", "detail"], empty="no checks")
    if check and isinstance(data, dict) and data.get("status") != "ok":
        raise CliError(ExitCode.OUTCOME, f"the stack is {data.get('status')}", code="degraded")


@section.command("request", help="Any API call: METHOD PATH [--data JSON]; prints the JSON answer.")
def request(
    method: str,
    path: str,
    data: Annotated[
        str | None, typer.Option(help="JSON body: text, a file, or - for stdin.")
    ] = None,
    param: Annotated[
        list[str] | None, typer.Option("--param", help="Query parameter name=value; repeat.")
    ] = None,
) -> None:
    body = load_json(data, what="--data") if data is not None else None
    if not path.startswith("/"):
        path = "/" + path
    params = {k: v for k, v in key_values(param or [], what="--param").items()}
    answer = api().request(method.upper(), path, params=params, json=body)
    out().raw(answer)
