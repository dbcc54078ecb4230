"""Which Meta app may speak for which business number and WABA.

A stack can serve numbers of several Meta apps (the secret's ``tenants`` may give a
number its own ``app_secret``). A valid signature proves only which app sent a
webhook, so every item must also belong to that app, or one tenant could forge
another's messages, statuses, opt-outs and template events. The rule:

- An item with ``value.metadata.phone_number_id`` belongs to the app of that number:
  its tenant's ``app_secret``, else the default ``app_secret``. A number no tenant
  names is the default app's. If ``entry[].id`` names a WABA some tenant configures,
  the signing app must also be one of that WABA's apps.
- An item without a number (WABA-level fields: template status, account and
  capability updates, ...) belongs to the apps of the tenants whose ``waba_id`` is
  ``entry[].id``. A WABA no tenant names is the default app's.

So anything unknown is accepted only under the default app secret, and a tenant with
its own app must configure its ``waba_id`` for its WABA-level events to be accepted.
Several tenants sharing one secret are one app. With a single app secret configured
every item belongs to it and the check is skipped.

This runs on every POST before Meta gets its answer: a single item costs a couple of
dict lookups.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from wacloud.infra.privacy import mask_phone

if TYPE_CHECKING:
    from wacloud.infra.credentials import MetaCredentials

#: Field names are logged only when they look like Meta's (they come from the body).
_FIELD_NAME = re.compile(r"[a-z_]{1,64}")


@dataclass(frozen=True, slots=True)
class Refusal:
    """An item signed by an app it does not belong to (ids masked, safe to log)."""

    field: str
    bound_by: str  # "phone_number_id" or "waba_id"
    phone_number_id: str
    waba_id: str

    def as_log(self) -> dict[str, str]:
        return {
            "field": self.field,
            "bound_by": self.bound_by,
            "phone_number_id": self.phone_number_id,
            "waba_id": self.waba_id,
        }


@dataclass(frozen=True, slots=True)
class WebhookApps:
    """The configured app secrets and which numbers and WABAs each may speak for."""

    default: bytes
    #: Every distinct non-empty secret, the default first (what ``check_signature`` tries).
    secrets: tuple[bytes, ...]
    #: Phone number id -> the app secret of its tenant (tenants with their own secret only).
    number_secret: dict[str, bytes] = field(default_factory=dict)
    #: WABA id -> the secrets of the tenants configured with that WABA.
    waba_secrets: dict[str, frozenset[bytes]] = field(default_factory=dict)

    @classmethod
    def from_credentials(cls, credentials: MetaCredentials) -> WebhookApps:
        default = credentials.app_secret.encode()
        number_secret: dict[str, bytes] = {}
        waba_secrets: dict[str, set[bytes]] = {}
        for pnid, tenant in credentials.tenants.items():
            effective = tenant.app_secret.encode() if tenant.app_secret else default
            number_secret[pnid] = effective
            if tenant.waba_id:
                waba_secrets.setdefault(tenant.waba_id, set()).add(effective)
        secrets = tuple(s for s in dict.fromkeys([default, *number_secret.values()]) if s)
        return cls(
            default=default,
            secrets=secrets,
            number_secret=number_secret,
            waba_secrets={w: frozenset(s) for w, s in waba_secrets.items()},
        )

    @classmethod
    def single(cls, secret: bytes) -> WebhookApps:
        """One app for every number and WABA (a stack with no per-tenant secret)."""
        return cls(default=secret, secrets=(secret,) if secret else ())

    @property
    def one_app(self) -> bool:
        return len(self.secrets) <= 1

    def refusal(self, secret: bytes, entry: object, change: object) -> Refusal | None:
        """Why the item in ``entry``/``change`` does not belong to ``secret``'s app, or
        None when it does. ``entry`` and ``change`` are one single-item piece's first
        entry and change (either may be malformed: then the WABA rule applies)."""
        value = change.get("value") if isinstance(change, dict) else None
        metadata = value.get("metadata") if isinstance(value, dict) else None
        raw_pnid = metadata.get("phone_number_id") if isinstance(metadata, dict) else None
        raw_waba = entry.get("id") if isinstance(entry, dict) else None
        waba = _as_id(raw_waba)
        if raw_pnid is not None and raw_pnid != "":  # "" is absent to the models too
            pnid = _as_id(raw_pnid)
            if pnid is None or self.number_secret.get(pnid, self.default) != secret:
                return self._refusal("phone_number_id", change, raw_pnid, raw_waba)
            if waba is not None:
                owners = self.waba_secrets.get(waba)
                if owners is not None and secret not in owners:
                    return self._refusal("waba_id", change, raw_pnid, raw_waba)
            return None
        owners = self.waba_secrets.get(waba) if waba is not None else None
        if (secret in owners) if owners is not None else (secret == self.default):
            return None
        return self._refusal("waba_id", change, raw_pnid, raw_waba)

    @staticmethod
    def _refusal(bound_by: str, change: object, pnid: object, waba: object) -> Refusal:
        name = change.get("field") if isinstance(change, dict) else None
        return Refusal(
            field=name if isinstance(name, str) and _FIELD_NAME.fullmatch(name) else "other",
            bound_by=bound_by,
            phone_number_id=mask_phone(_as_id(pnid)),
            waba_id=mask_phone(_as_id(waba)),
        )


def _as_id(raw: Any) -> str | None:
    """An id as the models read it (numbers coerced to str); None if it cannot be one.

    A float or anything else is refused rather than guessed: pydantic would turn
    1e15 into a string no tenant is configured with, and the binding must read the
    same id the processor will.
    """
    if isinstance(raw, str):
        return raw
    if isinstance(raw, int) and not isinstance(raw, bool):
        return str(raw)
    return None


def piece_refusal(apps: WebhookApps, secret: bytes, piece: object) -> Refusal | None:
    """``WebhookApps.refusal`` for a single-item envelope from ``split_webhook``."""
    entries = piece.get("entry") if isinstance(piece, dict) else None
    entry = entries[0] if isinstance(entries, list) and entries else None
    changes = entry.get("changes") if isinstance(entry, dict) else None
    change = changes[0] if isinstance(changes, list) and changes else None
    return apps.refusal(secret, entry, change)
