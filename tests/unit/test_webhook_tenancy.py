"""Every webhook item must belong to the app whose secret signed the POST.

Forgery cases run through ``receive_webhook`` itself (signature, parse, split,
binding, queue), so what is asserted is what would reach the inbound queue.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from wacloud.inbound.receive import ReceiveResult, receive_webhook
from wacloud.inbound.signature import sign
from wacloud.inbound.split import split_webhook
from wacloud.inbound.tenancy import WebhookApps
from wacloud.infra.credentials import MetaCredentials

# Part of the bad-input suite (README, "Security"): `pytest -m bad_input`.
pytestmark = pytest.mark.bad_input

PAYLOADS = Path(__file__).parent.parent / "payloads"

DEFAULT_SECRET = b"default-app-secret"
SECRET_A = b"tenant-a-app-secret"
SECRET_B = b"tenant-b-app-secret"
PNID_A, WABA_A = "100000000000011", "200000000000011"
PNID_B, WABA_B = "100000000000022", "200000000000022"
PNID_C, WABA_C = "100000000000033", "200000000000033"  # the default app's tenant
PNID_SHARED = "100000000000044"  # a second number of app A
PNID_NO_WABA = "100000000000055"  # app B's, configured without its waba_id

CREDENTIALS = MetaCredentials.from_json(
    {
        "app_secret": DEFAULT_SECRET.decode(),
        "tenants": {
            PNID_A: {"app_secret": SECRET_A.decode(), "waba_id": WABA_A},
            PNID_B: {"app_secret": SECRET_B.decode(), "waba_id": WABA_B},
            PNID_C: {"waba_id": WABA_C},
            PNID_SHARED: {"app_secret": SECRET_A.decode(), "waba_id": WABA_A},
            PNID_NO_WABA: {"app_secret": SECRET_B.decode()},
        },
    }
)
APPS = WebhookApps.from_credentials(CREDENTIALS)


def _load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((PAYLOADS / name).read_text())
    return data


def message(pnid: str, waba: str, wamid: str) -> dict[str, Any]:
    """A single-item text message webhook for ``pnid`` (entry.id ``waba``)."""
    doc = _load("message_text.json")
    doc["entry"][0]["id"] = waba
    value = doc["entry"][0]["changes"][0]["value"]
    value["metadata"]["phone_number_id"] = pnid
    value["messages"][0]["id"] = wamid
    return doc


def template_event(waba: str) -> dict[str, Any]:
    """A WABA-level change (no metadata): message_template_status_update."""
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": waba,
                "time": 1700000000,
                "changes": [
                    {
                        "field": "message_template_status_update",
                        "value": {
                            "event": "APPROVED",
                            "message_template_id": 42,
                            "message_template_name": "welcome",
                            "message_template_language": "en_US",
                            "reason": None,
                        },
                    }
                ],
            }
        ],
    }


def batch(*docs: dict[str, Any]) -> dict[str, Any]:
    """One POST carrying the entries of several webhooks."""
    return {"object": "whatsapp_business_account", "entry": [d["entry"][0] for d in docs]}


def post(doc: dict[str, Any], secret: bytes) -> tuple[ReceiveResult, list[dict[str, Any]]]:
    body = json.dumps(doc, separators=(",", ":")).encode()
    queued: list[str] = []

    def park(raw: bytes) -> str:
        raise AssertionError("a readable webhook must not be parked")

    result = receive_webhook(body, sign(body, secret), APPS, queued.extend, park)
    assert result.status == 200
    return result, [json.loads(b) for b in queued]


def pnids(queued: list[dict[str, Any]]) -> list[str]:
    return [
        q["entry"][0]["changes"][0]["value"].get("metadata", {}).get("phone_number_id")
        for q in queued
    ]


# ------------------------------------------------------------------ forgery
def test_b_cannot_sign_a_message_for_a_number() -> None:
    result, queued = post(message(PNID_A, WABA_A, "wamid.F1"), SECRET_B)
    assert (queued, result.items, len(result.refused)) == ([], 0, 1)
    assert result.refused[0].bound_by == "phone_number_id"
    assert result.refused[0].field == "messages"


def test_b_cannot_sign_a_template_event_for_as_waba() -> None:
    result, queued = post(template_event(WABA_A), SECRET_B)
    assert (queued, len(result.refused)) == ([], 1)
    assert result.refused[0].bound_by == "waba_id"


def test_b_cannot_use_its_number_under_as_waba() -> None:
    """metadata names B's own number but entry.id is A's WABA: A's WABA would be
    credited (dedupe keys, WABA-level bookkeeping), so the item is refused."""
    result, queued = post(message(PNID_B, WABA_A, "wamid.F2"), SECRET_B)
    assert (queued, len(result.refused)) == ([], 1)
    assert result.refused[0].bound_by == "waba_id"


def test_in_a_mixed_batch_only_bs_own_items_are_queued() -> None:
    a_two = message(PNID_A, WABA_A, "wamid.A1")
    second = copy.deepcopy(a_two["entry"][0]["changes"][0]["value"]["messages"][0])
    second["id"] = "wamid.A2"
    a_two["entry"][0]["changes"][0]["value"]["messages"].append(second)
    doc = batch(
        a_two,
        message(PNID_B, WABA_B, "wamid.B1"),
        template_event(WABA_A),
        template_event(WABA_B),
        message(PNID_A, WABA_B, "wamid.A3"),  # A's number under B's WABA
    )
    result, queued = post(doc, SECRET_B)
    assert result.items == len(queued) == 2
    assert len(result.refused) == 4
    assert pnids(queued) == [PNID_B, None]
    assert queued[1]["entry"][0]["id"] == WABA_B
    wamids = {
        m["id"] for q in queued for m in q["entry"][0]["changes"][0]["value"].get("messages", [])
    }
    assert wamids == {"wamid.B1"}


def test_each_app_is_accepted_for_its_own_items() -> None:
    for pnid, waba, secret in (
        (PNID_A, WABA_A, SECRET_A),
        (PNID_B, WABA_B, SECRET_B),
        (PNID_C, WABA_C, DEFAULT_SECRET),
    ):
        result, queued = post(message(pnid, waba, f"wamid.{pnid}"), secret)
        assert (result.items, result.refused, pnids(queued)) == (1, (), [pnid])
        result, queued = post(template_event(waba), secret)
        assert (result.items, result.refused) == (1, ())


# ------------------------------------------------------------------ unknown ids
def test_unknown_number_is_refused_under_a_tenants_own_secret() -> None:
    result, queued = post(message("100000000000999", WABA_B, "wamid.U1"), SECRET_B)
    assert (queued, len(result.refused)) == ([], 1)


def test_unknown_number_and_waba_are_the_default_apps() -> None:
    result, queued = post(message("100000000000999", "200000000000999", "wamid.U2"), DEFAULT_SECRET)
    assert (result.items, result.refused) == (1, ())
    result, queued = post(template_event("200000000000999"), DEFAULT_SECRET)
    assert (result.items, result.refused) == (1, ())
    result, queued = post(template_event("200000000000999"), SECRET_A)
    assert (queued, len(result.refused)) == ([], 1)


def test_a_tenant_without_waba_id_gets_no_waba_level_events_from_its_own_app() -> None:
    """Documented rule: an unknown WABA is the default app's. Its messages still bind
    by number (the WABA is unknown, so it adds no constraint)."""
    result, queued = post(message(PNID_NO_WABA, "200000000000555", "wamid.N1"), SECRET_B)
    assert (result.items, result.refused) == (1, ())
    result, queued = post(template_event("200000000000555"), SECRET_B)
    assert (queued, len(result.refused)) == ([], 1)


def test_tenants_sharing_a_secret_are_one_app() -> None:
    result = post(message(PNID_SHARED, WABA_A, "wamid.S1"), SECRET_A)[0]
    assert (result.items, result.refused) == (1, ())


def test_default_app_cannot_speak_for_a_tenant_with_its_own_app() -> None:
    result, queued = post(message(PNID_A, WABA_A, "wamid.D1"), DEFAULT_SECRET)
    assert (queued, len(result.refused)) == ([], 1)


# ------------------------------------------------------------------ id shapes
def test_numeric_ids_bind_as_the_models_read_them() -> None:
    doc = message(PNID_A, WABA_A, "wamid.I1")
    doc["entry"][0]["changes"][0]["value"]["metadata"]["phone_number_id"] = int(PNID_A)
    doc["entry"][0]["id"] = int(WABA_A)
    assert post(doc, SECRET_A)[0].items == 1
    assert post(doc, SECRET_B)[0].items == 0


@pytest.mark.parametrize("pnid", [1.0e14, [PNID_B], {"id": PNID_B}, True])
def test_an_id_that_is_not_text_or_integer_is_refused(pnid: object) -> None:
    doc = message(PNID_B, WABA_B, "wamid.I2")
    doc["entry"][0]["changes"][0]["value"]["metadata"]["phone_number_id"] = pnid
    result, queued = post(doc, SECRET_B)
    assert (queued, len(result.refused)) == ([], 1)


def test_an_empty_number_binds_by_waba_as_the_models_treat_it() -> None:
    doc = message(PNID_B, WABA_A, "wamid.I3")
    doc["entry"][0]["changes"][0]["value"]["metadata"]["phone_number_id"] = ""
    assert post(doc, SECRET_B)[0].items == 0
    assert post(doc, SECRET_A)[0].items == 1


def test_refusals_carry_masked_ids_only() -> None:
    result, _ = post(message(PNID_A, WABA_A, "wamid.M1"), SECRET_B)
    logged = json.dumps([r.as_log() for r in result.refused])
    assert PNID_A not in logged and WABA_A not in logged
    assert result.refused[0].phone_number_id.startswith("10")
    assert result.refused[0].phone_number_id.endswith("11")


def test_an_odd_field_name_is_not_logged_as_sent() -> None:
    doc = template_event(WABA_A)
    doc["entry"][0]["changes"][0]["field"] = "MARKER-TEXT-7731"
    result, _ = post(doc, SECRET_B)
    assert result.refused[0].field == "other"


# ------------------------------------------------------------------ single app
def test_one_app_accepts_every_item_without_looking() -> None:
    apps = WebhookApps.single(DEFAULT_SECRET)
    assert apps.one_app and apps.secrets == (DEFAULT_SECRET,)
    body = json.dumps(batch(message(PNID_A, WABA_A, "wamid.O1"), template_event(WABA_B))).encode()
    queued: list[str] = []
    result = receive_webhook(body, sign(body, DEFAULT_SECRET), apps, queued.extend, str)
    assert (result.items, result.refused) == (2, ())
    assert [json.loads(q) for q in queued] == split_webhook(json.loads(body))


def test_apps_from_credentials() -> None:
    assert APPS.secrets == (DEFAULT_SECRET, SECRET_A, SECRET_B)
    assert APPS.waba_secrets[WABA_A] == frozenset({SECRET_A})
    assert APPS.number_secret[PNID_C] == DEFAULT_SECRET
    assert not APPS.one_app
    # Tenants without their own secret add no app.
    only_default = MetaCredentials.from_json(
        {"app_secret": "s", "tenants": {PNID_C: {"waba_id": WABA_C}}}
    )
    assert WebhookApps.from_credentials(only_default).one_app
