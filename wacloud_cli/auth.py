"""Getting and keeping an access token: Cognito for people, OAuth2 for apps.

People: Cognito's InitiateAuth with USER_PASSWORD_AUTH, a plain JSON call to
`https://cognito-idp.{region}.amazonaws.com/` (no AWS credentials: the app client id is
the only key), then REFRESH_TOKEN_AUTH when the access token is about to expire. The
app client must have no secret (a command line cannot keep one) and allow
ALLOW_USER_PASSWORD_AUTH and ALLOW_REFRESH_TOKEN_AUTH. A first login with a temporary
password answers NEW_PASSWORD_REQUIRED; the caller supplies the new password.

Apps: the OAuth2 client credentials grant at the user pool domain's `/oauth2/token`
with a scope `wacloud/admin` or `wacloud/agent`; there is no refresh token, so the
secret is kept (0600) and the grant repeated when the token expires.

Tokens and passwords never appear in messages: errors name Cognito's error type only.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx

from wacloud_cli.config import CredentialStore, Profile, StoredTokens
from wacloud_cli.errors import CliError, ExitCode

COGNITO_TARGET = "AWSCognitoIdentityProviderService."
EXPIRY_MARGIN = 60.0
"""Refresh a token this many seconds before it expires (clock skew, a slow request)."""
TIMEOUT = 20.0


def cognito_url(region: str | None, endpoint: str | None) -> str:
    if endpoint:
        return endpoint.rstrip("/") + "/"
    if not region:
        raise CliError(ExitCode.USAGE, "a Cognito region is needed (--region)")
    return f"https://cognito-idp.{region}.amazonaws.com/"


def _cognito_call(
    http: httpx.Client, url: str, action: str, payload: dict[str, Any]
) -> dict[str, Any]:
    try:
        response = http.post(
            url,
            json=payload,
            headers={
                "Content-Type": "application/x-amz-json-1.1",
                "X-Amz-Target": COGNITO_TARGET + action,
            },
        )
    except httpx.HTTPError as exc:
        raise CliError(
            ExitCode.UNAVAILABLE, f"cannot reach Cognito at {url} ({type(exc).__name__})"
        ) from exc
    body = _json_or_empty(response)
    if response.status_code >= 500:
        raise CliError(
            ExitCode.UNAVAILABLE, f"Cognito failed (HTTP {response.status_code})", code="cognito"
        )
    if response.status_code >= 400:
        kind = str(body.get("__type") or "").rsplit("#", 1)[-1] or f"HTTP {response.status_code}"
        message = {
            "NotAuthorizedException": "the user name or password is wrong, or the session ended",
            "UserNotFoundException": "the user name or password is wrong",
            "PasswordResetRequiredException": "this user must reset the password first",
            "UserNotConfirmedException": "this user is not confirmed yet",
            "InvalidParameterException": "Cognito refused the request: check that the app "
            "client allows USER_PASSWORD_AUTH and has no secret",
            "ResourceNotFoundException": "Cognito does not know this app client id",
        }.get(kind, f"Cognito refused the login ({kind})")
        raise CliError(ExitCode.AUTH, message, code=kind, status=response.status_code)
    return body


def _json_or_empty(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _from_result(
    result: dict[str, Any], *, now: float, refresh_token: str | None = None
) -> StoredTokens:
    access = result.get("AccessToken")
    if not access:
        raise CliError(ExitCode.AUTH, "Cognito answered without an access token")
    return StoredTokens(
        kind="user",
        access_token=str(access),
        expires_at=now + float(result.get("ExpiresIn") or 3600),
        refresh_token=str(result.get("RefreshToken") or refresh_token or "") or None,
    )


def password_login(
    http: httpx.Client,
    *,
    url: str,
    client_id: str,
    username: str,
    password: str,
    new_password: Callable[[], str] | None = None,
    clock: Callable[[], float] = time.time,
) -> StoredTokens:
    body = _cognito_call(
        http,
        url,
        "InitiateAuth",
        {
            "AuthFlow": "USER_PASSWORD_AUTH",
            "ClientId": client_id,
            "AuthParameters": {"USERNAME": username, "PASSWORD": password},
        },
    )
    challenge = body.get("ChallengeName")
    if challenge == "NEW_PASSWORD_REQUIRED":
        if new_password is None:
            raise CliError(
                ExitCode.AUTH,
                "this user has a temporary password: log in interactively to choose a new one",
                code="NEW_PASSWORD_REQUIRED",
            )
        body = _cognito_call(
            http,
            url,
            "RespondToAuthChallenge",
            {
                "ChallengeName": "NEW_PASSWORD_REQUIRED",
                "ClientId": client_id,
                "Session": body.get("Session"),
                "ChallengeResponses": {"USERNAME": username, "NEW_PASSWORD": new_password()},
            },
        )
        challenge = body.get("ChallengeName")
    if challenge:
        raise CliError(
            ExitCode.AUTH,
            f"Cognito asks for {challenge}, which the command line does not support",
            code=str(challenge),
        )
    return _from_result(body.get("AuthenticationResult") or {}, now=clock())


def refresh(
    http: httpx.Client,
    *,
    url: str,
    client_id: str,
    refresh_token: str,
    clock: Callable[[], float] = time.time,
) -> StoredTokens:
    body = _cognito_call(
        http,
        url,
        "InitiateAuth",
        {
            "AuthFlow": "REFRESH_TOKEN_AUTH",
            "ClientId": client_id,
            "AuthParameters": {"REFRESH_TOKEN": refresh_token},
        },
    )
    # Cognito does not return the refresh token again (unless rotation is on): keep ours.
    return _from_result(
        body.get("AuthenticationResult") or {}, now=clock(), refresh_token=refresh_token
    )


def client_credentials(
    http: httpx.Client,
    *,
    token_url: str,
    client_id: str,
    client_secret: str,
    scope: str | None,
    clock: Callable[[], float] = time.time,
) -> StoredTokens:
    form = {"grant_type": "client_credentials"}
    if scope:
        form["scope"] = scope
    try:
        response = http.post(token_url, data=form, auth=(client_id, client_secret))
    except httpx.HTTPError as exc:
        raise CliError(
            ExitCode.UNAVAILABLE,
            f"cannot reach the token endpoint {token_url} ({type(exc).__name__})",
        ) from exc
    body = _json_or_empty(response)
    if response.status_code >= 500:
        raise CliError(
            ExitCode.UNAVAILABLE, f"the token endpoint failed (HTTP {response.status_code})"
        )
    if response.status_code >= 400 or not body.get("access_token"):
        kind = str(body.get("error") or f"HTTP {response.status_code}")
        raise CliError(
            ExitCode.AUTH,
            f"the token endpoint refused the client ({kind})",
            code=kind,
            status=response.status_code,
        )
    return StoredTokens(
        kind="machine",
        access_token=str(body["access_token"]),
        expires_at=clock() + float(body.get("expires_in") or 3600),
        client_secret=client_secret,
    )


NOT_LOGGED_IN = "not logged in: run `wacloud login` (or set WACLOUD_TOKEN)"


class TokenSource:
    """The access token for one profile, refreshed or re-fetched when it expires."""

    def __init__(
        self,
        profile: Profile,
        store: CredentialStore,
        http: httpx.Client,
        *,
        fixed: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.profile, self.store, self.http = profile, store, http
        self.fixed, self.clock = fixed, clock

    @property
    def renewable(self) -> bool:
        if self.fixed:
            return False
        tokens = self.store.get(self.profile.name)
        return tokens is not None and bool(tokens.refresh_token or tokens.client_secret)

    def token(self, *, force_renew: bool = False) -> str:
        if self.fixed:
            return self.fixed
        tokens = self.store.get(self.profile.name)
        if tokens is None:
            raise CliError(ExitCode.AUTH, NOT_LOGGED_IN, code="not_logged_in")
        if force_renew or tokens.expires_at - EXPIRY_MARGIN <= self.clock():
            tokens = self._renew(tokens)
            self.store.put(self.profile.name, tokens)
        return tokens.access_token

    def _renew(self, tokens: StoredTokens) -> StoredTokens:
        profile = self.profile
        if tokens.kind == "machine" and tokens.client_secret:
            if not (profile.token_url and profile.client_id):
                raise CliError(ExitCode.AUTH, "the profile lost its token URL: log in again")
            return client_credentials(
                self.http,
                token_url=profile.token_url,
                client_id=profile.client_id,
                client_secret=tokens.client_secret,
                scope=profile.scope,
                clock=self.clock,
            )
        if tokens.refresh_token and profile.client_id:
            try:
                return refresh(
                    self.http,
                    url=cognito_url(profile.region, profile.cognito_endpoint),
                    client_id=profile.client_id,
                    refresh_token=tokens.refresh_token,
                    clock=self.clock,
                )
            except CliError as exc:
                if exc.exit_code is ExitCode.AUTH:
                    raise CliError(
                        ExitCode.AUTH,
                        "the session expired: run `wacloud login` again",
                        code="session_expired",
                    ) from exc
                raise
        raise CliError(
            ExitCode.AUTH, "the token expired: run `wacloud login` again", code="token_expired"
        )
