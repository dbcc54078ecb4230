"""`wacloud`: the root app, its global options, and the wiring of the command modules.

The commands live in wacloud_cli/commands/, one module per resource group; this module
only builds the root app and attaches them, in the order `wacloud --help` lists them.
pyproject.toml's console script points at `main` here.
"""

from __future__ import annotations

from typing import Annotated

import typer

from wacloud_cli import __version__
from wacloud_cli.app import fail, reset
from wacloud_cli.commands import (
    campaigns,
    contacts,
    inbox,
    messages,
    operations,
    report,
    session,
    templates,
    tenants,
    workflows,
)
from wacloud_cli.errors import CliError

app = typer.Typer(
    name="wacloud",
    help="The wacloud operator API from the command line. See docs/cli.md.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"wacloud {__version__}")
        raise typer.Exit()


@app.callback()
def _global(
    profile: Annotated[
        str | None,
        typer.Option(
            help="Profile in the config file (default: WACLOUD_PROFILE, the file's default)."
        ),
    ] = None,
    number: Annotated[
        str | None,
        typer.Option("--number", "-n", help="Phone number id (tenant) for number commands."),
    ] = None,
    api_url: Annotated[
        str | None, typer.Option(help="API base URL (WACLOUD_API_URL wins over it).")
    ] = None,
    json_output: Annotated[bool, typer.Option("--json", help="JSON output for scripts.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    reset(profile=profile, number=number, api_url=api_url, json=json_output)


# The order here is the order of `wacloud --help` (top-level commands first, then groups).
for _section in (
    session.section,
    messages.section,
    inbox.section,
    contacts.section,
    templates.section,
    campaigns.section,
    report.section,
    workflows.section,
    tenants.section,
    operations.section,
):
    _section.attach(app)


def main() -> None:
    """The console script: `wacloud` (pyproject.toml)."""
    try:
        app()
    except CliError as exc:  # raised outside a command (should not happen)
        raise SystemExit(fail(exc).exit_code) from None
