"""Outbound messages: `send`, `schedule`, and `message show/cancel` for one of them.

`send` and `schedule` are the same submission (build.py's `submission`) posted to
/v1/messages; `schedule` only adds the send time.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from wacloud_cli.app import STATE, NumberOpt, api, command, out, pnid, resolved, seg
from wacloud_cli.build import parse_when, submission
from wacloud_cli.commands._common import IdemOpt, LanguageOpt, ParamOpt, Section, TemplateOpt
from wacloud_cli.output import cell

section = Section()

ToOpt = Annotated[str | None, typer.Option(help="Recipient, E.164 (+351...).")]
TextOpt = Annotated[str | None, typer.Option(help="Text message body.")]
FileOpt = Annotated[
    str | None,
    typer.Option("--file", help="A submission document (JSON file, or - for stdin)."),
]


def _document_number(number: str | None, file: str | None) -> str | None:
    """The number for a submission: required unless the file names one."""
    return pnid(number) if file is None else (number or resolved().number)


def _send(document: dict[str, Any]) -> None:
    result = api().post("/v1/messages", document)
    line = ""
    if isinstance(result, dict):
        line = f"{result.get('status')}: message {result.get('message_id')}"
        if result.get("send_at"):
            line += f" at {cell('send_at', result['send_at'])}"
    out().done(result, line)


@section.command("send", help="Send a message now (text, template, or any submission with --file).")
def send(
    to: ToOpt = None,
    text: TextOpt = None,
    template: TemplateOpt = None,
    language: LanguageOpt = "en_US",
    param: ParamOpt = None,
    file: FileOpt = None,
    idempotency_key: IdemOpt = None,
    preview_url: Annotated[bool, typer.Option(help="Show a link preview (text).")] = False,
    number: NumberOpt = None,
) -> None:
    document = submission(
        number=_document_number(number, file),
        to=to,
        text=text,
        template=template,
        language=language,
        params=param or [],
        file=file,
        idempotency_key=idempotency_key,
        send_at=None,
        preview_url=preview_url,
    )
    _send(document)


@section.command("schedule", help="Send a message later (like send, plus --at).")
def schedule(
    at: Annotated[str, typer.Option(help="When: ISO-8601 (local time if no zone), epoch, +10m.")],
    to: ToOpt = None,
    text: TextOpt = None,
    template: TemplateOpt = None,
    language: LanguageOpt = "en_US",
    param: ParamOpt = None,
    file: FileOpt = None,
    idempotency_key: IdemOpt = None,
    number: NumberOpt = None,
) -> None:
    document = submission(
        number=_document_number(number, file),
        to=to,
        text=text,
        template=template,
        language=language,
        params=param or [],
        file=file,
        idempotency_key=idempotency_key,
        send_at=parse_when(at),
    )
    _send(document)


message = section.group("message", "One message: its status history, or cancel a scheduled one.")


@command(message, "show", help="A message's status and history.")
def message_show(message_id: str, number: NumberOpt = None) -> None:
    data = api().get(f"/v1/numbers/{seg(pnid(number))}/messages/{seg(message_id)}")
    if STATE.json:
        out().raw(data)
        return
    out().record(data, skip=("history",))
    history = data.get("history") if isinstance(data, dict) else None
    if history:
        out().items({"items": history}, ["status", "at", "error"], title="history")


@command(message, "cancel", help="Cancel a scheduled message that has not been released.")
def message_cancel(message_id: str, number: NumberOpt = None) -> None:
    data = api().delete(f"/v1/numbers/{seg(pnid(number))}/messages/{seg(message_id)}")
    out().done(data, f"cancelled: message {message_id}")
