"""Template sends (docs/meta/templates.md#sending).

We can only check what is visible in the send itself: we do not know the
template's stored definition here, so parameter counts (132000) and formats
(132012) are left to Meta. What we do catch are values that no template could
accept, e.g. a header text parameter over 60 characters.
"""

import re
from typing import Annotated, Any, Literal, Self

from pydantic import AfterValidator, Field, PlainValidator, WithJsonSchema, model_validator
from pydantic_core import PydanticCustomError

from wacloud.models.outbound.basic import LocationObject
from wacloud.models.outbound.common import Chars, Items, NonEmptyStr, StrictModel, unique_values
from wacloud.models.outbound.media import ImageObject, VideoObject, _MediaSource

TEMPLATE_NAME_MAX = 512  # docs/meta/templates.md#management name regex ^[a-z0-9_]+$, max 512
HEADER_TEXT_PARAM_MAX = 60  # docs/meta/templates.md#sending header text parameter
# docs/meta/templates.md#sending body text parameter when the template has other components
BODY_TEXT_PARAM_MAX = 1024
# docs/meta/templates.md#sending body text parameter when body is the only component
BODY_ONLY_TEXT_PARAM_MAX = 32768
TEMPLATE_BUTTONS_MAX = 10  # docs/meta/templates.md#sending creation limits: <= 10 buttons in total
COPY_CODE_MAX = 15  # docs/meta/templates.md#sending creation limits: copy-code example / OTP <= 15
CAROUSEL_CARDS_MAX = 10  # docs/meta/templates.md#sending creation limits: carousel <= 10 cards

_NAME = re.compile(r"^[a-z0-9_]+$")
# docs/meta/templates.md#sending: named parameters are "lowercase letters and underscores, unique".
_PARAM_NAME = re.compile(r"^[a-z_]+$")


def _check_template_name(value: str) -> str:
    if not _NAME.match(value):
        raise PydanticCustomError(
            "wacloud_template_name",
            "must match ^[a-z0-9_]+$ (Meta template naming rule)",
        )
    return value


def _check_param_name(value: str) -> str:
    if not _PARAM_NAME.match(value):
        raise PydanticCustomError(
            "wacloud_param_name",
            "named parameters use lowercase letters and underscores only (Meta rule)",
        )
    return value


def _check_currency(value: str) -> str:
    if not (len(value) == 3 and value.isascii() and value.isalpha() and value.isupper()):
        raise PydanticCustomError(
            "wacloud_currency",
            "must be an ISO 4217 currency code: 3 uppercase letters",
        )
    return value


ParamName = Annotated[str, Chars(min=1), AfterValidator(_check_param_name)]


def _check_index(value: Any) -> int | str:
    # Meta examples use both "0" and 0 (docs/meta/templates.md#sending); keep whichever the user
    # sent. OAS describes the range as 0-9, consistent with <= 10 buttons per template.
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise PydanticCustomError("wacloud_index", "must be an integer 0-9 or a string '0'-'9'")
    text = str(value)
    if not (text.isdigit() and 0 <= int(text) < TEMPLATE_BUTTONS_MAX):
        raise PydanticCustomError(
            "wacloud_index",
            "must be 0-9 (button position; Meta allows at most 10 buttons)",
        )
    return value


ButtonIndex = Annotated[
    int | str,
    PlainValidator(_check_index),
    WithJsonSchema(
        {
            "oneOf": [
                {"type": "integer", "minimum": 0, "maximum": 9},
                {"type": "string", "pattern": "^[0-9]$"},
            ]
        }
    ),
]


# ----------------------------------------------------------------------- parameters


class TextParam(StrictModel):
    type: Literal["text"]
    # 32768 is the OAS TextParameter maximum; tighter per-component limits are
    # applied by the component, which knows where the parameter sits.
    text: Annotated[str, Chars(min=1, max=BODY_ONLY_TEXT_PARAM_MAX)]
    parameter_name: ParamName | None = None


class CurrencyValue(StrictModel):
    fallback_value: NonEmptyStr
    code: Annotated[
        str,
        AfterValidator(_check_currency),
        Field(json_schema_extra={"pattern": "^[A-Z]{3}$"}, description="ISO 4217 code"),
    ]
    amount_1000: int


class CurrencyParam(StrictModel):
    type: Literal["currency"]
    currency: CurrencyValue
    parameter_name: ParamName | None = None


class DateTimeValue(StrictModel):
    # The Cloud API always renders fallback_value (docs/meta/templates.md#sending).
    fallback_value: NonEmptyStr


class DateTimeParam(StrictModel):
    type: Literal["date_time"]
    date_time: DateTimeValue
    parameter_name: ParamName | None = None


class TemplateDocument(_MediaSource):
    """Template document headers take no caption (docs/meta/templates.md#sending: PDF only, no
    caption)."""

    filename: NonEmptyStr | None = None


class ImageParam(StrictModel):
    type: Literal["image"]
    image: ImageObject


class VideoParam(StrictModel):
    type: Literal["video"]
    video: VideoObject


class DocumentParam(StrictModel):
    type: Literal["document"]
    document: TemplateDocument


class LocationParam(StrictModel):
    type: Literal["location"]
    location: LocationObject


HeaderParam = Annotated[
    TextParam | ImageParam | VideoParam | DocumentParam | LocationParam,
    Field(discriminator="type"),
]
BodyParam = Annotated[TextParam | CurrencyParam | DateTimeParam, Field(discriminator="type")]


class HeaderComponent(StrictModel):
    type: Literal["header"]
    # docs/meta/templates.md#sending creation limits: header has at most 1 variable.
    parameters: Annotated[list[HeaderParam], Items(min=1, max=1, noun="header parameters")]

    @model_validator(mode="after")
    def _header_text_limit(self) -> Self:
        for p in self.parameters:
            if isinstance(p, TextParam) and len(p.text) > HEADER_TEXT_PARAM_MAX:
                raise PydanticCustomError(
                    "wacloud_limit",
                    "header text parameter at most {m} characters (Meta limit), got {n}",
                    {"m": HEADER_TEXT_PARAM_MAX, "n": len(p.text), "at": "parameters[0].text"},
                )
        return self


class BodyComponent(StrictModel):
    type: Literal["body"]
    parameters: Annotated[list[BodyParam], Items(min=1, noun="body parameters")]


# -------------------------------------------------------------------------- buttons


class PayloadParam(StrictModel):
    type: Literal["payload"]
    payload: NonEmptyStr


class ButtonTextParam(StrictModel):
    type: Literal["text"]
    text: NonEmptyStr


class CouponCodeParam(StrictModel):
    type: Literal["coupon_code"]
    coupon_code: Annotated[str, Chars(min=1, max=COPY_CODE_MAX)]


class FlowButtonAction(StrictModel):
    flow_token: NonEmptyStr | None = None
    flow_action_data: dict[str, Any] | None = None


class FlowActionParam(StrictModel):
    type: Literal["action"]
    action: FlowButtonAction


class CatalogAction(StrictModel):
    thumbnail_product_retailer_id: NonEmptyStr


class CatalogActionParam(StrictModel):
    type: Literal["action"]
    action: CatalogAction


class ProductItem(StrictModel):
    product_retailer_id: NonEmptyStr


class ProductSection(StrictModel):
    title: NonEmptyStr
    product_items: Annotated[list[ProductItem], Items(min=1, noun="product items")]


class MpmAction(StrictModel):
    thumbnail_product_retailer_id: NonEmptyStr
    # Counts for MPM template sections are not in docs/meta: not enforced here.
    sections: Annotated[list[ProductSection], Items(min=1, noun="sections")]


class MpmActionParam(StrictModel):
    type: Literal["action"]
    action: MpmAction


def _one(noun: str) -> Items:
    # Each button carries exactly one variable (docs/meta/templates.md#sending: URL "1 variable,
    # only at the end").
    return Items(min=1, max=1, noun=noun)


class _Button(StrictModel):
    type: Literal["button"]
    index: ButtonIndex


class QuickReplyButton(_Button):
    sub_type: Literal["quick_reply"]
    parameters: Annotated[list[PayloadParam], _one("payload parameters")]


class UrlButton(_Button):
    """Also used for authentication OTP buttons, which Meta stores as URL
    (docs/meta/templates.md#sending)."""

    sub_type: Literal["url"]
    parameters: Annotated[list[ButtonTextParam], _one("text parameters")]


class CopyCodeButton(_Button):
    sub_type: Literal["copy_code"]
    parameters: Annotated[list[CouponCodeParam], _one("coupon_code parameters")]


class FlowButton(_Button):
    sub_type: Literal["flow"]
    parameters: Annotated[list[FlowActionParam], _one("action parameters")]


class CatalogButton(_Button):
    sub_type: Literal["catalog"]
    parameters: Annotated[list[CatalogActionParam], _one("action parameters")]


class MpmButton(_Button):
    sub_type: Literal["mpm"]
    parameters: Annotated[list[MpmActionParam], _one("action parameters")]


ButtonComponent = Annotated[
    QuickReplyButton | UrlButton | CopyCodeButton | FlowButton | CatalogButton | MpmButton,
    Field(discriminator="sub_type"),
]


class LimitedTimeOfferValue(StrictModel):
    expiration_time_ms: int


class LimitedTimeOfferParam(StrictModel):
    type: Literal["limited_time_offer"]
    limited_time_offer: LimitedTimeOfferValue


class LimitedTimeOfferComponent(StrictModel):
    type: Literal["limited_time_offer"]
    parameters: Annotated[list[LimitedTimeOfferParam], _one("limited_time_offer parameters")]


CardComponent = Annotated[
    HeaderComponent | BodyComponent | ButtonComponent, Field(discriminator="type")
]


class CarouselCard(StrictModel):
    card_index: Annotated[int, Field(ge=0, lt=CAROUSEL_CARDS_MAX)]
    components: Annotated[list[CardComponent], Items(min=1, noun="card components")]


class CarouselComponent(StrictModel):
    type: Literal["carousel"]
    cards: Annotated[
        list[CarouselCard], Items(min=1, max=CAROUSEL_CARDS_MAX, noun="carousel cards")
    ]


TemplateComponent = Annotated[
    HeaderComponent
    | BodyComponent
    | ButtonComponent
    | LimitedTimeOfferComponent
    | CarouselComponent,
    Field(discriminator="type"),
]


class Language(StrictModel):
    code: NonEmptyStr
    # OAS marks policy required but Meta's examples omit it (docs/meta/templates.md#sending,
    # docs/meta/conflicts.md#oas-quirks): optional.
    policy: Literal["deterministic"] | None = None


def _named_params(component: HeaderComponent | BodyComponent) -> list[str | None]:
    return [p.parameter_name for p in component.parameters if hasattr(p, "parameter_name")]


class TemplateObject(StrictModel):
    name: Annotated[str, Chars(min=1, max=TEMPLATE_NAME_MAX), AfterValidator(_check_template_name)]
    language: Language
    components: list[TemplateComponent] | None = None

    @model_validator(mode="after")
    def _components_consistent(self) -> Self:
        comps = self.components or []
        kinds = [c.type for c in comps]
        for kind in ("header", "body", "limited_time_offer", "carousel"):
            if kinds.count(kind) > 1:
                raise PydanticCustomError(
                    "wacloud_template",
                    "at most one {k} component, got {n}",
                    {"k": kind, "n": kinds.count(kind), "at": "components"},
                )
        buttons = [c for c in comps if isinstance(c, _Button)]
        if len(buttons) > TEMPLATE_BUTTONS_MAX:
            raise PydanticCustomError(
                "wacloud_limit",
                "at most {m} button components (Meta limit), got {n}",
                {"m": TEMPLATE_BUTTONS_MAX, "n": len(buttons), "at": "components"},
            )
        unique_values([str(b.index) for b in buttons], "button index", at="components")
        self._check_named(comps)
        self._check_body_len(comps)
        return self

    @staticmethod
    def _check_named(comps: list[Any]) -> None:
        # A template is either NAMED or POSITIONAL (docs/meta/templates.md#sending
        # parameter_format), so one send mixing the two can never match; named ones must also be
        # unique.
        names: list[str | None] = []
        for c in comps:
            if isinstance(c, HeaderComponent | BodyComponent):
                names += _named_params(c)
        given = [n for n in names if n is not None]
        if given and len(given) != len(names):
            raise PydanticCustomError(
                "wacloud_template",
                "mix of named (parameter_name) and positional parameters; "
                "a template uses one format",
                {"at": "components"},
            )
        unique_values(given, "parameter_name", at="components")

    @staticmethod
    def _check_body_len(comps: list[Any]) -> None:
        # 1024 applies when the template has other components. We only see the
        # components that carry parameters, so we apply it when any other one is sent
        # and otherwise allow the body-only maximum of 32768.
        if not any(not isinstance(c, BodyComponent) for c in comps):
            return
        for i, c in enumerate(comps):
            if not isinstance(c, BodyComponent):
                continue
            for j, p in enumerate(c.parameters):
                if isinstance(p, TextParam) and len(p.text) > BODY_TEXT_PARAM_MAX:
                    raise PydanticCustomError(
                        "wacloud_limit",
                        "at most {m} characters when the template has other components "
                        "(Meta limit), got {n}",
                        {
                            "m": BODY_TEXT_PARAM_MAX,
                            "n": len(p.text),
                            "at": f"components[{i}].parameters[{j}].text",
                        },
                    )
