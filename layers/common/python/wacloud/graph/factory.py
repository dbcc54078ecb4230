"""The one place a function's Graph client is built (`configured_graph_client`).

Every function that talks to Meta builds it the same way: the configured base URL and
version, the access token of the phone number each call is for (read from the Meta
secret on each call, through Powertools' cache, so a rotated token is picked up
without a redeploy) and the extra media hosts (`MEDIA_DOWNLOAD_HOSTS`), which only
matter to media downloads.
"""

from __future__ import annotations

from wacloud.graph.client import GraphClient
from wacloud.infra.config import settings
from wacloud.infra.credentials import load_credentials


def _token_for(phone_number_id: str) -> str:
    return load_credentials().token_for(phone_number_id)


def configured_graph_client() -> GraphClient:
    """A Graph client as configured by the environment and the Meta secret."""
    cfg = settings()
    return GraphClient(
        cfg.graph_api_base_url,
        cfg.graph_api_version,
        _token_for,
        media_hosts=cfg.media_download_hosts,
    )
