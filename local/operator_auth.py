"""Cognito for the operator API on this machine: token checks, the token endpoint, users.

Three parts, each standing in for what AWS does around the operator API:

* `JwtAuthorizer` is API Gateway's JWT authorizer: it verifies a bearer token's RS256
  signature against the issuer's JWKS (moto's Cognito publishes one per pool), its
  issuer, expiry and audience (``aud``, or ``client_id`` for access tokens), and hands
  the claims on as strings, arrays as ``[a b]``, the way API Gateway does.
* `TokenEndpoint` is the user pool domain, which moto does not serve: ``/oauth2/token``
  for machine clients (client credentials: it checks the client's secret, flow and
  scopes against moto's record of the client and signs with the key moto signs its
  own tokens with, so one JWKS verifies both) and, for the web console, the hosted
  sign-in: ``/oauth2/authorize`` (a sign-in form; the password is checked by moto's
  InitiateAuth through the console's client), the authorization code grant with PKCE
  (S256, single-use codes that expire after 5 minutes, bound to the client and the
  redirect URI), the refresh token grant, ``/oauth2/revoke`` and ``/logout``. The
  tokens people get are moto's own for that client, carrying their groups.
* `OperatorAuth` creates operators (a user in the `admin` or `agent` group) and logs
  them in through moto's InitiateAuth: what `make run` and the tests use.

Users log in exactly as in AWS (USER_PASSWORD_AUTH against the pool's client); only
the endpoint differs (the moto server instead of cognito-idp.{region}.amazonaws.com).
"""

from __future__ import annotations

import base64
import contextlib
import gzip
import hashlib
import html
import json
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from importlib import resources
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.wrappers import Request, Response

ISSUER_PREFIX = "https://cognito-idp."
ROLES = ("admin", "agent")
LOCAL_PASSWORDS = {"admin": "Local-admin-pass1", "agent": "Local-agent-pass1"}
"""Passwords of the operators `make run` creates (local only; printed at start)."""
CODE_LIFETIME = 300.0
"""Seconds an authorization code may be exchanged (Cognito's codes live 5 minutes)."""
FORM_LIFETIME = 900.0


def _moto_key(name: str) -> dict[str, Any]:
    data = resources.files("moto.cognitoidp").joinpath("resources", name).read_bytes()
    loaded: dict[str, Any] = json.loads(gzip.decompress(data))
    return loaded


def api_gateway_claims(claims: dict[str, Any]) -> dict[str, str]:
    """Claims as API Gateway's HTTP API passes them: strings, arrays as ``[a b]``."""
    flat: dict[str, str] = {}
    for name, value in claims.items():
        if isinstance(value, list):
            flat[name] = "[" + " ".join(str(v) for v in value) + "]"
        elif isinstance(value, bool):
            flat[name] = "true" if value else "false"
        else:
            flat[name] = str(value)
    return flat


@dataclass
class JwtAuthorizer:
    """One HttpApi authorizer: its issuer and audience, verified against the JWKS."""

    issuer: str
    audience: tuple[str, ...]
    moto_url: str
    _keys: Any = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def _key_set(self) -> Any:
        from joserfc.jwk import KeySet

        with self._lock:
            if self._keys is None:
                pool_id = self.issuer.rsplit("/", 1)[-1]
                region = self.issuer.removeprefix(ISSUER_PREFIX).split(".", 1)[0]
                response = httpx.get(
                    f"{self.moto_url}/{pool_id}/.well-known/jwks.json",
                    headers={"Host": f"cognito-idp.{region}.amazonaws.com"},
                    timeout=10,
                )
                response.raise_for_status()
                self._keys = KeySet.import_key_set(response.json())
            return self._keys

    def claims(self, authorization: str | None) -> dict[str, str] | None:
        """The token's claims if API Gateway would let it through, else None."""
        from joserfc import jwt
        from joserfc.errors import JoseError

        if not authorization:
            return None
        scheme, _, token = authorization.strip().partition(" ")
        token = token.strip() if scheme.lower() == "bearer" else authorization.strip()
        if not token:
            return None
        try:
            decoded = jwt.decode(token, self._key_set(), algorithms=["RS256"])
        except (JoseError, ValueError):
            return None
        claims = dict(decoded.claims)
        if claims.get("iss") != self.issuer:
            return None
        exp, nbf, now = claims.get("exp"), claims.get("nbf"), time.time()
        if not isinstance(exp, int | float) or exp <= now:
            return None
        if isinstance(nbf, int | float) and nbf > now:
            return None
        audience = claims.get("aud", claims.get("client_id"))
        audiences = audience if isinstance(audience, list) else [audience]
        if not any(a in self.audience for a in audiences):
            return None
        return api_gateway_claims(claims)


def _signing_key() -> Any:
    from joserfc.jwk import RSAKey

    return RSAKey.import_key(_moto_key("jwks-private.json.gz"))


@dataclass
class _Grant:
    """An authorization code's binding: who it was issued to, for where, and the tokens."""

    client_id: str
    redirect_uri: str
    challenge: str
    tokens: dict[str, Any]
    expires: float


def s256(verifier: str) -> str:
    """The PKCE S256 challenge of a code verifier (RFC 7636)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


class _RefusedError(Exception):
    def __init__(self, status: int, error: str) -> None:
        super().__init__(error)
        self.status, self.error = status, error


_AUTHORIZE_FIELDS = (
    "response_type",
    "client_id",
    "redirect_uri",
    "state",
    "scope",
    "code_challenge",
    "code_challenge_method",
)


class TokenEndpoint:
    """The pool's domain: ``/oauth2/token`` (client credentials, authorization code
    with PKCE, refresh token), ``/oauth2/authorize`` (the sign-in form), ``/logout``
    and ``/oauth2/revoke``, as Cognito answers them."""

    def __init__(self, cognito: Any, pool_id: str, issuer: str, host: str, port: int) -> None:
        self._cognito, self._pool_id, self._issuer = cognito, pool_id, issuer
        self._key = _signing_key()
        self._lock = threading.Lock()
        self._codes: dict[str, _Grant] = {}
        self._forms: dict[str, float] = {}
        self._server: BaseWSGIServer = make_server(host, port, self._wsgi, threaded=True)
        self._thread = threading.Thread(
            target=self._server.serve_forever, daemon=True, name="local-token-endpoint"
        )

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def url(self) -> str:
        return f"{self.base_url}/oauth2/token"

    @property
    def authorize_url(self) -> str:
        return f"{self.base_url}/oauth2/authorize"

    @property
    def logout_url(self) -> str:
        return f"{self.base_url}/logout"

    def start(self) -> TokenEndpoint:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        if request.path == "/oauth2/authorize":
            response = self._authorize(request)
        elif request.path == "/logout":
            response = self._logout(request)
        elif request.path in ("/oauth2/token", "/oauth2/revoke"):
            response = self._json_endpoint(request)
        else:
            response = Response('{"error":"not_found"}', 404, content_type="application/json")
        return response(environ, start_response)

    # ------------------------------------------------------------------ token, revoke
    def _json_endpoint(self, request: Request) -> Response:
        # Browsers call these from the console's origin: CORS, as Cognito answers.
        cors = {
            "Access-Control-Allow-Origin": request.headers.get("origin") or "*",
            "Access-Control-Allow-Methods": "POST",
            "Access-Control-Allow-Headers": "authorization, content-type",
            "Access-Control-Max-Age": "600",
            "Vary": "Origin",
        }
        if request.method == "OPTIONS":
            return Response("", 204, headers=cors)
        if request.path == "/oauth2/revoke":
            status, body = self._revoke(request)
        else:
            status, body = self._token(request)
        headers = {**cors, "Cache-Control": "no-store", "Pragma": "no-cache"}
        return Response(json.dumps(body), status, headers, content_type="application/json")

    def _client(self, request: Request) -> tuple[str, str]:
        header = request.headers.get("authorization", "")
        if header.lower().startswith("basic "):
            try:
                decoded = base64.b64decode(header[6:].strip()).decode()
            except ValueError:
                return "", ""
            client_id, _, secret = decoded.partition(":")
            return client_id, secret
        return request.form.get("client_id", ""), request.form.get("client_secret", "")

    def _describe(self, client_id: str) -> dict[str, Any] | None:
        if not client_id:
            return None
        try:
            client: dict[str, Any] = self._cognito.describe_user_pool_client(
                UserPoolId=self._pool_id, ClientId=client_id
            )["UserPoolClient"]
        except Exception:
            return None
        return client

    def _token(self, request: Request) -> tuple[int, dict[str, Any]]:
        if request.method != "POST":
            return 405, {"error": "invalid_request"}
        grant = request.form.get("grant_type")
        try:
            if grant == "client_credentials":
                return 200, self._client_credentials(request)
            if grant == "authorization_code":
                return 200, self._authorization_code(request)
            if grant == "refresh_token":
                return 200, self._refresh(request)
        except _RefusedError as refused:
            return refused.status, {"error": refused.error}
        return 400, {"error": "unsupported_grant_type"}

    def _client_credentials(self, request: Request) -> dict[str, Any]:
        client_id, secret = self._client(request)
        client = self._describe(client_id)
        if client is None or not client.get("ClientSecret") or client["ClientSecret"] != secret:
            raise _RefusedError(400, "invalid_client")
        if "client_credentials" not in client.get("AllowedOAuthFlows", []):
            raise _RefusedError(400, "unauthorized_client")
        allowed = client.get("AllowedOAuthScopes", [])
        asked = request.form.get("scope", "").split()
        scopes = asked or allowed
        if not scopes or any(scope not in allowed for scope in scopes):
            raise _RefusedError(400, "invalid_scope")
        return self._issue(client_id, scopes)

    def _authorization_code(self, request: Request) -> dict[str, Any]:
        client_id, _ = self._client(request)
        code = request.form.get("code", "")
        with self._lock:
            grant = self._codes.pop(code, None)  # single use, whatever happens next
        if grant is None or grant.expires < time.time():
            raise _RefusedError(400, "invalid_grant")
        if client_id != grant.client_id:
            raise _RefusedError(400, "invalid_client")
        if request.form.get("redirect_uri", "") != grant.redirect_uri:
            raise _RefusedError(400, "invalid_grant")
        verifier = request.form.get("code_verifier", "")
        if not 43 <= len(verifier) <= 128 or not secrets.compare_digest(
            s256(verifier), grant.challenge
        ):
            raise _RefusedError(400, "invalid_grant")
        tokens = grant.tokens
        return {
            "access_token": tokens["AccessToken"],
            "id_token": tokens["IdToken"],
            "refresh_token": tokens["RefreshToken"],
            "expires_in": int(tokens.get("ExpiresIn", 3600)),
            "token_type": "Bearer",
        }

    def _refresh(self, request: Request) -> dict[str, Any]:
        client_id, _ = self._client(request)
        client = self._describe(client_id)
        if client is None:
            raise _RefusedError(400, "invalid_client")
        try:
            tokens = self._cognito.initiate_auth(
                ClientId=client_id,
                AuthFlow="REFRESH_TOKEN_AUTH",
                AuthParameters={"REFRESH_TOKEN": request.form.get("refresh_token", "")},
            )["AuthenticationResult"]
        except Exception as error:
            raise _RefusedError(400, "invalid_grant") from error
        return {
            "access_token": tokens["AccessToken"],
            "id_token": tokens["IdToken"],
            "expires_in": int(tokens.get("ExpiresIn", 3600)),
            "token_type": "Bearer",
        }

    def _revoke(self, request: Request) -> tuple[int, dict[str, Any]]:
        client_id, _ = self._client(request)
        if request.method != "POST" or self._describe(client_id) is None:
            return 400, {"error": "invalid_request"}
        with contextlib.suppress(Exception):
            self._cognito.revoke_token(Token=request.form.get("token", ""), ClientId=client_id)
        return 200, {}

    def _issue(self, client_id: str, scopes: list[str]) -> dict[str, Any]:
        from joserfc import jwt

        now = int(time.time())
        claims = {
            "sub": client_id,
            "token_use": "access",
            "scope": " ".join(scopes),
            "auth_time": now,
            "iss": self._issuer,
            "exp": now + 3600,
            "iat": now,
            "version": 2,
            "jti": str(uuid.uuid4()),
            "client_id": client_id,
        }
        token = jwt.encode({"alg": "RS256", "kid": "dummy"}, claims, self._key)
        return {"access_token": token, "expires_in": 3600, "token_type": "Bearer"}

    # ------------------------------------------------------------------ sign-in
    def _authorize(self, request: Request) -> Response:
        source = request.form if request.method == "POST" else request.args
        params = {name: source.get(name, "") for name in _AUTHORIZE_FIELDS}
        client = self._describe(params["client_id"])
        if client is None or params["redirect_uri"] not in client.get("CallbackURLs", []):
            # Never redirect to a URL the client does not list (OAuth 2.0, 4.1.2.1).
            return self._page("Sign-in refused", "<p>Unknown client or redirect URL.</p>", 400)
        if request.method not in ("GET", "POST"):
            return self._page("Sign-in refused", "<p>Method not allowed.</p>", 405)
        problem = self._authorize_problem(params, client)
        if problem is not None:
            return self._redirect(params["redirect_uri"], error=problem, state=params["state"])
        if request.method == "GET":
            return self._form(params)
        with self._lock:
            now = time.time()
            self._forms = {k: v for k, v in self._forms.items() if v > now}
            fresh = self._forms.pop(request.form.get("form_token", ""), 0.0) > now
        if not fresh:
            return self._form(params, "The sign-in form expired; please sign in again.")
        username = request.form.get("username", "").strip()
        try:
            tokens = self._cognito.initiate_auth(
                ClientId=params["client_id"],
                AuthFlow="USER_PASSWORD_AUTH",
                AuthParameters={"USERNAME": username, "PASSWORD": request.form.get("password", "")},
            )["AuthenticationResult"]
        except Exception:
            return self._form(params, "Incorrect username or password.", username)
        code = secrets.token_urlsafe(32)
        with self._lock:
            now = time.time()
            self._codes = {k: g for k, g in self._codes.items() if g.expires > now}
            self._codes[code] = _Grant(
                client_id=params["client_id"],
                redirect_uri=params["redirect_uri"],
                challenge=params["code_challenge"],
                tokens=dict(tokens),
                expires=now + CODE_LIFETIME,
            )
        return self._redirect(params["redirect_uri"], code=code, state=params["state"])

    @staticmethod
    def _authorize_problem(params: dict[str, str], client: dict[str, Any]) -> str | None:
        if params["response_type"] != "code":
            return "unsupported_response_type"
        if "code" not in client.get("AllowedOAuthFlows", []):
            return "unauthorized_client"
        allowed = client.get("AllowedOAuthScopes", [])
        if any(scope not in allowed for scope in params["scope"].split()):
            return "invalid_scope"
        # Public clients must prove the code is theirs: PKCE with S256 only.
        if params["code_challenge_method"] != "S256" or len(params["code_challenge"]) != 43:
            return "invalid_request"
        return None

    @staticmethod
    def _redirect(uri: str, **query: str) -> Response:
        separator = "&" if urlsplit(uri).query else "?"
        values = {k: v for k, v in query.items() if v}
        return Response("", 302, {"Location": uri + separator + urlencode(values)})

    def _form(self, params: dict[str, str], error: str = "", username: str = "") -> Response:
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._forms[token] = time.time() + FORM_LIFETIME
        hidden = "".join(
            f'<input type="hidden" name="{name}" value="{html.escape(value, quote=True)}">'
            for name, value in params.items()
        )
        message = f'<p class="error" role="alert">{html.escape(error)}</p>' if error else ""
        body = f"""<form method="post" action="/oauth2/authorize" autocomplete="on">
{hidden}<input type="hidden" name="form_token" value="{token}">
{message}
<label>Username <input name="username" autocomplete="username" required autofocus
 value="{html.escape(username, quote=True)}"></label>
<label>Password <input name="password" type="password" autocomplete="current-password"
 required></label>
<button type="submit">Sign in</button>
</form>"""
        redirect_origin = "{0.scheme}://{0.netloc}".format(urlsplit(params["redirect_uri"]))
        return self._page("Sign in to wacloud", body, 200, form_action=redirect_origin)

    def _logout(self, request: Request) -> Response:
        client = self._describe(request.args.get("client_id", ""))
        if client is None:
            return self._page("Sign-out refused", "<p>Unknown client.</p>", 400)
        logout_uri = request.args.get("logout_uri", "")
        if logout_uri:
            if logout_uri not in client.get("LogoutURLs", []):
                return self._page("Sign-out refused", "<p>Unknown sign-out URL.</p>", 400)
            return Response("", 302, {"Location": logout_uri})
        if request.args.get("redirect_uri"):
            # Cognito's other form: sign out, then sign in again.
            query = {k: v for k, v in request.args.items() if k in _AUTHORIZE_FIELDS}
            return Response("", 302, {"Location": "/oauth2/authorize?" + urlencode(query)})
        return self._page("Signed out", "<p>You are signed out.</p>", 200)

    @staticmethod
    def _page(title: str, body: str, status: int, *, form_action: str = "") -> Response:
        document = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title>
<style>
body {{ font: 16px system-ui, sans-serif; max-width: 22rem; margin: 4rem auto; padding: 0 1rem; }}
label {{ display: block; margin: 0 0 1rem; }} input {{ display: block; width: 100%;
 padding: .5rem; box-sizing: border-box; }} button {{ padding: .5rem 1rem; }}
.error {{ color: #b00020; }}
</style></head>
<body><h1>{html.escape(title)}</h1>
<p><small>wacloud local sign-in (stands in for the Cognito hosted page)</small></p>
{body}
</body></html>"""
        policy = (
            "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; "
            f"base-uri 'none'; form-action 'self' {form_action}".rstrip()
        )
        return Response(
            document,
            status,
            {
                "Content-Security-Policy": policy,
                "X-Content-Type-Options": "nosniff",
                "Referrer-Policy": "no-referrer",
                "Cache-Control": "no-store",
            },
            content_type="text/html; charset=utf-8",
        )


@dataclass
class OperatorAuth:
    """The operator pool of a running local stack: users, logins, the app client."""

    cognito: Any
    pool_id: str
    cli_client_id: str
    app_client_id: str
    token_url: str
    cognito_endpoint: str
    console_client_id: str = ""
    """The web console's client (authorization code + PKCE at the token endpoint)."""
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _tokens: dict[tuple[str, str], tuple[str, float]] = field(default_factory=dict, repr=False)

    def create_user(self, username: str, role: str | None, password: str) -> None:
        """An operator with a permanent password, in the role's group (None: no group)."""
        with contextlib.suppress(self.cognito.exceptions.UsernameExistsException):
            self.cognito.admin_create_user(
                UserPoolId=self.pool_id, Username=username, MessageAction="SUPPRESS"
            )
        self.cognito.admin_set_user_password(
            UserPoolId=self.pool_id, Username=username, Password=password, Permanent=True
        )
        if role is not None:
            self.cognito.admin_add_user_to_group(
                UserPoolId=self.pool_id, Username=username, GroupName=role
            )

    def login(self, username: str, password: str) -> dict[str, Any]:
        result: dict[str, Any] = self.cognito.initiate_auth(
            ClientId=self.cli_client_id,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": username, "PASSWORD": password},
        )["AuthenticationResult"]
        return result

    def user_token(self, role: str | None, username: str | None = None) -> str:
        """An access token of a user in `role` (created on first use; cached ~50 min)."""
        name = username or f"{role or 'nobody'}-user"
        key = (name, role or "")
        with self._lock:
            cached = self._tokens.get(key)
            if cached and cached[1] > time.time():
                return cached[0]
            password = f"Local-{role or 'none'}-pass1"
            self.create_user(name, role, password)
            token = str(self.login(name, password)["AccessToken"])
            self._tokens[key] = (token, time.time() + 3000)
            return token

    def app_client_secret(self) -> str:
        client = self.cognito.describe_user_pool_client(
            UserPoolId=self.pool_id, ClientId=self.app_client_id
        )["UserPoolClient"]
        return str(client["ClientSecret"])

    def machine_token(self, scope: str) -> str:
        """A client-credentials token of the stack's app client for one scope."""
        response = httpx.post(
            self.token_url,
            data={"grant_type": "client_credentials", "scope": scope},
            auth=(self.app_client_id, self.app_client_secret()),
            timeout=10,
        )
        response.raise_for_status()
        return str(response.json()["access_token"])
