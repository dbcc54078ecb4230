"""Media objects (docs/meta/limits.md#text-and-media): image, audio, video, document, sticker.

Meta takes exactly one of an uploaded media ``id`` or a public ``link``. We add a
third source, ``s3_key``: an object in our media bucket that the sender uploads to
``/{phone-number-id}/media`` and swaps for an ``id`` just before sending. It lets
users queue media without making it public, and it never reaches Meta. Only keys
under ``outbound/`` are accepted (wacloud.infra.media_keys says why).
"""

from typing import Annotated, Self

from pydantic import Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from wacloud.infra.media_keys import OUTBOUND_MEDIA_PREFIX, outbound_key_problem
from wacloud.models.outbound.common import Chars, HttpUrlStr, NonEmptyStr, StrictModel

# docs/meta/limits.md#text-and-media: image/document captions <= 1024 (Meta pages); video caption <=
# 1024 from OAS only (Meta video page NOT CONFIRMED) -- the same figure, so one constant.
CAPTION_MAX = 1024
Caption = Annotated[str, Chars(max=CAPTION_MAX)]


class _MediaSource(StrictModel):
    """Exactly one of ``id`` / ``link`` / ``s3_key`` (OAS ``MediaObject`` oneOf + our extension)."""

    id: NonEmptyStr | None = None
    link: HttpUrlStr | None = None
    s3_key: (
        Annotated[
            str,
            Chars(min=1),
            Field(
                description=f"An object under {OUTBOUND_MEDIA_PREFIX} in the media bucket",
                json_schema_extra={"pattern": f"^{OUTBOUND_MEDIA_PREFIX}"},
            ),
        ]
        | None
    ) = None

    @field_validator("s3_key")
    @classmethod
    def _outbound_prefix(cls, value: str | None) -> str | None:
        problem = None if value is None else outbound_key_problem(value)
        if problem is not None:
            raise PydanticCustomError("wacloud_s3_key", problem)
        return value

    @model_validator(mode="after")
    def _one_source(self) -> Self:
        given = [k for k in ("id", "link", "s3_key") if getattr(self, k) is not None]
        if len(given) != 1:
            raise PydanticCustomError(
                "wacloud_media_source",
                "exactly one of id, link or s3_key is required (Meta takes id or link; "
                "s3_key is uploaded and replaced by an id), got {given}",
                {"given": ", ".join(given) or "none"},
            )
        return self

    def with_id(self, media_id: str) -> Self:
        """Copy with the S3 reference replaced by Meta's uploaded media id."""
        return self.model_copy(update={"id": media_id, "link": None, "s3_key": None})


class ImageObject(_MediaSource):
    """image/jpeg or image/png, <= 5 MB (checked by the uploader, not here)."""

    caption: Caption | None = None


class VideoObject(_MediaSource):
    caption: Caption | None = None


class DocumentObject(_MediaSource):
    caption: Caption | None = None
    filename: NonEmptyStr | None = None


class AudioObject(_MediaSource):
    """No caption: Meta's audio object has none (docs/meta/limits.md#text-and-media), so one is
    rejected, not dropped."""


class StickerObject(_MediaSource):
    """No caption: the OAS sticker schema allows only ``id`` or ``link``
    (docs/meta/limits.md#text-and-media)."""


class LinkOnlyMedia(_MediaSource):
    """cta_url headers take media ``by link`` only (docs/meta/limits.md#interactive cta_url row)."""

    @model_validator(mode="after")
    def _link_only(self) -> Self:
        if self.link is None:
            raise PydanticCustomError(
                "wacloud_media_source", "cta_url header media must be given by link (Meta rule)"
            )
        return self
