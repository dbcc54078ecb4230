"""Tenants and the assistant's settings through the operator API (mocked AWS)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import boto3
import pytest

from tests.unit.api_calls import call
from tests.unit.indexed_table import indexed_state_table
from wacloud.store import assistant, tenants

SECRET_NUMBER = "100000000000001"
OTHER = "100000000000002"


@pytest.fixture
def table(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    from aws_lambda_powertools.utilities import parameters

    with indexed_state_table(monkeypatch) as name:
        boto3.client("secretsmanager").create_secret(
            Name="meta",
            SecretString=json.dumps(
                {"access_token": "t", "tenants": {SECRET_NUMBER: {"waba_id": "900"}}}
            ),
        )
        parameters.clear_caches()  # type: ignore[no-untyped-call]
        assistant.clear_cache()
        yield name
        parameters.clear_caches()  # type: ignore[no-untyped-call]


def test_the_secrets_numbers_are_listed_with_their_defaults(table: str) -> None:
    status, body = call("GET", "/v1/tenants")
    assert status == 200, body
    assert body == {
        "items": [
            {
                "phone_number_id": SECRET_NUMBER,
                "waba_id": "900",
                "throughput": 80,
                "messaging_limit": 250,
                "auto_reply": False,
                "display_phone_number": None,
                "verified_name": None,
                "updated_at": None,
            }
        ],
        "next_cursor": None,
    }
    assert call("GET", "/v1/tenants", "agent")[0] == 403
    assert call("GET", f"/v1/tenants/{OTHER}")[1]["error"]["code"] == "not_found"


def test_a_patch_is_what_the_sender_reads_and_lists_the_number(table: str) -> None:
    status, body = call(
        "PATCH",
        f"/v1/tenants/{OTHER}",
        body={"throughput": 120, "messaging_limit": -1, "waba_id": "901"},
    )
    assert status == 200, body
    assert body["throughput"] == 120 and body["messaging_limit"] == -1
    tenants.clear_cache()
    config = tenants.load(OTHER)
    assert (config.throughput_mps, config.messaging_limit, config.waba_id) == (120, None, "901")
    listed = call("GET", "/v1/tenants", params={"limit": 1})[1]
    assert [t["phone_number_id"] for t in listed["items"]] == [SECRET_NUMBER]
    rest = call("GET", "/v1/tenants", params={"limit": 1, "cursor": listed["next_cursor"]})[1]
    assert [t["phone_number_id"] for t in rest["items"]] == [OTHER]
    assert rest["next_cursor"] is None
    shown = call("GET", f"/v1/tenants/{OTHER}")[1]
    assert shown["waba_id"] == "901" and shown["throughput"] == 120
    # waba_id null: the secret's applies again (none for this number).
    assert call("PATCH", f"/v1/tenants/{OTHER}", body={"waba_id": None})[1]["waba_id"] is None


def test_me_names_the_caller_its_roles_and_every_served_number(table: str) -> None:
    """Agents may not list /v1/tenants, but /v1/me gives them the numbers (with the
    labels an admin set) for the console's number picker."""
    status, body = call(
        "PATCH",
        f"/v1/tenants/{OTHER}",
        body={"display_phone_number": "+52 55 5000 0002", "verified_name": "Sol Café"},
    )
    assert status == 200, body
    assert body["display_phone_number"] == "+52 55 5000 0002"
    status, me = call("GET", "/v1/me", "agent")
    assert status == 200, me
    assert me == {
        "name": "ana",
        "roles": ["agent"],
        "numbers": [
            {"phone_number_id": SECRET_NUMBER, "display_phone_number": None, "verified_name": None},
            {
                "phone_number_id": OTHER,
                "display_phone_number": "+52 55 5000 0002",
                "verified_name": "Sol Café",
            },
        ],
    }
    assert call("GET", "/v1/me", "admin")[1]["roles"] == ["admin", "agent"]
    assert call("GET", "/v1/me", "viewer")[0] == 403
    assert call("GET", "/v1/me", None)[0] == 401
    # null removes a label
    call("PATCH", f"/v1/tenants/{OTHER}", body={"verified_name": None})
    assert call("GET", "/v1/me", "agent")[1]["numbers"][1]["verified_name"] is None
    bad = call("PATCH", f"/v1/tenants/{OTHER}", body={"display_phone_number": "<b>1</b>"})
    assert bad[0] == 400


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"throughput": 0}, "throughput"),
        ({"throughput": 5000}, "throughput"),
        ({"messaging_limit": 0}, "messaging_limit"),
        ({"throughput": None}, "throughput"),
        ({"waba": "1"}, "waba"),
    ],
)
def test_bad_tenant_values_name_the_field(table: str, patch: dict[str, object], field: str) -> None:
    status, body = call("PATCH", f"/v1/tenants/{OTHER}", body=patch)
    assert status == 400, body
    assert field in [f["field"] for f in body["error"]["fields"]]


def test_the_assistant_is_switched_on_with_hours_and_keywords(table: str) -> None:
    path = f"/v1/tenants/{SECRET_NUMBER}/assistant"
    defaults = call("GET", path)[1]
    assert defaults["enabled"] is False and defaults["hours"]["mon"] == [["09:00", "18:00"]]
    status, body = call(
        "PATCH",
        path,
        body={
            "enabled": True,
            "time_zone": "Europe/Lisbon",
            "hours": {"sat": [["10:00", "13:00"]]},
            "handoff_keywords": ["humano", "agent"],
            "monthly_token_budget": 0,
        },
    )
    assert status == 200, body
    saved = assistant.load_settings(SECRET_NUMBER)
    assert saved.enabled and saved.time_zone == "Europe/Lisbon"
    assert saved.hours == {"sat": (("10:00", "13:00"),)}
    assert saved.handoff_keywords == ("humano", "agent")
    assert saved.tone == assistant.AssistantSettings().tone  # untouched
    assert call("GET", "/v1/tenants")[1]["items"][0]["auto_reply"] is True
    # null restores the default keyword list
    assert call("PATCH", path, body={"handoff_keywords": None})[1]["handoff_keywords"] is None


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"time_zone": "Mars/Olympus"}, "time_zone"),
        ({"hours": {"mon": [["18:00", "09:00"]]}}, "hours"),
        ({"hours": {"monday": [["09:00", "18:00"]]}}, "hours.monday.[key]"),
        ({"confidence_threshold": 2}, "confidence_threshold"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_assistant_settings_name_the_field_and_save_nothing(
    table: str, patch: dict[str, object], field: str
) -> None:
    status, body = call("PATCH", f"/v1/tenants/{SECRET_NUMBER}/assistant", body=patch)
    assert status == 400, body
    fields = [f["field"] for f in body["error"]["fields"]]
    assert any(f.startswith(field.split(".", maxsplit=1)[0]) for f in fields), fields
    assert assistant.load_settings(SECRET_NUMBER) == assistant.AssistantSettings()


def test_numbers_inherit_the_organisation_defaults_they_do_not_set(table: str) -> None:
    """Hours and time zone set once for the organisation apply to every number; a
    number's own value wins; null on the number makes it inherit again."""
    org = {"time_zone": "Europe/Lisbon", "hours": {"sat": [["10:00", "14:00"]]}, "tone": "warm"}
    status, body = call("PATCH", "/v1/settings/assistant", body=org)
    assert status == 200, body
    assert body["phone_number_id"] is None
    assert body["overrides"] == ["hours", "time_zone", "tone"]
    path = f"/v1/tenants/{SECRET_NUMBER}/assistant"
    status, body = call("PATCH", path, body={"enabled": True, "tone": "formal"})
    assert status == 200, body
    assert body["time_zone"] == "Europe/Lisbon" and body["hours"] == {"sat": [["10:00", "14:00"]]}
    assert body["tone"] == "formal" and body["overrides"] == ["enabled", "tone"]
    assistant.clear_cache()
    effective = assistant.load_settings(SECRET_NUMBER)  # what the assistant and handoff read
    assert (effective.enabled, effective.time_zone, effective.tone) == (
        True,
        "Europe/Lisbon",
        "formal",
    )
    assert call("GET", "/v1/tenants")[1]["items"][0]["auto_reply"] is True
    # null: the number inherits the organisation's tone again
    status, body = call("PATCH", path, body={"tone": None})
    assert body["tone"] == "warm" and body["overrides"] == ["enabled"]
    assert call("GET", path)[1]["tone"] == "warm"
    # null at the organisation: back to the built-in default
    status, body = call("PATCH", "/v1/settings/assistant", body={"tone": None})
    assert body["tone"] == assistant.AssistantSettings().tone
    assert call("GET", "/v1/settings/assistant")[1]["overrides"] == ["hours", "time_zone"]
    assert call("GET", "/v1/settings/assistant", role="agent")[0] == 403
