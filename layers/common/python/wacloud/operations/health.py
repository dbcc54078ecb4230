"""The stack's health as operators see it (`GET /v1/ops/health`, docs/operator-api.md).

Four checks, each ``ok``, ``warn`` or ``fail`` with a detail a person reads and the
figures behind it:

* ``last_webhook`` (per number): when the InboundProcessor last handled a webhook item
  for the number (`store.health`, noted at most once a minute per container). Older
  than HEALTH_WEBHOOK_MAX_AGE_SECONDS (a day), or never: warn.
* ``webhook_refusals``: what WebhookReceive refused in the last 24 h (bad or missing
  signature, unreadable or oversized bodies, items of another app's number, signed
  bodies parked unread, bodies it could not queue), read from the EMF metrics it
  writes (namespace POWERTOOLS_METRICS_NAMESPACE, dimension ``service``). Any: warn.
  The metrics cannot be read: warn.
* ``meta_token`` (per number): one ``GET /{phone_number_id}?fields=id`` with the number's
  token, its answer kept `TOKEN_CACHE_SECONDS` per container. Error 190 (the token is
  invalid or expired) or any other refusal of the token: fail; Meta unreachable or
  throttling: warn.
* ``backlogs``: queue depths (wacloud.operations.depths). A dead-letter queue holding
  messages: fail, naming it. A queue with more visible messages than
  HEALTH_QUEUE_BACKLOG, or whose oldest message is older than
  HEALTH_OLDEST_MESSAGE_SECONDS (CloudWatch's ApproximateAgeOfOldestMessage, when
  CloudWatch has it): warn.

Overall: ``ok`` only when every check is ok; anything else is ``degraded`` (a warning
is something to look at; the checks say which is which).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from wacloud.errors import NotFoundError
from wacloud.infra.clock import now
from wacloud.infra.config import settings

from .queues import QueueDepth, depths

Status = Literal["ok", "warn", "fail"]

#: WebhookReceive's POWERTOOLS_SERVICE_NAME (template.yaml): Powertools puts it on
#: every metric as the ``service`` dimension.
WEBHOOK_SERVICE = "webhook-receive"
#: The metrics WebhookReceive writes when it refuses (or cannot keep) a webhook, and
#: the figure each one is reported as.
REFUSAL_METRICS = {
    "WebhookRefused400": "unreadable",
    "WebhookRefused401": "unsigned",
    "WebhookRefused403": "bad_signature",
    "WebhookRefused413": "too_large",
    "WebhookItemsRefusedTenant": "items_of_other_apps",
    "WebhookParked": "parked",
    "WebhookQueueFailed": "queue_failed",
}
REFUSAL_WINDOW = timedelta(hours=24)
AGE_WINDOW = timedelta(minutes=15)
TOKEN_CACHE_SECONDS = 60.0


class UnknownNumberError(NotFoundError):
    """A phone number id that is neither in the Meta secret nor registered."""


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    status: Status
    detail: str
    figures: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "status": self.status, "detail": self.detail, **self.figures}


def overall(checks: Iterable[Check]) -> Literal["ok", "degraded"]:
    return "ok" if all(c.status == "ok" for c in checks) else "degraded"


# ------------------------------------------------------------------ last webhook
def webhook_check(phone_number_id: str, last_at: float | None, at: float, max_age: float) -> Check:
    figures: dict[str, Any] = {"phone_number_id": phone_number_id, "last_webhook_at": last_at}
    if last_at is None:
        return Check(
            "last_webhook",
            "warn",
            "no webhook received for this number yet: check the app's webhook "
            "subscription (callback URL and the messages field)",
            figures,
        )
    age = max(0.0, at - last_at)
    figures["age_seconds"] = round(age, 1)
    if age > max_age:
        return Check(
            "last_webhook",
            "warn",
            f"the last webhook is {_duration(age)} old (more than {_duration(max_age)})",
            figures,
        )
    return Check("last_webhook", "ok", f"last webhook {_duration(age)} ago", figures)


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


# ------------------------------------------------------------------ metrics
def _queue_name(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1]


def metric_queries(namespace: str, queues: list[QueueDepth]) -> list[dict[str, Any]]:
    """GetMetricData queries: each refusal metric's 24 h sum, and each source queue's
    oldest message age (15 min maximum)."""
    queries: list[dict[str, Any]] = []
    for i, metric in enumerate(REFUSAL_METRICS):
        queries.append(
            {
                "Id": f"r{i}",
                "Label": metric,
                "MetricStat": {
                    "Metric": {
                        "Namespace": namespace,
                        "MetricName": metric,
                        "Dimensions": [{"Name": "service", "Value": WEBHOOK_SERVICE}],
                    },
                    "Period": int(REFUSAL_WINDOW.total_seconds()),
                    "Stat": "Sum",
                },
            }
        )
    for i, queue in enumerate(q for q in queues if not q.dead_letter):
        queries.append(
            {
                "Id": f"q{i}",
                "Label": queue.name,
                "MetricStat": {
                    "Metric": {
                        "Namespace": "AWS/SQS",
                        "MetricName": "ApproximateAgeOfOldestMessage",
                        "Dimensions": [{"Name": "QueueName", "Value": _queue_name(queue.url)}],
                    },
                    "Period": 60,
                    "Stat": "Maximum",
                },
            }
        )
    return queries


@dataclass(frozen=True, slots=True)
class Metrics:
    refusals: dict[str, float] | None  # figure -> count; None: not readable
    oldest_age: dict[str, float]  # queue name -> seconds (queues CloudWatch knows)
    error: str | None = None


def read_metrics(queues: list[QueueDepth], at: float, client: Any) -> Metrics:
    """One GetMetricData call (paged) for every figure; a failure is an answer."""
    end = datetime.fromtimestamp(at, tz=UTC) + timedelta(minutes=1)
    queries = metric_queries(settings().metrics_namespace, queues)
    sums: dict[str, float] = {}
    latest: dict[str, tuple[datetime, float]] = {}
    try:
        token: str | None = None
        while True:
            request: dict[str, Any] = {
                "MetricDataQueries": queries,
                "StartTime": end - REFUSAL_WINDOW - timedelta(minutes=1),
                "EndTime": end,
                "ScanBy": "TimestampDescending",
            }
            if token:
                request["NextToken"] = token
            response = client.get_metric_data(**request)
            for result in response.get("MetricDataResults", []):
                qid, label = str(result.get("Id", "")), str(result.get("Label", ""))
                values = [float(v) for v in result.get("Values", [])]
                stamps = list(result.get("Timestamps", []))
                if qid.startswith("r"):
                    sums[label] = sums.get(label, 0.0) + sum(values)
                elif values and stamps:
                    newest = max(zip(stamps, values, strict=False), key=lambda p: p[0])
                    if label not in latest or newest[0] > latest[label][0]:
                        latest[label] = newest
            token = response.get("NextToken")
            if not token:
                break
    except Exception as exc:
        code = (getattr(exc, "response", None) or {}).get("Error", {}).get("Code")
        return Metrics(None, {}, str(code or exc.__class__.__name__))
    horizon = end - AGE_WINDOW
    return Metrics(
        {figure: sums.get(metric, 0.0) for metric, figure in REFUSAL_METRICS.items()},
        {name: value for name, (stamp, value) in latest.items() if stamp >= horizon},
    )


def refusals_check(metrics: Metrics) -> Check:
    if metrics.refusals is None:
        return Check(
            "webhook_refusals",
            "warn",
            f"WebhookReceive's metrics could not be read from CloudWatch ({metrics.error})",
        )
    counts = {k: int(v) for k, v in metrics.refusals.items()}
    figures: dict[str, Any] = {"window_seconds": int(REFUSAL_WINDOW.total_seconds()), **counts}
    seen = {k: v for k, v in counts.items() if v}
    if not seen:
        return Check("webhook_refusals", "ok", "no webhook refused in the last 24 h", figures)
    listed = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in seen.items())
    return Check(
        "webhook_refusals",
        "warn",
        f"webhooks refused or not kept in the last 24 h: {listed} (see WebhookReceive's log)",
        figures,
    )


# ------------------------------------------------------------------ backlogs
def backlog_check(
    queues: list[QueueDepth], oldest_age: dict[str, float], backlog: int, max_age: float
) -> Check:
    dead = {q.name: q.visible + q.in_flight + q.delayed for q in queues if q.dead_letter}
    dead = {k: v for k, v in dead.items() if v}
    busy = {q.name: q.visible for q in queues if not q.dead_letter and q.visible > backlog}
    old = {k: round(v, 1) for k, v in oldest_age.items() if v > max_age}
    figures: dict[str, Any] = {
        "dead_letters": dead,
        "backlogged": busy,
        "oldest_message_age": {k: round(v, 1) for k, v in oldest_age.items()},
    }
    problems = [f"{n} holds {c} message(s)" for n, c in dead.items()]
    if dead:
        detail = "; ".join(problems) + ": peek, fix the cause, then redrive"
        return Check("backlogs", "fail", detail, figures)
    problems += [f"{n} has {c} visible messages (more than {backlog})" for n, c in busy.items()]
    problems += [f"{n}'s oldest message is {_duration(a)} old" for n, a in old.items()]
    if problems:
        return Check("backlogs", "warn", "; ".join(problems), figures)
    return Check("backlogs", "ok", f"{len(queues)} queues, no dead letters, no backlog", figures)


# ------------------------------------------------------------------ Meta token
_token_results: dict[str, tuple[float, Check]] = {}
_token_lock = threading.Lock()


def token_check(phone_number_id: str, probe: Callable[[str], Any]) -> Check:
    """`probe(pnid)` is the Graph call; its outcome as a check (no token in it)."""
    from wacloud.graph.client import GraphTransportError
    from wacloud.graph.errors import ErrorClass, GraphAPIError
    from wacloud.infra.credentials import CredentialsError

    figures: dict[str, Any] = {"phone_number_id": phone_number_id}
    try:
        probe(phone_number_id)
    except CredentialsError:
        return Check("meta_token", "fail", "no access token configured for this number", figures)
    except GraphTransportError as exc:
        reason = exc.__cause__.__class__.__name__ if exc.__cause__ else "transport error"
        return Check("meta_token", "warn", f"Meta could not be reached ({reason})", figures)
    except GraphAPIError as exc:
        figures.update({"code": exc.code, "subcode": exc.subcode})
        if exc.code == 190:
            return Check(
                "meta_token",
                "fail",
                "Meta refused the access token (190: invalid or expired): renew it in the "
                "Meta secret",
                figures,
            )
        if exc.code is None or exc.error_class in (ErrorClass.RETRYABLE, ErrorClass.RATE_LIMITED):
            return Check(
                "meta_token", "warn", f"Meta did not answer the check ({exc.code})", figures
            )
        return Check(
            "meta_token",
            "fail",
            f"Meta refused the token for this number ({exc.code}: the token lacks access)",
            figures,
        )
    return Check("meta_token", "ok", "Meta accepted the number's access token", figures)


def cached_token_check(phone_number_id: str, probe: Callable[[str], Any], at: float) -> Check:
    with _token_lock:
        hit = _token_results.get(phone_number_id)
    if hit and hit[0] > at:
        return hit[1]
    check = token_check(phone_number_id, probe)
    with _token_lock:
        _token_results[phone_number_id] = (at + TOKEN_CACHE_SECONDS, check)
    return check


def forget_token_checks() -> None:
    with _token_lock:
        _token_results.clear()


def _probe(phone_number_id: str) -> Any:
    from wacloud.graph.factory import configured_graph_client

    return configured_graph_client().phone_number(phone_number_id, fields="id")


# ------------------------------------------------------------------ the report
def configured_numbers() -> list[str]:
    """The numbers the Meta secret names and those registered through the API."""
    from wacloud.infra.credentials import load_credentials
    from wacloud.store import tenant_admin

    return sorted(set(load_credentials().tenants) | set(tenant_admin.registered_numbers()))


def report(phone_number_id: str | None = None) -> dict[str, Any]:
    """Every check (for one number when given), and the overall status."""
    from wacloud.infra.aws import cloudwatch
    from wacloud.store import health

    cfg = settings()
    at = now()
    numbers = configured_numbers()
    if phone_number_id is not None:
        if phone_number_id not in numbers:
            raise UnknownNumberError("phone_number_id is not a configured number")
        numbers = [phone_number_id]
    queues = depths()
    metrics = read_metrics(queues, at, cloudwatch())
    last = health.last_webhooks(numbers) if numbers else {}
    checks = [webhook_check(n, last.get(n), at, cfg.health_webhook_max_age) for n in numbers]
    checks.append(refusals_check(metrics))
    checks += [cached_token_check(n, _probe, at) for n in numbers]
    checks.append(
        backlog_check(
            queues, metrics.oldest_age, cfg.health_queue_backlog, cfg.health_oldest_message_age
        )
    )
    return {
        "status": overall(checks),
        "checked_at": at,
        "checks": [c.as_dict() for c in checks],
    }
