"""Meta credentials from Secrets Manager, read through Powertools Parameters.

One secret holds the app-level values (app secret, verify token, default access
token) and optional per-tenant overrides keyed by phone number id, so several
numbers and WABAs can share a stack. A tenant with its own ``app_secret`` is a
separate Meta app: webhooks for its number and ``waba_id`` are accepted only when
signed with that secret (``wacloud.inbound.tenancy``). Powertools caches the value for
`POWERTOOLS_PARAMETERS_MAX_AGE` seconds, so a rotated token is picked up without a
redeploy.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from wacloud.errors import ConfigurationError
from wacloud.infra.config import settings


class CredentialsError(ConfigurationError):
    """The secret is missing a value the call needs (configuration, not transient)."""


@dataclass(frozen=True, slots=True)
class TenantCredentials:
    access_token: str | None = None
    app_secret: str | None = None
    waba_id: str | None = None


@dataclass(frozen=True, slots=True)
class MetaCredentials:
    app_secret: str
    verify_token: str
    access_token: str
    tenants: dict[str, TenantCredentials] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> MetaCredentials:
        tenants = {
            str(pnid): TenantCredentials(
                access_token=values.get("access_token") or None,
                app_secret=values.get("app_secret") or None,
                waba_id=values.get("waba_id") or None,
            )
            for pnid, values in (data.get("tenants") or {}).items()
        }
        return cls(
            app_secret=str(data.get("app_secret") or ""),
            verify_token=str(data.get("verify_token") or ""),
            access_token=str(data.get("access_token") or ""),
            tenants=tenants,
        )

    def token_for(self, phone_number_id: str) -> str:
        tenant = self.tenants.get(phone_number_id)
        token = (tenant.access_token if tenant else None) or self.access_token
        if not token:
            raise CredentialsError(f"no access token configured for phone number {phone_number_id}")
        return token

    def app_secrets(self) -> list[bytes]:
        """Every app secret a webhook may be signed with (one per Meta app in use).

        Which items each may sign: ``WebhookApps.from_credentials(self)``."""
        secrets = [self.app_secret] + [t.app_secret for t in self.tenants.values() if t.app_secret]
        return [s.encode() for s in dict.fromkeys(secrets) if s]

    def waba_ids(self) -> dict[str, str]:
        """Phone number id -> WABA id, for the tenants whose WABA is configured."""
        return {pnid: t.waba_id for pnid, t in self.tenants.items() if t.waba_id}


def load_credentials() -> MetaCredentials:
    from aws_lambda_powertools.utilities import parameters

    raw = parameters.get_secret(settings().meta_secret_id, transform="json")
    if not isinstance(raw, dict):
        raise CredentialsError("the Meta secret must be a JSON object")
    return MetaCredentials.from_json(raw)
