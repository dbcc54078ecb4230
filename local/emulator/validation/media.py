"""image / audio / video / document / sticker message objects
(docs/meta/limits.md#text-and-media)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import bad_param
from .common import as_obj, no_unknown, string, url

CAPTION_MAX = 1024  # image, document (Meta pages); video per OAS (NOT CONFIRMED by Meta page)
_EXTRA_KEYS: dict[str, set[str]] = {
    "image": {"caption"},
    "video": {"caption"},
    "document": {"caption", "filename"},
    "audio": set(),  # no caption for audio or sticker (OAS)
    "sticker": set(),
}
MEDIA_TYPES = frozenset(_EXTRA_KEYS)


@dataclass
class MediaRef:
    kind: str
    media_id: str | None
    link: str | None


def validate_media(kind: str, obj: Any, path: str | None = None) -> MediaRef:
    """Exactly one of ``id`` or ``link`` (OAS MediaObject oneOf)."""
    p = path or kind
    m = as_obj(obj, p)
    no_unknown(m, {"id", "link"} | _EXTRA_KEYS[kind], p)
    has_id = m.get("id") is not None
    has_link = m.get("link") is not None
    if has_id == has_link:
        raise bad_param(p, "must contain exactly one of 'id' or 'link'.")
    media_id = string(m, "id", p) if has_id else None
    link = url(m["link"], f"{p}['link']") if has_link else None
    if "caption" in _EXTRA_KEYS[kind]:
        string(m, "caption", p, max_len=CAPTION_MAX)
    string(m, "filename", p)
    return MediaRef(kind=kind, media_id=media_id, link=link)
