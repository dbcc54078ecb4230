"""Media upload rules and download URLs (docs/meta/media.md#endpoints,
docs/meta/limits.md#text-and-media)."""

from __future__ import annotations

import hashlib
import hmac

from .errors import GraphError

MB = 1024 * 1024
KB = 1024
# kind -> (MIME types, max bytes); docs/meta/limits.md#text-and-media
KINDS: dict[str, tuple[frozenset[str], int]] = {
    "audio": (
        frozenset({"audio/aac", "audio/amr", "audio/mpeg", "audio/mp4", "audio/ogg"}),
        16 * MB,
    ),
    "document": (
        frozenset(
            {
                "text/plain",
                "application/vnd.ms-excel",
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                "application/msword",
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                "application/vnd.ms-powerpoint",
                "application/vnd.openxmlformats-officedocument.presentationml.presentation",
                "application/pdf",
            }
        ),
        100 * MB,
    ),
    "image": (frozenset({"image/jpeg", "image/png"}), 5 * MB),
    "sticker": (frozenset({"image/webp"}), 500 * KB),
    # AWS copy writes video/3gp; Meta writes video/3gpp -> accept both.
    "video": (frozenset({"video/3gpp", "video/3gp", "video/mp4"}), 16 * MB),
}
STICKER_STATIC_MAX = 100 * KB
STICKER_ANIMATED_MAX = 500 * KB
URL_TTL_SECONDS = 300  # media URLs expire after 5 minutes (docs/meta/media.md#endpoints)
UPLOADED_TTL_SECONDS = 30 * 86400  # uploaded media ids live 30 days
INBOUND_TTL_SECONDS = 7 * 86400  # media ids from webhooks live 7 days

_MAGIC: dict[str, tuple[bytes, ...]] = {
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "application/pdf": (b"%PDF",),
}


def base_mime(mime: str) -> str:
    return mime.split(";", 1)[0].strip().lower()


def kind_for_mime(mime: str) -> str | None:
    m = base_mime(mime)
    for kind, (mimes, _) in KINDS.items():
        if m in mimes:
            return kind
    return None


def is_animated_webp(data: bytes) -> bool:
    return data[:4] == b"RIFF" and data[8:12] == b"WEBP" and b"ANIM" in data[:4096]


def validate_upload(mime: str, data: bytes, *, check_magic: bool) -> str:
    """Returns the media kind. A wrong MIME type or size is reported as 131053
    ("Media upload error", docs/meta/errors.md#codes: "e.g. MIME mismatch"); using 131053 for size
    too is the emulator's choice (Meta's code for an oversized upload is NOT CONFIRMED)."""
    m = base_mime(mime)
    kind = kind_for_mime(m)
    if kind is None:
        supported = ", ".join(sorted(set().union(*(v[0] for v in KINDS.values()))))
        raise GraphError(
            131053,
            f"Param file must be a file with one of the following types: "
            f"{supported}. Received file of type '{m}'.",
        )
    limit = KINDS[kind][1]
    if kind == "sticker":
        limit = STICKER_ANIMATED_MAX if is_animated_webp(data) else STICKER_STATIC_MAX
    if len(data) > limit:
        raise GraphError(
            131053, f"{kind} file size {len(data)} exceeds the limit of {limit} bytes."
        )
    if len(data) == 0:
        raise GraphError(131053, "The uploaded file is empty.")
    if check_magic:
        magic = _MAGIC.get(m)
        if magic and not data.startswith(magic):
            raise GraphError(131053, f"File content does not match MIME type {m}.")
        if m == "image/webp" and not (data[:4] == b"RIFF" and data[8:12] == b"WEBP"):
            raise GraphError(131053, "File content does not match MIME type image/webp.")
        # audio/ogg is supported with the Opus codec only (docs/meta/limits.md#text-and-media).
        if m == "audio/ogg" and b"OpusHead" not in data[:4096]:
            raise GraphError(131053, "audio/ogg is supported only with the Opus codec.")
    return kind


def url_signature(secret: str, media_id: str, expires: int) -> str:
    return hmac.new(secret.encode(), f"{media_id}:{expires}".encode(), hashlib.sha256).hexdigest()[
        :32
    ]


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
