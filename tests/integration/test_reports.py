"""Reports through the operator API and the CLI on the local stack: a scripted day's
facts counted into the stack's table (as the Facts function does), then read over
HTTP with real tokens (`api`) and by `wacloud report` in its own process (`cli_env`).

The CLI runs from this checkout (`python -c "...wacloud_cli.main..."` with this
directory first on the path), not the installed console script, which may import
another checkout's code.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from local.stack import LocalStack
from tests.unit.test_analytics import (
    DAY,
    EXPECTED_COST,
    EXPECTED_FUNNEL,
    PNID,
    scripted_day,
)

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def counted(stack: LocalStack) -> None:
    from wacloud import analytics

    analytics.record_facts(scripted_day())


def wacloud(env: dict[str, str], tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("WACLOUD_")}
    base.update(WACLOUD_CONFIG=str(tmp_path / "config.toml"), COLUMNS="200")
    return subprocess.run(
        [sys.executable, "-c", "from wacloud_cli.main import main; main()", *args],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_api_serves_the_reports(counted: None, api: Any) -> None:
    params = {"from": DAY, "to": DAY}
    funnel = api("admin").get(f"/v1/numbers/{PNID}/reports/funnel", params=params)
    assert funnel.status_code == 200, funnel.text
    assert funnel.json()["totals"] == EXPECTED_FUNNEL

    cost = api("admin").get(f"/v1/numbers/{PNID}/reports/cost", params=params).json()
    assert Decimal(str(cost["totals"]["cost"])) == EXPECTED_COST
    assert cost["currency"] == "EUR"

    for kind in ("templates", "campaigns", "conversations", "failures"):
        response = api("admin").get(f"/v1/numbers/{PNID}/reports/{kind}", params=params)
        assert response.status_code == 200, (kind, response.text)

    week = api("admin").get(
        f"/v1/numbers/{PNID}/reports/funnel", params={"from": "2026-11-08", "to": "2026-11-14"}
    )
    assert [d["day"] for d in week.json()["days"]][:3] == ["2026-11-08", "2026-11-09", DAY]
    assert week.json()["days"][0]["sent"] == 0


def test_reports_refuse_bad_ranges_and_non_admins(counted: None, api: Any) -> None:
    path = f"/v1/numbers/{PNID}/reports/funnel"
    backwards = api("admin").get(path, params={"from": "2026-11-10", "to": "2026-11-01"})
    assert backwards.status_code == 400 and backwards.error_code == "invalid_request"
    too_long = api("admin").get(path, params={"from": "2020-01-01", "to": "2026-11-01"})
    assert too_long.status_code == 400
    assert api("admin").get(path, params={"from": "10/11/2026", "to": DAY}).status_code in (
        400,
        422,
    )
    assert api("agent").get(path, params={"from": DAY, "to": DAY}).status_code == 403


def test_wacloud_report_prints_tables_and_json(
    counted: None, cli_env: Callable[..., dict[str, str]], tmp_path: Path
) -> None:
    env = cli_env("admin")
    args = ("--from", DAY, "--to", DAY, "--number", PNID)
    done = wacloud(env, tmp_path, "--json", "report", "funnel", *args)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["totals"] == EXPECTED_FUNNEL

    table = wacloud(env, tmp_path, "report", "cost", *args)
    assert table.returncode == 0, table.stderr
    assert "cost (EUR)" in table.stdout and "0.123" in table.stdout

    templates = wacloud(env, tmp_path, "report", "templates", *args)
    assert templates.returncode == 0 and "promo" in templates.stdout

    refused = wacloud(cli_env("agent"), tmp_path, "report", "funnel", *args)
    assert refused.returncode != 0
