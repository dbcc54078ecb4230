"""Text, location, contacts and reaction payloads (docs/meta/messages.md#reactions,
docs/meta/limits.md#text-and-media, docs/meta/limits.md#contacts-and-location)."""

import datetime as dt
import math
import re
from typing import Annotated, Any

from pydantic import AfterValidator, ConfigDict, PlainValidator, WithJsonSchema
from pydantic_core import PydanticCustomError

from wacloud.models.outbound.common import Chars, Items, NonEmptyStr, StrictModel

TEXT_BODY_MAX = 4096  # docs/meta/limits.md#text-and-media text.body
# docs/meta/limits.md#contacts-and-location CONFLICT: OAS maxItems 5 vs PYWA/Meta "up to 257". We
# enforce the stricter 5.
CONTACTS_MAX = 5


class TextObject(StrictModel):
    body: Annotated[str, Chars(min=1, max=TEXT_BODY_MAX)]
    # Always sent (default false) so the request is explicit about link previews.
    preview_url: bool = False


def _coordinate(limit: float) -> Any:
    def check(value: Any) -> float | str:
        # Meta examples send numbers; OAS types them as strings outbound
        # (docs/meta/limits.md#contacts-and-location): accept both and pass the user's form through
        # untouched.
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise PydanticCustomError("wacloud_coord", "must be a number or a numeric string")
        try:
            number = float(value)
        except ValueError:
            raise PydanticCustomError(
                "wacloud_coord", "must be a number or a numeric string"
            ) from None
        if not math.isfinite(number) or abs(number) > limit:
            raise PydanticCustomError(
                "wacloud_coord",
                "must be between -{lim} and {lim} degrees",
                {"lim": int(limit)},
            )
        return value

    return check


Latitude = Annotated[
    float | str,
    PlainValidator(_coordinate(90.0)),
    WithJsonSchema({"type": ["number", "string"], "description": "degrees, -90..90"}),
]
Longitude = Annotated[
    float | str,
    PlainValidator(_coordinate(180.0)),
    WithJsonSchema({"type": ["number", "string"], "description": "degrees, -180..180"}),
]


class LocationObject(StrictModel):
    latitude: Latitude
    longitude: Longitude
    name: str | None = None
    address: str | None = None


class ReactionObject(StrictModel):
    message_id: NonEmptyStr
    # "" removes an earlier reaction (PYWA remove_reaction, docs/meta/messages.md#reactions), so no
    # min length.
    emoji: str


_BIRTHDAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _check_birthday(value: str) -> str:
    try:
        if not _BIRTHDAY.match(value):
            raise ValueError
        dt.date.fromisoformat(value)
    except ValueError:
        raise PydanticCustomError("wacloud_birthday", "must be a date in YYYY-MM-DD form") from None
    return value


class ContactName(StrictModel):
    formatted_name: NonEmptyStr
    first_name: str | None = None
    last_name: str | None = None
    middle_name: str | None = None
    suffix: str | None = None
    prefix: str | None = None


class ContactPhone(StrictModel):
    phone: str | None = None
    type: str | None = None
    wa_id: str | None = None


class ContactEmail(StrictModel):
    email: str | None = None
    type: str | None = None


class ContactAddress(StrictModel):
    street: str | None = None
    city: str | None = None
    state: str | None = None
    zip: str | None = None
    country: str | None = None
    country_code: str | None = None
    type: str | None = None


class ContactOrg(StrictModel):
    company: str | None = None
    department: str | None = None
    title: str | None = None


class ContactUrl(StrictModel):
    url: str | None = None
    type: str | None = None


class ContactCard(StrictModel):
    # One card of a ``contacts`` message (not the webhook's sender of a message,
    # models.webhook.common.WebhookContact). No docstring: it would become the card's
    # description in schema/submission.schema.json, which publishes it under Meta's
    # name, Contact (the title here; the $defs key in submission._PublishedNames).
    model_config = ConfigDict(title="Contact")

    name: ContactName
    phones: list[ContactPhone] | None = None
    emails: list[ContactEmail] | None = None
    addresses: list[ContactAddress] | None = None
    org: ContactOrg | None = None
    urls: list[ContactUrl] | None = None
    birthday: Annotated[str, AfterValidator(_check_birthday)] | None = None


ContactList = Annotated[
    list[ContactCard],
    Items(min=1, max=CONTACTS_MAX, noun="contacts", why="OAS limit; Meta says 257"),
]

__all__ = [
    "CONTACTS_MAX",
    "TEXT_BODY_MAX",
    "ContactAddress",
    "ContactCard",
    "ContactEmail",
    "ContactList",
    "ContactName",
    "ContactOrg",
    "ContactPhone",
    "ContactUrl",
    "LocationObject",
    "ReactionObject",
    "TextObject",
]
