"""The operator API's function answers through the local stack (routes: other files)."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.integration


def test_the_document_is_served_to_an_agent_and_refused_without_a_role(api: Any) -> None:
    ok = api("agent").get("/v1/openapi.json")
    assert ok.status_code == 200, ok.text
    assert ok.json()["info"]["title"] == "wacloud operator API"
    assert api("viewer").get("/v1/openapi.json").error_code == "forbidden"
    assert api(None).get("/v1/openapi.json").status_code == 401


def test_an_unknown_route_is_404_json(api: Any) -> None:
    response = api("admin").get("/v1/no-such-thing")
    assert response.status_code == 404
