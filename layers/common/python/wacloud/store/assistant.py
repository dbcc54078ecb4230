"""The assistant's per-tenant settings and its token usage (docs/assistant.md).

Settings: one item per business number, `TENANT#{pnid}` sk `ASSISTANT`, written by an
operator (or `save_settings`), over the organisation's defaults, `ORG` sk `ASSISTANT`
(business hours, time zone, tone... set once for every number). A number's item holds
only what it overrides when written field by field (`save_fields`); a field neither
sets takes the built-in default, and the assistant is off until turned on. Read at most once a
minute per warm container, like `store/tenants.py`: a changed tone or threshold
takes effect within a minute, which no conversation notices.

Usage: `{pnid}#AIUSE`, sk `D#{yyyy-mm-dd}` (per day, UTC) and `M#{yyyy-mm}` (per
month), atomic ADDs of input and output tokens. The month item is what the monthly
budget is checked against: one GetItem, never a sum over days. Day items expire with
the message retention (MESSAGE_RETENTION_DAYS); month items are kept.

The business-hours helpers live here beside the record because two features read
them (the assistant's prompt, the handoff notice's expected wait) and the record is
their one meeting point.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from wacloud.infra.clock import now
from wacloud.infra.dynamo import Expr, batch_get, get, put, update
from wacloud.infra.retention import message_expiry
from wacloud.store.per_number_cache import PerNumberCache

SETTINGS_SK = "ASSISTANT"
ORG_PK = "ORG"
#: The item keys that are not settings.
_NOT_SETTINGS = frozenset({"pk", "sk", "updated_at"})
CACHE_SECONDS = 60.0
DEFAULT_CONFIDENCE_THRESHOLD = 0.7
# A person has a day to pick the conversation up; after it the bot answers again.
DEFAULT_HANDOFF_TIMEOUT_SECONDS = 24 * 3600
# About 1,000 conversations of ~2,000 tokens a month (docs/assistant.md, "Costs").
DEFAULT_MONTHLY_TOKEN_BUDGET = 2_000_000
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DEFAULT_HOURS: dict[str, tuple[tuple[str, str], ...]] = {
    day: (("09:00", "18:00"),) for day in DAYS[:5]
}
#: The short answer a customer gets when the model cannot answer (an error, the
#: budget), by language; `en` is the last resort.
DEFAULT_FALLBACK: dict[str, str] = {
    "en": "Sorry, I can't answer right now. A member of our team will reply here shortly.",
    "es": "Disculpa, ahora no puedo responder. Una persona de nuestro equipo te responderá "
    "aquí en breve.",
    "pt": "Desculpe, não consigo responder agora. Uma pessoa da nossa equipe vai responder "
    "aqui em breve.",
}


@dataclass(frozen=True, slots=True)
class AssistantSettings:
    """One tenant's assistant, as the operator set it (defaults for what is unset)."""

    enabled: bool = False
    #: The chat model; None: the client's default (wacloud.llm.models).
    model: str | None = None
    business_name: str = ""
    #: How the assistant speaks, in the operator's words ("warm and brief").
    tone: str = "friendly, concise and professional"
    #: Opening hours by weekday (mon..sun), local times "HH:MM"-"HH:MM"; a day absent
    #: is closed.
    hours: Mapping[str, tuple[tuple[str, str], ...]] = field(
        default_factory=lambda: dict(DEFAULT_HOURS)
    )
    time_zone: str = "UTC"
    may_promise: tuple[str, ...] = ()
    must_not_promise: tuple[str, ...] = ()
    confidence_threshold: float = DEFAULT_CONFIDENCE_THRESHOLD
    #: None: the default multilingual list (wacloud.conversations.DEFAULT_KEYWORDS).
    handoff_keywords: tuple[str, ...] | None = None
    handoff_timeout_seconds: int = DEFAULT_HANDOFF_TIMEOUT_SECONDS
    #: Input + output tokens a calendar month (UTC); 0: no budget (unlimited).
    monthly_token_budget: int = DEFAULT_MONTHLY_TOKEN_BUDGET
    describe_images: bool = False
    #: Language code -> the fallback answer (merged over DEFAULT_FALLBACK).
    fallback: Mapping[str, str] = field(default_factory=dict)

    def fallback_text(self, language: str | None) -> str:
        """The fallback answer in `language` (its primary subtag), else in English."""
        texts = {**DEFAULT_FALLBACK, **self.fallback}
        code = (language or "").split("-")[0].split("_")[0].lower()
        return texts.get(code) or texts.get("en") or DEFAULT_FALLBACK["en"]

    # ------------------------------------------------------------ business hours
    def zone(self) -> ZoneInfo:
        """The tenant's time zone (UTC when the name is unknown: never fail a message
        over a typo in the settings)."""
        try:
            return ZoneInfo(self.time_zone)
        except (ZoneInfoNotFoundError, ValueError):
            return ZoneInfo("UTC")

    def local_time(self, at: float) -> datetime:
        return datetime.fromtimestamp(at, tz=UTC).astimezone(self.zone())

    def hours_text(self) -> str:
        """The week's hours in one line ("mon 09:00-18:00; ..."), for prompts."""
        parts = [
            f"{day} " + ", ".join(f"{s}-{e}" for s, e in self.hours[day])
            for day in DAYS
            if self.hours.get(day)
        ]
        return "; ".join(parts) if parts else "no fixed hours"

    # ------------------------------------------------------------ item mapping
    @classmethod
    def from_item(cls, item: Mapping[str, Any] | None) -> AssistantSettings:
        """The record from its item; a malformed field takes its default."""
        if not item:
            return cls()
        base = cls()
        return cls(
            enabled=bool(item.get("enabled", base.enabled)),
            model=str(item["model"]) if item.get("model") else None,
            business_name=str(item.get("business_name") or ""),
            tone=str(item.get("tone") or base.tone),
            hours=_hours(item.get("hours"), base.hours),
            time_zone=str(item.get("time_zone") or base.time_zone),
            may_promise=_strings(item.get("may_promise")) or (),
            must_not_promise=_strings(item.get("must_not_promise")) or (),
            confidence_threshold=_fraction(
                item.get("confidence_threshold"), base.confidence_threshold
            ),
            handoff_keywords=_strings(item.get("handoff_keywords")),
            handoff_timeout_seconds=_whole(
                item.get("handoff_timeout_seconds"), base.handoff_timeout_seconds
            ),
            monthly_token_budget=_whole(
                item.get("monthly_token_budget"), base.monthly_token_budget
            ),
            describe_images=bool(item.get("describe_images", base.describe_images)),
            fallback={str(k): str(v) for k, v in dict(item.get("fallback") or {}).items() if v},
        )

    def to_item(self) -> dict[str, Any]:
        values = asdict(self)
        values["hours"] = {day: [list(span) for span in spans] for day, spans in self.hours.items()}
        values["may_promise"] = list(self.may_promise)
        values["must_not_promise"] = list(self.must_not_promise)
        values["handoff_keywords"] = (
            None if self.handoff_keywords is None else list(self.handoff_keywords)
        )
        values["fallback"] = dict(self.fallback)
        return values


def _minutes(hhmm: str) -> int:
    hours, _, minutes = hhmm.partition(":")
    return int(hours) * 60 + int(minutes or 0)


def _hours(
    value: Any, default: Mapping[str, tuple[tuple[str, str], ...]]
) -> Mapping[str, tuple[tuple[str, str], ...]]:
    if not isinstance(value, Mapping):
        return dict(default)
    hours: dict[str, tuple[tuple[str, str], ...]] = {}
    try:
        for day, spans in value.items():
            if str(day).lower()[:3] in DAYS and spans:
                checked = tuple((str(s), str(e)) for s, e in spans)
                for start, end in checked:
                    _minutes(start), _minutes(end)
                hours[str(day).lower()[:3]] = checked
    except (TypeError, ValueError):
        return dict(default)
    return hours


def _strings(value: Any) -> tuple[str, ...] | None:
    if value is None or isinstance(value, str | bytes) or not isinstance(value, Sequence | set):
        return None
    return tuple(str(v) for v in value if str(v).strip())


def _fraction(value: Any, default: float) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return default
    return number if 0.0 <= number <= 1.0 else default


def _whole(value: Any, default: int) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return default
    return max(0, number)


# ------------------------------------------------------------------ settings
def settings_key(phone_number_id: str) -> tuple[str, str]:
    return f"TENANT#{phone_number_id}", SETTINGS_SK


_cache: PerNumberCache[AssistantSettings] = PerNumberCache(
    CACHE_SECONDS,
    lambda: now(),  # noqa: PLW0108 (late-bound: tests replace this module's now)
)


def org_settings_key() -> tuple[str, str]:
    return ORG_PK, SETTINGS_SK


def overrides(item: Mapping[str, Any] | None) -> dict[str, Any]:
    """The settings an item sets (a null field sets nothing: it inherits)."""
    return {k: v for k, v in (item or {}).items() if k not in _NOT_SETTINGS and v is not None}


def effective(
    org_item: Mapping[str, Any] | None, number_item: Mapping[str, Any] | None
) -> AssistantSettings:
    """A number's settings: its own fields over the organisation's over the defaults."""
    return AssistantSettings.from_item({**overrides(org_item), **overrides(number_item)})


def _read_settings(phone_number_id: str) -> AssistantSettings:
    keys = [settings_key(phone_number_id), org_settings_key()]
    found = batch_get(keys)
    return effective(found.get(org_settings_key()), found.get(settings_key(phone_number_id)))


def load_settings(phone_number_id: str) -> AssistantSettings:
    """The tenant's assistant settings (defaults when none are stored), cached a minute."""
    return _cache.get(phone_number_id, _read_settings)


def save_settings(phone_number_id: str, assistant: AssistantSettings, **changes: Any) -> None:
    """Store the tenant's settings whole (`changes` applied first: `enabled=True`).

    This container sees them at once; other warm containers within CACHE_SECONDS.
    """
    record = replace(assistant, **changes) if changes else assistant
    pk, sk = settings_key(phone_number_id)
    put({"pk": pk, "sk": sk, **record.to_item(), "updated_at": now()})
    _cache.forget(phone_number_id)


def save_fields(phone_number_id: str | None, fields: Mapping[str, Any]) -> None:
    """Set the given fields of a number's settings (None: the organisation's), each in
    item form (`AssistantSettings.to_item`'s); a None value removes the field, so it
    inherits again. Other fields are left as they are."""
    pk, sk = org_settings_key() if phone_number_id is None else settings_key(phone_number_id)
    expr = Expr().set("updated_at", now())
    for name, value in fields.items():
        if value is None:
            expr.remove(name)
        else:
            expr.set(name, value)
    update(pk, sk, expr)
    if phone_number_id is None:
        _cache.clear()  # every number inherits from it
    else:
        _cache.forget(phone_number_id)


def clear_cache() -> None:
    _cache.clear()


# ------------------------------------------------------------------ usage
@dataclass(frozen=True, slots=True)
class TokenUsage:
    input_tokens: int = 0
    output_tokens: int = 0

    @property
    def total(self) -> int:
        return self.input_tokens + self.output_tokens


def usage_pk(phone_number_id: str) -> str:
    return f"{phone_number_id}#AIUSE"


def day_sk(at: float) -> str:
    return "D#" + datetime.fromtimestamp(at, tz=UTC).strftime("%Y-%m-%d")


def month_sk(at: float) -> str:
    return "M#" + datetime.fromtimestamp(at, tz=UTC).strftime("%Y-%m")


def add_usage(phone_number_id: str, *, input_tokens: int, output_tokens: int, at: float) -> None:
    """ADD the tokens to the day's and the month's counters (two UpdateItems)."""
    if input_tokens <= 0 and output_tokens <= 0:
        return
    pk = usage_pk(phone_number_id)
    for sk, expiry in ((day_sk(at), message_expiry(at)), (month_sk(at), None)):
        expr = Expr().add("input_tokens", input_tokens).add("output_tokens", output_tokens)
        if expiry is not None:
            expr.set("expires_at", expiry)
        update(pk, sk, expr)


def _usage(item: Mapping[str, Any] | None) -> TokenUsage:
    item = item or {}
    return TokenUsage(int(item.get("input_tokens", 0)), int(item.get("output_tokens", 0)))


def month_usage(phone_number_id: str, at: float) -> TokenUsage:
    """Tokens used in `at`'s calendar month (UTC), strongly consistent."""
    return _usage(get(usage_pk(phone_number_id), month_sk(at)))


def day_usage(phone_number_id: str, at: float) -> TokenUsage:
    return _usage(get(usage_pk(phone_number_id), day_sk(at)))


def budget_left(assistant: AssistantSettings, phone_number_id: str, at: float) -> int | None:
    """Tokens left this month, or None when the tenant has no budget (0 = unlimited)."""
    if assistant.monthly_token_budget <= 0:
        return None
    return assistant.monthly_token_budget - month_usage(phone_number_id, at).total
