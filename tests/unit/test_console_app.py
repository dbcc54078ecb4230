"""ConsoleFunction (functions/console/app.py): files, headers, routes and config.json,
driven through its handler with a static/ of the test's own."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.unit.function_apps import load_app

CONFIG = {
    "api_url": "https://api123.execute-api.eu-west-1.amazonaws.com",
    "client_id": "console-client",
    "authorize_url": "https://wacloud-x.auth.eu-west-1.amazoncognito.com/oauth2/authorize",
    "token_url": "https://wacloud-x.auth.eu-west-1.amazoncognito.com/oauth2/token",
    "logout_url": "https://wacloud-x.auth.eu-west-1.amazoncognito.com/logout",
    "scopes": "openid email profile",
    "redirect_uri": "https://con456.execute-api.eu-west-1.amazonaws.com/console/",
    "media_origins": ["https://media-bucket.s3.eu-west-1.amazonaws.com"],
}


@pytest.fixture
def app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    static = tmp_path / "static"
    (static / "js").mkdir(parents=True)
    (static / "index.html").write_text("<!doctype html><title>console</title>")
    (static / "app.css").write_text("body { color: black }")
    (static / "js" / "main.js").write_text("export const x = 1;")
    (static / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00binary")
    (static / ".hidden").write_text("secret")
    (tmp_path / "outside.txt").write_text("not served")
    module = load_app("console")
    monkeypatch.setattr(module, "STATIC", static)
    monkeypatch.setattr(module, "load_config", lambda: dict(CONFIG))
    return module


def _event(path: str, method: str = "GET", **headers: str) -> dict[str, Any]:
    return {
        "version": "2.0",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {"host": "con456.execute-api.eu-west-1.amazonaws.com", **headers},
        "requestContext": {
            "domainName": "con456.execute-api.eu-west-1.amazonaws.com",
            "http": {"method": method, "path": path},
        },
    }


def _get(app: ModuleType, path: str, method: str = "GET", **headers: str) -> dict[str, Any]:
    result: dict[str, Any] = app.lambda_handler(_event(path, method, **headers), None)
    return result


def test_index_is_served_with_strict_security_headers(app: ModuleType) -> None:
    response = _get(app, "/console/")
    assert response["statusCode"] == 200
    headers = response["headers"]
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert headers["Cache-Control"] == "no-cache"
    assert headers["ETag"].startswith('"')
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"
    policy = dict(d.partition(" ")[::2] for d in headers["Content-Security-Policy"].split("; "))
    assert policy["default-src"] == "'self'"
    assert policy["script-src"] == "'self'"
    assert policy["style-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'"
    assert policy["base-uri"] == "'none'"
    assert policy["img-src"] == "'self' data: blob: https://media-bucket.s3.eu-west-1.amazonaws.com"
    assert policy["connect-src"] == (
        "'self' https://api123.execute-api.eu-west-1.amazonaws.com"
        " https://wacloud-x.auth.eu-west-1.amazoncognito.com"
    )
    assert policy["form-action"] == "'self' https://wacloud-x.auth.eu-west-1.amazoncognito.com"
    assert "unsafe" not in headers["Content-Security-Policy"]
    assert response["body"].startswith("<!doctype html>")


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/console/app.css", "text/css; charset=utf-8"),
        ("/console/js/main.js", "text/javascript; charset=utf-8"),
        ("/console/index.html", "text/html; charset=utf-8"),
    ],
)
def test_files_have_their_content_type(app: ModuleType, path: str, content_type: str) -> None:
    response = _get(app, path)
    assert response["statusCode"] == 200
    assert response["headers"]["Content-Type"] == content_type
    assert response["headers"]["Cache-Control"] == "no-cache"


def test_binary_files_are_base64(app: ModuleType) -> None:
    response = _get(app, "/console/logo.png")
    assert response["headers"]["Content-Type"] == "image/png"
    assert response["isBase64Encoded"] is True
    assert base64.b64decode(response["body"]).startswith(b"\x89PNG")


def test_an_unchanged_file_is_not_sent_again(app: ModuleType) -> None:
    etag = _get(app, "/console/app.css")["headers"]["ETag"]
    again = _get(app, "/console/app.css", **{"if-none-match": etag})
    assert again["statusCode"] == 304 and again["body"] == ""
    assert _get(app, "/console/app.css", **{"if-none-match": '"other"'})["statusCode"] == 200


def test_console_without_slash_redirects(app: ModuleType) -> None:
    response = _get(app, "/console")
    assert response["statusCode"] == 301
    assert response["headers"]["Location"] == "/console/"


@pytest.mark.parametrize("route", ["/console/inbox", "/console/customers/15551234567"])
def test_app_routes_get_the_index(app: ModuleType, route: str) -> None:
    response = _get(app, route)
    assert response["statusCode"] == 200
    assert response["headers"]["Content-Type"].startswith("text/html")


@pytest.mark.parametrize(
    "missing", ["/console/js/nope.js", "/console/nope.css", "/console/.hidden"]
)
def test_missing_assets_are_404(app: ModuleType, missing: str) -> None:
    response = _get(app, missing)
    assert response["statusCode"] == 404
    assert "secret" not in response["body"]


@pytest.mark.parametrize(
    "path",
    [
        "/console/../outside.txt",
        "/console/js/../../outside.txt",
        "/console/..%2foutside.txt",
        "/console/%2e%2e/outside.txt",
        "/console/%252e%252e/outside.txt",
        "/console/js\\..\\..\\outside.txt",
        "/console//etc/passwd",
    ],
)
def test_paths_out_of_static_are_refused(app: ModuleType, path: str) -> None:
    response = _get(app, path)
    assert response["statusCode"] in (400, 404)
    assert "not served" not in response["body"]
    assert "root:" not in response["body"]


def test_only_reads(app: ModuleType) -> None:
    assert _get(app, "/console/", "POST")["statusCode"] == 405
    head = _get(app, "/console/app.css", "HEAD")
    assert head["statusCode"] == 200 and head["body"] == ""


def test_other_paths_are_not_found(app: ModuleType) -> None:
    assert _get(app, "/")["statusCode"] == 404
    assert _get(app, "/consolex/")["statusCode"] == 404


def test_config_json_is_the_parameter(app: ModuleType) -> None:
    response = _get(app, "/console/config.json")
    assert response["statusCode"] == 200
    assert response["headers"]["Content-Type"] == "application/json"
    assert response["headers"]["Cache-Control"] == "no-cache"
    body = json.loads(response["body"])
    assert body == CONFIG


def test_config_json_derives_the_redirect_from_the_host(
    app: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = {k: v for k, v in CONFIG.items() if k != "redirect_uri"}
    monkeypatch.setattr(app, "load_config", lambda: config)
    body = json.loads(_get(app, "/console/config.json")["body"])
    assert body["redirect_uri"] == "https://con456.execute-api.eu-west-1.amazonaws.com/console/"


def test_preflight_admits_the_console_origin_only(app: ModuleType) -> None:
    response = _get(app, "/v1/me", "OPTIONS")
    assert response["statusCode"] == 204
    headers = response["headers"]
    assert (
        headers["Access-Control-Allow-Origin"]
        == "https://con456.execute-api.eu-west-1.amazonaws.com"
    )
    assert "authorization" in headers["Access-Control-Allow-Headers"]
    assert "idempotency-key" in headers["Access-Control-Allow-Headers"]


def test_config_is_read_from_the_named_parameter(monkeypatch: pytest.MonkeyPatch) -> None:
    module = load_app("console")
    seen: dict[str, Any] = {}

    def get_parameter(name: str, **kwargs: Any) -> Any:
        seen.update(name=name, **kwargs)
        return dict(CONFIG)

    from aws_lambda_powertools.utilities import parameters

    monkeypatch.setattr(parameters, "get_parameter", get_parameter)
    monkeypatch.setenv("CONSOLE_CONFIG_PARAMETER", "/stack/console/config")
    assert module.load_config() == CONFIG
    assert seen == {"name": "/stack/console/config", "transform": "json"}
