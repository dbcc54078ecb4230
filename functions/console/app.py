"""ConsoleFunction: the web console's files and config (issue #15, docs/console.md).

Thin and dependency-free: the single-page app in ``static/`` is served as it is on
disk (no build step), every answer with a strict Content-Security-Policy built from
the console's config, so the page can talk only to this origin, the operator API and
the pool's sign-in domain, and show images only from itself and the media bucket.

* ``GET /console`` redirects to ``/console/``; ``GET /console/`` is index.html.
* ``GET /console/config.json``: the SSM parameter CONSOLE_CONFIG_PARAMETER names
  (JSON, read through Powertools parameters, cached).
* ``GET /console/<file>``: the file, with its content type, ``Cache-Control:
  no-cache`` and an ETag (``If-None-Match`` answers 304); a path that looks like an
  app route (no file extension) is index.html, a missing file is 404, a path that
  leaves ``static/`` is refused.
* ``OPTIONS /v1/...`` on OperatorApi: the browser's CORS preflight (no token, so no
  authorizer); API Gateway answers with OperatorApi's CorsConfiguration, and this
  function's answer says the same for the console's origin.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from functools import cache
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote, urlsplit

STATIC = Path(__file__).resolve().parent / "static"
PREFIX = "/console/"
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".map": "application/json",
    ".webmanifest": "application/manifest+json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".ico": "image/x-icon",
    ".txt": "text/plain; charset=utf-8",
    ".woff2": "font/woff2",
}
TEXT_TYPES = ("text/", "application/json", "application/manifest+json", "image/svg+xml")
CONFIG_KEYS = (
    "api_url",
    "client_id",
    "authorize_url",
    "token_url",
    "logout_url",
    "scopes",
    "redirect_uri",
)
CORS_METHODS = "GET, POST, PUT, PATCH, DELETE"
CORS_HEADERS = "authorization, content-type, idempotency-key"


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def load_config() -> dict[str, Any]:
    """The console's config: the SSM parameter (JSON) CONSOLE_CONFIG_PARAMETER names,
    cached by Powertools for POWERTOOLS_PARAMETERS_MAX_AGE seconds."""
    from aws_lambda_powertools.utilities import parameters

    name = os.environ["CONSOLE_CONFIG_PARAMETER"]
    value = parameters.get_parameter(name, transform="json")
    if not isinstance(value, dict):
        raise ValueError(f"{name} is not a JSON object")
    return value


def content_security_policy(config: dict[str, Any]) -> str:
    """This origin for scripts and styles; the API and the sign-in domain for fetch;
    the media bucket for images; no framing, no <base>, forms only to the sign-in."""
    auth = " ".join(
        sorted({_origin(str(config.get(k, ""))) for k in ("authorize_url", "token_url")} - {""})
    )
    api = _origin(str(config.get("api_url", "")))
    media = " ".join(_origin(str(o)) for o in config.get("media_origins") or [] if _origin(str(o)))
    directives = [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        f"img-src 'self' data: blob: {media}".rstrip(),
        f"connect-src 'self' {api} {auth}".rstrip(),
        "font-src 'self'",
        "object-src 'none'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        f"form-action 'self' {auth}".rstrip(),
    ]
    return "; ".join(" ".join(d.split()) for d in directives)


def _security_headers(config: dict[str, Any]) -> dict[str, str]:
    return {
        "Content-Security-Policy": content_security_policy(config),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "X-Frame-Options": "DENY",
        "Cross-Origin-Opener-Policy": "same-origin",
        "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
        "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
    }


@cache
def _read(path: Path) -> tuple[bytes, str]:
    data = path.read_bytes()
    return data, '"' + hashlib.sha256(data).hexdigest()[:32] + '"'


def _plain(status: int, message: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json", **(headers or {})},
        "body": json.dumps({"message": message}),
    }


def _file(
    path: Path, event: dict[str, Any], config: dict[str, Any], *, head: bool
) -> dict[str, Any]:
    data, etag = _read(path)
    content_type = CONTENT_TYPES.get(path.suffix.lower(), "application/octet-stream")
    headers = {
        "Content-Type": content_type,
        "Cache-Control": "no-cache",
        "ETag": etag,
        **_security_headers(config),
    }
    wanted = (event.get("headers") or {}).get("if-none-match", "")
    if etag in [tag.strip() for tag in wanted.split(",")]:
        return {"statusCode": 304, "headers": headers, "body": ""}
    if head:
        return {"statusCode": 200, "headers": headers, "body": ""}
    if content_type.startswith(TEXT_TYPES):
        return {"statusCode": 200, "headers": headers, "body": data.decode("utf-8")}
    return {
        "statusCode": 200,
        "headers": headers,
        "body": base64.b64encode(data).decode(),
        "isBase64Encoded": True,
    }


def _config_response(config: dict[str, Any], event: dict[str, Any]) -> dict[str, Any]:
    body = {k: config[k] for k in CONFIG_KEYS if k in config}
    if "redirect_uri" not in body:
        host = (event.get("headers") or {}).get("host") or event["requestContext"]["domainName"]
        body["redirect_uri"] = f"https://{host}{PREFIX}"
    body["media_origins"] = list(config.get("media_origins") or [])
    return {
        "statusCode": 200,
        "headers": {
            "Content-Type": "application/json",
            "Cache-Control": "no-cache",
            **_security_headers(config),
        },
        "body": json.dumps(body),
    }


def _preflight(config: dict[str, Any]) -> dict[str, Any]:
    origin = _origin(str(config.get("redirect_uri", "")))
    return {
        "statusCode": 204,
        "headers": {
            "Access-Control-Allow-Origin": origin,
            "Access-Control-Allow-Methods": CORS_METHODS,
            "Access-Control-Allow-Headers": CORS_HEADERS,
            "Access-Control-Max-Age": "600",
            "Vary": "Origin",
        },
        "body": "",
    }


def static_file(relative: str) -> Path | None:
    """The file under static/ a request path names; None if it names none or tries to
    leave static/ (``..``, absolute, backslashes, hidden files)."""
    name = unquote(relative)
    if "\\" in name or "\x00" in name or name.startswith("/"):
        return None
    parts = PurePosixPath(name).parts
    if any(part in ("..", ".") or part.startswith(".") for part in parts):
        return None
    root = STATIC.resolve()
    candidate = (root / name).resolve()
    if not candidate.is_relative_to(root) or not candidate.is_file():
        return None
    return candidate


def _traversal(relative: str) -> bool:
    name = unquote(unquote(relative))
    return (
        "\\" in name
        or "\x00" in name
        or name.startswith("/")
        or any(part == ".." for part in PurePosixPath(name).parts)
    )


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    http = event["requestContext"]["http"]
    method = str(http["method"]).upper()
    path = event.get("rawPath") or http["path"]
    if method == "OPTIONS":
        return _preflight(load_config())
    if method not in ("GET", "HEAD"):
        return _plain(405, "Method Not Allowed", {"Allow": "GET, HEAD"})
    if path == PREFIX.rstrip("/"):
        query = event.get("rawQueryString") or ""
        location = PREFIX + (f"?{query}" if query else "")
        return {"statusCode": 301, "headers": {"Location": location}, "body": ""}
    if not path.startswith(PREFIX):
        return _plain(404, "Not Found")
    relative = path[len(PREFIX) :]
    if _traversal(relative):
        return _plain(400, "Bad Request")
    config = load_config()
    if relative == "config.json":
        return _config_response(config, event)
    head = method == "HEAD"
    index = STATIC / "index.html"
    if relative in ("", "index.html"):
        if not index.is_file():
            return _plain(404, "Not Found")
        return _file(index, event, config, head=head)
    found = static_file(relative)
    if found is not None:
        return _file(found, event, config, head=head)
    last = PurePosixPath(unquote(relative)).name
    if "." not in last and index.is_file():
        return _file(index, event, config, head=head)  # an app route: the app routes it
    return _plain(404, "Not Found")
