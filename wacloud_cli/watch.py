"""`wacloud campaign watch`: a live progress bar per variant until the campaign ends."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.progress import BarColumn, Progress, TaskID, TextColumn
from rich.table import Table

from wacloud_cli.client import ApiClient
from wacloud_cli.errors import CliError, ExitCode

FINAL = ("completed", "cancelled", "failed")
OUTCOMES = ("sent", "delivered", "read", "failed", "rejected", "cancelled", "replied")


def variant_figures(data: dict[str, Any]) -> dict[str, dict[str, int]]:
    variants = data.get("variants") or {}
    if isinstance(variants, list):
        variants = {
            str(v.get("name") or v.get("variant")): v for v in variants if isinstance(v, dict)
        }
    return {
        str(name): {k: int(v) for k, v in figures.items() if isinstance(v, int | float)}
        for name, figures in variants.items()
        if isinstance(figures, dict)
    }


def settled(figures: dict[str, int]) -> int:
    """Messages of a variant whose outcome is known: sent (or beyond), failed, rejected,
    cancelled. `read` and `delivered` imply `sent`, which the API counts too."""
    return sum(figures.get(k, 0) for k in ("sent", "failed", "rejected", "cancelled"))


def render(data: dict[str, Any], progress: Progress, tasks: dict[str, TaskID]) -> Group:
    fanout = float(data.get("progress") or 0.0)
    if "fan-out" not in tasks:
        tasks["fan-out"] = progress.add_task("fan-out", total=100, figures="")
    progress.update(
        tasks["fan-out"], completed=round(fanout * 100), figures=f"{data.get('status')}"
    )
    for name, figures in variant_figures(data).items():
        queued = figures.get("queued", 0)
        if name not in tasks:
            tasks[name] = progress.add_task(f"variant {name}", total=max(queued, 1), figures="")
        shown = " ".join(f"{k} {figures[k]}" for k in OUTCOMES if figures.get(k))
        progress.update(
            tasks[name],
            total=max(queued, 1),
            completed=min(settled(figures), max(queued, 1)),
            figures=f"queued {queued} {shown}".strip(),
        )
    skipped = data.get("skipped") or {}
    footer = Table.grid()
    if skipped:
        footer.add_row("skipped: " + ", ".join(f"{k} {v}" for k, v in skipped.items()))
    return Group(progress, footer)


def watch(
    client: ApiClient,
    path: str,
    *,
    interval: float,
    timeout: float | None,
    quiet: bool = False,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """Poll `path` until the campaign's status is final; returns the last answer."""
    deadline = None if timeout is None else clock() + timeout
    progress = Progress(
        TextColumn("{task.description:<14}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TextColumn("{task.fields[figures]}"),
        console=Console(stderr=True),
    )
    tasks: dict[str, TaskID] = {}
    data: dict[str, Any] = {}
    with Live(console=progress.console, refresh_per_second=4, transient=False) as live:
        if quiet:
            live.stop()
        while True:
            answer = client.get(path)
            data = answer if isinstance(answer, dict) else {}
            if not quiet:
                live.update(render(data, progress, tasks))
            if str(data.get("status")) in FINAL:
                return data
            if deadline is not None and clock() >= deadline:
                raise CliError(
                    ExitCode.UNAVAILABLE,
                    f"the campaign is still {data.get('status')} after {timeout:g} s",
                    code="timeout",
                )
            sleep(interval)
