"""What a command prints: tables for people, `--json` for scripts, errors on stderr.

With `--json`, stdout carries exactly the API's JSON (one document) and nothing else;
an error is printed to stderr as `{"error": {...}, "exit_code": n}`. Without it, lists
are rich tables and single records key/value tables; times (epoch seconds) are shown
in local time.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.table import Table

from wacloud_cli.errors import CliError

TIME_KEYS = ("_at", "_since", "at", "since", "until", "last_seen")


def is_time_key(key: str) -> bool:
    return key.endswith(TIME_KEYS)


def cell(key: str, value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if is_time_key(key) and isinstance(value, int | float) and value > 1e8:
        return dt.datetime.fromtimestamp(value).astimezone().strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, list) and all(isinstance(v, str | int | float) for v in value):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return str(value)


class Output:
    def __init__(
        self, json_mode: bool, console: Console | None = None, err: Console | None = None
    ) -> None:
        self.json_mode = json_mode
        self.console = console or Console(highlight=False, soft_wrap=False)
        self.err = err or Console(stderr=True, highlight=False, soft_wrap=True)

    def raw(self, data: Any) -> None:
        sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
        sys.stdout.flush()

    def items(
        self,
        data: Any,
        columns: Sequence[str],
        *,
        title: str | None = None,
        empty: str = "nothing to show",
    ) -> None:
        """A list answer (`{"items": [...], "next_cursor"}`)."""
        if self.json_mode:
            self.raw(data)
            return
        rows = data.get("items", []) if isinstance(data, dict) else list(data or [])
        if not rows:
            self.err.print(f"[dim]{empty}[/dim]")
            return
        table = Table(title=title, show_lines=False)
        for column in columns:
            table.add_column(column.replace("_", " "), overflow="fold")
        for row in rows:
            table.add_row(*(cell(c, row.get(c)) if isinstance(row, dict) else "" for c in columns))
        self.console.print(table)
        cursor = data.get("next_cursor") if isinstance(data, dict) else None
        if cursor:
            self.err.print(f"[dim]more: --cursor {cursor} (or --all)[/dim]")

    def record(self, data: Any, *, title: str | None = None, skip: Sequence[str] = ()) -> None:
        """One object as key/value rows (nested lists are left to --json)."""
        if self.json_mode:
            self.raw(data)
            return
        if not isinstance(data, dict):
            self.console.print(cell("", data))
            return
        table = Table(title=title, show_header=False, box=None, pad_edge=False)
        table.add_column("key", style="bold")
        table.add_column("value", overflow="fold")
        for key, value in data.items():
            if key in skip:
                continue
            table.add_row(key.replace("_", " "), cell(key, value))
        self.console.print(table)

    def done(self, data: Any, message: str) -> None:
        """An action's answer: its JSON, or one line for a person."""
        if self.json_mode:
            self.raw(data)
        else:
            self.console.print(message)

    def error(self, error: CliError) -> None:
        if self.json_mode:
            sys.stderr.write(json.dumps(error.as_dict(), ensure_ascii=False) + "\n")
            return
        head = f"error: {error.code}: " if error.code else "error: "
        self.err.print(f"[red]{head}[/red]{_escape(error.message)}")
        for f in error.fields:
            where = f.get("field") or f.get("name") or "?"
            why = f.get("message") or f.get("problem") or "invalid"
            self.err.print(f"  - {_escape(str(where))}: {_escape(str(why))}")
        if error.request_id:
            self.err.print(f"[dim]request id: {error.request_id}[/dim]")


def _escape(text: str) -> str:
    return text.replace("[", "\\[")
