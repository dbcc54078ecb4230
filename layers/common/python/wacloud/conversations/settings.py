"""What a tenant may set about handoff: keywords, business hours, the timeout.

The values come from the assistant's per-tenant settings (`TENANT#{pnid}`, sk
`ASSISTANT`, wacloud.store.assistant); each unset value has a default here, so a
tenant that set nothing gets multilingual keywords, Monday to Friday 9:00 to 18:00
UTC and a 24-hour timeout.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time
from functools import cache
from typing import TYPE_CHECKING

from wacloud.conversations.keywords import DEFAULT_KEYWORDS

if TYPE_CHECKING:
    from wacloud.store.assistant import AssistantSettings

DEFAULT_TIMEOUT_SECONDS = 24 * 3600
DEFAULT_WAIT_MINUTES = 15
DEFAULT_TIME_ZONE = "UTC"
DEFAULT_LANGUAGE = "en"
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
#: Opening hours per weekday (Monday 0), as the menu has always announced them.
DEFAULT_HOURS: Mapping[int, tuple[tuple[time, time], ...]] = {
    day: ((time(9, 0), time(18, 0)),) for day in range(5)
}


@dataclass(frozen=True, slots=True)
class HandoffSettings:
    #: Words and phrases that hand the conversation to a person (matched on folded
    #: text, whole words: wacloud.conversations.keywords).
    keywords: tuple[str, ...] = DEFAULT_KEYWORDS
    #: Seconds a person has the conversation before the bot answers again.
    timeout_seconds: int = DEFAULT_TIMEOUT_SECONDS
    #: IANA time zone the business hours are in.
    time_zone: str = DEFAULT_TIME_ZONE
    #: Opening intervals per weekday (0 Monday ... 6 Sunday), local time.
    hours: Mapping[int, tuple[tuple[time, time], ...]] = field(
        default_factory=lambda: dict(DEFAULT_HOURS)
    )
    #: The wait announced inside business hours.
    wait_minutes: int = DEFAULT_WAIT_MINUTES
    #: The notice's language when the customer's cannot be told.
    default_language: str = DEFAULT_LANGUAGE


def parse_hours(spec: Mapping[str, str | list[str]]) -> dict[int, tuple[tuple[time, time], ...]]:
    """``{"mon": "09:00-18:00", "sat": ["10:00-13:00", "16:00-19:00"]}`` -> intervals
    per weekday. A day left out is closed. ValueError on a malformed interval."""
    out: dict[int, tuple[tuple[time, time], ...]] = {}
    for name, value in spec.items():
        day = WEEKDAYS.index(name.strip().lower()[:3])
        intervals = [value] if isinstance(value, str) else list(value)
        parsed = []
        for interval in intervals:
            start, _, end = interval.partition("-")
            opens, closes = time.fromisoformat(start.strip()), time.fromisoformat(end.strip())
            if closes <= opens:
                raise ValueError(f"closing time before opening time: {interval!r}")
            parsed.append((opens, closes))
        out[day] = tuple(sorted(parsed))
    return out


@cache
def _defaults() -> HandoffSettings:
    return HandoffSettings()


def load_handoff_settings(phone_number_id: str) -> HandoffSettings:
    """The tenant's handoff settings, from the assistant's settings item (cached there)."""
    from wacloud.store.assistant import load_settings

    return from_assistant(load_settings(phone_number_id))


def from_assistant(assistant: AssistantSettings) -> HandoffSettings:
    """The handoff part of the assistant's settings; an unset keyword list keeps ours."""
    hours = {
        WEEKDAYS.index(day[:3]): tuple(
            (time.fromisoformat(opens), time.fromisoformat(closes)) for opens, closes in spans
        )
        for day, spans in assistant.hours.items()
    }
    return HandoffSettings(
        keywords=assistant.handoff_keywords or DEFAULT_KEYWORDS,
        timeout_seconds=assistant.handoff_timeout_seconds,
        time_zone=assistant.time_zone,
        hours=hours,
    )
