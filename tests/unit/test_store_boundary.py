"""The store's shared helpers (infra/dynamo.py), "which WABA owns this number", and the
CampaignControl entry point, against a moto table."""

from __future__ import annotations

import json
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import boto3
import pytest

from tests.unit.conftest import mocked_state_table
from tests.unit.function_apps import load_app
from wacloud.infra import dynamo
from wacloud.infra.credentials import MetaCredentials
from wacloud.infra.dynamo import Expr, conditional_update, get, pages, put, update
from wacloud.store import tenants

PNID = "100000000000088"


@pytest.fixture
def table(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    with mocked_state_table(monkeypatch) as name:
        yield name


def test_expr_builds_placeholders_from_values() -> None:
    expr = Expr().set("status", "paused").add("runs", 1).remove("lease_token")
    status = expr.name("status")
    expr.when(f"{status} IN ({expr.one_of(('scheduled', 'running'))})")
    params = expr.params()
    assert params["UpdateExpression"] == "SET #n0 = :v0 ADD #n1 :v1 REMOVE #n2"
    assert params["ConditionExpression"] == "#n0 IN (:v2, :v3)"
    assert params["ExpressionAttributeNames"] == {
        "#n0": "status",
        "#n1": "runs",
        "#n2": "lease_token",
    }
    assert params["ExpressionAttributeValues"][":v1"] == {"N": "1"}
    with pytest.raises(ValueError):
        Expr().value(None)


def test_conditional_update_answers_true_or_false(table: str) -> None:
    assert put({"pk": "P", "sk": "#", "status": "scheduled"})
    for written in (True, False):  # the second finds it running already
        expr = Expr().set("status", "running")
        expr.when(f"{expr.name('status')} = {expr.value('scheduled')}")
        assert conditional_update("P", "#", expr) is written
    assert (get("P") or {})["status"] == "running"
    refused = update(
        "P", "#", Expr().set("x", 1).when("attribute_not_exists(pk)"), old_on_failure=True
    )
    assert not refused and refused.attributes["status"] == "running"


def test_other_errors_raise(table: str) -> None:
    with pytest.raises(Exception, match=r"ValidationException|Invalid"):
        conditional_update("P", "#", Expr().set_clause("nonsense ="))


def test_pages_follow_last_evaluated_key(table: str) -> None:
    for i in range(7):
        put({"pk": "Q", "sk": f"{i:02}"})
    request = {"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "Q"}}}
    got = list(pages({**request, "Limit": 3}))
    assert [len(p) for p in got] == [3, 3, 1]
    assert len(dynamo.query("Q", limit=5)) == 5


def test_a_waba_set_only_in_the_table_is_known(table: str) -> None:
    """TemplateSync used to read WABAs from the secret only: a tenant whose WABA was set
    only in its tenant item never had its templates synced."""
    put({"pk": tenants.tenant_pk(PNID), "sk": "#", "waba_id": "300000000000001"})
    put({"pk": tenants.tenant_pk("100000000000089"), "sk": "#", "throughput_mps": 5})
    secret = MetaCredentials.from_json(
        {
            "access_token": "t",
            "tenants": {
                "100000000000090": {"waba_id": "300000000000002"},
                PNID: {"waba_id": "300000000000009"},  # the table's wins, as in waba_for
            },
        }
    )
    assert tenants.waba_for(PNID, secret) == "300000000000001"
    assert tenants.waba_for("100000000000090", secret) == "300000000000002"
    assert tenants.waba_numbers(secret) == {
        PNID: "300000000000001",
        "100000000000090": "300000000000002",
    }


def test_template_sync_targets_the_table_waba(table: str, monkeypatch: pytest.MonkeyPatch) -> None:
    put({"pk": tenants.tenant_pk(PNID), "sk": "#", "waba_id": "300000000000001"})
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "wacloud")
    app = load_app("template_sync")
    monkeypatch.setattr(app, "load_credentials", lambda: MetaCredentials.from_json({}))
    synced: list[tuple[str, str]] = []

    def sync(graph: object, waba_id: str, pnid: str, **_: object) -> dict[str, int]:
        synced.append((waba_id, pnid))
        return {"total": 0, "written": 0, "deleted": 0}

    monkeypatch.setattr(app, "sync_templates", sync)
    context = SimpleNamespace(
        function_name="sync", memory_limit_in_mb=128, invoked_function_arn="arn", aws_request_id="r"
    )
    app.lambda_handler({}, context)
    assert synced == [("300000000000001", PNID)]


@pytest.fixture
def control(table: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("MEDIA_BUCKET", "media")
    from wacloud.infra import aws, config

    config.settings.cache_clear()
    aws.s3.cache_clear()
    boto3.client("s3").create_bucket(Bucket="media")
    return load_app("campaign_control")


def _invoke(app: Any, event: dict[str, Any]) -> dict[str, Any]:
    context = SimpleNamespace(
        function_name="control",
        memory_limit_in_mb=128,
        invoked_function_arn="arn",
        aws_request_id="r",
    )
    result: dict[str, Any] = app.lambda_handler(event, context)
    return json.loads(json.dumps(result))


def test_campaign_control_dispatches_each_action(control: Any) -> None:
    spec = {
        "phone_number_id": PNID,
        "campaign_id": "c1",
        "variants": [{"template": "hello_world"}],
        "recipients": [{"wa_id": "15551234567"}],
    }
    assert _invoke(control, {"action": "create", "spec": spec}) == {"campaign_id": "c1"}
    ids = {"phone_number_id": PNID, "campaign_id": "c1"}
    assert _invoke(control, {"action": "pause", **ids})["status"] == "paused"
    assert _invoke(control, {"action": "resume", **ids})["status"] == "running"
    assert _invoke(control, {"action": "stats", **ids})["status"] == "running"
    assert _invoke(control, {"action": "cancel", **ids})["status"] == "cancelled"


def test_campaign_control_refuses_what_it_does_not_understand(control: Any) -> None:
    with pytest.raises(ValueError, match="unknown campaign action 'stop'; use one of create"):
        _invoke(control, {"action": "stop"})
    with pytest.raises(ValueError, match="unknown campaign action '__class__'"):
        _invoke(control, {"action": "__class__"})
    with pytest.raises(ValueError, match="pause needs phone_number_id and campaign_id"):
        _invoke(control, {"action": "pause", "phone_number_id": PNID})
    with pytest.raises(ValueError, match="no campaign missing"):
        _invoke(control, {"action": "stats", "phone_number_id": PNID, "campaign_id": "missing"})
    with pytest.raises(ValueError, match="create needs a spec object"):
        _invoke(control, {"action": "create"})
