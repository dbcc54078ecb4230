"""Who the command line is: `login`, `logout` and the config file's `profiles`.

They set up what every other command finds through app.py's `resolved` and `api`:
the profile (API URL, default number, how to log in) and its stored tokens.
"""

from __future__ import annotations

import sys
import time
from typing import Annotated

import typer

from wacloud_cli import auth
from wacloud_cli.app import command, http_client, out, resolved
from wacloud_cli.build import usage
from wacloud_cli.commands._common import Section
from wacloud_cli.config import CredentialStore, StoredTokens, credentials_path
from wacloud_cli.errors import CliError, ExitCode
from wacloud_cli.output import cell

section = Section()

LOGIN_HELP = """Log in and store the token for this profile.

A person: --username (password prompted, or --password-stdin) with the user pool's
app --client-id and --region (or --cognito-endpoint for a local issuer).
An app: --client-id, --client-secret (or WACLOUD_CLIENT_SECRET) and --token-url,
with --scope wacloud/admin or wacloud/agent.
"""


@section.command("login", help=LOGIN_HELP)
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


@section.command("logout", help="Forget this profile's tokens (the profile stays).")
def logout() -> None:
    where = resolved()
    removed = where.credentials.delete(where.profile.name)
    out().done(
        {"profile": where.profile.name, "removed": removed},
        f"logged out of profile {where.profile.name}" if removed else "was not logged in",
    )


profiles = section.group("profiles", "Profiles in the config file.")


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
