"""Tenants and the assistant's settings through the operator API on the local stack."""

from __future__ import annotations

from typing import Any

import pytest

from local.emulator import DEFAULT_PHONE_NUMBER_ID, DEFAULT_WABA_ID
from tests.integration.test_outbound import fresh_pnid

pytestmark = pytest.mark.integration


def test_a_new_number_is_configured_and_listed(api: Any) -> None:
    from wacloud.store import tenants

    pnid = fresh_pnid()
    changed = api("admin").patch(
        f"/v1/tenants/{pnid}", json={"throughput": 200, "messaging_limit": 1000, "waba_id": "77"}
    )
    assert changed.status_code == 200, changed.text
    tenants.clear_cache()
    assert tenants.load(pnid).messaging_limit == 1000  # what the sender reads
    listed = {t["phone_number_id"]: t for t in api("admin").get("/v1/tenants").json()["items"]}
    assert listed[pnid]["throughput"] == 200 and listed[pnid]["waba_id"] == "77"
    assert listed[DEFAULT_PHONE_NUMBER_ID]["waba_id"] == DEFAULT_WABA_ID  # from the secret
    refused = api("admin").patch(f"/v1/tenants/{pnid}", json={"throughput": -3})
    assert refused.status_code == 400 and refused.json()["error"]["fields"][0]["field"] == (
        "throughput"
    )
    assert api("agent").get("/v1/tenants").status_code == 403
    assert api(None).get(f"/v1/tenants/{pnid}").status_code == 401


def test_auto_reply_and_hours_are_the_assistants_settings(api: Any) -> None:
    from wacloud.store import assistant

    pnid = fresh_pnid()
    path = f"/v1/tenants/{pnid}/assistant"
    changed = api("admin").patch(
        path,
        json={"enabled": True, "time_zone": "America/Sao_Paulo", "hours": {"sun": []}},
    )
    assert changed.status_code == 200, changed.text
    assistant.clear_cache()
    saved = assistant.load_settings(pnid)
    assert saved.enabled and saved.time_zone == "America/Sao_Paulo" and dict(saved.hours) == {}
    assert api("admin").get(f"/v1/tenants/{pnid}").json()["auto_reply"] is True
    assert api("admin").patch(path, json={"enabled": False}).json()["enabled"] is False
    assert api("agent").patch(path, json={"enabled": True}).error_code == "forbidden"


def test_a_numbers_templates_show_status_category_and_quality(api: Any, stack: Any) -> None:
    import uuid

    from tests.integration.test_outbound import emulator, sync_templates

    name = f"api_listed_{uuid.uuid4().hex[:8]}"
    emulator(stack).add_template(name, category="MARKETING", body="Hello {{1}}")
    sync_templates(stack)
    path = f"/v1/numbers/{DEFAULT_PHONE_NUMBER_ID}/templates"
    listed = api("agent").get(path, params={"name": name})
    assert listed.status_code == 200, listed.text
    [template] = listed.json()["items"]
    assert template["name"] == name and template["language"] == "en_US"
    assert template["status"] == "APPROVED" and template["category"] == "MARKETING"
    assert template["components"]
    assert api("agent").get(f"/v1/numbers/{fresh_pnid()}/templates").error_code == "not_found"
    assert api("viewer").get(path).status_code == 403
