"""Graph API client for the WhatsApp Cloud API, on one shared synchronous httpx.Client.

A shared sync client (connection pool reused across invocations of a warm Lambda)
costs ~0.4 ms CPU per request, against ~2.7 ms for httpx's AsyncClient at
concurrency 50 (measured, see bench/). Batches are sent concurrently from a thread
pool over this one client instead.

Errors: a Graph error envelope becomes `GraphAPIError` (classified in
`wacloud.graph.errors`); a network failure becomes `GraphTransportError`, whose
outcome is *unknown* for writes (Meta may have accepted the message), which the
sender treats with care.

Media downloads send the token only where `wacloud.graph.media_hosts` allows
(`MediaUrlRefusedError` otherwise, redirects included) and stop reading past the
caller's size cap (`MediaTooLargeError`).

httpx (with ssl, email, http.cookiejar) is imported on the first request, not at
import: ~35 ms of a cold start that a batch which only defers or dedupes never needs.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from wacloud.errors import GraphError
from wacloud.graph.errors import GraphAPIError
from wacloud.graph.media_hosts import MediaHostPolicy, origin

if TYPE_CHECKING:
    import httpx

# httpx.Timeout / httpx.Limits arguments of the shared pool.
_TIMEOUT_SECONDS = {"connect": 3.0, "read": 10.0, "write": 10.0, "pool": 5.0}
_MAX_CONNECTIONS = 64
# Redirects a media download follows, each to an allowed origin only.
_MAX_MEDIA_REDIRECTS = 3
# Bytes of a failed download's body read for Meta's error envelope.
_MAX_ERROR_BODY = 64 * 1024


class GraphTransportError(GraphError, RuntimeError):
    """A network failure talking to Graph.

    `reached_meta` is False when the request was certainly never sent (no connection
    could be made), so a send may be retried at once; None when Meta may have received
    it (a read timeout, a reset after the request was written, a 5xx without Graph's
    error body), so a send's outcome is unknown and must not simply be repeated.
    """

    def __init__(self, message: str, *, reached_meta: bool | None = None) -> None:
        super().__init__(message)
        self.reached_meta = reached_meta


class MediaUrlRefusedError(GraphError, RuntimeError):
    """A media URL (or a redirect) names an origin the token may not go to.

    Nothing was sent to it. ``origin`` is ``scheme://host[:port]`` only: safe to log.
    """

    def __init__(self, url_origin: str, *, redirect: bool = False) -> None:
        what = "redirect to" if redirect else "url on"
        super().__init__(f"media {what} {url_origin} refused: not an allowed media host")
        self.origin = url_origin
        self.redirect = redirect


class MediaTooLargeError(GraphError, RuntimeError):
    """The media is larger than the caller's cap; reading stopped at the cap."""

    def __init__(self, limit: int, seen: int, *, declared: bool) -> None:
        how = "declares" if declared else "sent more than"
        size = f"{seen} bytes" if declared else f"{limit} bytes"
        super().__init__(f"media download {how} {size}; limit is {limit} bytes")
        self.limit = limit
        self.seen = seen


@dataclass(frozen=True, slots=True)
class SentMessage:
    wamid: str
    wa_id: str | None
    message_status: str | None


@dataclass(frozen=True, slots=True)
class BlockFailure:
    """One user Meta did not block (or unblock), with Meta's first error for it."""

    input: str
    wa_id: str | None
    code: int | None
    message: str
    details: str | None


@dataclass(frozen=True, slots=True)
class BlockResult:
    """What a block or unblock call did, per user (docs/meta/blocking.md#block-and-unblock).

    ``done`` holds the ``wa_id`` of every user blocked (``added_users``) or unblocked
    (``removed_users``); ``failed`` the others. A partly failed call is a result, not
    an exception: Meta answers it with HTTP 400 and error 139100 beside the lists.
    """

    done: tuple[str, ...]
    failed: tuple[BlockFailure, ...]

    @property
    def ok(self) -> bool:
        return not self.failed


@dataclass(frozen=True, slots=True)
class BlockedPage:
    """One page of a number's blocklist; ``after`` is the cursor of the next page (None
    on the last one)."""

    wa_ids: tuple[str, ...]
    after: str | None


# docs/meta/blocking.md#limits: at most 1,000 users per block or unblock request.
BLOCK_USERS_PER_REQUEST = 1000


@dataclass(frozen=True, slots=True)
class MediaInfo:
    id: str
    url: str
    mime_type: str
    sha256: str | None
    file_size: int | None


_shared_http: httpx.Client | None = None
_shared_lock = threading.Lock()


def shared_http() -> httpx.Client:
    """The container-wide connection pool (created on first use, reused when warm)."""
    global _shared_http
    with _shared_lock:
        if _shared_http is None:
            import httpx

            _shared_http = httpx.Client(
                timeout=httpx.Timeout(**_TIMEOUT_SECONDS),
                limits=httpx.Limits(
                    max_connections=_MAX_CONNECTIONS, max_keepalive_connections=_MAX_CONNECTIONS
                ),
            )
        return _shared_http


class GraphClient:
    def __init__(
        self,
        base_url: str,
        version: str,
        token_for: Callable[[str], str],
        http: httpx.Client | None = None,
        media_hosts: tuple[str, ...] = (),
    ) -> None:
        """``media_hosts``: extra HTTPS hosts media may be downloaded from with the
        token (``MEDIA_DOWNLOAD_HOSTS``), besides Meta's and ``base_url``'s origin."""
        self._base = f"{base_url.rstrip('/')}/{version}"
        self._base_url = base_url
        self._extra_media_hosts = media_hosts
        self._media_policy: MediaHostPolicy | None = None
        self._token_for = token_for
        # The shared pool is made on the first request, not here: creating it loads the
        # CA bundle (~40 ms), which a cold start should not pay for a batch that only
        # defers, dedupes or rejects.
        self._own_http = http

    @property
    def _http(self) -> httpx.Client:
        if self._own_http is None:
            self._own_http = shared_http()
        return self._own_http

    # ------------------------------------------------------------------ messages
    def send_message(self, phone_number_id: str, payload: dict[str, Any]) -> SentMessage:
        try:
            body = self._request(
                "POST", f"/{phone_number_id}/messages", phone_number_id, json=payload
            )
        except GraphAPIError as exc:
            if exc.code is None and (exc.http_status or 0) >= 500:
                # A 5xx without Graph's envelope (a proxy or load balancer answered):
                # Meta may have accepted the message behind it.
                raise GraphTransportError(str(exc), reached_meta=None) from exc
            raise
        message = (body.get("messages") or [{}])[0]
        contact = (body.get("contacts") or [{}])[0]
        wamid = message.get("id")
        if not wamid:
            raise GraphAPIError.from_response(
                200,
                {"error": {"message": "no message id in response", "code": 1, "type": "wacloud"}},
            )
        return SentMessage(
            wamid=str(wamid),
            wa_id=contact.get("wa_id"),
            message_status=message.get("message_status"),
        )

    def mark_read(
        self, phone_number_id: str, wamid: str, *, typing_indicator: bool = False
    ) -> None:
        payload: dict[str, Any] = {
            "messaging_product": "whatsapp",
            "status": "read",
            "message_id": wamid,
        }
        if typing_indicator:
            payload["typing_indicator"] = {"type": "text"}
        self._request("POST", f"/{phone_number_id}/messages", phone_number_id, json=payload)

    # ------------------------------------------------------------------ the number
    def phone_number(self, phone_number_id: str, fields: str = "id") -> dict[str, Any]:
        """GET /{phone_number_id}?fields=...: the number's node, read with its token (the
        cheapest call that proves the token works; 190 when it does not)."""
        return self._request(
            "GET", f"/{phone_number_id}", phone_number_id, params={"fields": fields}
        )

    # ------------------------------------------------------------------ block users
    def block_users(self, phone_number_id: str, wa_ids: Sequence[str]) -> BlockResult:
        """Block users at Meta (docs/meta/blocking.md): only users who wrote in the last
        24 h can be; failures are per user in the result."""
        return self._block("POST", phone_number_id, wa_ids)

    def unblock_users(self, phone_number_id: str, wa_ids: Sequence[str]) -> BlockResult:
        """Unblock users at Meta; failures (e.g. not blocked) are per user in the result."""
        return self._block("DELETE", phone_number_id, wa_ids)

    def blocked_users(
        self, phone_number_id: str, *, after: str | None = None, limit: int | None = None
    ) -> BlockedPage:
        """One page of the number's blocklist. Error 139102 (`GraphAPIError`): the list
        changed while paging; start again from the first page."""
        params: dict[str, Any] = {}
        if after:
            params["after"] = after
        if limit:
            params["limit"] = limit
        body = self._request(
            "GET", f"/{phone_number_id}/block_users", phone_number_id, params=params
        )
        data = body.get("data") or []
        paging = body.get("paging") or {}
        cursors = paging.get("cursors") or {}
        # Graph pages: a `next` link only when there is a next page.
        more = bool(paging.get("next")) and bool(cursors.get("after"))
        return BlockedPage(
            wa_ids=tuple(str(d["wa_id"]) for d in data if isinstance(d, dict) and d.get("wa_id")),
            after=str(cursors["after"]) if more else None,
        )

    def _block(self, method: str, phone_number_id: str, wa_ids: Sequence[str]) -> BlockResult:
        if not 1 <= len(wa_ids) <= BLOCK_USERS_PER_REQUEST:
            raise ValueError(f"block 1 to {BLOCK_USERS_PER_REQUEST} users per request")
        payload = {
            "messaging_product": "whatsapp",
            # wa_id is international without "+": sent with it, as the send path does.
            "block_users": [{"user": w if w.startswith("+") else f"+{w}"} for w in wa_ids],
        }
        status, body = self._call(
            method, f"/{phone_number_id}/block_users", phone_number_id, json=payload
        )
        lists = body.get("block_users") if isinstance(body, dict) else None
        if not isinstance(lists, dict):
            raise GraphAPIError.from_response(status, body)
        # 400 + 139100 with the lists: some or all users failed, reported per user.
        done_key = "added_users" if method == "POST" else "removed_users"
        done = tuple(
            str(u["wa_id"])
            for u in lists.get(done_key) or []
            if isinstance(u, dict) and u.get("wa_id")
        )
        return BlockResult(done=done, failed=tuple(_failures(lists.get("failed_users") or [])))

    # ------------------------------------------------------------------ templates
    def list_templates(
        self, waba_id: str, phone_number_id: str, *, after: str | None = None, limit: int = 100
    ) -> dict[str, Any]:
        params: dict[str, Any] = {
            "limit": limit,
            "fields": "id,name,language,status,category,"
            "components,parameter_format,quality_score,sub_category",
        }
        if after:
            params["after"] = after
        return self._request("GET", f"/{waba_id}/message_templates", phone_number_id, params=params)

    # ------------------------------------------------------------------ media
    def upload_media(
        self, phone_number_id: str, content: bytes, mime_type: str, filename: str = "file"
    ) -> str:
        body = self._request(
            "POST",
            f"/{phone_number_id}/media",
            phone_number_id,
            data={"messaging_product": "whatsapp", "type": mime_type},
            files={"file": (filename, content, mime_type)},
        )
        return str(body["id"])

    def get_media(self, media_id: str, phone_number_id: str) -> MediaInfo:
        body = self._request("GET", f"/{media_id}", phone_number_id)
        if not body.get("url"):
            # Not a media object (an unknown id can resolve to another Graph node).
            raise GraphAPIError(
                code=100, message=f"{media_id} is not a media object", http_status=200
            )
        size = body.get("file_size")
        return MediaInfo(
            id=str(body.get("id", media_id)),
            url=str(body["url"]),
            mime_type=str(body.get("mime_type", "application/octet-stream")),
            sha256=body.get("sha256"),
            # Conflict between sources (docs/meta/media.md#endpoints): a string in OAS, a number in
            # PYWA.
            file_size=int(size) if size is not None else None,
        )

    def download_media(self, url: str, phone_number_id: str, max_bytes: int) -> bytes:
        """The media at ``url``, read as a stream and refused past ``max_bytes``.

        The token goes only to an allowed origin (`wacloud.graph.media_hosts`); a redirect is
        followed by hand, at most `_MAX_MEDIA_REDIRECTS` times, and only to an allowed
        origin. Raises `MediaUrlRefusedError` before anything is sent to another one.
        """
        import httpx

        target = self._allowed_media_url(url)
        try:
            for _ in range(_MAX_MEDIA_REDIRECTS + 1):
                with self._http.stream(
                    "GET", target, headers=self._auth(phone_number_id), follow_redirects=False
                ) as response:
                    if response.is_redirect:
                        location = response.headers.get("location")
                        if not location:
                            raise GraphAPIError.from_response(response.status_code, None)
                        target = self._allowed_media_url(location, redirect_from=target)
                        continue
                    if response.status_code != 200:
                        raise GraphAPIError.from_response(
                            response.status_code, _error_body(response)
                        )
                    return _read_capped(response, max_bytes)
        except httpx.HTTPError as exc:
            raise GraphTransportError(f"media download failed: {exc.__class__.__name__}") from exc
        # No Graph code: the class follows the status, terminal for a redirect loop.
        raise GraphAPIError(
            code=None, message=f"more than {_MAX_MEDIA_REDIRECTS} redirects", http_status=310
        )

    def _allowed_media_url(self, url: str, redirect_from: httpx.URL | None = None) -> httpx.URL:
        """``url`` (resolved against ``redirect_from`` for a redirect's Location) parsed
        by httpx, the parser the request uses, if the token may go there."""
        import httpx

        redirect = redirect_from is not None
        try:
            parsed = redirect_from.join(url) if redirect_from is not None else httpx.URL(url)
        except (httpx.InvalidURL, TypeError, ValueError) as exc:
            raise MediaUrlRefusedError("(unparseable url)", redirect=redirect) from exc
        if not self._media_hosts().allows(
            parsed.scheme, parsed.host, parsed.port, bool(parsed.userinfo)
        ):
            raise MediaUrlRefusedError(
                origin(parsed.scheme, parsed.host, parsed.port), redirect=redirect
            )
        return parsed

    def _media_hosts(self) -> MediaHostPolicy:
        if self._media_policy is None:
            import httpx

            base = httpx.URL(self._base_url)
            self._media_policy = MediaHostPolicy.for_graph(
                base.scheme, base.host, base.port, self._extra_media_hosts
            )
        return self._media_policy

    # ------------------------------------------------------------------ plumbing
    def _auth(self, phone_number_id: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._token_for(phone_number_id)}"}

    def _request(
        self, method: str, path: str, phone_number_id: str, **kwargs: Any
    ) -> dict[str, Any]:
        status, body = self._call(method, path, phone_number_id, **kwargs)
        if status >= 400 or (isinstance(body, dict) and "error" in body):
            raise GraphAPIError.from_response(status, body)
        return body if isinstance(body, dict) else {}

    def _call(
        self, method: str, path: str, phone_number_id: str, **kwargs: Any
    ) -> tuple[int, dict[str, Any] | None]:
        """One request: (HTTP status, the JSON body or None); transport errors raise."""
        import httpx

        try:
            response = self._http.request(
                method, self._base + path, headers=self._auth(phone_number_id), **kwargs
            )
        except httpx.HTTPError as exc:
            raise GraphTransportError(
                f"{method} {path}: {exc.__class__.__name__}: {exc}",
                reached_meta=_reached_meta(exc),
            ) from exc
        return response.status_code, _json_or_none(response)


def _failures(entries: list[Any]) -> list[BlockFailure]:
    out: list[BlockFailure] = []
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        errors = entry.get("errors") or [{}]
        first = errors[0] if isinstance(errors[0], dict) else {}
        data = first.get("error_data")
        code = first.get("code")
        out.append(
            BlockFailure(
                input=str(entry.get("input", "")),
                wa_id=str(entry["wa_id"]) if entry.get("wa_id") else None,
                code=_code(code),
                message=str(first.get("message") or ""),
                details=str(data["details"])
                if isinstance(data, dict) and data.get("details")
                else None,
            )
        )
    return out


def _reached_meta(exc: Exception) -> bool | None:
    """False if httpx failed before writing the request (no connection: refused, DNS,
    TLS handshake, connect timeout, no free connection in the pool); None otherwise."""
    import httpx

    if isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)):
        return False
    return None


def _read_capped(response: httpx.Response, max_bytes: int) -> bytes:
    """The body, or `MediaTooLargeError` as soon as it is known to exceed ``max_bytes``:
    from Content-Length before reading, or after at most one chunk past the cap."""
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise MediaTooLargeError(max_bytes, int(declared), declared=True)
    chunks: list[bytes] = []
    seen = 0
    for chunk in response.iter_bytes():
        seen += len(chunk)
        if seen > max_bytes:
            raise MediaTooLargeError(max_bytes, seen, declared=False)
        chunks.append(chunk)
    return b"".join(chunks)


def _error_body(response: httpx.Response) -> dict[str, Any] | None:
    """Meta's error envelope from a failed download, reading at most `_MAX_ERROR_BODY`."""
    raw = b""
    for chunk in response.iter_bytes():
        raw += chunk
        if len(raw) > _MAX_ERROR_BODY:
            return None
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _json_or_none(response: httpx.Response) -> dict[str, Any] | None:
    try:
        data = response.json()
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _code(value: Any) -> int | None:
    """An error code given as a number or a string of digits (examples show both)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return int(value) if isinstance(value, str) and value.isdigit() else None
