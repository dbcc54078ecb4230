"""Submission documents: flattening, limits, payload building, idempotency, schema drift."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from wacloud.models.outbound.message import describe_validation_error, media_s3_key, with_media_id
from wacloud.models.outbound.submission import (
    CALLBACK_PREFIX_RESERVED,
    Submission,
    UnresolvedMediaError,
    main,
    normalise_to,
    schema_text,
    submission_json_schema,
)

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "schema" / "submission.schema.json"

Doc = dict[str, Any]


def doc(**overrides: Any) -> Doc:
    base: Doc = {
        "phone_number_id": "100000000000001",
        "to": "+15551234567",
        "type": "text",
        "text": {"body": "hi"},
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def rejected(d: Doc) -> str:
    with pytest.raises(ValidationError) as info:
        Submission.model_validate(d)
    return describe_validation_error(info.value)


def test_full_example_document() -> None:
    sub = Submission.model_validate(
        doc(
            idempotency_key="k1",
            context={"message_id": "wamid.optional"},
            biz_opaque_callback_data="campaign-7",
            send_at="2026-11-22T10:00:00Z",
            priority=5,
            campaign_id="c",
            variant="a",
            tags=["x"],
            submitted_at="2026-11-22T09:00:00+00:00",
        )
    )
    assert sub.message.type == "text"
    assert sub.wa_id == "15551234567"
    assert sub.effective_idempotency_key() == "k1"
    assert sub.graph_payload("wc1.abc|campaign-7") == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "+15551234567",
        "type": "text",
        "text": {"body": "hi", "preview_url": False},
        "context": {"message_id": "wamid.optional"},
        "biz_opaque_callback_data": "wc1.abc|campaign-7",
    }


def test_meta_payload_is_a_valid_submission() -> None:
    meta = {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "+16505551234",
        "type": "interactive",
        "interactive": {
            "type": "button",
            "body": {"text": "Pick"},
            "action": {"buttons": [{"type": "reply", "reply": {"id": "a", "title": "A"}}]},
        },
    }
    sub = Submission.model_validate({"phone_number_id": "1", **meta})
    payload = sub.graph_payload(None)
    assert payload == meta


def test_graph_payload_without_callback_or_context() -> None:
    assert Submission.model_validate(doc()).graph_payload(None) == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "+15551234567",
        "type": "text",
        "text": {"body": "hi", "preview_url": False},
    }


def test_graph_payload_rejects_callback_over_meta_limit() -> None:
    with pytest.raises(ValueError, match="at most 512"):
        Submission.model_validate(doc()).graph_payload("x" * 513)


def test_s3_media_must_be_resolved_before_payload() -> None:
    sub = Submission.model_validate(
        doc(type="image", text=None, image={"s3_key": "outbound/u/a.png", "caption": "c"})
    )
    with pytest.raises(UnresolvedMediaError):
        sub.graph_payload(None)
    key = media_s3_key(sub.message)
    assert key == "outbound/u/a.png"
    payload = sub.graph_payload(None, message=with_media_id(sub.message, "777"))
    assert payload["image"] == {"id": "777", "caption": "c"}


# ------------------------------------------------------------------------- limits

LIMITS: list[tuple[str, Doc, Doc, str]] = [
    (
        "callback <= 512-40",
        doc(biz_opaque_callback_data="x" * (512 - CALLBACK_PREFIX_RESERVED)),
        doc(biz_opaque_callback_data="x" * (513 - CALLBACK_PREFIX_RESERVED)),
        "biz_opaque_callback_data: at most 472 characters, got 473: Meta allows 512 and the "
        "sender reserves 40",
    ),
    ("priority max 9", doc(priority=9), doc(priority=10), "priority"),
    ("priority min 0", doc(priority=0), doc(priority=-1), "priority"),
    ("priority integer", doc(priority=3), doc(priority="5"), "priority"),
    (
        "send_at aware",
        doc(send_at="2026-11-22T10:00:00+01:00"),
        doc(send_at="2026-11-22T10:00:00"),
        "send_at: must include a timezone",
    ),
    (
        "to 15 digits",
        doc(to="+123456789012345"),
        doc(to="+1234567890123456"),
        "to: must have 7-15 digits (E.164 allows at most 15), got 16",
    ),
    ("to 7 digits", doc(to="1234567"), doc(to="123456"), "got 6"),
    (
        "to punctuation like Meta",
        doc(to="+1 (555) 123-4567"),
        doc(to="+1.555.123.4567"),
        "to: must be a phone number",
    ),
    (
        "to plus only leading",
        doc(to="+15551234567"),
        doc(to="1555+1234567"),
        "to: must be a phone number",
    ),
    ("content for type", doc(), doc(text=None), "text: required when type is 'text'"),
    ("only one content", doc(), doc(image={"id": "1"}), "image: not allowed when type is 'text'"),
    (
        "phone_number_id digits",
        doc(phone_number_id="123"),
        doc(phone_number_id="abc"),
        "phone_number_id",
    ),
    ("unknown field", doc(), doc(idempotency_kye="x"), "idempotency_kye: unknown field"),
    (
        "messaging_product",
        doc(messaging_product="whatsapp"),
        doc(messaging_product="sms"),
        "messaging_product",
    ),
    (
        "individual only",
        doc(recipient_type="individual"),
        doc(recipient_type="group"),
        "recipient_type",
    ),
    (
        "nested message errors are flattened",
        doc(text={"body": "x" * 4096}),
        doc(text={"body": "x" * 4097}),
        "text.body: at most 4096 characters",
    ),
    (
        "nested interactive path",
        doc(
            type="interactive",
            text=None,
            interactive={
                "type": "list",
                "body": {"text": "b"},
                "action": {
                    "button": "B",
                    "sections": [{"title": "S", "rows": [{"id": "1", "title": "t"}]}],
                },
            },
        ),
        doc(
            type="interactive",
            text=None,
            interactive={
                "type": "list",
                "body": {"text": "b"},
                "action": {
                    "button": "B",
                    "sections": [{"title": "S", "rows": [{"id": "1", "title": "t" * 25}]}],
                },
            },
        ),
        "interactive.action.sections[0].rows[0].title: at most 24 characters",
    ),
]


@pytest.mark.parametrize(
    ("ok", "bad", "words"), [r[1:] for r in LIMITS], ids=[r[0] for r in LIMITS]
)
def test_submission_limits(ok: Doc, bad: Doc, words: str) -> None:
    Submission.model_validate(ok)
    assert words in rejected(bad)


def test_priority_default() -> None:
    assert Submission.model_validate(doc()).priority == 5


@pytest.mark.parametrize(
    ("raw", "graph_to", "wa_id"),
    [
        ("+1 (555) 123-4567", "+15551234567", "15551234567"),
        ("15551234567", "15551234567", "15551234567"),
        (" +44 20 7946 0958 ", "+442079460958", "442079460958"),
    ],
)
def test_normalise_to(raw: str, graph_to: str, wa_id: str) -> None:
    assert normalise_to(raw) == (graph_to, wa_id)


# -------------------------------------------------------------------- idempotency


def test_idempotency_key_is_stable_and_ignores_bookkeeping() -> None:
    a = Submission.model_validate(
        doc(send_at="2026-11-22T10:00:00Z", campaign_id="c1", priority=1, tags=["a"])
    )
    b = Submission.model_validate(
        doc(to="+1 (555) 123-4567", send_at="2026-11-22T11:00:00+01:00", campaign_id="c2")
    )
    assert a.effective_idempotency_key() == b.effective_idempotency_key()
    assert len(a.effective_idempotency_key()) == 64
    # Pinned so a change to the canonical form (which would break dedupe of queued
    # messages across a deploy) is a deliberate decision.
    assert a.effective_idempotency_key() == (
        "f3a421ea29ce24539dc3804592f776efca9aafef735d6c7c6185286fcb0dbb7b"
    )


def test_explicit_idempotency_key_wins() -> None:
    assert Submission.model_validate(doc(idempotency_key="mine")).effective_idempotency_key() == (
        "mine"
    )


@pytest.mark.parametrize(
    "change",
    [
        {"text": {"body": "hi!"}},
        {"to": "+15551234568"},
        {"to": "15551234567"},  # no "+": Meta prepends the business country code
        {"phone_number_id": "100000000000002"},
        {"context": {"message_id": "wamid.X"}},
        {"send_at": "2026-11-22T10:00:01Z"},
        {"text": {"body": "hi", "preview_url": True}},
    ],
)
def test_idempotency_key_changes_with_content(change: Doc) -> None:
    base = Submission.model_validate(doc(send_at="2026-11-22T10:00:00Z"))
    other = Submission.model_validate(doc(**{"send_at": "2026-11-22T10:00:00Z", **change}))
    assert base.effective_idempotency_key() != other.effective_idempotency_key()


# ------------------------------------------------------------------------- schema


def test_checked_in_schema_is_up_to_date() -> None:
    assert SCHEMA_FILE.read_text(encoding="utf-8") == schema_text(), (
        "schema/submission.schema.json is stale: run "
        "`PYTHONPATH=layers/common/python python -m wacloud.models.outbound.submission "
        "schema/submission.schema.json`"
    )
    assert json.loads(SCHEMA_FILE.read_text(encoding="utf-8")) == submission_json_schema()


def test_schema_carries_limits_and_type_coupling() -> None:
    schema = submission_json_schema()
    props = schema["properties"]
    assert props["biz_opaque_callback_data"]["anyOf"][0]["maxLength"] == 472
    assert props["priority"]["maximum"] == 9
    assert schema["additionalProperties"] is False
    assert {
        "if": {"properties": {"type": {"const": "image"}}, "required": ["type"]},
        "then": {"required": ["image"]},
    } in schema["allOf"]
    assert schema["$defs"]["TextObject"]["properties"]["body"]["maxLength"] == 4096


def test_main_writes_schema(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "s.json"
    assert main([str(target)]) == 0
    assert target.read_text(encoding="utf-8") == schema_text()
    assert main([]) == 0
    assert capsys.readouterr().out == schema_text()


def test_submission_survives_reserialisation() -> None:
    """The queue processor may re-emit a parsed submission; it must stay valid and equal."""
    sub = Submission.model_validate(
        doc(send_at="2026-11-22T10:00:00Z", context={"message_id": "wamid.A"}, tags=["t"])
    )
    again = Submission.model_validate(sub.model_dump(mode="json", exclude_none=True))
    assert again.effective_idempotency_key() == sub.effective_idempotency_key()
    assert again.graph_payload(None) == sub.graph_payload(None)


def test_a_text_submission_builds_no_template_or_interactive_models() -> None:
    """Cold start: only the message types in use get their validators built (StrictModel's
    defer_build and Submission's per-type variants). Checked in a fresh interpreter,
    since other tests here build every model."""
    code = (
        "from wacloud.models.outbound.submission import Submission\n"
        "from wacloud.models.outbound.message import (\n"
        "    InteractiveMessage, TemplateMessage, TextMessage)\n"
        "s = Submission.model_validate({'phone_number_id': '1', 'to': '+14445556666',"
        " 'type': 'text', 'text': {'body': 'hi'}})\n"
        "assert isinstance(s, Submission) and s.message.text.body == 'hi'\n"
        "print(TextMessage.__pydantic_complete__, TemplateMessage.__pydantic_complete__,"
        " InteractiveMessage.__pydantic_complete__, Submission.__pydantic_complete__)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(LAYER_PATH)},
    ).stdout.split()
    assert out == ["True", "False", "False", "False"]


LAYER_PATH = Path(__file__).resolve().parents[2] / "layers" / "common" / "python"
