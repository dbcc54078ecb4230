"""How long personal data is kept: the expiry (DynamoDB TTL `expires_at`) of each record.

Two settings, because the two kinds of data have different lives:

* ``MESSAGE_RETENTION_DAYS`` (default 400, at least 1): message content and what
  describes it -- inbound and outbound message records, wamid lookups, status events
  and other webhook records. Counted from when the record is written (a scheduled
  message: from its send time). The media bucket's ``media/`` prefix expires after
  the same number of days (template.yaml), so a cached image lives as long as the
  message that refers to it. An outbound message's idempotency key is honoured for
  this long.
* ``CONTACT_RETENTION_DAYS`` (default 0 = kept until erased): the contact record
  (profile name, window, consent). Counted from the customer's last activity (a
  message or a consent change). A contact who opted out of marketing never expires
  while opted out: forgetting them would forget the opt-out, and the next campaign
  would message them. Erasing a customer (wacloud.erasure) removes it on request.

DynamoDB deletes expired items within days, not at once; readers that must not see
an expired item filter on `expires_at` (scheduling.is_live).
"""

from __future__ import annotations

from wacloud.infra.config import settings

DAY = 86_400


def message_retention_days() -> int:
    """MESSAGE_RETENTION_DAYS (wacloud.infra.config.Settings)."""
    return settings().message_retention_days


def contact_retention_days() -> int:
    """0: contacts are kept until erased."""
    return settings().contact_retention_days


def message_expiry(start: float) -> int:
    """The TTL of a message-content record whose life starts at `start` (unix s)."""
    return int(start + message_retention_days() * DAY)


def contact_expiry(last_activity: float) -> int | None:
    """The TTL of a contact last active at `last_activity`; None: never expires."""
    days = contact_retention_days()
    return int(last_activity + days * DAY) if days else None
