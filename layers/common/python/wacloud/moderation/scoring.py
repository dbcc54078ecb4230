"""The abuse score, as pure functions: what each message adds and how the score decays.

Points (a tenant's threshold defaults to 10, store/moderation.py):
* each message beyond the minute's rate limit: 1
* the same text again within a burst: 1 (compared by a keyed digest, never stored as text)
* a message with a link: 1
* the assistant judged the message spam (`report_spam`): 6 (two reports within minutes block)
The score halves every `half_life_seconds`, so a customer who slows down is forgotten.
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass

OVER_RATE_POINTS = 1.0
REPEAT_POINTS = 1.0
LINK_POINTS = 1.0
SPAM_POINTS = 6.0

# A URL with a scheme, a www. host, or a bare domain with a common top-level domain.
_LINK = re.compile(
    r"(?i)\b(?:https?://|www\.)\S+|\b[a-z0-9-]+(?:\.[a-z0-9-]+)*\."
    r"(?:com|net|org|io|co|xyz|info|biz|ru|top|link|click|app|ly|me)\b(?:/\S*)?"
)


def decayed(score: float, since: float | None, at: float, half_life: float) -> float:
    """`score` as of `since`, decayed to `at`."""
    if since is None or score <= 0:
        return max(score, 0.0)
    elapsed = max(0.0, at - since)
    return score * math.pow(0.5, elapsed / half_life) if half_life > 0 else 0.0


def has_link(text: str | None) -> bool:
    return bool(text and _LINK.search(text))


def digest(text: str, key: str) -> str:
    """A short keyed digest of a text: equal texts compare equal, the text is not kept."""
    normal = " ".join(text.lower().split())
    return hashlib.blake2b(normal.encode(), key=key.encode()[:64], digest_size=6).hexdigest()


@dataclass(frozen=True, slots=True)
class Points:
    over_rate: bool
    repeated: bool
    link: bool

    @property
    def total(self) -> float:
        return (
            OVER_RATE_POINTS * self.over_rate
            + REPEAT_POINTS * self.repeated
            + LINK_POINTS * self.link
        )
