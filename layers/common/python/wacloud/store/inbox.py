"""The inbox's other items: agents' private notes, canned responses, inbox settings.

* notes: pk ``{pnid}#CONV#{wa_id}`` (the conversation's partition), sk
  ``NOTE#{iso time}#{id}`` -- ``text``, ``author``, ``at``; never sent to the
  customer; they expire with the conversation (MESSAGE_RETENTION_DAYS) and erasure
  takes them with it (wacloud.erasure deletes the conversation's partition).
* canned responses: pk ``TENANT#{pnid}``, sk ``CANNED#{name}`` -- ``text`` with
  ``{param}`` placeholders, ``updated_at``, ``updated_by``.
* inbox settings: pk ``TENANT#{pnid}``, sk ``INBOX`` -- ``auto_assign``, ``survey``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from wacloud.infra.clock import iso
from wacloud.infra.dynamo import delete, get, put, query
from wacloud.infra.retention import message_expiry
from wacloud.store.conversations import conversation_pk
from wacloud.store.tenants import tenant_pk

NOTE_PREFIX = "NOTE#"
CANNED_PREFIX = "CANNED#"
SETTINGS_SK = "INBOX"


# ------------------------------------------------------------------ notes
def add_note(
    phone_number_id: str, wa_id: str, *, text: str, author: str, at: float
) -> dict[str, Any]:
    note_id = uuid.uuid4().hex[:12]
    item = {
        "pk": conversation_pk(phone_number_id, wa_id),
        "sk": f"{NOTE_PREFIX}{iso(at)}#{note_id}",
        "note_id": note_id,
        "text": text,
        "author": author,
        "at": at,
        "expires_at": message_expiry(at),
    }
    put(item)
    return _note(item)


def notes(phone_number_id: str, wa_id: str) -> list[dict[str, Any]]:
    """The conversation's notes, newest first."""
    items = query(conversation_pk(phone_number_id, wa_id), sk_prefix=NOTE_PREFIX, forward=False)
    return [_note(i) for i in items]


def _note(item: dict[str, Any]) -> dict[str, Any]:
    return {
        "note_id": item["note_id"],
        "text": item["text"],
        "author": item["author"],
        "at": float(item["at"]),
    }


# ------------------------------------------------------------------ canned responses
def canned(phone_number_id: str, name: str) -> dict[str, Any] | None:
    item = get(tenant_pk(phone_number_id), f"{CANNED_PREFIX}{name}")
    return _canned(item) if item else None


def all_canned(phone_number_id: str) -> list[dict[str, Any]]:
    return [_canned(i) for i in query(tenant_pk(phone_number_id), sk_prefix=CANNED_PREFIX)]


def save_canned(
    phone_number_id: str, name: str, *, text: str, by: str, at: float
) -> dict[str, Any]:
    item = {
        "pk": tenant_pk(phone_number_id),
        "sk": f"{CANNED_PREFIX}{name}",
        "name": name,
        "text": text,
        "updated_at": at,
        "updated_by": by,
    }
    put(item)
    return _canned(item)


def delete_canned(phone_number_id: str, name: str) -> bool:
    return delete(tenant_pk(phone_number_id), f"{CANNED_PREFIX}{name}")


def _canned(item: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": str(item["name"]),
        "text": str(item["text"]),
        "updated_at": float(item.get("updated_at") or 0),
        "updated_by": item.get("updated_by"),
    }


# ------------------------------------------------------------------ settings
@dataclass(frozen=True, slots=True)
class InboxSettings:
    #: Assign a conversation entering handoff to an available agent (round-robin).
    auto_assign: bool = False
    #: Send the satisfaction survey on resolve (inside the 24-hour window).
    survey: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"auto_assign": self.auto_assign, "survey": self.survey}


def load_settings(phone_number_id: str) -> InboxSettings:
    item = get(tenant_pk(phone_number_id), SETTINGS_SK) or {}
    return InboxSettings(
        auto_assign=bool(item.get("auto_assign", False)), survey=bool(item.get("survey", False))
    )


def save_settings(phone_number_id: str, settings: InboxSettings, *, at: float) -> None:
    put(
        {
            "pk": tenant_pk(phone_number_id),
            "sk": SETTINGS_SK,
            "phone_number_id": phone_number_id,
            "updated_at": at,
            **settings.as_dict(),
        }
    )
