"""text, location, contacts, reaction (docs/meta/messages.md#reactions,
docs/meta/limits.md#text-and-media, docs/meta/limits.md#contacts-and-location)."""

from __future__ import annotations

import re
from typing import Any

from ..errors import bad_param, invalid
from .common import array, as_obj, boolean, no_unknown, number, req, req_str, string

TEXT_BODY_MAX = 4096  # docs/meta/limits.md#text-and-media
# CONFLICT docs/meta/limits.md#contacts-and-location: OAS maxItems 5 vs "up to 257" (PYWA quoting
# Meta). The stricter rule is enforced, so anything this emulator accepts is accepted by Meta.
# (docs/meta/conflicts.md calls 5 an OAS quirk.)
CONTACTS_MAX = 5
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def validate_text(obj: Any) -> None:
    text = as_obj(obj, "text")
    no_unknown(text, {"body", "preview_url"}, "text")
    req_str(text, "body", "text", TEXT_BODY_MAX)
    boolean(text, "preview_url", "text")


def validate_location(obj: Any) -> None:
    loc = as_obj(obj, "location")
    no_unknown(loc, {"latitude", "longitude", "name", "address"}, "location")
    lat = number(req(loc, "latitude", "location"), "location['latitude']")
    lon = number(req(loc, "longitude", "location"), "location['longitude']")
    # Geographic ranges, not a Meta figure: a value outside them cannot be a location.
    if not -90 <= lat <= 90:
        raise invalid("location['latitude']", "must be between -90 and 90.")
    if not -180 <= lon <= 180:
        raise invalid("location['longitude']", "must be between -180 and 180.")
    string(loc, "name", "location")
    string(loc, "address", "location")


def validate_contacts(obj: Any) -> None:
    if not isinstance(obj, list):
        raise bad_param("contacts", "must be an array.")
    items = array(
        {"contacts": obj}, "contacts", "", required=True, min_items=1, max_items=CONTACTS_MAX
    )
    for i, c in enumerate(items):
        p = f"contacts[{i}]"
        contact = as_obj(c, p)
        no_unknown(
            contact,
            {"addresses", "birthday", "emails", "name", "org", "phones", "urls"},
            p,
        )
        name = as_obj(req(contact, "name", p), f"{p}['name']")
        req_str(name, "formatted_name", f"{p}['name']")
        bday = string(contact, "birthday", p)
        if bday is not None and not _DATE.match(bday):
            raise invalid(f"{p}['birthday']", "must be in YYYY-MM-DD format.")
        for j, ph in enumerate(array(contact, "phones", p)):
            as_obj(ph, f"{p}['phones'][{j}]")


def validate_reaction(obj: Any) -> str:
    """Returns the wamid reacted to. ``emoji: ""`` removes a reaction
    (docs/meta/messages.md#reactions)."""
    r = as_obj(obj, "reaction")
    no_unknown(r, {"message_id", "emoji"}, "reaction")
    mid = req_str(r, "message_id", "reaction")
    string(r, "emoji", "reaction", required=True)
    return mid
