"""Who is calling, and may they: the JWT claims API Gateway checked, turned into roles.

API Gateway's JWT authorizer (template.yaml, ``OperatorApi``) has already verified the
token's signature, issuer, audience and expiry before the function runs; a request
without a valid token never reaches it. What is left is the role, which the gateway
cannot check for people: Cognito puts a user's groups in ``cognito:groups`` and no
scope for them, while a machine client (client credentials) gets its custom scopes
(``wacloud/admin``, ``wacloud/agent``) and no groups. Both are read here.

API Gateway hands claims over as strings, an array as ``[a b]``; the local gateway
does the same (local/gateway.py), so this parsing is exercised by every local test.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Depends
from aws_lambda_powertools.event_handler.request import Request

from wacloud.api.errors import ApiError

SCOPE_PREFIX = "wacloud/"


class Role(enum.StrEnum):
    ADMIN = "admin"
    AGENT = "agent"


@dataclass(frozen=True)
class Principal:
    """The caller: a person (Cognito user) or an app (machine client)."""

    subject: str
    """``sub`` of a user; the client id of a machine client."""
    name: str
    """The user name (an agent's handle in assignments and notes) or the client id."""
    roles: frozenset[Role]
    machine: bool = False

    @property
    def is_admin(self) -> bool:
        return Role.ADMIN in self.roles


def _listed(value: Any) -> list[str]:
    """A claim that may be a list, a JSON list, or API Gateway's ``[a b]`` string."""
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v) for v in value]
    text = str(value).strip()
    if text.startswith("[") and text.endswith("]"):
        try:
            parsed = json.loads(text)
        except ValueError:
            return [part for part in text[1:-1].replace(",", " ").split() if part]
        if isinstance(parsed, list):
            return [str(v) for v in parsed]
    return [part for part in text.replace(",", " ").split() if part]


def roles_from_claims(claims: dict[str, Any]) -> frozenset[Role]:
    """Groups of a user and ``wacloud/*`` scopes of a machine client; admin implies agent."""
    names = set(_listed(claims.get("cognito:groups")))
    names |= {
        scope[len(SCOPE_PREFIX) :]
        for scope in _listed(claims.get("scope"))
        if scope.startswith(SCOPE_PREFIX)
    }
    roles = {role for role in Role if role.value in names}
    if Role.ADMIN in roles:
        roles.add(Role.AGENT)
    return frozenset(roles)


def principal_from_event(event: dict[str, Any]) -> Principal:
    authorizer = (event.get("requestContext") or {}).get("authorizer") or {}
    claims = (authorizer.get("jwt") or {}).get("claims") or {}
    if not isinstance(claims, dict) or not claims.get("sub"):
        # The gateway lets nothing unauthenticated through; reaching here means the
        # route was deployed without the authorizer, so refuse rather than trust.
        raise ApiError(401, "unauthenticated", "a valid bearer token is required")
    machine = claims.get("token_use") == "access" and not claims.get("username")
    name = str(
        claims.get("username")
        or claims.get("cognito:username")
        or claims.get("client_id")
        or claims["sub"]
    )
    return Principal(
        subject=str(claims["sub"]), name=name, roles=roles_from_claims(claims), machine=machine
    )


def current_principal(request: Request) -> Principal:
    return principal_from_event(request.resolved_event.raw_event)


def require_agent(request: Request) -> Principal:
    """An agent or an admin: the inbox, contacts read, replies."""
    caller = current_principal(request)
    if Role.AGENT not in caller.roles:
        raise ApiError(403, "forbidden", "this needs the agent or admin role")
    return caller


def require_admin(request: Request) -> Principal:
    """An admin: tenants, campaigns, workflows, operations, sending on any number."""
    caller = current_principal(request)
    if Role.ADMIN not in caller.roles:
        raise ApiError(403, "forbidden", "this needs the admin role")
    return caller


Agent = Annotated[Principal, Depends(require_agent)]
Admin = Annotated[Principal, Depends(require_admin)]
