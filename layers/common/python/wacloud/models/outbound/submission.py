"""The JSON document users put on the outbound SQS queue.

It is flattened like Meta's request body (``type`` plus a field named after it)
so that a Meta payload with our fields added is a valid submission and users can
copy examples straight from Meta's docs. Our fields (``idempotency_key``,
``send_at``, ``priority``...) sit beside Meta's and are stripped by
``graph_payload``.

Run ``python -m wacloud.models.outbound.submission [PATH]`` to (re)write the JSON schema.
"""

import functools
import hashlib
import json
import re
import sys
from datetime import UTC
from typing import Annotated, Any, Literal, Self

from pydantic import (
    AwareDatetime,
    Field,
    PrivateAttr,
    StrictInt,
    ValidationError,
    create_model,
    field_validator,
    model_validator,
)
from pydantic.json_schema import GenerateJsonSchema
from pydantic_core import PydanticCustomError

from wacloud.errors import InputError
from wacloud.models.outbound.basic import ContactList
from wacloud.models.outbound.common import Chars, Items, StrictModel, describe_validation_error
from wacloud.models.outbound.interactive import Interactive
from wacloud.models.outbound.message import (
    MESSAGE_TYPES,
    AudioObject,
    DocumentObject,
    ImageObject,
    LocationObject,
    OutboundMessage,
    ReactionObject,
    StickerObject,
    TemplateObject,
    TextObject,
    VideoObject,
    has_unresolved_media,
    parse_outbound,
)

# docs/meta/messages.md#send: biz_opaque_callback_data max 512 (PYWA; NOT CONFIRMED on Meta's
# messages page, taken as the binding limit because it is the only figure and the stricter reading).
BIZ_OPAQUE_MAX = 512
CALLBACK_PREFIX_RESERVED = 40
"""Characters the sender prepends (its own tracking token) to the user's callback data."""
USER_CALLBACK_MAX = BIZ_OPAQUE_MAX - CALLBACK_PREFIX_RESERVED

# E.164 caps a number at 15 digits; 7 is our floor for "looks like a phone number".
TO_MIN_DIGITS = 7
TO_MAX_DIGITS = 15
PRIORITY_MIN, PRIORITY_MAX, PRIORITY_DEFAULT = 0, 9, 5

# Our own fields have no Meta limit; these caps keep a message record (which stores the
# submission and these fields) far below DynamoDB's 400 KB item limit, so an oversized
# submission is rejected once with a reason instead of failing every write until the
# DLQ. SUBMISSION_MAX_BYTES bounds everything else (Meta's content fields included).
OURS = "wacloud limit"
IDEMPOTENCY_KEY_MAX = 256
TAGS_MAX = 50
TAG_MAX_CHARS = 128
CAMPAIGN_ID_MAX = 64
VARIANT_MAX = 64
CONTEXT_MESSAGE_ID_MAX = 256
SUBMISSION_MAX_BYTES = 128 * 1024
"""UTF-8 size of a whole submission (the sender checks it before parsing)."""

_NO_CONTROL_CHARS = r"^[^\x00-\x1f\x7f]+$"
IdempotencyKey = Annotated[
    str,
    Chars(min=1, max=IDEMPOTENCY_KEY_MAX, why=OURS),
    Field(
        pattern=_NO_CONTROL_CHARS,
        description="No control characters",
        json_schema_extra={"pattern": _NO_CONTROL_CHARS},
    ),
]
Tag = Annotated[str, Chars(min=1, max=TAG_MAX_CHARS, why=OURS)]

# Meta accepts "+", "-", "(", ")" and spaces around the digits (docs/meta/messages.md#send).
_TO_ALLOWED = re.compile(r"^\+?[0-9()\- ]+$")


def normalise_to(value: str) -> tuple[str, str]:
    """Return ``(graph_to, wa_id)`` for a user-supplied recipient number.

    ``wa_id`` is the digits only; it keys our per-recipient state. ``graph_to`` keeps a
    leading ``+`` when the user wrote one: without it Meta prepends the *business*
    number's country code (docs/meta/messages.md#send), so ``+15551234567`` and ``15551234567`` can
    reach different people and must not be conflated.
    """
    text = value.strip()
    if not _TO_ALLOWED.match(text):
        raise PydanticCustomError(
            "wacloud_to",
            "must be a phone number: digits with optional leading '+' and '-', '(', ')' or spaces",
        )
    digits = re.sub(r"[^0-9]", "", text)
    if not TO_MIN_DIGITS <= len(digits) <= TO_MAX_DIGITS:
        raise PydanticCustomError(
            "wacloud_to",
            "must have {lo}-{hi} digits (E.164 allows at most {hi}), got {n}",
            {"lo": TO_MIN_DIGITS, "hi": TO_MAX_DIGITS, "n": len(digits)},
        )
    return (f"+{digits}" if text.startswith("+") else digits), digits


def _check_to(value: str) -> str:
    normalise_to(value)
    return value


def _check_callback(value: str) -> str:
    if len(value) > USER_CALLBACK_MAX:
        raise PydanticCustomError(
            "wacloud_limit",
            "at most {m} characters, got {n}: Meta allows {meta} and the sender reserves "
            "{res} for its own tracking prefix",
            {
                "m": USER_CALLBACK_MAX,
                "n": len(value),
                "meta": BIZ_OPAQUE_MAX,
                "res": CALLBACK_PREFIX_RESERVED,
            },
        )
    return value


class Context(StrictModel):
    """Contextual reply: the wamid being replied to."""

    message_id: Annotated[str, Chars(min=1, max=CONTEXT_MESSAGE_ID_MAX, why=OURS)]


class UnresolvedMediaError(InputError, ValueError):
    """``graph_payload`` was asked for a message whose ``s3_key`` was never uploaded."""


class Submission(StrictModel):
    """One queued send. ``message`` is parsed from the flattened type fields."""

    # Meta's envelope fields are accepted so a Meta payload validates as-is; only the
    # 1:1 form is supported (no Groups API).
    messaging_product: Literal["whatsapp"] | None = None
    recipient_type: Literal["individual"] | None = None

    phone_number_id: Annotated[str, Field(pattern=r"^[0-9]+$")]
    to: Annotated[
        str, Chars(min=1), Field(description="Recipient phone number, E.164 with optional +")
    ]
    type: Literal[
        "text",
        "image",
        "audio",
        "video",
        "document",
        "sticker",
        "location",
        "contacts",
        "reaction",
        "template",
        "interactive",
    ]
    text: TextObject | None = None
    image: ImageObject | None = None
    audio: AudioObject | None = None
    video: VideoObject | None = None
    document: DocumentObject | None = None
    sticker: StickerObject | None = None
    location: LocationObject | None = None
    contacts: ContactList | None = None
    reaction: ReactionObject | None = None
    template: TemplateObject | None = None
    interactive: Interactive | None = None

    idempotency_key: IdempotencyKey | None = None
    context: Context | None = None
    biz_opaque_callback_data: Annotated[str, Field(max_length=USER_CALLBACK_MAX)] | None = None
    send_at: AwareDatetime | None = None
    priority: Annotated[StrictInt, Field(ge=PRIORITY_MIN, le=PRIORITY_MAX)] = PRIORITY_DEFAULT
    campaign_id: Annotated[str, Chars(min=1, max=CAMPAIGN_ID_MAX, why=OURS)] | None = None
    variant: Annotated[str, Chars(min=1, max=VARIANT_MAX, why=OURS)] | None = None
    tags: Annotated[list[Tag], Items(max=TAGS_MAX, noun="tags", why=OURS)] | None = None
    submitted_at: AwareDatetime | None = None

    _message: OutboundMessage | None = PrivateAttr(default=None)

    @classmethod
    def model_validate(cls, obj: Any, **kwargs: Any) -> Self:
        """Validate with the variant for ``obj["type"]`` (see ``_variant_for``).

        The result is a ``Submission`` (a subclass instance) with the same fields,
        values and errors; only the validator built for it is smaller.
        """
        if cls is Submission and isinstance(obj, dict):
            variant = _variant_for(obj.get("type"))
            if variant is not None:
                return variant.model_validate(obj, **kwargs)  # type: ignore[return-value]
        return super().model_validate(obj, **kwargs)

    @field_validator("to")
    @classmethod
    def _valid_to(cls, value: str) -> str:
        return _check_to(value)

    @field_validator("biz_opaque_callback_data", mode="before")
    @classmethod
    def _valid_callback(cls, value: Any) -> Any:
        # Runs before the max_length constraint so the error explains the reservation.
        return _check_callback(value) if isinstance(value, str) else value

    @model_validator(mode="after")
    def _one_content(self) -> Self:
        missing = getattr(self, self.type) is None
        extra = [t for t in MESSAGE_TYPES if t != self.type and getattr(self, t) is not None]
        if missing:
            raise PydanticCustomError(
                "wacloud_content", "required when type is '{t}'", {"t": self.type, "at": self.type}
            )
        if extra:
            raise PydanticCustomError(
                "wacloud_content",
                "not allowed when type is '{t}' (one content field per submission)",
                {"t": self.type, "at": ", ".join(extra)},
            )
        try:
            self._message = parse_outbound({"type": self.type, self.type: getattr(self, self.type)})
        except ValidationError as exc:  # message-level rules (e.g. one s3_key per message)
            raise PydanticCustomError(
                "wacloud_message", "{reason}", {"reason": describe_validation_error(exc)}
            ) from None
        return self

    # ------------------------------------------------------------------ accessors

    @property
    def message(self) -> OutboundMessage:
        assert self._message is not None  # set by the model validator
        return self._message

    @property
    def wa_id(self) -> str:
        """Digits-only recipient, the key for per-recipient state."""
        return normalise_to(self.to)[1]

    @property
    def graph_to(self) -> str:
        return normalise_to(self.to)[0]

    def graph_payload(
        self,
        biz_opaque_callback_data: str | None = None,
        *,
        message: OutboundMessage | None = None,
    ) -> dict[str, Any]:
        """The full ``POST /{phone-number-id}/messages`` JSON body.

        ``biz_opaque_callback_data`` is the final value (the sender's prefix plus the
        user's value), which is why it is a parameter rather than read from ``self``.
        ``message`` overrides ``self.message``, e.g. after ``with_media_id``.
        """
        msg = message if message is not None else self.message
        if has_unresolved_media(msg):
            raise UnresolvedMediaError(
                "message still references an s3_key; upload it and apply with_media_id first"
            )
        if biz_opaque_callback_data is not None and len(biz_opaque_callback_data) > BIZ_OPAQUE_MAX:
            raise ValueError(
                f"biz_opaque_callback_data: at most {BIZ_OPAQUE_MAX} characters (Meta limit), "
                f"got {len(biz_opaque_callback_data)}"
            )
        body: dict[str, Any] = {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": self.graph_to,
        }
        body.update(msg.model_dump(mode="json", by_alias=True, exclude_none=True))
        if self.context is not None:
            body["context"] = self.context.model_dump(mode="json")
        if biz_opaque_callback_data is not None:
            body["biz_opaque_callback_data"] = biz_opaque_callback_data
        return body

    def effective_idempotency_key(self) -> str:
        """The user's key, else a hash of what makes two submissions "the same send".

        Campaign, priority and tags are bookkeeping and deliberately left out, so a
        resubmission that only changed those still dedupes. ``send_at`` is compared in
        UTC so two spellings of one instant match.
        """
        if self.idempotency_key is not None:
            return self.idempotency_key
        material = {
            "phone_number_id": self.phone_number_id,
            "to": self.graph_to,
            "message": self.message.model_dump(mode="json", by_alias=True, exclude_none=True),
            "context": self.context.model_dump(mode="json") if self.context else None,
            "send_at": self.send_at.astimezone(UTC).isoformat() if self.send_at else None,
        }
        canonical = json.dumps(material, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@functools.cache
def _variant_for(message_type: object) -> type[Submission] | None:
    """``Submission`` with only ``message_type``'s content field typed; the others are
    ``Any`` (still rejected by ``_one_content`` when present).

    Why: building the validator of the full model builds every message type's models
    (~150 ms); a cold Sender that sends text should not pay for templates and
    interactive messages. Each variant is built on its first use (``defer_build``).
    """
    if message_type not in MESSAGE_TYPES:
        return None
    assert isinstance(message_type, str)
    others: dict[str, Any] = {t: (Any, None) for t in MESSAGE_TYPES if t != message_type}
    return create_model(
        f"{message_type.title()}Submission", __base__=Submission, __module__=__name__, **others
    )


def _type_requires_content() -> list[dict[str, Any]]:
    return [
        {
            "if": {"properties": {"type": {"const": t}}, "required": ["type"]},
            "then": {"required": [t]},
        }
        for t in MESSAGE_TYPES
    ]


class _PublishedNames(GenerateJsonSchema):
    """Names a definition of the published schema after Meta's object where our class
    name differs (``ContactCard`` is Meta's ``Contact``), so clients' generated types
    keep their names whatever the classes are called here."""

    PUBLISHED = {"ContactCard": "Contact"}

    def normalize_name(self, name: str) -> str:
        return super().normalize_name(self.PUBLISHED.get(name, name))


def submission_json_schema() -> dict[str, Any]:
    """JSON Schema (2020-12) of a submission, checked in at ``schema/submission.schema.json``."""
    schema: dict[str, Any] = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://github.com/wacloud/wacloud/schema/submission.schema.json",
        **Submission.model_json_schema(mode="validation", schema_generator=_PublishedNames),
    }
    schema["allOf"] = _type_requires_content()
    return schema


def schema_text() -> str:
    """The exact file content, so the drift test and the writer cannot disagree."""
    return json.dumps(submission_json_schema(), indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args:
        with open(args[0], "w", encoding="utf-8") as fh:
            fh.write(schema_text())
    else:
        sys.stdout.write(schema_text())
    return 0


__all__ = [
    "BIZ_OPAQUE_MAX",
    "CALLBACK_PREFIX_RESERVED",
    "IDEMPOTENCY_KEY_MAX",
    "SUBMISSION_MAX_BYTES",
    "TAGS_MAX",
    "TAG_MAX_CHARS",
    "USER_CALLBACK_MAX",
    "Context",
    "Submission",
    "UnresolvedMediaError",
    "main",
    "normalise_to",
    "schema_text",
    "submission_json_schema",
]

if __name__ == "__main__":
    raise SystemExit(main())
