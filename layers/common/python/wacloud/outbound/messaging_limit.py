"""The messaging limit Meta announces in webhooks, applied to our numbers' pacing.

Meta moves a business portfolio between messaging limits (250, 2,000, 10,000, 100,000
unique recipients of business-initiated messages per moving 24 h, or unlimited,
docs/meta/throughput.md) and says so in `business_capability_update` (and, with the same key, in
`phone_number_quality_update`, docs/meta/webhooks.md#other-fields). The sender and the campaign
fan-out pace to the limit stored in each number's tenant config, so the webhook updates it at once
instead of leaving an operator to notice: too low a stored limit slows campaigns,
too high a one gets messages refused by Meta (131048/131056 families).
"""

from __future__ import annotations

import re
from typing import Any, Final

#: Fields whose value may carry the portfolio's limit.
LIMIT_FIELDS: Final = frozenset({"business_capability_update", "phone_number_quality_update"})
QUALITY_FIELD: Final = "phone_number_quality_update"
# Alert metrics (docs/operations.md). Meta's current reference lists only ONBOARDING and
# THROUGHPUT_UPGRADE for `event`; its older one, still quoted by providers, also FLAGGED
# (quality low: the limit will drop unless it improves), UNFLAGGED, DOWNGRADE and UPGRADE
# (docs/meta/webhooks.md#other-fields). A lower limit is also read from the values.
NUMBER_FLAGGED: Final = "PhoneNumberFlagged"
LIMIT_DOWNGRADED: Final = "MessagingLimitDowngraded"
# v24+ key first; `max_daily_conversation_per_phone` is the <=v23 one (removed Feb 2026).
_KEYS: Final = ("max_daily_conversations_per_business", "max_daily_conversation_per_phone")
_TIER: Final = re.compile(r"^TIER_(\d+)(K?)$")
UNLIMITED: Final = -1


def announced_limit(value: dict[str, Any]) -> int | None:
    """The limit in a webhook value: recipients per 24 h, ``UNLIMITED``, or None when
    the value announces none (or one we cannot read, which must not change pacing)."""
    for key in _KEYS:
        if key in value and value[key] is not None:
            return _parse(value[key])
    return None


def is_lower(new: int | None, old: int | None) -> bool:
    """True when limit `new` is below `old`. `new` None or ``UNLIMITED``: no limit;
    `old` None: not known (nothing to compare with), ``UNLIMITED``: no limit."""
    if new is None or new == UNLIMITED or old is None:
        return False
    return old == UNLIMITED or new < old


def quality_alerts(field: str, value: dict[str, Any]) -> set[str]:
    """The alert metrics a `phone_number_quality_update` says on its own: the number
    flagged, or its limit downgraded (the event, or `old_limit` above the new one)."""
    if field != QUALITY_FIELD:
        return set()
    event = str(value.get("event") or "").upper()
    alerts = {NUMBER_FLAGGED} if event == "FLAGGED" else set()
    old = _parse(value["old_limit"]) if value.get("old_limit") else None
    new = announced_limit(value)
    if new is None and value.get("current_limit"):
        new = _parse(value["current_limit"])
    if event == "DOWNGRADE" or (old is not None and is_lower(new, old)):
        alerts.add(LIMIT_DOWNGRADED)
    return alerts


def _parse(raw: object) -> int | None:
    text = str(raw).strip().upper()
    if text in ("-1", "UNLIMITED", "TIER_UNLIMITED"):
        return UNLIMITED
    if text.isdigit() and int(text) > 0:
        return int(text)
    tier = _TIER.match(text)  # the older spelling, e.g. TIER_250, TIER_2K, TIER_100K
    if tier:
        return int(tier.group(1)) * (1000 if tier.group(2) else 1)
    return None
