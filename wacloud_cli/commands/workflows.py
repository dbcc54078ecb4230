"""`workflows` and `event`: the automations, and the business events that trigger them."""

from __future__ import annotations

from typing import Annotated

import typer

from wacloud_cli.app import NumberOpt, api, command, out, pnid, seg
from wacloud_cli.build import load_json, usage
from wacloud_cli.commands._common import Section

section = Section()

workflows = section.group("workflows", "Workflows: installed and shipped; business events.")


@command(workflows, "list", help="Installed workflows and the shipped catalog.")
def workflows_list(number: NumberOpt = None) -> None:
    data = api().get(f"/v1/numbers/{seg(pnid(number))}/workflows")
    out().items(
        data, ["id", "name", "enabled", "installed", "trigger", "description"], empty="no workflows"
    )


@command(workflows, "install", help="Install a shipped workflow by NAME, or --file a definition.")
def workflows_install(
    name: Annotated[str | None, typer.Argument(help="A shipped workflow's name.")] = None,
    file: Annotated[str | None, typer.Option("--file", help="A definition (JSON file).")] = None,
    number: NumberOpt = None,
) -> None:
    if (name is None) == (file is None):
        raise usage("give a shipped NAME or --file, not both")
    body = (
        {"name": name}
        if name is not None
        else {"definition": load_json(file or "", what="the definition")}
    )
    data = api().post(f"/v1/numbers/{seg(pnid(number))}/workflows", body)
    out().done(data, f"installed: workflow {data.get('id') or data.get('workflow_id') or name}")


def _workflow_toggle(action: str, workflow_id: str, number: str | None) -> None:
    data = api().post(f"/v1/numbers/{seg(pnid(number))}/workflows/{seg(workflow_id)}/{action}")
    out().done(data, f"workflow {workflow_id} {action}d")


@command(workflows, "enable", help="Enable a workflow.")
def workflows_enable(workflow_id: str, number: NumberOpt = None) -> None:
    _workflow_toggle("enable", workflow_id, number)


@command(workflows, "disable", help="Disable a workflow.")
def workflows_disable(workflow_id: str, number: NumberOpt = None) -> None:
    _workflow_toggle("disable", workflow_id, number)


@section.command("event", help="Post a business event to the stack's bus (admin).")
def event(
    source: Annotated[
        str, typer.Option(help="Event source (the stack's prefix, e.g. business.shop).")
    ],
    detail_type: Annotated[str, typer.Option(help="Event type, e.g. booking.created.")],
    detail: Annotated[str, typer.Option(help="Detail: JSON text, a file, or - for stdin.")],
) -> None:
    body = {
        "source": source,
        "detail_type": detail_type,
        "detail": load_json(detail, what="--detail"),
    }
    data = api().post("/v1/events", body)
    out().done(data, "event accepted")
