"""What the command modules share: how a module declares its commands, and the message options.

A module declares its commands where they are written (`@section.command("send")`,
`section.group("message", ...)`) but the root app is main.py's: the module cannot import
it without an import cycle, and the order main.py attaches the sections in is the order
`wacloud --help` lists them in. So a `Section` only records, and `attach` registers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import typer

from wacloud_cli.app import command

F = TypeVar("F", bound=Callable[..., Any])


class Section:
    """One module's commands on the root app and its own groups, registered by `attach`."""

    def __init__(self) -> None:
        self._commands: list[tuple[Callable[..., Any], str, dict[str, Any]]] = []
        self._groups: list[tuple[str, typer.Typer]] = []

    def command(self, name: str, **options: Any) -> Callable[[F], F]:
        """A top-level command (`wacloud NAME`), registered with `command` on attach."""

        def record(fn: F) -> F:
            self._commands.append((fn, name, options))
            return fn

        return record

    def group(self, name: str, help_text: str, **options: Any) -> typer.Typer:
        """A command group (`wacloud NAME ...`); its commands use `command(group, ...)`."""
        group = typer.Typer(help=help_text, no_args_is_help=True, **options)
        self._groups.append((name, group))
        return group

    def attach(self, app: typer.Typer) -> None:
        """Register the recorded commands and groups on `app`, in declaration order."""
        for fn, name, options in self._commands:
            command(app, name, **options)(fn)
        for name, group in self._groups:
            app.add_typer(group, name=name)


# A message's content, shared by `send`/`schedule` (messages.py) and `reply` (inbox.py).
TemplateOpt = Annotated[str | None, typer.Option(help="Template name.")]
LanguageOpt = Annotated[str, typer.Option(help="Template language code.")]
ParamOpt = Annotated[
    list[str] | None, typer.Option("--param", help="Template body parameter, in order; repeat.")
]
IdemOpt = Annotated[
    str | None, typer.Option(help="Idempotency key: the same key again is the same message.")
]
