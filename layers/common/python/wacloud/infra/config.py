"""Deployment settings, read once from the environment the template sets.

Every environment variable wacloud reads is a field of `Settings`, read here and
nowhere else, so one file lists what a deployer can set (README "Configuration").
Everything that differs between AWS and the local stack (endpoints, names) arrives
here as configuration, so runtime code never asks "am I local?". AWS endpoints are
boto3's own `AWS_ENDPOINT_URL`; Meta's is `GRAPH_API_BASE_URL`.

`settings()` is cached for the life of the process (a Lambda container): a test that
changes the environment calls ``settings.cache_clear()`` afterwards. A malformed
value fails `settings()` itself, so a misconfigured function fails at its first use
rather than on the message that happens to need the value.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache

from wacloud.errors import ConfigurationError

__all__ = ["ConfigurationError", "Settings", "env_flag", "parse_hosts", "settings"]


def _required(name: str) -> str:
    value = os.environ.get(name, "")
    if not value:
        raise ConfigurationError(f"environment variable {name} is not set")
    return value


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


def _days(name: str, default: int, minimum: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        days = int(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be a whole number of days") from None
    if days < minimum:
        raise ConfigurationError(f"{name} must be at least {minimum}")
    return days


def _number(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be a number") from None


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


def metrics_namespace() -> str:
    """POWERTOOLS_METRICS_NAMESPACE, for single metrics written outside a Metrics
    instance: readable on its own, so a metric never fails for want of the table name."""
    return os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or "wacloud"


def _pairs(value: str) -> tuple[tuple[str, str], ...]:
    """``Name=value,Name=value`` as pairs (a value may itself hold ``=``)."""
    pairs = []
    for part in value.split(","):
        name, sep, rest = part.strip().partition("=")
        if sep and name and rest:
            pairs.append((name, rest))
    return tuple(pairs)


def _media_hosts(value: str) -> tuple[str, ...]:
    try:
        return parse_hosts(value)
    except ValueError as exc:
        raise ConfigurationError(str(exc)) from exc


@dataclass(frozen=True, slots=True)
class Settings:
    """Every environment variable wacloud reads, parsed and checked once."""

    table_name: str
    """TABLE_NAME (required): the state table."""
    meta_secret_id: str
    """META_SECRET_ID (required): the Secrets Manager secret with Meta's credentials."""
    graph_api_base_url: str
    """GRAPH_API_BASE_URL: Meta's Graph origin; the local stack points it at the emulator."""
    graph_api_version: str
    """GRAPH_API_VERSION: the Graph version in every path (v23.0 by default)."""
    idempotency_table_name: str | None
    """IDEMPOTENCY_TABLE_NAME: Powertools Idempotency's table (InboundProcessor)."""
    inbound_queue_url: str | None
    """INBOUND_QUEUE_URL: where WebhookReceive queues webhook items."""
    outbound_queue_url: str | None
    """OUTBOUND_QUEUE_URL: where submissions wait for the Sender."""
    media_bucket: str | None
    """MEDIA_BUCKET: media, large queue bodies (s3_pointer) and parked items."""
    send_reconcile_grace_seconds: int
    """SEND_RECONCILE_GRACE_SECONDS (300): how long a claimed-but-unconfirmed send
    waits for its status webhook before the reconcile looks for evidence and may send
    it again (docs/outbound.md)."""
    send_outcome_max_wait_seconds: int
    """SEND_OUTCOME_MAX_WAIT_SECONDS (one day): longest an unconfirmed send is kept
    waiting for evidence (while our inbound queue or its DLQ holds anything) before it
    is recorded failed, reason outcome_unknown."""
    inbound_dlq_url: str | None
    """INBOUND_DLQ_URL: the inbound DLQ; a status webhook parked there is evidence
    still to be processed."""
    max_send_attempts: int
    """MAX_SEND_ATTEMPTS (8): attempts for retryable Graph errors before a message is
    recorded as failed."""
    window_seconds: int
    """CUSTOMER_WINDOW_SECONDS (one day): how long a customer-service window lasts
    after the customer's last message."""
    media_download_hosts: tuple[str, ...] = ()
    """MEDIA_DOWNLOAD_HOSTS: HTTPS hosts inbound media may be downloaded from with the
    token, besides Meta's own and the Graph base URL's origin (wacloud.graph.media_hosts)."""
    message_retention_days: int = 400
    """MESSAGE_RETENTION_DAYS (400, at least 1): life of message-content records
    (wacloud.infra.retention)."""
    contact_retention_days: int = 0
    """CONTACT_RETENTION_DAYS (0: kept until erased): life of a contact after its last
    activity (wacloud.infra.retention)."""
    responder: str = "menu"
    """RESPONDER (menu, echo, none): what answers a customer (wacloud.inbound.responder)."""
    mark_as_read: bool = True
    """MARK_AS_READ: send a read receipt (blue ticks) for every customer message."""
    typing_indicator: bool = True
    """TYPING_INDICATOR: show "typing..." while a reply is on its way. Meta sends it with
    the read receipt in one call, so it needs MARK_AS_READ too."""
    opt_out_keywords: frozenset[str] = DEFAULT_OPT_OUT
    """OPT_OUT_KEYWORDS: comma-separated, case-insensitive exact-match keywords that opt
    a contact out of marketing."""
    opt_in_keywords: frozenset[str] = DEFAULT_OPT_IN
    """OPT_IN_KEYWORDS: keywords that opt a contact back in."""
    inbound_max_receive_count: int = 5
    """INBOUND_MAX_RECEIVE_COUNT: the inbound queue's maxReceiveCount (template.yaml);
    on that delivery a message whose media could not be fetched is recorded instead
    of retried, so it is kept rather than dead-lettered."""
    campaign_mps: float = 40.0
    """CAMPAIGN_MPS: campaigns' share of a number's messages per second (at most half
    the number's throughput; wacloud.campaigns.pacing)."""
    queue_processor_period: float = 60.0
    """QUEUE_PROCESSOR_PERIOD: seconds between scheduled QueueProcessor runs (the
    rule's rate); pacing budgets one period per run. Only a local stack with sped-up
    schedules sets it."""
    service_name: str | None = None
    """POWERTOOLS_SERVICE_NAME: the function's name in logs and metrics (Powertools
    reads it too; a function without Powertools Logger reads it here)."""
    metrics_namespace: str = "wacloud"
    """POWERTOOLS_METRICS_NAMESPACE: the metrics namespace (Powertools reads it too;
    single metrics written outside a Metrics instance take it from here)."""
    media_retry_seconds: int = 60
    """INBOUND_MEDIA_RETRY_SECONDS (60): seconds before a message recorded with its media
    pending fetches it again (doubled per try, at most 900; docs/inbound.md)."""
    openai_secret_id: str | None = None
    """OPENAI_SECRET_ID: the Secrets Manager secret with OpenAI's key (JSON ``api_key``,
    optional ``base_url``: the local stack points it at its OpenAI stand-in)."""
    assistant_queue_url: str | None = None
    """ASSISTANT_QUEUE_URL: where the InboundProcessor queues customer messages for the
    assistant (its own function, so OpenAI's latency never holds the inbound queue)."""
    event_bus_name: str | None = None
    """EVENT_BUS_NAME: the stack's own EventBridge bus, where our facts are published
    (e.g. ``conversation.handoff_requested``)."""
    handoff_topic_arn: str | None = None
    """HANDOFF_TOPIC_ARN: the SNS topic operators subscribe to for handoff requests."""
    knowledge_prefix: str = "knowledge/"
    """KNOWLEDGE_PREFIX (``knowledge/``): media-bucket prefix of the knowledge-base
    documents, ``{prefix}{phone_number_id}/{document}``; the index lives beside it."""
    media_retry_queue_url: str | None = None
    """MEDIA_RETRY_QUEUE_URL: where InboundProcessor puts those delayed media retries (its
    own queue: the sender's reconcile counts what InboundQueue holds, docs/outbound.md)."""
    ops_queues: tuple[tuple[str, str], ...] = ()
    """OPS_QUEUES (``Name=url,Name=url``): the queues the operator API reports on and
    redrives (its operations resource); names are the template's logical ids."""
    health_webhook_max_age: float = 24 * 3600.0
    """HEALTH_WEBHOOK_MAX_AGE_SECONDS (86400): the health report warns when a number's
    last webhook is older than this (a quiet number may be normal: set it to suit)."""
    health_queue_backlog: int = 1000
    """HEALTH_QUEUE_BACKLOG (1000): visible messages in a (non dead-letter) queue above
    which the health report warns."""
    health_oldest_message_age: float = 900.0
    """HEALTH_OLDEST_MESSAGE_SECONDS (900): age of a queue's oldest message (CloudWatch
    ApproximateAgeOfOldestMessage) above which the health report warns."""
    lake_stream_name: str | None = None
    """LAKE_STREAM_NAME: the Kinesis Data Firehose stream the Facts function writes every
    fact to (the event lake, docs/lake.md); unset: no lake."""
    cost_monthly_threshold: float = 0.0
    """COST_MONTHLY_THRESHOLD (0 = off): a phone number's cost this calendar month (rate
    card currency, docs/analytics.md) above which an alert is raised once a month."""
    alarm_topic_arn: str | None = None
    """ALARM_TOPIC_ARN: the SNS topic alarms and alerts go to (AlarmEmail subscribes)."""

    @classmethod
    def from_env(cls) -> Settings:
        env = os.environ
        return cls(
            table_name=_required("TABLE_NAME"),
            meta_secret_id=_required("META_SECRET_ID"),
            graph_api_base_url=env.get("GRAPH_API_BASE_URL", "https://graph.facebook.com"),
            graph_api_version=env.get("GRAPH_API_VERSION", "v23.0"),
            idempotency_table_name=env.get("IDEMPOTENCY_TABLE_NAME") or None,
            inbound_queue_url=env.get("INBOUND_QUEUE_URL") or None,
            outbound_queue_url=env.get("OUTBOUND_QUEUE_URL") or None,
            media_bucket=env.get("MEDIA_BUCKET") or None,
            send_reconcile_grace_seconds=int(env.get("SEND_RECONCILE_GRACE_SECONDS", "300")),
            send_outcome_max_wait_seconds=int(
                env.get("SEND_OUTCOME_MAX_WAIT_SECONDS", str(24 * 3600))
            ),
            inbound_dlq_url=env.get("INBOUND_DLQ_URL") or None,
            max_send_attempts=int(env.get("MAX_SEND_ATTEMPTS", "8")),
            window_seconds=int(env.get("CUSTOMER_WINDOW_SECONDS", str(24 * 3600))),
            media_download_hosts=_media_hosts(env.get("MEDIA_DOWNLOAD_HOSTS", "")),
            message_retention_days=_days("MESSAGE_RETENTION_DAYS", 400, 1),
            contact_retention_days=_days("CONTACT_RETENTION_DAYS", 0, 0),
            responder=env.get("RESPONDER", "menu").lower(),
            mark_as_read=env_flag("MARK_AS_READ", True),
            typing_indicator=env_flag("TYPING_INDICATOR", True),
            opt_out_keywords=keywords("OPT_OUT_KEYWORDS", DEFAULT_OPT_OUT),
            opt_in_keywords=keywords("OPT_IN_KEYWORDS", DEFAULT_OPT_IN),
            inbound_max_receive_count=int(env.get("INBOUND_MAX_RECEIVE_COUNT", "5")),
            campaign_mps=_number("CAMPAIGN_MPS", 40.0),
            queue_processor_period=_number("QUEUE_PROCESSOR_PERIOD", 60.0),
            service_name=env.get("POWERTOOLS_SERVICE_NAME") or None,
            metrics_namespace=metrics_namespace(),
            media_retry_seconds=int(env.get("INBOUND_MEDIA_RETRY_SECONDS", "60")),
            openai_secret_id=env.get("OPENAI_SECRET_ID") or None,
            assistant_queue_url=env.get("ASSISTANT_QUEUE_URL") or None,
            event_bus_name=env.get("EVENT_BUS_NAME") or None,
            handoff_topic_arn=env.get("HANDOFF_TOPIC_ARN") or None,
            knowledge_prefix=env.get("KNOWLEDGE_PREFIX", "knowledge/"),
            media_retry_queue_url=env.get("MEDIA_RETRY_QUEUE_URL") or None,
            ops_queues=_pairs(env.get("OPS_QUEUES", "")),
            health_webhook_max_age=_number("HEALTH_WEBHOOK_MAX_AGE_SECONDS", 24 * 3600.0),
            health_queue_backlog=int(_number("HEALTH_QUEUE_BACKLOG", 1000)),
            health_oldest_message_age=_number("HEALTH_OLDEST_MESSAGE_SECONDS", 900.0),
            lake_stream_name=env.get("LAKE_STREAM_NAME") or None,
            cost_monthly_threshold=_number("COST_MONTHLY_THRESHOLD", 0.0),
            alarm_topic_arn=env.get("ALARM_TOPIC_ARN") or None,
        )

    def require(self, value: str | None, name: str) -> str:
        """Return an optional setting a particular function needs, or fail loudly."""
        if not value:
            raise ConfigurationError(f"this function needs {name}, which is not configured")
        return value


@cache
def settings() -> Settings:
    return Settings.from_env()
