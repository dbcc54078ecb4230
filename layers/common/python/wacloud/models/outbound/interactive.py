"""Interactive messages (docs/meta/limits.md#interactive, docs/meta/limits.md#flow-messages).

One model per ``interactive.type`` instead of one permissive model: which header,
body and footer are allowed differs per type (e.g. ``product`` forbids a header,
``product_list`` requires one), and separate models turn those rules into plain
"unknown field"/"required field" errors.
"""

from typing import Annotated, Any, Literal, Self

from pydantic import Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from wacloud.models.outbound.common import (
    Chars,
    HttpUrlStr,
    Items,
    NonEmptyStr,
    StrictModel,
    unique_values,
)
from wacloud.models.outbound.media import DocumentObject, ImageObject, LinkOnlyMedia, VideoObject
from wacloud.models.outbound.template import ProductSection

HEADER_TEXT_MAX = 60  # docs/meta/limits.md#interactive button/list/cta_url header text
FOOTER_MAX = 60  # docs/meta/limits.md#interactive
# docs/meta/limits.md#interactive reply buttons, cta_url; OAS BodyObject default for the other types
BODY_MAX = 1024
# docs/meta/limits.md#interactive list (Meta 2026) -- OAS says 1024, Meta's per-type page wins
# (docs/meta/conflicts.md#interactive-body-limits)
LIST_BODY_MAX = 4096
# docs/meta/conflicts.md#interactive-body-limits CONFLICT: location request body 1024 (Meta Nov
# 2025) vs 4096 (3P) -> stricter 1024.
LOCATION_REQUEST_BODY_MAX = 1024
REPLY_BUTTONS_MAX = 3
REPLY_TITLE_MAX = 20
REPLY_ID_MAX = 256
LIST_BUTTON_MAX = 20
LIST_SECTIONS_MAX = 10
LIST_ROWS_TOTAL_MAX = 10
LIST_ROW_ID_MAX = 200
LIST_ROW_TITLE_MAX = 24
LIST_ROW_DESCRIPTION_MAX = 72
LIST_SECTION_TITLE_MAX = 24
CTA_DISPLAY_TEXT_MAX = 20
PRODUCT_SECTIONS_MAX = 10
# docs/meta/limits.md#interactive: OAS says 30 per section, Meta/PYWA 30 in total -> total
PRODUCT_ITEMS_TOTAL_MAX = 30
# docs/meta/limits.md#flow-messages / docs/meta/conflicts.md#flow-cta CONFLICT: flow_cta <= 30 (Meta
# "advised", OAS) vs <= 20 (PYWA) -> stricter 20.
FLOW_CTA_MAX = 20


class Body(StrictModel):
    text: Annotated[str, Chars(min=1, max=BODY_MAX)]


class ListBody(StrictModel):
    text: Annotated[str, Chars(min=1, max=LIST_BODY_MAX)]


class LocationRequestBody(StrictModel):
    text: Annotated[str, Chars(min=1, max=LOCATION_REQUEST_BODY_MAX)]


class Footer(StrictModel):
    text: Annotated[str, Chars(min=1, max=FOOTER_MAX)]


class TextHeader(StrictModel):
    type: Literal["text"]
    text: Annotated[str, Chars(min=1, max=HEADER_TEXT_MAX)]


class ImageHeader(StrictModel):
    type: Literal["image"]
    image: ImageObject


class VideoHeader(StrictModel):
    type: Literal["video"]
    video: VideoObject


class DocumentHeader(StrictModel):
    type: Literal["document"]
    document: DocumentObject


MediaOrTextHeader = Annotated[
    TextHeader | ImageHeader | VideoHeader | DocumentHeader, Field(discriminator="type")
]


class LinkImageHeader(StrictModel):
    type: Literal["image"]
    image: LinkOnlyMedia


class LinkVideoHeader(StrictModel):
    type: Literal["video"]
    video: LinkOnlyMedia


class LinkDocumentHeader(StrictModel):
    type: Literal["document"]
    document: LinkOnlyMedia


CtaUrlHeader = Annotated[
    TextHeader | LinkImageHeader | LinkVideoHeader | LinkDocumentHeader,
    Field(discriminator="type"),
]


# --------------------------------------------------------------------- reply buttons


class Reply(StrictModel):
    # OAS: no leading/trailing spaces in the id.
    id: Annotated[str, Chars(min=1, max=REPLY_ID_MAX)]
    title: Annotated[str, Chars(min=1, max=REPLY_TITLE_MAX)]

    @field_validator("id")
    @classmethod
    def _no_outer_spaces(cls, value: str) -> str:
        if value != value.strip():
            raise PydanticCustomError(
                "wacloud_reply_id", "must not start or end with whitespace (Meta rule)"
            )
        return value


class ReplyButton(StrictModel):
    type: Literal["reply"]
    reply: Reply


class ButtonAction(StrictModel):
    buttons: Annotated[list[ReplyButton], Items(min=1, max=REPLY_BUTTONS_MAX, noun="reply buttons")]

    @field_validator("buttons")
    @classmethod
    def _unique_titles(cls, value: list[ReplyButton]) -> list[ReplyButton]:
        unique_values([b.reply.title for b in value], "button titles")
        return value


class InteractiveButton(StrictModel):
    type: Literal["button"]
    header: MediaOrTextHeader | None = None
    body: Body
    footer: Footer | None = None
    action: ButtonAction


# ---------------------------------------------------------------------------- list


class ListRow(StrictModel):
    id: Annotated[str, Chars(min=1, max=LIST_ROW_ID_MAX)]
    title: Annotated[str, Chars(min=1, max=LIST_ROW_TITLE_MAX)]
    description: Annotated[str, Chars(max=LIST_ROW_DESCRIPTION_MAX)] | None = None


class ListSection(StrictModel):
    # Meta's 2026 page makes the section title required; OAS only when there is more
    # than one section. We take the stricter rule: always required.
    title: Annotated[str, Chars(min=1, max=LIST_SECTION_TITLE_MAX)]
    rows: Annotated[list[ListRow], Items(min=1, noun="rows")]


class ListAction(StrictModel):
    button: Annotated[str, Chars(min=1, max=LIST_BUTTON_MAX)]
    sections: Annotated[list[ListSection], Items(min=1, max=LIST_SECTIONS_MAX, noun="sections")]

    @field_validator("sections")
    @classmethod
    def _rows_total(cls, value: list[ListSection]) -> list[ListSection]:
        total = sum(len(s.rows) for s in value)
        if total > LIST_ROWS_TOTAL_MAX:
            raise PydanticCustomError(
                "wacloud_limit",
                "at most {m} rows in total across all sections (Meta limit), got {n}",
                {"m": LIST_ROWS_TOTAL_MAX, "n": total},
            )
        return value


class InteractiveList(StrictModel):
    type: Literal["list"]
    header: TextHeader | None = None  # docs/meta/limits.md#interactive: list headers are text only
    body: ListBody
    footer: Footer | None = None
    action: ListAction

    @field_validator("header", mode="before")
    @classmethod
    def _text_header_only(cls, value: Any) -> Any:
        # Checked up front so a media header gets one clear reason instead of three.
        if isinstance(value, dict) and value.get("type") != "text":
            raise PydanticCustomError(
                "wacloud_list_header",
                "list messages only take a text header (Meta rule)",
            )
        return value


# ------------------------------------------------------------------------- cta_url


class CtaUrlParameters(StrictModel):
    display_text: Annotated[str, Chars(min=1, max=CTA_DISPLAY_TEXT_MAX)]
    url: HttpUrlStr


class CtaUrlAction(StrictModel):
    name: Literal["cta_url"]
    parameters: CtaUrlParameters


class InteractiveCtaUrl(StrictModel):
    type: Literal["cta_url"]
    header: CtaUrlHeader | None = None
    body: Body | None = None
    footer: Footer | None = None
    action: CtaUrlAction


# ----------------------------------------------------------- location / call request


class SendLocationAction(StrictModel):
    name: Literal["send_location"]


class InteractiveLocationRequest(StrictModel):
    """Meta documents only ``body`` and ``action`` for this type: header/footer are rejected."""

    type: Literal["location_request_message"]
    body: LocationRequestBody
    action: SendLocationAction


class CallPermissionAction(StrictModel):
    name: Literal["call_permission_request"]


class InteractiveCallPermissionRequest(StrictModel):
    """Header and footer are not supported in free-form (docs/meta/limits.md#interactive), so the
    model has none."""

    type: Literal["call_permission_request"]
    body: Body | None = None
    action: CallPermissionAction


# ------------------------------------------------------------------------ commerce


class ProductAction(StrictModel):
    catalog_id: NonEmptyStr
    product_retailer_id: NonEmptyStr


class InteractiveProduct(StrictModel):
    """No ``header`` field: OAS forbids a header on single-product messages."""

    type: Literal["product"]
    body: Body | None = None
    footer: Footer | None = None
    action: ProductAction


class ProductListAction(StrictModel):
    catalog_id: NonEmptyStr
    sections: Annotated[
        list[ProductSection], Items(min=1, max=PRODUCT_SECTIONS_MAX, noun="sections")
    ]

    @field_validator("sections")
    @classmethod
    def _items_total(cls, value: list[ProductSection]) -> list[ProductSection]:
        total = sum(len(s.product_items) for s in value)
        if total > PRODUCT_ITEMS_TOTAL_MAX:
            raise PydanticCustomError(
                "wacloud_limit",
                "at most {m} product items in total across all sections "
                "(Meta/PYWA limit; OAS reads it per section), got {n}",
                {"m": PRODUCT_ITEMS_TOTAL_MAX, "n": total},
            )
        return value


class InteractiveProductList(StrictModel):
    type: Literal["product_list"]
    header: TextHeader  # docs/meta/limits.md#interactive: required, text
    body: Body | None = None
    footer: Footer | None = None
    action: ProductListAction


class CatalogParameters(StrictModel):
    thumbnail_product_retailer_id: NonEmptyStr  # OAS marks it required


class CatalogMessageAction(StrictModel):
    name: Literal["catalog_message"]
    parameters: CatalogParameters


class InteractiveCatalogMessage(StrictModel):
    type: Literal["catalog_message"]
    body: Body  # docs/meta/limits.md#interactive: required
    footer: Footer | None = None
    action: CatalogMessageAction


# ---------------------------------------------------------------------------- flow


class FlowActionPayload(StrictModel):
    screen: NonEmptyStr
    data: dict[str, Any] | None = None

    @field_validator("data")
    @classmethod
    def _non_empty(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None and not value:
            raise PydanticCustomError(
                "wacloud_flow_data", "must be non-empty when sent (Meta rule); omit it instead"
            )
        return value


class FlowParameters(StrictModel):
    flow_message_version: Literal["3"]
    flow_id: NonEmptyStr | None = None
    flow_name: NonEmptyStr | None = None
    flow_cta: Annotated[
        str, Chars(min=1, max=FLOW_CTA_MAX, why="PYWA limit; stricter than Meta's advised 30")
    ]
    mode: Literal["draft", "published"] | None = None
    flow_token: NonEmptyStr | None = None
    flow_action: Literal["navigate", "data_exchange"] | None = None
    flow_action_payload: FlowActionPayload | None = None

    @model_validator(mode="after")
    def _one_flow_ref(self) -> Self:
        if (self.flow_id is None) == (self.flow_name is None):
            raise PydanticCustomError(
                "wacloud_flow_ref", "exactly one of flow_id or flow_name is required (Meta rule)"
            )
        return self


class FlowAction(StrictModel):
    name: Literal["flow"]
    parameters: FlowParameters


class InteractiveFlow(StrictModel):
    type: Literal["flow"]
    header: MediaOrTextHeader | None = None
    body: Body | None = None
    footer: Footer | None = None
    action: FlowAction


# ------------------------------------------------------------------------ carousel


class CardImageHeader(StrictModel):
    type: Literal["image"]
    image: ImageObject


class CardVideoHeader(StrictModel):
    type: Literal["video"]
    video: VideoObject


class InteractiveCarouselCard(StrictModel):
    """Shape only: docs/meta has no figures for interactive carousels (GAP)."""

    card_index: Annotated[int, Field(ge=0)]
    type: Literal["cta_url"]
    header: Annotated[CardImageHeader | CardVideoHeader, Field(discriminator="type")]
    body: Body | None = None
    action: CtaUrlAction


class CarouselAction(StrictModel):
    cards: Annotated[list[InteractiveCarouselCard], Items(min=1, noun="cards")]

    @field_validator("cards")
    @classmethod
    def _unique_index(cls, value: list[InteractiveCarouselCard]) -> list[InteractiveCarouselCard]:
        unique_values([str(c.card_index) for c in value], "card_index")
        return value


class InteractiveCarousel(StrictModel):
    type: Literal["carousel"]
    body: Body
    action: CarouselAction


Interactive = Annotated[
    InteractiveButton
    | InteractiveList
    | InteractiveCtaUrl
    | InteractiveLocationRequest
    | InteractiveCallPermissionRequest
    | InteractiveProduct
    | InteractiveProductList
    | InteractiveCatalogMessage
    | InteractiveFlow
    | InteractiveCarousel,
    Field(discriminator="type"),
]
