"""Where a media download may send the Graph access token, and nowhere else.

A media download carries ``Authorization: Bearer <token>``, and its URL comes from
outside: the ``url`` in a webhook's media object, or the answer to
``GET /{media-id}``. A webhook is signed, but by whoever holds an app secret, and a
URL in it can name any host (``https://attacker.example/``, a cloud metadata address).
So the token goes only to:

* HTTPS, default port, on Meta's media download hosts (:data:`META_MEDIA_HOSTS`; see
  docs/inbound.md for where they come from) and on the hosts a deployer adds with
  ``MEDIA_DOWNLOAD_HOSTS``;
* the origin (scheme, host and port) of the configured Graph base URL, which gets the
  token on every Graph call anyway: Meta's Graph host in AWS, the emulator on the
  local stack. Runtime code never asks "am I local?".

URLs are checked as httpx parses them (the caller passes the parsed parts), so the
check and the request can never disagree about the host.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

#: Hosts Meta serves inbound media from (HTTPS only).
META_MEDIA_HOSTS = frozenset({"lookaside.fbsbx.com"})


@dataclass(frozen=True, slots=True)
class MediaHostPolicy:
    """The origins a media download may go to with the token."""

    https_hosts: frozenset[str]
    graph_origin: tuple[str, str, int | None]

    @classmethod
    def for_graph(
        cls, graph_scheme: str, graph_host: str, graph_port: int | None, extra: Iterable[str] = ()
    ) -> MediaHostPolicy:
        return cls(
            https_hosts=META_MEDIA_HOSTS | {h.lower() for h in extra},
            graph_origin=(graph_scheme.lower(), graph_host.lower(), graph_port),
        )

    def allows(self, scheme: str, host: str, port: int | None, has_userinfo: bool) -> bool:
        """True if a URL with these parts may receive the token.

        ``port`` is None for the scheme's default port (as httpx reports it). A URL
        with user info (``https://lookaside.fbsbx.com@attacker.example``) is refused
        whatever its host: it exists only to mislead a reader.
        """
        if has_userinfo or not host:
            return False
        scheme, host = scheme.lower(), host.lower()
        if (scheme, host, port) == self.graph_origin:
            return True
        return scheme == "https" and port is None and host in self.https_hosts


def origin(scheme: str, host: str, port: int | None) -> str:
    """``scheme://host[:port]`` of a URL: what logs and records may say about it
    (never its path or query, which carry Meta's signed parameters)."""
    return f"{scheme}://{host}" + (f":{port}" if port is not None else "")
