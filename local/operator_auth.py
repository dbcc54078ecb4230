"""Cognito for the operator API on this machine: token checks, the token endpoint, users.

Three parts, each standing in for what AWS does around the operator API:

* `JwtAuthorizer` is API Gateway's JWT authorizer: it verifies a bearer token's RS256
  signature against the issuer's JWKS (moto's Cognito publishes one per pool), its
  issuer, expiry and audience (``aud``, or ``client_id`` for access tokens), and hands
  the claims on as strings, arrays as ``[a b]``, the way API Gateway does.
* `TokenEndpoint` is the user pool domain's ``/oauth2/token`` for machine clients
  (client credentials), which moto does not serve. It checks the client's secret,
  flow and scopes against moto's record of the client and signs with the key moto
  signs its own tokens with, so one JWKS verifies both.
* `OperatorAuth` creates operators (a user in the `admin` or `agent` group) and logs
  them in through moto's InitiateAuth: what `make run` and the tests use.

Users log in exactly as in AWS (USER_PASSWORD_AUTH against the pool's client); only
the endpoint differs (the moto server instead of cognito-idp.{region}.amazonaws.com).
"""

from __future__ import annotations

import base64
import contextlib
import gzip
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import httpx
from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.wrappers import Request, Response

ISSUER_PREFIX = "https://cognito-idp."
ROLES = ("admin", "agent")
LOCAL_PASSWORDS = {"admin": "Local-admin-pass1", "agent": "Local-agent-pass1"}
"""Passwords of the operators `make run` creates (local only; printed at start)."""


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


class TokenEndpoint:
    """``POST /oauth2/token`` with ``grant_type=client_credentials``, as Cognito answers."""

    def __init__(self, cognito: Any, pool_id: str, issuer: str, host: str, port: int) -> None:
        self._cognito, self._pool_id, self._issuer = cognito, pool_id, issuer
        self._key = _signing_key()
        self._server: BaseWSGIServer = make_server(host, port, self._wsgi, threaded=True)
        self._thread = threading.Thread(
            target=self._server.serve_forever, daemon=True, name="local-token-endpoint"
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/oauth2/token"

    def start(self) -> TokenEndpoint:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        status, body = self._token(request)
        response = Response(json.dumps(body), status=status, content_type="application/json")
        return response(environ, start_response)

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

    def _token(self, request: Request) -> tuple[int, dict[str, Any]]:
        if request.method != "POST" or request.path != "/oauth2/token":
            return 404, {"error": "not_found"}
        if request.form.get("grant_type") != "client_credentials":
            return 400, {"error": "unsupported_grant_type"}
        client_id, secret = self._client(request)
        try:
            client = self._cognito.describe_user_pool_client(
                UserPoolId=self._pool_id, ClientId=client_id
            )["UserPoolClient"]
        except Exception:
            return 400, {"error": "invalid_client"}
        if not client.get("ClientSecret") or client["ClientSecret"] != secret:
            return 400, {"error": "invalid_client"}
        if "client_credentials" not in client.get("AllowedOAuthFlows", []):
            return 400, {"error": "unauthorized_client"}
        allowed = client.get("AllowedOAuthScopes", [])
        asked = request.form.get("scope", "").split()
        scopes = asked or allowed
        if not scopes or any(scope not in allowed for scope in scopes):
            return 400, {"error": "invalid_scope"}
        return 200, self._issue(client_id, scopes)

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


@dataclass
class OperatorAuth:
    """The operator pool of a running local stack: users, logins, the app client."""

    cognito: Any
    pool_id: str
    cli_client_id: str
    app_client_id: str
    token_url: str
    cognito_endpoint: str
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
