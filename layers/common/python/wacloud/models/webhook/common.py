"""Building blocks shared by every webhook model: the tolerant base, errors, contacts.

Meta changes webhook payloads without versioning them (new keys, new enum values,
new message types show up in production first — see
docs/meta/webhooks.md#envelope/docs/meta/webhooks.md#inbound-messages notes on ``user_id``,
``revoke``, ``edit``). A webhook we reject is a webhook Meta retries for 7 days and then loses, so
every model here accepts unknown keys (``extra="allow"``) and keeps enum-like values as raw strings,
with ``known_*`` helpers that return ``None`` for values we have not seen.
"""

from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class TolerantModel(BaseModel):
    """Base of the tolerant family (every webhook model): extra keys kept, immutable,
    alias-aware.

    ``coerce_numbers_to_str`` because ids are strings in Meta's payloads but a
    hand-written test sender (or a future Meta change) may send numbers; we would
    rather normalise than drop the update.

    ``defer_build``: a model's validator is built on its first use, not at import, so a
    function that imports the webhook models but never parses a payload in a call does
    not pay for them at cold start.
    """

    model_config = ConfigDict(
        extra="allow",
        frozen=True,
        populate_by_name=True,
        coerce_numbers_to_str=True,
        defer_build=True,
    )


def known[E: StrEnum](enum: type[E], raw: str | None) -> E | None:
    """Map a raw string onto ``enum``, or ``None`` when Meta sent something new."""
    if raw is None:
        return None
    try:
        return enum(raw)
    except ValueError:
        return None


class ErrorData(TolerantModel):
    """``error_data`` of a webhook error; ``details`` is the useful human text."""

    details: str | None = None


class WaError(TolerantModel):
    """The error object Meta puts in ``statuses[].errors``, ``messages[].errors``
    and ``value.errors`` (docs/meta/webhooks.md#statuses, docs/meta/webhooks.md#value-errors; codes
    in docs/meta/errors.md#codes).

    Everything is optional: Meta's own fixtures omit ``title`` on call errors.
    Handle errors by ``code`` (and ``details``), never by ``title`` (docs/meta/errors.md#envelope).
    """

    code: int | None = None
    title: str | None = None
    message: str | None = None
    error_data: ErrorData | None = None
    href: str | None = None

    @property
    def details(self) -> str | None:
        """Shortcut to ``error_data.details``."""
        return self.error_data.details if self.error_data else None


class Metadata(TolerantModel):
    """``value.metadata``: which business number the change is about.

    Absent on WABA-level fields (template status, account updates, ...), where the
    tenant is the WABA (``entry.id``).
    """

    display_phone_number: str | None = None
    phone_number_id: str | None = None


class Profile(TolerantModel):
    """``contacts[].profile``; the user's self-chosen WhatsApp name."""

    name: str | None = None


class WebhookContact(TolerantModel):
    """``value.contacts[]``: the user behind an inbound item.

    ``wa_id`` is the phone-based id; ``user_id`` / ``parent_user_id`` are the newer
    business-scoped user ids (docs/meta/webhooks.md#envelope, likely post-v23). Any of them may be
    missing, and the whole ``contacts`` array is absent on system messages, so
    nothing downstream may *require* a contact.
    """

    profile: Profile | None = None
    wa_id: str | None = None
    user_id: str | None = None
    parent_user_id: str | None = None

    @property
    def name(self) -> str | None:
        """Profile name, if Meta sent one."""
        return self.profile.name if self.profile else None


def pick_contact(
    contacts: list[WebhookContact] | None, ids: set[str], *, single_fallback: bool
) -> WebhookContact | None:
    """Choose the contact that belongs to an item.

    Matches on ``wa_id`` or ``user_id``. With ``single_fallback`` a lone contact is
    returned even without a match, because Meta sends the sender's contact next to a
    message and a missing or renamed ``from`` (e.g. ``user_changed_user_id`` system
    messages) should not cost us the profile name. The same rule lives in
    ``wacloud.inbound.split._relevant_contacts``; keep them in step.
    """
    if not contacts:
        return None
    for contact in contacts:
        if (contact.wa_id is not None and contact.wa_id in ids) or (
            contact.user_id is not None and contact.user_id in ids
        ):
            return contact
    if single_fallback and len(contacts) == 1:
        return contacts[0]
    return None
