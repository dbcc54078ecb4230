"""CloudWatch's embedded metric format (EMF) on the local stack.

In AWS a function's stdout goes to CloudWatch Logs, which turns every line that is an
EMF document (a JSON object with ``_aws.CloudWatchMetrics``) into metrics: one metric
per name and per dimension set, at the document's timestamp. Locally moto's CloudWatch
only has what is put with PutMetricData, so the local stack does that part itself:

* `EmfTap` stands in for ``sys.stdout`` in a local execution environment: everything
  is written through unchanged (to the log file or the console) and the EMF lines are
  kept aside (cheap: only a line holding ``"_aws"`` is parsed);
* the environment hands the documents of each invocation to the stack with its
  result (local/lambdas.py), and `EmfPublisher` turns them into PutMetricData calls to
  moto on a thread of its own, so an invocation never waits for it.

A malformed document is skipped, as CloudWatch Logs skips it (it stays a log line).
"""

from __future__ import annotations

import json
import logging
import queue
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TextIO

logger = logging.getLogger(__name__)

#: A line longer than this is not kept waiting for its end (EMF documents are < 1 MB).
MAX_LINE = 1 << 20
#: PutMetricData's limit of data per call.
PUT_MAX = 1000


def extract(line: str) -> dict[str, Any] | None:
    """The EMF document a log line is, or None (not JSON, not EMF, or malformed)."""
    if '"_aws"' not in line:
        return None
    try:
        doc = json.loads(line)
    except ValueError:
        return None
    if not isinstance(doc, dict):
        return None
    meta = doc.get("_aws")
    if not isinstance(meta, dict) or not isinstance(meta.get("Timestamp"), int | float):
        return None
    directives = meta.get("CloudWatchMetrics")
    if not isinstance(directives, list) or not directives:
        return None
    for directive in directives:
        if not isinstance(directive, dict) or not isinstance(directive.get("Namespace"), str):
            return None
        if not isinstance(directive.get("Metrics"), list):
            return None
        dimensions = directive.get("Dimensions", [])
        if not isinstance(dimensions, list) or not all(
            isinstance(s, list) and all(isinstance(k, str) for k in s) for s in dimensions
        ):
            return None
    return doc


def metric_data(doc: dict[str, Any]) -> list[tuple[str, list[dict[str, Any]]]]:
    """(namespace, PutMetricData ``MetricData``) per directive of an EMF document.

    As CloudWatch does: each metric once per dimension set (or once without
    dimensions when there is none), its value the member of the same name (a number,
    or a list of numbers: one sample each); a dimension's value is the member of its
    name. Members that are missing or not numbers are skipped.
    """
    meta = doc["_aws"]
    at = datetime.fromtimestamp(float(meta["Timestamp"]) / 1000.0, tz=UTC)
    out: list[tuple[str, list[dict[str, Any]]]] = []
    for directive in meta["CloudWatchMetrics"]:
        dimension_sets = directive.get("Dimensions") or [[]]
        data: list[dict[str, Any]] = []
        for metric in directive["Metrics"]:
            if not isinstance(metric, dict) or not isinstance(metric.get("Name"), str):
                continue
            raw = doc.get(metric["Name"])
            values = raw if isinstance(raw, list) else [raw]
            numbers = [
                float(v) for v in values if isinstance(v, int | float) and not isinstance(v, bool)
            ]
            for keys in dimension_sets:
                if not all(isinstance(doc.get(k), str) for k in keys):
                    continue
                dimensions = [{"Name": k, "Value": doc[k]} for k in keys]
                for value in numbers:
                    datum: dict[str, Any] = {
                        "MetricName": metric["Name"],
                        "Dimensions": dimensions,
                        "Timestamp": at,
                        "Value": value,
                    }
                    if isinstance(metric.get("Unit"), str):
                        datum["Unit"] = metric["Unit"]
                    data.append(datum)
        if data:
            out.append((str(directive["Namespace"]), data))
    return out


class EmfTap:
    """A stdout that writes everything through and keeps the EMF documents printed."""

    def __init__(self, target: TextIO) -> None:
        self._target = target
        self._pending = ""
        self._lock = threading.Lock()
        self.documents: list[dict[str, Any]] = []

    def write(self, text: str) -> int:
        written = self._target.write(text)
        with self._lock:
            if self._pending or text.lstrip().startswith("{"):
                self._pending += text
                while "\n" in self._pending:
                    line, _, self._pending = self._pending.partition("\n")
                    doc = extract(line)
                    if doc is not None:
                        self.documents.append(doc)
                if len(self._pending) > MAX_LINE:
                    self._pending = ""
        return written

    def take(self) -> list[dict[str, Any]]:
        """The documents printed since the last call."""
        with self._lock:
            documents, self.documents = self.documents, []
        return documents

    def flush(self) -> None:
        self._target.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._target, name)


class EmfPublisher:
    """PutMetricData for EMF documents, on a thread of its own (`publish` never waits)."""

    def __init__(self, client: Callable[[], Any]) -> None:
        self._client_factory = client
        self._client: Any = None
        self._queue: queue.Queue[list[dict[str, Any]] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="emf-publisher", daemon=True)
        self._thread.start()

    def publish(self, documents: list[dict[str, Any]]) -> None:
        if documents:
            self._queue.put(documents)

    def wait_idle(self, timeout: float = 10.0) -> None:
        """Until every document published so far is put (tests)."""
        done = threading.Event()
        self._queue.put([{"_done": done}])
        done.wait(timeout)

    def stop(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while True:
            documents = self._queue.get()
            if documents is None:
                return
            for doc in documents:
                if "_done" in doc:
                    doc["_done"].set()
                    continue
                try:
                    self._put(doc)
                except Exception as exc:  # a metric lost locally, as a bad line would be
                    logger.warning("EMF metrics not put: %s", exc.__class__.__name__)

    def _put(self, doc: dict[str, Any]) -> None:
        if self._client is None:
            self._client = self._client_factory()
        for namespace, data in metric_data(doc):
            for start in range(0, len(data), PUT_MAX):
                self._client.put_metric_data(
                    Namespace=namespace, MetricData=data[start : start + PUT_MAX]
                )
