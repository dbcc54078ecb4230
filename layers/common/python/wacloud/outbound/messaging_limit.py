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
