"""Webhook models against the payload corpus (tests/payloads, shapes from docs/meta/webhooks.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import TypeAdapter

from wacloud.models.webhook.parse import (
    AccountUpdate,
    BusinessCapabilityUpdate,
    CallEvent,
    ErrorUpdate,
    FieldUpdate,
    FlowsUpdate,
    InboundMessage,
    InteractiveType,
    MessageType,
    MessageUpdate,
    PhoneNumberNameUpdate,
    PhoneNumberQualityUpdate,
    StatusUpdate,
    StatusValue,
    TemplateCategoryUpdate,
    TemplateEvent,
    TemplateQualityUpdate,
    TemplateStatusUpdate,
    Update,
    UserPreference,
    WebhookFormatError,
    customer_service_window_expires_at,
    free_entry_point,
    iter_updates,
    opens_customer_service_window,
    parse_webhook,
)

CORPUS = Path(__file__).resolve().parents[1] / "payloads"
WABA = "200000000000001"
PNID = "100000000000001"
DISPLAY = "15550000001"
USER = "15551234567"
USER2 = "15557654321"

AnyUpdate = MessageUpdate | StatusUpdate | FieldUpdate | ErrorUpdate

M, S, F, E = "message", "status", "field", "error"

#: Expected update kinds, in order, for every corpus file. A new file without an
#: entry here fails ``test_every_corpus_file_has_an_expectation``.
EXPECTED_KINDS: dict[str, list[str]] = {
    "batch_mixed": [M, M, S, S, S, F, F, M],
    "duplicate_message": [M, M],
    "field_account_update_restriction": [F],
    "field_account_update_volume_tier": [F],
    "field_business_capability_update": [F],
    "field_calls_connect": [F],
    "field_calls_terminate_with_errors": [F, E],
    "field_flows": [F],
    "field_message_template_quality_update": [F],
    "field_message_template_status_unknown_event": [F],
    "field_message_template_status_update": [F],
    "field_message_template_status_update_rejected": [F],
    "field_phone_number_name_update": [F],
    "field_phone_number_quality_update": [F],
    "field_template_category_update": [F],
    "field_unknown": [F],
    "field_user_preferences_multi": [F, F],
    "field_user_preferences_stop": [F],
    "message_audio_voice": [M],
    "message_button": [M],
    "message_contacts": [M],
    "message_document": [M],
    "message_edit": [M],
    "message_forwarded": [M, M],
    "message_image": [M],
    "message_image_with_url": [M],
    "message_interactive_button_reply": [M],
    "message_interactive_call_permission_reply": [M],
    "message_interactive_list_reply": [M],
    "message_interactive_nfm_reply": [M],
    "message_interactive_unknown_type": [M],
    "message_location": [M],
    "message_location_current": [M],
    "message_missing_contacts": [M],
    "message_missing_user_id": [M],
    "message_order": [M],
    "message_product_inquiry": [M],
    "message_reaction": [M],
    "message_reaction_removed": [M],
    "message_referral_ad": [M],
    "message_request_welcome": [M],
    "message_revoke": [M],
    "message_sticker_animated": [M],
    "message_system_customer_identity_changed": [M],
    "message_system_user_changed_number": [M],
    "message_text": [M],
    "message_unknown_type": [M],
    "message_unsupported": [M],
    "message_video": [M],
    "message_with_user_id": [M],
    "status_billable_marketing": [S],
    "status_call_ringing": [S],
    "status_delivered": [S],
    "status_failed": [S],
    "status_free_entry_point": [S],
    "status_played": [S],
    "status_read": [S],
    "status_sent": [S],
    "status_sent_cbp": [S],
    "status_unknown": [S],
    "statuses_out_of_order": [S, S, S],
    "value_errors": [E],
    "value_errors_with_message": [M, E],
}

#: Files whose (only or all) updates must be flagged unknown.
UNKNOWN_FILES = {
    "field_unknown",
    "field_message_template_status_unknown_event",
    "message_interactive_unknown_type",
    "message_unknown_type",
    "status_unknown",
}

WABA_LEVEL_FIELDS = {
    "message_template_status_update",
    "message_template_quality_update",
    "template_category_update",
    "phone_number_quality_update",
    "phone_number_name_update",
    "account_update",
    "business_capability_update",
    "flows",
    "future_field",
}


def corpus_names() -> list[str]:
    return sorted(p.stem for p in CORPUS.glob("*.json"))


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((CORPUS / f"{name}.json").read_text())
    return data


def updates(name: str) -> list[AnyUpdate]:
    return list(iter_updates(parse_webhook((CORPUS / f"{name}.json").read_bytes())))


def only(name: str) -> AnyUpdate:
    (update,) = updates(name)
    return update


def only_message(name: str) -> MessageUpdate:
    update = only(name)
    assert isinstance(update, MessageUpdate)
    return update


def only_status(name: str) -> StatusUpdate:
    update = only(name)
    assert isinstance(update, StatusUpdate)
    return update


def only_field(name: str) -> FieldUpdate:
    update = only(name)
    assert isinstance(update, FieldUpdate)
    return update


# --- whole corpus ------------------------------------------------------------------


def test_corpus_is_not_empty() -> None:
    assert len(corpus_names()) >= 60


def test_every_corpus_file_has_an_expectation() -> None:
    assert set(corpus_names()) == set(EXPECTED_KINDS)


@pytest.mark.parametrize("name", corpus_names())
def test_corpus_file_yields_expected_kinds(name: str) -> None:
    assert [u.kind for u in updates(name)] == EXPECTED_KINDS[name]


@pytest.mark.parametrize("name", corpus_names())
def test_corpus_updates_have_tenant_time_and_key(name: str) -> None:
    for update in updates(name):
        assert update.waba_id.startswith("20000000000000")
        if isinstance(update, ErrorUpdate):
            assert update.occurred_at == 0  # no timestamp anywhere: documented fallback
        else:
            assert update.occurred_at > 1_700_000_000
        if isinstance(update, MessageUpdate):
            assert update.dedupe_key == f"msg:{update.message.id}"
            assert update.phone_number_id is not None
        elif isinstance(update, StatusUpdate):
            assert update.dedupe_key == f"status:{update.status.id}:{update.status.status}"
            assert update.phone_number_id == PNID
        else:
            assert update.dedupe_key.startswith(f"field:{update.field}:")
            assert len(update.dedupe_key.rsplit(":", 1)[1]) == 64
            if update.field in WABA_LEVEL_FIELDS:
                assert update.phone_number_id is None
            else:
                assert update.phone_number_id == PNID


@pytest.mark.parametrize("name", corpus_names())
def test_unknown_things_are_flagged_and_only_them(name: str) -> None:
    flags = [u.is_unknown for u in updates(name)]
    if name in UNKNOWN_FILES:
        assert all(flags)
    else:
        assert not any(flags)


@pytest.mark.parametrize("name", corpus_names())
def test_parse_accepts_bytes_str_and_dict_alike(name: str) -> None:
    raw = (CORPUS / f"{name}.json").read_text()
    keys = [[u.dedupe_key for u in iter_updates(parse_webhook(body))] for body in (raw, load(name))]
    assert keys[0] == keys[1] == [u.dedupe_key for u in updates(name)]


def test_update_union_round_trips_through_json() -> None:
    adapter: TypeAdapter[AnyUpdate] = TypeAdapter(Update)
    for name in ("message_text", "status_sent", "value_errors"):
        for update in updates(name):
            again = adapter.validate_json(adapter.dump_json(update, by_alias=True))
            assert again == update


# --- messages ----------------------------------------------------------------------


def test_text_message_with_contact_and_metadata() -> None:
    update = only_message("message_text")
    assert update.waba_id == WABA
    assert update.phone_number_id == PNID
    assert update.display_phone_number == DISPLAY
    assert update.contact is not None
    assert update.contact.name == "Sheena Nelson"
    assert update.contact.wa_id == USER
    assert update.contact.user_id is None
    message = update.message
    assert message.known_type is MessageType.TEXT
    assert message.from_ == USER
    assert message.text is not None
    assert message.text.body == "Hello, is my order on its way?"
    assert message.sent_at == update.occurred_at == 1_750_000_001


def test_image_caption_and_optional_url() -> None:
    image = only_message("message_image").message.image
    assert image is not None
    assert (image.caption, image.mime_type, image.url) == ("Broken seal", "image/jpeg", None)
    with_url = only_message("message_image_with_url").message
    assert with_url.media is with_url.image
    assert with_url.image is not None
    assert with_url.image.url is not None
    assert with_url.image.url.startswith("https://lookaside.fbsbx.com/")


def test_audio_voice_flag() -> None:
    audio = only_message("message_audio_voice").message.audio
    assert audio is not None
    assert audio.voice is True
    assert audio.mime_type == "audio/ogg; codecs=opus"


def test_video_with_url_and_document_filename() -> None:
    video = only_message("message_video").message.video
    assert video is not None
    assert video.url is not None
    assert video.caption == "Unboxing"
    document = only_message("message_document").message.document
    assert document is not None
    assert document.filename == "invoice-2025-06.pdf"


def test_sticker_animated() -> None:
    sticker = only_message("message_sticker_animated").message.sticker
    assert sticker is not None
    assert sticker.animated is True
    assert sticker.mime_type == "image/webp"


def test_location_full_and_coordinates_only() -> None:
    location = only_message("message_location").message.location
    assert location is not None
    assert location.latitude == pytest.approx(37.483307)
    assert location.name == "Main office"
    current = only_message("message_location_current").message.location
    assert current is not None
    assert current.longitude == pytest.approx(-122.148981)
    assert current.name is None and current.address is None


def test_contacts_cards_kept() -> None:
    cards = only_message("message_contacts").message.contacts
    assert cards is not None
    assert cards[0]["name"]["formatted_name"] == "Jane Doe"
    assert cards[0]["phones"][0]["wa_id"] == USER2


def test_interactive_button_and_list_replies_with_context() -> None:
    button = only_message("message_interactive_button_reply").message
    assert button.interactive is not None
    assert button.interactive.known_type is InteractiveType.BUTTON_REPLY
    assert button.interactive.button_reply is not None
    assert button.interactive.button_reply.id == "confirm-yes"
    assert button.context is not None
    assert button.context.from_ == DISPLAY
    assert button.context.id is not None and button.context.id.startswith("wamid.")
    listed = only_message("message_interactive_list_reply").message
    assert listed.interactive is not None and listed.interactive.list_reply is not None
    assert listed.interactive.list_reply.description == "Tomorrow morning"


def test_nfm_reply_response_json_is_decoded() -> None:
    message = only_message("message_interactive_nfm_reply").message
    assert message.interactive is not None
    reply = message.interactive.nfm_reply
    assert reply is not None
    assert isinstance(reply.response_json, str)
    assert reply.response() == {"flow_token": "ft-123", "rating": "5", "comment": "Great"}
    assert (reply.body, reply.name) == ("Sent", "flow")


def test_nfm_reply_helper_edges() -> None:
    empty = InboundMessage.model_validate(
        {
            "id": "wamid.x",
            "type": "interactive",
            "interactive": {"type": "nfm_reply", "nfm_reply": {}},
        }
    )
    assert empty.interactive is not None and empty.interactive.nfm_reply is not None
    assert empty.interactive.nfm_reply.response() == {}
    listy = InboundMessage.model_validate(
        {
            "id": "wamid.y",
            "type": "interactive",
            "interactive": {"type": "nfm_reply", "nfm_reply": {"response_json": "[1]"}},
        }
    )
    assert listy.interactive is not None and listy.interactive.nfm_reply is not None
    with pytest.raises(ValueError, match="not a JSON object"):
        listy.interactive.nfm_reply.response()


def test_call_permission_reply() -> None:
    message = only_message("message_interactive_call_permission_reply").message
    assert message.interactive is not None
    reply = message.interactive.call_permission_reply
    assert reply is not None
    assert (reply.response, reply.response_source) == ("accept", "user_action")
    assert reply.expiration_timestamp == 1_750_000_000 + 604_800


def test_template_quick_reply_button() -> None:
    message = only_message("message_button").message
    assert message.button is not None
    assert (message.button.payload, message.button.text) == ("STOP_PROMOS", "Stop promotions")
    assert message.context is not None and message.context.id is not None


def test_reaction_and_its_removal() -> None:
    reaction = only_message("message_reaction").message.reaction
    assert reaction is not None
    assert reaction.emoji == "\U0001f44d" and not reaction.is_removal
    removed = only_message("message_reaction_removed").message.reaction
    assert removed is not None
    assert removed.emoji is None and removed.is_removal
    assert removed.message_id is not None


def test_order_items() -> None:
    order = only_message("message_order").message.order
    assert order is not None
    assert order.catalog_id == "1359874651345678"
    assert [(i.product_retailer_id, i.quantity) for i in order.product_items] == [
        ("sku-001", 2),
        ("sku-002", 1),
    ]
    assert order.product_items[0].item_price == pytest.approx(12.5)


def test_referral_from_ad_is_free_entry_point() -> None:
    message = only_message("message_referral_ad").message
    assert message.referral is not None
    assert message.referral.source_type == "ad"
    assert message.referral.ctwa_clid
    assert message.referral.welcome_message is not None
    assert message.text is not None
    assert free_entry_point(message)
    assert not free_entry_point(only_message("message_text").message)


def test_system_user_changed_number_without_contacts() -> None:
    update = only_message("message_system_user_changed_number")
    assert update.contact is None
    system = update.message.system
    assert system is not None
    assert (system.type, system.wa_id) == ("user_changed_number", USER2)
    assert system.known_type is not None


def test_system_customer_identity_changed() -> None:
    message = only_message("message_system_customer_identity_changed").message
    assert message.system is not None
    assert message.system.type == "customer_identity_changed"
    assert message.identity is not None
    assert message.identity.acknowledged is True
    assert message.identity.hash


def test_request_welcome_has_no_body() -> None:
    message = only_message("message_request_welcome").message
    assert message.known_type is MessageType.REQUEST_WELCOME
    assert message.text is None and message.media is None


def test_unsupported_message_carries_errors() -> None:
    message = only_message("message_unsupported").message
    assert message.is_unsupported
    assert not message.is_unknown_type
    assert message.errors is not None
    assert message.errors[0].code == 131051
    assert message.errors[0].details == "Message type is currently not supported."
    assert message.unsupported is not None and message.unsupported.type == "poll"


def test_revoke_and_edit_are_tolerated() -> None:
    revoke = only_message("message_revoke").message
    assert revoke.revoke is not None
    assert revoke.revoke.original_message_id
    edit = only_message("message_edit").message
    assert edit.edit is not None
    assert edit.edit.message == {
        "type": "text",
        "text": {"body": "Hello, is my order on its way now?"},
    }


def test_forwarded_flags() -> None:
    first, second = (
        u.message for u in updates("message_forwarded") if isinstance(u, MessageUpdate)
    )
    assert first.context is not None and first.context.forwarded is True
    assert second.context is not None and second.context.frequently_forwarded is True


def test_product_inquiry_referred_product() -> None:
    context = only_message("message_product_inquiry").message.context
    assert context is not None and context.referred_product is not None
    assert context.referred_product.product_retailer_id == "sku-001"


def test_unknown_message_type_is_kept_and_flagged() -> None:
    update = only_message("message_unknown_type")
    assert update.is_unknown
    assert update.message.type == "future_type"
    assert update.message.known_type is None
    extra = update.message.model_extra
    assert extra is not None
    assert extra["future_type"] == {"anything": 1}
    assert extra["future_key"] == "tolerated"


def test_unknown_interactive_subtype_is_flagged() -> None:
    update = only_message("message_interactive_unknown_type")
    assert update.is_unknown
    assert update.message.known_type is MessageType.INTERACTIVE
    assert update.message.interactive is not None
    assert update.message.interactive.known_type is None


def test_missing_contacts_does_not_drop_the_message() -> None:
    update = only_message("message_missing_contacts")
    assert update.contact is None
    assert update.message.text is not None


def test_contact_without_user_id_still_matches_by_wa_id() -> None:
    update = only_message("message_missing_user_id")
    assert update.message.from_user_id == "US.13491208655302741918"
    assert update.contact is not None
    assert update.contact.wa_id == USER
    assert update.contact.user_id is None


def test_contact_with_user_id() -> None:
    update = only_message("message_with_user_id")
    assert update.contact is not None
    assert update.contact.user_id == "US.13491208655302741918"
    assert update.contact.parent_user_id == "US.ENT.11815799212886844830"


# --- statuses ----------------------------------------------------------------------


def test_sent_status_conversation_pricing_and_callback_data() -> None:
    status = only_status("status_sent").status
    assert status.known_status is StatusValue.SENT
    assert status.recipient_id == USER
    assert status.biz_opaque_callback_data == "order-42"
    assert status.conversation is not None and status.conversation.origin is not None
    assert status.conversation.origin.type == "service"
    assert status.conversation.expiration_timestamp == "1750086400"
    assert status.pricing is not None
    assert (status.pricing.billable, status.pricing.pricing_model) == (False, "PMP")
    assert (status.pricing.type, status.pricing.category) == ("free_customer_service", "service")
    assert not status.is_free_entry_point


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("status_delivered", StatusValue.DELIVERED),
        ("status_read", StatusValue.READ),
        ("status_played", StatusValue.PLAYED),
        ("status_failed", StatusValue.FAILED),
    ],
)
def test_status_values(name: str, value: StatusValue) -> None:
    update = only_status(name)
    assert update.status.known_status is value


def test_failed_status_errors() -> None:
    status = only_status("status_failed").status
    assert status.errors is not None
    assert status.errors[0].code == 131047
    assert status.errors[0].details is not None


def test_cbp_pricing_and_billable_marketing() -> None:
    cbp = only_status("status_sent_cbp").status.pricing
    assert cbp is not None
    assert (cbp.pricing_model, cbp.billable, cbp.type) == ("CBP", True, None)
    regular = only_status("status_billable_marketing").status.pricing
    assert regular is not None
    assert (regular.type, regular.category, regular.billable) == ("regular", "marketing", True)


def test_free_entry_point_status() -> None:
    assert only_status("status_free_entry_point").status.is_free_entry_point


def test_unknown_status_is_kept_and_flagged() -> None:
    update = only_status("status_unknown")
    assert update.is_unknown
    assert update.status.status == "future_status"
    assert update.dedupe_key.endswith(":future_status")


def test_call_status() -> None:
    update = only_status("status_call_ringing")
    assert update.status.is_call
    assert update.status.id.startswith("wacid.")
    assert update.status.known_status is not None
    assert update.status.biz_opaque_callback_data == "call-ctx-7"


def test_out_of_order_statuses_all_yield_and_the_store_rank_picks_read() -> None:
    from wacloud.store.messages import RANK

    statuses = [u for u in updates("statuses_out_of_order") if isinstance(u, StatusUpdate)]
    assert [u.status.status for u in statuses] == ["read", "sent", "delivered"]
    assert len({u.dedupe_key for u in statuses}) == 3
    assert max((u.status.status for u in statuses), key=RANK.__getitem__) == "read"


# --- other fields ------------------------------------------------------------------


def test_template_status_update() -> None:
    update = only_field("field_message_template_status_update")
    assert update.phone_number_id is None
    assert update.time == update.occurred_at == 1_750_000_500
    value = update.value
    assert isinstance(value, TemplateStatusUpdate)
    assert value.known_event is TemplateEvent.APPROVED
    assert value.message_template_id == 1689556908129832
    assert value.reason is None


def test_template_rejected_with_info() -> None:
    value = only_field("field_message_template_status_update_rejected").value
    assert isinstance(value, TemplateStatusUpdate)
    assert value.reason == "PROMOTIONAL"
    assert value.rejection_info is not None
    assert value.rejection_info.recommendation


def test_template_unknown_event_is_kept_raw_and_flagged() -> None:
    update = only_field("field_message_template_status_unknown_event")
    assert isinstance(update.value, TemplateStatusUpdate)
    assert update.value.event == "FUTURE_EVENT"
    assert update.value.known_event is None
    assert update.is_unknown


@pytest.mark.parametrize(
    ("name", "model"),
    [
        ("field_message_template_quality_update", TemplateQualityUpdate),
        ("field_template_category_update", TemplateCategoryUpdate),
        ("field_phone_number_quality_update", PhoneNumberQualityUpdate),
        ("field_phone_number_name_update", PhoneNumberNameUpdate),
        ("field_account_update_restriction", AccountUpdate),
        ("field_account_update_volume_tier", AccountUpdate),
        ("field_business_capability_update", BusinessCapabilityUpdate),
        ("field_flows", FlowsUpdate),
    ],
)
def test_waba_level_fields_are_typed(name: str, model: type) -> None:
    update = only_field(name)
    assert isinstance(update.value, model)
    assert update.phone_number_id is None
    assert update.waba_id == WABA


def test_field_values_details() -> None:
    quality = only_field("field_phone_number_quality_update").value
    assert isinstance(quality, PhoneNumberQualityUpdate)
    assert (quality.event, quality.current_limit) == ("THROUGHPUT_UPGRADE", "TIER_UNLIMITED")
    restriction = only_field("field_account_update_restriction").value
    assert isinstance(restriction, AccountUpdate)
    assert restriction.restriction_info is not None
    assert len(restriction.restriction_info) == 2
    tier = only_field("field_account_update_volume_tier").value
    assert isinstance(tier, AccountUpdate) and tier.volume_tier_info is not None
    assert tier.volume_tier_info.pricing_category == "UTILITY"
    capability = only_field("field_business_capability_update").value
    assert isinstance(capability, BusinessCapabilityUpdate)
    assert capability.max_daily_conversation_per_phone == 2000
    category = only_field("field_template_category_update").value
    assert isinstance(category, TemplateCategoryUpdate)
    assert category.new_category == "MARKETING"


def test_unknown_field_kept_raw() -> None:
    update = only_field("field_unknown")
    assert update.field == "future_field"
    assert update.value == {"future_event": "SOMETHING_NEW", "items": [1, 2, 3]}
    assert update.is_unknown


def test_known_field_with_unfit_value_falls_back_to_dict() -> None:
    value = {"event": "APPROVED", "message_template_id": "not-a-number"}
    body: dict[str, Any] = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": WABA,
                "time": 1_750_000_500,
                "changes": [
                    {
                        "field": "message_template_status_update",
                        "value": value,
                    }
                ],
            }
        ],
    }
    (update,) = iter_updates(parse_webhook(body))
    assert isinstance(update, FieldUpdate)
    assert update.value == value
    assert update.is_unknown


def test_user_preferences_stop() -> None:
    update = only_field("field_user_preferences_stop")
    assert update.phone_number_id == PNID
    pref = update.value
    assert isinstance(pref, UserPreference)
    assert pref.is_marketing_stop and not pref.is_marketing_resume
    assert update.occurred_at == pref.timestamp
    assert update.contact is not None and update.contact.wa_id == USER


def test_user_preferences_one_update_per_item_with_its_contact() -> None:
    first, second = updates("field_user_preferences_multi")
    assert isinstance(first, FieldUpdate) and isinstance(second, FieldUpdate)
    assert isinstance(first.value, UserPreference) and isinstance(second.value, UserPreference)
    assert (first.value.value, second.value.value) == ("stop", "resume")
    assert first.contact is not None and first.contact.wa_id == USER
    assert second.contact is not None and second.contact.wa_id == USER2
    assert first.dedupe_key != second.dedupe_key


def test_call_connect() -> None:
    update = only_field("field_calls_connect")
    call = update.value
    assert isinstance(call, CallEvent)
    assert (call.event, call.direction, call.from_) == ("connect", "USER_INITIATED", USER)
    assert call.session is not None and call.session.sdp_type == "offer"
    assert call.user_id == USER
    assert update.contact is not None and update.contact.name == "Sheena Nelson"
    assert update.occurred_at == call.sent_at
    assert opens_customer_service_window(call)


def test_call_terminate_with_value_errors() -> None:
    call_update, error_update = updates("field_calls_terminate_with_errors")
    assert isinstance(call_update, FieldUpdate) and isinstance(error_update, ErrorUpdate)
    call = call_update.value
    assert isinstance(call, CallEvent)
    assert (call.status, call.duration, call.user_id) == ("COMPLETED", 120, USER)
    assert not opens_customer_service_window(call)
    assert error_update.field == "calls"
    assert error_update.error.code == 138000


# --- value-level errors ------------------------------------------------------------


def test_value_level_error() -> None:
    update = only("value_errors")
    assert isinstance(update, ErrorUpdate)
    assert update.phone_number_id == PNID
    assert update.error.code == 130429
    assert update.error.details == "Cloud API message throughput has been reached."


def test_value_level_error_next_to_message_without_body() -> None:
    message, error = updates("value_errors_with_message")
    assert isinstance(message, MessageUpdate) and isinstance(error, ErrorUpdate)
    assert message.message.interactive is None
    assert error.error.code == 131000


# --- batching and duplicates -------------------------------------------------------


def test_batch_yields_every_entry_change_and_item() -> None:
    batch = updates("batch_mixed")
    assert len(batch) == 8
    assert len({u.dedupe_key for u in batch}) == 8
    first, second = batch[0], batch[1]
    assert isinstance(first, MessageUpdate) and isinstance(second, MessageUpdate)
    assert first.contact is not None and first.contact.wa_id == USER
    assert second.contact is not None and second.contact.wa_id == USER2
    assert second.contact.name == "Jane Doe"
    assert [u.phone_number_id for u in batch[5:7]] == [None, None]
    last = batch[-1]
    assert isinstance(last, MessageUpdate)
    assert (last.waba_id, last.phone_number_id) == ("200000000000002", "100000000000002")


def test_duplicate_message_shares_dedupe_key() -> None:
    first, second = updates("duplicate_message")
    assert first.dedupe_key == second.dedupe_key
    assert first == second


def test_identical_waba_values_at_different_times_get_different_keys() -> None:
    body = load("field_message_template_status_update")
    later = json.loads(json.dumps(body))
    later["entry"][0]["time"] += 3600
    (a,) = iter_updates(parse_webhook(body))
    (b,) = iter_updates(parse_webhook(later))
    (a_again,) = iter_updates(parse_webhook(json.dumps(body)))
    assert a.dedupe_key != b.dedupe_key
    assert a.dedupe_key == a_again.dedupe_key


# --- windows -----------------------------------------------------------------------

WINDOW_OPENERS = {
    "message_text",
    "message_image",
    "message_audio_voice",
    "message_video",
    "message_document",
    "message_sticker_animated",
    "message_location",
    "message_contacts",
    "message_interactive_button_reply",
    "message_interactive_list_reply",
    "message_interactive_nfm_reply",
    "message_interactive_call_permission_reply",
    "message_button",
    "message_reaction",
    "message_reaction_removed",
    "message_order",
    "message_referral_ad",
    "message_request_welcome",
    "message_unsupported",
}
WINDOW_NON_OPENERS = {
    "message_system_user_changed_number",
    "message_system_customer_identity_changed",
    "message_revoke",
    "message_edit",
    "message_unknown_type",
}


@pytest.mark.parametrize("name", sorted(WINDOW_OPENERS | WINDOW_NON_OPENERS))
def test_opens_customer_service_window(name: str) -> None:
    message = only_message(name).message
    assert opens_customer_service_window(message) is (name in WINDOW_OPENERS)


def test_window_expiry_is_24h_after_the_message() -> None:
    message = only_message("message_text").message
    assert customer_service_window_expires_at(message) == 1_750_000_001 + 86_400
    system = only_message("message_system_user_changed_number").message
    assert customer_service_window_expires_at(system) is None


# --- format errors -----------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"\xff\xfe",
        "[1, 2]",
        {"object": "page", "entry": []},
        {"entry": []},
        {"object": "whatsapp_business_account"},
        {"object": "whatsapp_business_account", "entry": {"id": "x"}},
    ],
)
def test_not_a_whatsapp_webhook(body: bytes | str | dict[str, Any]) -> None:
    with pytest.raises(WebhookFormatError):
        parse_webhook(body)


def test_malformed_item_raises_clear_error() -> None:
    body = load("message_text")
    del body["entry"][0]["changes"][0]["value"]["messages"][0]["id"]
    with pytest.raises(WebhookFormatError, match=r"messages\[0\]\.id: Field required"):
        parse_webhook(body)


def test_extra_keys_tolerated_at_every_level() -> None:
    body = load("message_text")
    body["new_top"] = 1
    entry = body["entry"][0]
    entry["new_entry_key"] = True
    change = entry["changes"][0]
    change["new_change_key"] = "x"
    change["value"]["new_value_key"] = {"a": 1}
    change["value"]["contacts"][0]["new_contact_key"] = "y"
    payload = parse_webhook(body)
    (update,) = iter_updates(payload)
    assert isinstance(update, MessageUpdate)
    assert payload.model_extra == {"new_top": 1}
    assert payload.entry[0].changes[0].value.model_extra == {"new_value_key": {"a": 1}}
    assert update.contact is not None
    assert update.contact.model_extra == {"new_contact_key": "y"}


def test_empty_messages_value_is_still_one_update() -> None:
    body = load("message_text")
    body["entry"][0]["changes"][0]["value"]["messages"] = []
    (update,) = iter_updates(parse_webhook(body))
    assert isinstance(update, FieldUpdate)
    assert update.field == "messages"
    assert update.is_unknown
