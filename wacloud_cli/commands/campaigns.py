"""`campaign`: bulk sends from a CSV or a segment, steered and watched to the end.

`watch` exits by the campaign's outcome (errors.py's ExitCode.OUTCOME when it ends
cancelled or failed), so scripts can wait on a campaign.
"""

from __future__ import annotations

from pathlib import Path
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
from wacloud_cli.build import iso, load_json, parse_when, segment, usage
from wacloud_cli.commands._common import Section
from wacloud_cli.errors import CliError, ExitCode

section = Section()

campaign = section.group("campaign", "Campaigns: create from a CSV or a segment, steer, watch.")
FINAL_OK = ("completed",)
FINAL_BAD = ("cancelled", "failed")
FIGURE_COLUMNS = [
    "queued",
    "sent",
    "delivered",
    "read",
    "failed",
    "rejected",
    "cancelled",
    "replied",
]


def _campaigns(number: str | None, campaign_id: str = "", action: str = "") -> str:
    path = f"/v1/numbers/{seg(pnid(number))}/campaigns"
    if campaign_id:
        path += f"/{seg(campaign_id)}"
    return f"{path}/{action}" if action else path


@command(
    campaign,
    "create",
    help="Create a campaign (template variants, recipients from a CSV or a segment).",
)
def campaign_create(
    name: Annotated[str | None, typer.Option(help="Campaign name.")] = None,
    template: Annotated[
        list[str] | None,
        typer.Option("--template", help="Template; repeat for A/B variants (A, B, ...)."),
    ] = None,
    language: Annotated[str | None, typer.Option(help="Template language code.")] = None,
    variable: Annotated[
        list[str] | None,
        typer.Option(
            "--variable",
            help="component={column} for every variant, e.g. body={first_name}; repeat.",
        ),
    ] = None,
    start_at: Annotated[str | None, typer.Option(help="Start time (default: now).")] = None,
    spec: Annotated[
        str | None, typer.Option(help="A campaign spec (JSON file): the flags are applied on it.")
    ] = None,
    csv: Annotated[
        Path | None, typer.Option(help="Recipients CSV with a header (wa_id,...).")
    ] = None,
    segment_tag: Annotated[
        list[str] | None, typer.Option("--segment-tag", help="Contacts with any of these tags.")
    ] = None,
    segment_all_tag: Annotated[
        list[str] | None, typer.Option("--segment-all-tag", help="Contacts with all of these tags.")
    ] = None,
    attr: Annotated[
        list[str] | None,
        typer.Option(
            "--attr",
            help="Attribute filter 'name op value' (eq ne gt gte lt lte before after exists).",
        ),
    ] = None,
    last_seen_before: Annotated[
        str | None, typer.Option(help="Contacts last seen before: 90d (ago) or ISO.")
    ] = None,
    last_seen_after: Annotated[
        str | None, typer.Option(help="Contacts last seen after: 30d (ago) or ISO.")
    ] = None,
    number: NumberOpt = None,
) -> None:
    body: dict[str, Any] = {}
    if spec is not None:
        loaded = load_json(spec, what="the campaign spec")
        if not isinstance(loaded, dict):
            raise usage("the campaign spec must be one JSON object")
        body = loaded
    if name is not None:
        body["name"] = name
    if template:
        variables: dict[str, list[str]] = {}
        for item in variable or []:
            component, sep, value = item.partition("=")
            if not sep:
                raise usage(f"--variable takes component=value, got {item!r}")
            variables.setdefault(component, []).append(value)
        variants = []
        for index, template_name in enumerate(template):
            variant: dict[str, Any] = {
                "name": chr(ord("A") + index),
                "template": template_name,
                "weight": 1,
            }
            if language:
                variant["language"] = language
            if variables:
                variant["variables"] = variables
            variants.append(variant)
        body["variants"] = variants
    if start_at is not None:
        body["start_at"] = iso(parse_when(start_at))
    by_segment = bool(segment_tag or segment_all_tag or attr or last_seen_before or last_seen_after)
    if csv is not None and by_segment:
        raise usage("recipients come from --csv or a segment, not both")
    if csv is not None:
        try:
            body["recipients"] = {"csv": csv.read_text(encoding="utf-8")}
        except OSError as exc:
            raise usage(f"cannot read {csv}: {exc.strerror}") from exc
    elif by_segment:
        body["recipients"] = {
            "segment": segment(
                tags_any=segment_tag or [],
                tags_all=segment_all_tag or [],
                attributes=attr or [],
                last_seen_before=last_seen_before,
                last_seen_after=last_seen_after,
            )
        }
    elif "recipients" not in body:
        raise usage(
            "recipients: --csv FILE or a segment (--segment-tag, --attr, --last-seen-before)"
        )
    if not body.get("variants"):
        raise usage("give at least one --template (or variants in --spec)")
    data = api().post(_campaigns(number), body)
    out().done(
        data, f"created: campaign {data.get('campaign_id') if isinstance(data, dict) else ''}"
    )


@command(campaign, "list", help="The number's campaigns.")
def campaign_list(
    limit: LimitOpt = None,
    cursor: CursorOpt = None,
    all_pages: AllOpt = False,
    number: NumberOpt = None,
) -> None:
    list_command(
        _campaigns(number),
        ["campaign_id", "name", "status", "progress", "queued", "created_at", "start_at"],
        limit=limit,
        cursor=cursor,
        all_pages=all_pages,
        empty="no campaigns",
    )


def _variant_rows(data: dict[str, Any]) -> list[dict[str, Any]]:
    variants = data.get("variants") or {}
    if isinstance(variants, dict):
        return [{"variant": k, **(v if isinstance(v, dict) else {})} for k, v in variants.items()]
    return [v for v in variants if isinstance(v, dict)]


@command(campaign, "show", help="Progress: status, totals and per-variant figures.")
def campaign_show(campaign_id: str, number: NumberOpt = None) -> None:
    data = api().get(_campaigns(number, campaign_id))
    if STATE.json or not isinstance(data, dict):
        out().raw(data)
        return
    out().record(data, skip=("variants", "totals"))
    rows = _variant_rows(data)
    if isinstance(data.get("totals"), dict):
        rows.append({"variant": "total", **data["totals"]})
    out().items({"items": rows}, ["variant", *FIGURE_COLUMNS], title="figures")


def _steer(action: str, campaign_id: str, number: str | None) -> None:
    data = api().post(_campaigns(number, campaign_id, action))
    status = data.get("status") if isinstance(data, dict) else None
    out().done(data, f"campaign {campaign_id}: {status or action}")


@command(campaign, "pause", help="Pause the fan-out.")
def campaign_pause(campaign_id: str, number: NumberOpt = None) -> None:
    _steer("pause", campaign_id, number)


@command(campaign, "resume", help="Resume a paused campaign.")
def campaign_resume(campaign_id: str, number: NumberOpt = None) -> None:
    _steer("resume", campaign_id, number)


@command(campaign, "cancel", help="Cancel: queued messages are withdrawn.")
def campaign_cancel(campaign_id: str, number: NumberOpt = None) -> None:
    _steer("cancel", campaign_id, number)


@command(
    campaign,
    "watch",
    help="Live progress per variant until the campaign ends: exit 0 at completed, "
    "5 at cancelled or failed, 4 at --timeout.",
)
def campaign_watch(
    campaign_id: str,
    interval: Annotated[float, typer.Option(help="Seconds between polls.")] = 2.0,
    timeout: Annotated[float | None, typer.Option(help="Give up after this many seconds.")] = None,
    number: NumberOpt = None,
) -> None:
    from wacloud_cli.watch import watch

    data = watch(
        api(), _campaigns(number, campaign_id), interval=interval, timeout=timeout, quiet=STATE.json
    )
    status = str(data.get("status"))
    if STATE.json:
        out().raw(data)
    else:
        campaign_summary(data)
    if status in FINAL_BAD:
        raise CliError(ExitCode.OUTCOME, f"campaign {campaign_id} ended {status}", code=status)


def campaign_summary(data: dict[str, Any]) -> None:
    rows = _variant_rows(data)
    if isinstance(data.get("totals"), dict):
        rows.append({"variant": "total", **data["totals"]})
    out().items(
        {"items": rows}, ["variant", *FIGURE_COLUMNS], title=f"campaign {data.get('status')}"
    )
