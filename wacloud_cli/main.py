"""`wacloud`: every command of the operator API (docs/cli.md has the reference)."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from wacloud_cli import __version__, auth
from wacloud_cli.app import (
    STATE,
    AllOpt,
    CursorOpt,
    LimitOpt,
    NumberOpt,
    api,
    command,
    fail,
    http_client,
    list_command,
    out,
    pnid,
    reset,
    resolved,
    seg,
)
from wacloud_cli.build import (
    iso,
    key_values,
    load_json,
    parse_when,
    segment,
    submission,
    template_object,
    usage,
)
from wacloud_cli.config import CredentialStore, StoredTokens, credentials_path
from wacloud_cli.errors import CliError, ExitCode
from wacloud_cli.output import cell

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


def _group(name: str, help_text: str, **options: Any) -> typer.Typer:
    group = typer.Typer(help=help_text, no_args_is_help=True, **options)
    app.add_typer(group, name=name)
    return group


# --------------------------------------------------------------------------- login

LOGIN_HELP = """Log in and store the token for this profile.

A person: --username (password prompted, or --password-stdin) with the user pool's
app --client-id and --region (or --cognito-endpoint for a local issuer).
An app: --client-id, --client-secret (or WACLOUD_CLIENT_SECRET) and --token-url,
with --scope wacloud/admin or wacloud/agent.
"""


@command(app, "login", help=LOGIN_HELP)
def login(
    api_url: Annotated[str | None, typer.Option(help="The API's base URL.")] = None,
    number: Annotated[
        str | None, typer.Option("--number", "-n", help="Default phone number id.")
    ] = None,
    username: Annotated[str | None, typer.Option(help="Cognito user name.")] = None,
    password_stdin: Annotated[
        bool, typer.Option(help="Read the password from stdin (first line).")
    ] = False,
    client_id: Annotated[str | None, typer.Option(help="Cognito app client id.")] = None,
    region: Annotated[str | None, typer.Option(help="The user pool's AWS region.")] = None,
    cognito_endpoint: Annotated[
        str | None, typer.Option(help="Cognito endpoint URL (local issuer).")
    ] = None,
    client_secret: Annotated[
        str | None,
        typer.Option(
            envvar="WACLOUD_CLIENT_SECRET", help="Machine client secret.", show_default=False
        ),
    ] = None,
    token_url: Annotated[
        str | None, typer.Option(help="OAuth2 token URL (https://DOMAIN/oauth2/token).")
    ] = None,
    scope: Annotated[
        str | None, typer.Option(help="Machine client scope: wacloud/admin or wacloud/agent.")
    ] = None,
    make_default: Annotated[
        bool, typer.Option("--default", help="Make this profile the default.")
    ] = False,
) -> None:
    where = resolved()
    config, profile = where.config, where.profile
    for key, value in {
        "api_url": api_url,
        "number": number,
        "client_id": client_id,
        "region": region,
        "cognito_endpoint": cognito_endpoint,
        "token_url": token_url,
        "scope": scope,
        "username": username,
    }.items():
        if value is not None:
            setattr(profile, key, value.rstrip("/") if key == "api_url" else value)
    machine = client_secret is not None or (
        username is None and profile.auth == "machine" and token_url is not None
    )
    store = CredentialStore(credentials_path(config.path))
    http = http_client()
    tokens: StoredTokens
    if machine:
        if not (client_secret and profile.client_id and profile.token_url):
            raise usage("a machine login needs --client-id, --client-secret and --token-url")
        tokens = auth.client_credentials(
            http,
            token_url=profile.token_url,
            client_id=profile.client_id,
            client_secret=client_secret,
            scope=profile.scope,
        )
        profile.auth = "machine"
        who = f"client {profile.client_id}"
    else:
        if not (profile.username and profile.client_id):
            raise usage("a user login needs --username and --client-id (see wacloud login --help)")
        url = auth.cognito_url(profile.region, profile.cognito_endpoint)
        if password_stdin:
            password = sys.stdin.readline().rstrip("\r\n")
        else:
            password = typer.prompt("Password", hide_input=True)
        if not password:
            raise usage("empty password")

        def new_password() -> str:
            if password_stdin or not sys.stdin.isatty():
                raise CliError(
                    ExitCode.AUTH,
                    "a new password is required: log in once interactively",
                    code="NEW_PASSWORD_REQUIRED",
                )
            return str(
                typer.prompt(
                    "New password (first login)", hide_input=True, confirmation_prompt=True
                )
            )

        tokens = auth.password_login(
            http,
            url=url,
            client_id=profile.client_id,
            username=profile.username,
            password=password,
            new_password=new_password,
        )
        profile.auth = "user"
        who = profile.username
    config.profiles[profile.name] = profile
    if make_default or not config.default_profile:
        config.default_profile = profile.name
    config.save()
    store.put(profile.name, tokens)
    until = cell("expires_at", tokens.expires_at)
    out().done(
        {
            "profile": profile.name,
            "auth": profile.auth,
            "api_url": profile.api_url,
            "expires_at": tokens.expires_at,
        },
        f"logged in as {who} (profile {profile.name}); token valid until {until}"
        + ("" if tokens.refresh_token or tokens.client_secret else ", then log in again"),
    )


@command(app, "logout", help="Forget this profile's tokens (the profile stays).")
def logout() -> None:
    where = resolved()
    removed = where.credentials.delete(where.profile.name)
    out().done(
        {"profile": where.profile.name, "removed": removed},
        f"logged out of profile {where.profile.name}" if removed else "was not logged in",
    )


profiles = _group("profiles", "Profiles in the config file.")


@command(profiles, "list", help="Every profile, which is the default, and whether it is logged in.")
def profiles_list() -> None:
    where = resolved()
    store, now = where.credentials, time.time()
    rows = []
    for name, profile in sorted(where.config.profiles.items()):
        tokens = store.get(name)
        state = "no"
        if tokens is not None:
            renewable = tokens.refresh_token or tokens.client_secret
            state = "yes" if tokens.expires_at > now or renewable else "expired"
        rows.append(
            {
                "profile": name + (" *" if name == where.config.default_profile else ""),
                "api_url": profile.api_url,
                "number": profile.number,
                "auth": profile.auth,
                "identity": profile.username or profile.client_id,
                "logged_in": state,
            }
        )
    out().items(
        {"items": rows},
        ["profile", "api_url", "number", "auth", "identity", "logged_in"],
        empty=f"no profiles yet in {where.config.path}: run wacloud login",
    )


@command(profiles, "use", help="Make PROFILE the default.")
def profiles_use(name: Annotated[str, typer.Argument(help="Profile name.")]) -> None:
    config = resolved().config
    if name not in config.profiles:
        raise CliError(ExitCode.REFUSED, f"no profile {name!r} in {config.path}", code="not_found")
    config.default_profile = name
    config.save()
    out().done({"default_profile": name}, f"default profile: {name}")


# --------------------------------------------------------------------------- messages

ToOpt = Annotated[str | None, typer.Option(help="Recipient, E.164 (+351...).")]
TextOpt = Annotated[str | None, typer.Option(help="Text message body.")]
TemplateOpt = Annotated[str | None, typer.Option(help="Template name.")]
LanguageOpt = Annotated[str, typer.Option(help="Template language code.")]
ParamOpt = Annotated[
    list[str] | None, typer.Option("--param", help="Template body parameter, in order; repeat.")
]
FileOpt = Annotated[
    str | None,
    typer.Option("--file", help="A submission document (JSON file, or - for stdin)."),
]
IdemOpt = Annotated[
    str | None, typer.Option(help="Idempotency key: the same key again is the same message.")
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


@command(app, "send", help="Send a message now (text, template, or any submission with --file).")
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


@command(app, "schedule", help="Send a message later (like send, plus --at).")
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


message = _group("message", "One message: its status history, or cancel a scheduled one.")


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


# --------------------------------------------------------------------------- inbox

conversations = _group("conversations", "The inbox: conversations waiting for a person first.")
CONVERSATION_COLUMNS = [
    "wa_id",
    "state",
    "assignee",
    "labels",
    "waiting_since",
    "last_activity_at",
    "handoff_reason",
    "profile_name",
]


def _since(text: str | None) -> str | None:
    return iso(parse_when(text, future=False)) if text else None


@command(conversations, "list", help="Conversations: waiting for a person first, then by activity.")
def conversations_list(
    state: Annotated[str | None, typer.Option(help="bot | handoff | assigned | resolved")] = None,
    assignee: Annotated[str | None, typer.Option(help="An agent's name, or me.")] = None,
    label: Annotated[str | None, typer.Option(help="Only conversations with this label.")] = None,
    since: Annotated[str | None, typer.Option(help="Active since (ISO, epoch, or 7d ago).")] = None,
    until: Annotated[str | None, typer.Option(help="Active until (ISO, epoch, or 1d ago).")] = None,
    limit: LimitOpt = None,
    cursor: CursorOpt = None,
    all_pages: AllOpt = False,
    number: NumberOpt = None,
) -> None:
    list_command(
        f"/v1/numbers/{seg(pnid(number))}/conversations",
        CONVERSATION_COLUMNS,
        limit=limit,
        cursor=cursor,
        all_pages=all_pages,
        empty="no conversations match",
        state=state,
        assignee=assignee,
        label=label,
        since=_since(since),
        until=_since(until),
    )


@command(conversations, "show", help="One conversation and its latest messages.")
def conversations_show(
    wa_id: str,
    limit: LimitOpt = None,
    before: Annotated[str | None, typer.Option(help="Older page: the cursor shown.")] = None,
    number: NumberOpt = None,
) -> None:
    data = api().get(
        f"/v1/numbers/{seg(pnid(number))}/conversations/{seg(wa_id)}", limit=limit, before=before
    )
    if STATE.json:
        out().raw(data)
        return
    out().record(data, skip=("messages", "next_cursor", "notes"))
    page = data.get("messages") if isinstance(data, dict) else None
    if isinstance(page, dict):
        out().items(page, ["at", "direction", "type", "text", "status", "agent"], title="messages")
    elif isinstance(page, list):
        out().items({"items": page}, ["at", "direction", "type", "text", "status", "agent"])


def _conversation(number: str | None, wa_id: str, action: str = "") -> str:
    path = f"/v1/numbers/{seg(pnid(number))}/conversations/{seg(wa_id)}"
    return f"{path}/{action}" if action else path


@command(
    app, "reply", help="Answer a customer: text inside the 24-hour window, a template any time."
)
def reply(
    wa_id: str,
    text: Annotated[str | None, typer.Argument(help="Free-form text.")] = None,
    template: TemplateOpt = None,
    language: LanguageOpt = "en_US",
    param: ParamOpt = None,
    canned: Annotated[str | None, typer.Option(help="A canned response's name.")] = None,
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="Canned response parameter name=value.")
    ] = None,
    idempotency_key: IdemOpt = None,
    number: NumberOpt = None,
) -> None:
    chosen = [x for x in (text, template, canned) if x is not None]
    if len(chosen) != 1:
        raise usage("give exactly one of TEXT, --template or --canned")
    body: dict[str, Any]
    if text is not None:
        body = {"text": text}
    elif template is not None:
        body = {"template": template_object(template, language, param or [])}
    else:
        body = {"canned": canned, "params": key_values(set_ or [])}
    if idempotency_key:
        body["idempotency_key"] = idempotency_key
    data = api().post(_conversation(number, wa_id, "reply"), body)
    out().done(data, f"sent: message {data.get('message_id') if isinstance(data, dict) else ''}")


handoff = _group("handoff", "Take a conversation over from the bot, give it back, resolve it.")


def _handoff(action: str, wa_id: str, number: str | None, said: str) -> None:
    data = api().post(_conversation(number, wa_id, action))
    state = data.get("state") if isinstance(data, dict) else None
    out().done(data, f"{said}" + (f" (state {state})" if state else ""))


@command(handoff, "take", help="You take the conversation: the bot stays silent.")
def handoff_take(wa_id: str, number: NumberOpt = None) -> None:
    _handoff("take", wa_id, number, "taken: you answer this customer now")


@command(handoff, "release", help="Give the conversation back to the bot.")
def handoff_release(wa_id: str, number: NumberOpt = None) -> None:
    _handoff("release", wa_id, number, "released to the bot")


@command(handoff, "resolve", help="Resolve it (a satisfaction survey goes out if enabled).")
def handoff_resolve(wa_id: str, number: NumberOpt = None) -> None:
    _handoff("resolve", wa_id, number, "resolved")


@command(app, "assign", help="Assign a conversation to an agent.")
def assign(wa_id: str, agent: str, number: NumberOpt = None) -> None:
    data = api().post(_conversation(number, wa_id, "assign"), {"agent": agent})
    out().done(data, f"assigned to {agent}")


notes = _group("notes", "Private notes between agents (never sent to the customer).")


@command(notes, "list", help="A conversation's notes.")
def notes_list(wa_id: str, number: NumberOpt = None) -> None:
    data = api().get(_conversation(number, wa_id, "notes"))
    out().items(data, ["created_at", "author", "text"], empty="no notes")


@command(notes, "add", help="Add a note.")
def notes_add(wa_id: str, text: str, number: NumberOpt = None) -> None:
    data = api().post(_conversation(number, wa_id, "notes"), {"text": text})
    out().done(data, "note added")


@command(app, "labels", help="Add or remove a conversation's labels.")
def labels(
    wa_id: str,
    add: Annotated[list[str] | None, typer.Option("--add", help="Label to add; repeat.")] = None,
    remove: Annotated[
        list[str] | None, typer.Option("--remove", help="Label to remove; repeat.")
    ] = None,
    number: NumberOpt = None,
) -> None:
    if not add and not remove:
        raise usage("give --add and/or --remove")
    data = api().put(
        _conversation(number, wa_id, "labels"), {"add": add or [], "remove": remove or []}
    )
    shown = data.get("labels") if isinstance(data, dict) else None
    out().done(data, f"labels: {cell('labels', shown)}" if shown is not None else "labels updated")


agents = _group("agents", "Agents: availability and limits.")


@command(agents, "list", help="Agents, their availability and open conversations.")
def agents_list() -> None:
    data = api().get("/v1/agents")
    out().items(data, ["name", "available", "open", "max_open"], empty="no agents yet")


@command(agents, "available", help="Mark yourself available (or --no for unavailable).")
def agents_available(
    available: Annotated[bool, typer.Option("--yes/--no", help="Available or not.")] = True,
) -> None:
    data = api().put("/v1/agents/me", {"available": available})
    out().done(data, "available" if available else "unavailable")


@command(agents, "set", help="Set an agent's limit or availability (admin).")
def agents_set(
    name: str,
    max_open: Annotated[int | None, typer.Option(help="Most open conversations at once.")] = None,
    available: Annotated[bool | None, typer.Option("--available/--unavailable")] = None,
) -> None:
    body: dict[str, Any] = {}
    if max_open is not None:
        body["max_open"] = max_open
    if available is not None:
        body["available"] = available
    if not body:
        raise usage("give --max-open and/or --available/--unavailable")
    data = api().put(f"/v1/agents/{seg(name)}", body)
    out().done(data, f"agent {name} updated")


canned = _group("canned", "Canned responses per number, with {param} placeholders.")


@command(canned, "list", help="The number's canned responses.")
def canned_list(number: NumberOpt = None) -> None:
    data = api().get(f"/v1/numbers/{seg(pnid(number))}/canned-responses")
    out().items(data, ["name", "text"], empty="no canned responses")


@command(canned, "set", help="Create or replace one (admin).")
def canned_set(name: str, text: str, number: NumberOpt = None) -> None:
    data = api().put(
        f"/v1/numbers/{seg(pnid(number))}/canned-responses/{seg(name)}", {"text": text}
    )
    out().done(data, f"canned response {name} saved")


@command(canned, "delete", help="Delete one (admin).")
def canned_delete(name: str, number: NumberOpt = None) -> None:
    data = api().delete(f"/v1/numbers/{seg(pnid(number))}/canned-responses/{seg(name)}")
    out().done(data, f"canned response {name} deleted")


@command(app, "inbox-settings", help="Show, or with flags change, the inbox settings (admin).")
def inbox_settings(
    auto_assign: Annotated[bool | None, typer.Option("--auto-assign/--no-auto-assign")] = None,
    survey: Annotated[bool | None, typer.Option("--survey/--no-survey")] = None,
    number: NumberOpt = None,
) -> None:
    path = f"/v1/numbers/{seg(pnid(number))}/inbox-settings"
    body = {
        k: v for k, v in {"auto_assign": auto_assign, "survey": survey}.items() if v is not None
    }
    data = api().patch(path, body) if body else api().get(path)
    out().record(data)


# --------------------------------------------------------------------------- contacts

contacts = _group("contacts", "Contacts: tags, attributes, opt-out, block.")
CONTACT_COLUMNS = ["wa_id", "profile_name", "tags", "opted_out", "blocked", "last_seen"]


def _contact(number: str | None, wa_id: str, action: str = "") -> str:
    path = f"/v1/numbers/{seg(pnid(number))}/contacts/{seg(wa_id)}"
    return f"{path}/{action}" if action else path


@command(contacts, "list", help="Contacts, newest activity first.")
def contacts_list(
    tag: Annotated[str | None, typer.Option(help="Only contacts with this tag.")] = None,
    limit: LimitOpt = None,
    cursor: CursorOpt = None,
    all_pages: AllOpt = False,
    number: NumberOpt = None,
) -> None:
    list_command(
        f"/v1/numbers/{seg(pnid(number))}/contacts",
        CONTACT_COLUMNS,
        limit=limit,
        cursor=cursor,
        all_pages=all_pages,
        empty="no contacts match",
        tag=tag,
    )


@command(contacts, "show", help="One contact.")
def contacts_show(wa_id: str, number: NumberOpt = None) -> None:
    out().record(api().get(_contact(number, wa_id)))


def _patch_contact(number: str | None, wa_id: str, body: dict[str, Any]) -> None:
    data = api().patch(_contact(number, wa_id), body)
    out().record(data)


@command(contacts, "tag", help="Add tags.")
def contacts_tag(wa_id: str, tags: list[str], number: NumberOpt = None) -> None:
    _patch_contact(number, wa_id, {"tags_add": tags})


@command(contacts, "untag", help="Remove tags.")
def contacts_untag(wa_id: str, tags: list[str], number: NumberOpt = None) -> None:
    _patch_contact(number, wa_id, {"tags_remove": tags})


@command(contacts, "set", help="Set attributes: name=value (name= removes it).")
def contacts_set(wa_id: str, pairs: list[str], number: NumberOpt = None) -> None:
    _patch_contact(number, wa_id, {"attributes": key_values(pairs, what="an attribute")})


@command(contacts, "opt-out", help="Record an opt-out (--undo: opted in again).")
def contacts_opt_out(
    wa_id: str,
    undo: Annotated[bool, typer.Option(help="Clear the opt-out.")] = False,
    number: NumberOpt = None,
) -> None:
    _patch_contact(number, wa_id, {"opted_out": not undo})


@command(contacts, "block", help="Block the customer (Meta's Block API).")
def contacts_block(wa_id: str, number: NumberOpt = None) -> None:
    data = api().post(_contact(number, wa_id, "block"))
    out().done(data, f"blocked {wa_id}")


@command(contacts, "unblock", help="Unblock the customer.")
def contacts_unblock(wa_id: str, number: NumberOpt = None) -> None:
    data = api().post(_contact(number, wa_id, "unblock"))
    out().done(data, f"unblocked {wa_id}")


# --------------------------------------------------------------------------- templates


@command(app, "templates", help="The number's message templates with status, category, quality.")
def templates(number: NumberOpt = None) -> None:
    data = api().get(f"/v1/numbers/{seg(pnid(number))}/templates")
    out().items(data, ["name", "language", "status", "category", "quality"], empty="no templates")


# --------------------------------------------------------------------------- campaigns

campaign = _group("campaign", "Campaigns: create from a CSV or a segment, steer, watch.")
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


# --------------------------------------------------------------------------- workflows

workflows = _group("workflows", "Workflows: installed and shipped; business events.")


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


@command(app, "event", help="Post a business event to the stack's bus (admin).")
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


# --------------------------------------------------------------------------- tenants

tenants = _group("tenants", "Numbers (tenants) and their settings (admin).")


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
    help="The assistant's settings; change with --set name=value, --auto-reply/--no-auto-reply.",
)
def tenants_assistant(
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="Setting name=value (JSON values allowed); repeat."),
    ] = None,
    auto_reply: Annotated[bool | None, typer.Option("--auto-reply/--no-auto-reply")] = None,
    number: NumberOpt = None,
) -> None:
    path = f"/v1/tenants/{seg(pnid(number))}/assistant"
    body = key_values(set_ or [])
    if auto_reply is not None:
        body["enabled"] = auto_reply
    out().record(api().patch(path, body) if body else api().get(path))


# --------------------------------------------------------------------------- operations

dlq = _group("dlq", "Dead-letter queues: look, and move messages back.")


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


@command(app, "queues", help="Queue depths, dead-letter queues marked.")
def queues() -> None:
    data = api().get("/v1/ops/queues")
    out().items(data, ["name", "visible", "in_flight", "delayed", "dead_letter"], empty="no queues")


@command(app, "health", help="The stack's health report (--check: exit 5 when degraded).")
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


# --------------------------------------------------------------------------- raw


@command(app, "request", help="Any API call: METHOD PATH [--data JSON]; prints the JSON answer.")
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


def main() -> None:
    """The console script: `wacloud` (pyproject.toml)."""
    try:
        app()
    except CliError as exc:  # raised outside a command (should not happen)
        raise SystemExit(fail(exc).exit_code) from None
