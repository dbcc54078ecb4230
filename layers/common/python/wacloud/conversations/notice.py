"""What the customer is told when a person takes over: who answers, and when.

Inside business hours: a person answers within the tenant's usual wait. Outside:
when the business opens next ("tomorrow at 09:00", "el lunes a las 09:00"), in the
tenant's time zone. Spanish, English and Portuguese; English for anything else.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from wacloud.conversations.settings import DEFAULT_TIME_ZONE, HandoffSettings

LANGUAGES = ("es", "en", "pt")

_IN_HOURS = {
    "es": "Gracias. Te paso con una persona de nuestro equipo; te responderá aquí en unos "
    "{minutes} minutos.",
    "en": "Thanks! A member of our team will take over and reply here within about "
    "{minutes} minutes.",
    "pt": "Obrigado! Uma pessoa da nossa equipe vai assumir e responder aqui em cerca de "
    "{minutes} minutos.",
}
_OUT_OF_HOURS = {
    "es": "Gracias. Te paso con una persona de nuestro equipo. Ahora estamos cerrados; "
    "te responderemos aquí {when}.",
    "en": "Thanks! A member of our team will take over. We are closed right now; "
    "we will reply here {when}.",
    "pt": "Obrigado! Uma pessoa da nossa equipe vai assumir. Agora estamos fechados; "
    "responderemos aqui {when}.",
}
_NO_HOURS = {
    "es": "Gracias. Te paso con una persona de nuestro equipo; te responderá aquí lo antes "
    "posible.",
    "en": "Thanks! A member of our team will take over and reply here as soon as possible.",
    "pt": "Obrigado! Uma pessoa da nossa equipe vai assumir e responder aqui o quanto antes.",
}
_TODAY = {"es": "hoy a las {t}", "en": "today at {t}", "pt": "hoje às {t}"}
_TOMORROW = {"es": "mañana a las {t}", "en": "tomorrow at {t}", "pt": "amanhã às {t}"}
_ON_DAY = {"es": "el {d} a las {t}", "en": "on {d} at {t}", "pt": "{d} às {t}"}
_DAY_NAMES = {
    "es": ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"),
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    "pt": (
        "segunda-feira",
        "terça-feira",
        "quarta-feira",
        "quinta-feira",
        "sexta-feira",
        "sábado",
        "domingo",
    ),
}


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(DEFAULT_TIME_ZONE)


def is_open(settings: HandoffSettings, at: float) -> bool:
    """True if ``at`` falls in one of the tenant's opening intervals."""
    local = datetime.fromtimestamp(at, _zone(settings.time_zone))
    moment = local.time().replace(tzinfo=None)
    return any(
        opens <= moment < closes for opens, closes in settings.hours.get(local.weekday(), ())
    )


def next_opening(settings: HandoffSettings, at: float) -> datetime | None:
    """The next opening time after ``at`` (local, aware), within a week; None if the
    business has no hours at all."""
    zone = _zone(settings.time_zone)
    local = datetime.fromtimestamp(at, zone)
    for offset in range(8):
        day = (local + timedelta(days=offset)).date()
        for opens, _closes in settings.hours.get(day.weekday(), ()):
            candidate = datetime.combine(day, opens, zone)
            if candidate > local:
                return candidate
    return None


def handoff_notice(settings: HandoffSettings, *, language: str | None, at: float) -> str:
    """The customer's notice in their language (``language``, else the tenant's
    default, else English) with the expected wait at ``at``."""
    lang = next(
        (c for c in (language, settings.default_language) if c in LANGUAGES),
        "en",
    )
    if is_open(settings, at):
        return _IN_HOURS[lang].format(minutes=settings.wait_minutes)
    opening = next_opening(settings, at)
    if opening is None:
        return _NO_HOURS[lang]
    local_now = datetime.fromtimestamp(at, opening.tzinfo)
    days = (opening.date() - local_now.date()).days
    t = opening.strftime("%H:%M")
    if days == 0:
        when = _TODAY[lang].format(t=t)
    elif days == 1:
        when = _TOMORROW[lang].format(t=t)
    else:
        when = _ON_DAY[lang].format(d=_DAY_NAMES[lang][opening.weekday()], t=t)
    return _OUT_OF_HOURS[lang].format(when=when)
