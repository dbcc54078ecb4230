"""Deployment settings, read once from the environment the template sets.

Everything that differs between AWS and the local stack (endpoints, names) arrives
here as configuration, so runtime code never asks "am I local?". AWS endpoints are
boto3's own `AWS_ENDPOINT_URL`; Meta's is `GRAPH_API_BASE_URL`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache


class ConfigurationError(RuntimeError):
    """A required setting is missing: a deployment fault, never retried away."""


def _required(name: str) -> str:
    value = os.environ.get(name, "")
    if not value:
        raise ConfigurationError(f"environment variable {name} is not set")
    return value


def parse_hosts(value: str) -> tuple[str, ...]:
    """Host names from a comma-separated setting (``MEDIA_DOWNLOAD_HOSTS``).

    Bare host names only: a scheme, port, path or wildcard is a configuration mistake
    that would widen or silently void the allowlist, so it fails loudly instead.
    """
    hosts = tuple(h.strip().lower() for h in value.split(",") if h.strip())
    for host in hosts:
        if not all(c.isalnum() or c in "-." for c in host) or host.startswith("."):
            raise ValueError(f"MEDIA_DOWNLOAD_HOSTS: {host!r} is not a bare host name")
    return hosts


def env_flag(name: str, default: bool) -> bool:
    """A boolean setting (true/false, 1/0, yes/no, on/off); anything else is a
    deployment mistake and fails loudly rather than silently picking a side."""
    raw = os.environ.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ConfigurationError(f"{name} must be true or false, not {raw!r}")


def parse_keywords(value: str) -> frozenset[str]:
    """Upper-cased keywords from a comma-separated setting (OPT_OUT_KEYWORDS)."""
    return frozenset(k.strip().upper() for k in value.split(",") if k.strip())


DEFAULT_OPT_OUT = parse_keywords(
    "STOP,STOPP,UNSUBSCRIBE,BAJA,PARAR,CANCELAR,ARRET,ARRÊT,ANNULER,SAIR,DESCADASTRAR"
)
DEFAULT_OPT_IN = parse_keywords("START,UNSTOP,ALTA,RESUME")


def keywords(name: str, default: frozenset[str]) -> frozenset[str]:
    raw = os.environ.get(name)
    return default if raw is None else parse_keywords(raw)


def _media_hosts(value: str) -> tuple[str, ...]:
    try:
        return parse_hosts(value)
    except ValueError as exc:
        raise ConfigurationError(str(exc)) from exc


@dataclass(frozen=True, slots=True)
class Settings:
    table_name: str
    meta_secret_id: str
    graph_api_base_url: str
    graph_api_version: str
    idempotency_table_name: str | None
    inbound_queue_url: str | None
    outbound_queue_url: str | None
    media_bucket: str | None
    # Seconds a claimed-but-unconfirmed send waits for its status webhook before the
    # reconcile looks for evidence and may send it again (docs/outbound.md).
    send_reconcile_grace_seconds: int
    # Longest an unconfirmed send is kept waiting for evidence (while our inbound queue
    # or its DLQ holds anything) before it is recorded failed, reason outcome_unknown.
    send_outcome_max_wait_seconds: int
    # The inbound DLQ: a status webhook parked there is evidence still to be processed.
    inbound_dlq_url: str | None
    # Attempts for retryable Graph errors before a message is recorded as failed.
    max_send_attempts: int
    # Seconds a customer-service window lasts after the customer's last message.
    window_seconds: int
    # HTTPS hosts inbound media may be downloaded from with the token, besides Meta's
    # own and the Graph base URL's origin (wacloud.graph.media_hosts).
    media_download_hosts: tuple[str, ...] = ()
    # Inbound (docs/inbound.md): read receipts, typing indicator, consent keywords.
    mark_as_read: bool = True
    typing_indicator: bool = True
    opt_out_keywords: frozenset[str] = DEFAULT_OPT_OUT
    opt_in_keywords: frozenset[str] = DEFAULT_OPT_IN
    # The inbound queue's maxReceiveCount (template.yaml): the last delivery records a
    # message whose media could not be fetched rather than let it reach the DLQ.
    inbound_max_receive_count: int = 5
    # Seconds before a message recorded with its media pending fetches it again.
    media_retry_seconds: int = 60

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            table_name=_required("TABLE_NAME"),
            meta_secret_id=_required("META_SECRET_ID"),
            graph_api_base_url=os.environ.get("GRAPH_API_BASE_URL", "https://graph.facebook.com"),
            graph_api_version=os.environ.get("GRAPH_API_VERSION", "v23.0"),
            idempotency_table_name=os.environ.get("IDEMPOTENCY_TABLE_NAME") or None,
            inbound_queue_url=os.environ.get("INBOUND_QUEUE_URL") or None,
            outbound_queue_url=os.environ.get("OUTBOUND_QUEUE_URL") or None,
            media_bucket=os.environ.get("MEDIA_BUCKET") or None,
            send_reconcile_grace_seconds=int(os.environ.get("SEND_RECONCILE_GRACE_SECONDS", "300")),
            send_outcome_max_wait_seconds=int(
                os.environ.get("SEND_OUTCOME_MAX_WAIT_SECONDS", str(24 * 3600))
            ),
            inbound_dlq_url=os.environ.get("INBOUND_DLQ_URL") or None,
            max_send_attempts=int(os.environ.get("MAX_SEND_ATTEMPTS", "8")),
            window_seconds=int(os.environ.get("CUSTOMER_WINDOW_SECONDS", str(24 * 3600))),
            media_download_hosts=_media_hosts(os.environ.get("MEDIA_DOWNLOAD_HOSTS", "")),
            mark_as_read=env_flag("MARK_AS_READ", True),
            typing_indicator=env_flag("TYPING_INDICATOR", True),
            opt_out_keywords=keywords("OPT_OUT_KEYWORDS", DEFAULT_OPT_OUT),
            opt_in_keywords=keywords("OPT_IN_KEYWORDS", DEFAULT_OPT_IN),
            inbound_max_receive_count=int(os.environ.get("INBOUND_MAX_RECEIVE_COUNT", "5")),
            media_retry_seconds=int(os.environ.get("INBOUND_MEDIA_RETRY_SECONDS", "60")),
        )

    def require(self, value: str | None, name: str) -> str:
        """Return an optional setting a particular function needs, or fail loudly."""
        if not value:
            raise ConfigurationError(f"this function needs {name}, which is not configured")
        return value


@cache
def settings() -> Settings:
    return Settings.from_env()
