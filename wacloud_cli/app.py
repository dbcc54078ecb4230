"""The typer application's plumbing: global options, the session, error handling.

Every command is registered with `command(group)`, which adds `--json` to it and turns
a CliError into its message on stderr and its exit code (errors.py), so no command
handles errors itself.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar
from urllib.parse import quote

import httpx
import typer

from wacloud_cli.auth import TokenSource
from wacloud_cli.client import TIMEOUT, ApiClient
from wacloud_cli.config import Resolved, resolve
from wacloud_cli.errors import CliError, ExitCode
from wacloud_cli.output import Output

F = TypeVar("F", bound=Callable[..., Any])

HTTP_TRANSPORT: httpx.BaseTransport | None = None
"""Tests replace the network here (httpx.MockTransport); None is the real one."""


@dataclass
class State:
    profile: str | None = None
    api_url: str | None = None
    number: str | None = None
    json: bool = False


STATE = State()


def reset(**values: Any) -> None:
    """New global options for this invocation (in place: modules hold `STATE`)."""
    STATE.__dict__.update(vars(State(**values)))


def http_client() -> httpx.Client:
    return httpx.Client(timeout=TIMEOUT, transport=HTTP_TRANSPORT)


def resolved() -> Resolved:
    return resolve(profile=STATE.profile, api_url=STATE.api_url, number=STATE.number)


def api() -> ApiClient:
    where = resolved()
    http = http_client()
    tokens = TokenSource(where.profile, where.credentials, http, fixed=where.env_token)
    return ApiClient(where.api_url, tokens, http)


def out() -> Output:
    return Output(STATE.json)


def pnid(option: str | None) -> str:
    number = option or resolved().number
    if not number:
        raise CliError(
            ExitCode.USAGE,
            "which number? pass --number PNID (or set it in the profile: wacloud login --number)",
            code="no_number",
        )
    return number


def seg(value: str) -> str:
    """One path segment, escaped (a wa_id, a name)."""
    return quote(value, safe="")


JsonOpt = Annotated[
    bool, typer.Option("--json", help="Print the API's JSON (for scripts) instead of tables.")
]
NumberOpt = Annotated[
    str | None,
    typer.Option(
        "--number",
        "-n",
        help="Phone number id (tenant); default: the global --number, WACLOUD_NUMBER, the profile.",
        show_default=False,
    ),
]
LimitOpt = Annotated[int | None, typer.Option(help="Items per page (API default 50, max 200).")]
CursorOpt = Annotated[str | None, typer.Option(help="Page cursor from a previous next_cursor.")]
AllOpt = Annotated[bool, typer.Option("--all", help="Follow next_cursor and print every page.")]


def fail(exc: CliError) -> typer.Exit:
    out().error(exc)
    return typer.Exit(int(exc.exit_code))


def command(group: typer.Typer, name: str | None = None, **options: Any) -> Callable[[F], F]:
    """Register `fn` on `group` with a `--json` flag and CliError handling."""

    def register(fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(*args: Any, json_output: bool = False, **kwargs: Any) -> Any:
            if json_output:
                STATE.json = True
            try:
                return fn(*args, **kwargs)
            except CliError as exc:
                raise fail(exc) from None
            except KeyboardInterrupt:
                raise typer.Exit(130) from None

        signature = inspect.signature(fn, eval_str=True)
        extra = inspect.Parameter(
            "json_output", inspect.Parameter.KEYWORD_ONLY, default=False, annotation=JsonOpt
        )
        wrapper.__signature__ = signature.replace(  # type: ignore[attr-defined]
            parameters=[*signature.parameters.values(), extra]
        )
        wrapper.__annotations__ = {
            **{p.name: p.annotation for p in signature.parameters.values()},
            "json_output": JsonOpt,
        }
        group.command(name, **options)(wrapper)
        return fn

    return register


def list_command(
    path: str,
    columns: list[str],
    *,
    limit: int | None,
    cursor: str | None,
    all_pages: bool,
    title: str | None = None,
    empty: str = "nothing to show",
    **params: Any,
) -> Any:
    client = api()
    data: Any
    if all_pages:
        items: list[Any] = []
        for page in client.pages(path, limit=limit, cursor=cursor, **params):
            items.extend(page.get("items", []) if isinstance(page, dict) else [])
        data = {"items": items, "next_cursor": None}
    else:
        data = client.get(path, limit=limit, cursor=cursor, **params)
    out().items(data, columns, title=title, empty=empty)
    return data
