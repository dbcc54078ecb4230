"""Preload hooks for the local stack's Lambda workers (FunctionSpec.preload).

They run inside the SenderFunction's worker process before its handler is imported
and wrap real functions, so runtime code carries no test switches. Crashes happen
once per message: a marker file (under $WACLOUD_TEST_MARKERS) survives the process
that `os._exit`s, so the redelivered message goes through on the next worker.

Triggers ride in the submission itself:
* `biz_opaque_callback_data: "crash-after-claim"` -> die right after the claim is taken;
* `biz_opaque_callback_data: "crash-after-send"`  -> die after Meta accepted the
  message, before the sender records it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

CRASH_AFTER_CLAIM = "crash-after-claim"
CRASH_AFTER_SEND = "crash-after-send"
SHORT_READ_TIMEOUT_SECONDS = 1.5


def _first_time(key: str) -> bool:
    folder = Path(os.environ["WACLOUD_TEST_MARKERS"])
    folder.mkdir(parents=True, exist_ok=True)
    try:
        os.close(os.open(folder / key, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        return False
    return True


def _crash(key: str) -> None:
    if _first_time(key):
        os._exit(70)  # no cleanup, no flush: like a Lambda environment that vanished


def install_crashes() -> None:
    """Wrap the claim and the Graph send with the crash points above."""
    from wacloud.graph import client as graph
    from wacloud.store import messages

    real_claim = messages.claim

    def claim(phone_number_id: str, message_id: str, fields: dict[str, Any]) -> messages.Claim:
        result = real_claim(phone_number_id, message_id, fields)
        if result.outcome is messages.ClaimOutcome.CLAIMED and CRASH_AFTER_CLAIM in str(
            fields.get("submission", "")
        ):
            _crash(f"claim-{message_id}")
        return result

    messages.claim = claim  # type: ignore[assignment]

    real_send = graph.GraphClient.send_message

    def send_message(
        self: graph.GraphClient, phone_number_id: str, payload: dict[str, Any]
    ) -> graph.SentMessage:
        sent = real_send(self, phone_number_id, payload)
        callback = str(payload.get("biz_opaque_callback_data", ""))
        if callback.endswith("|" + CRASH_AFTER_SEND):
            _crash(f"send-{callback.split('|', maxsplit=1)[0]}")
        return sent

    graph.GraphClient.send_message = send_message  # type: ignore[method-assign]


def short_graph_timeout() -> None:
    """Make Graph reads time out in 1.5 s instead of 10 s, so a timeout test is quick."""
    from wacloud.graph import client as graph

    graph._TIMEOUT_SECONDS = {
        "connect": 1.0,
        "read": SHORT_READ_TIMEOUT_SECONDS,
        "write": 2.0,
        "pool": 2.0,
    }


# ---------------------------------------------------------------- reconcile faults
# Switched by files under $WACLOUD_TEST_MARKERS that the test creates and removes, so a
# fault lasts exactly as long as the test wants (no timing guesses).


def _switched(name: str) -> bool:
    return (Path(os.environ["WACLOUD_TEST_MARKERS"]) / name).exists()


def hold_statuses() -> None:
    """InboundProcessor: fail a status for message M while `hold-M` exists, so it waits
    in the inbound queue's retries (a backlog holding the evidence)."""
    from wacloud.store import messages

    real_apply = messages.apply_status

    def apply_status(
        phone_number_id: str,
        message_id: str,
        status: str,
        at: float,
        wamid: str,
        detail: dict[str, Any] | None,
    ) -> bool:
        if _switched(f"hold-{message_id}"):
            raise RuntimeError("status held by the test")
        return real_apply(phone_number_id, message_id, status, at, wamid, detail)

    messages.apply_status = apply_status  # type: ignore[assignment]


def fail_first_status_once() -> None:
    """InboundProcessor: the first status webhook to be applied fails once, as a
    transient error would; its item waits out the inbound queue's visibility timeout,
    and the reconcile of every stale claim waits for it meanwhile."""
    from wacloud.store import messages

    real_apply = messages.apply_status

    def apply_status(
        phone_number_id: str,
        message_id: str,
        status: str,
        at: float,
        wamid: str,
        detail: dict[str, Any] | None,
    ) -> bool:
        if _first_time("first-status-failed"):
            raise RuntimeError("transient failure injected by the test")
        return real_apply(phone_number_id, message_id, status, at, wamid, detail)

    messages.apply_status = apply_status  # type: ignore[assignment]


def install_reconcile_faults() -> None:
    """Sender: `fail-mark-sent-M` makes recording `sent` fail (a throttled table);
    `refuse-M` sends M's first Graph call to a closed port (a connect error)."""
    import socket

    from wacloud.graph import client as graph
    from wacloud.store import messages

    real_mark_sent = messages.mark_sent

    def mark_sent(
        phone_number_id: str, message_id: str, token: str, wamid: str, wa_id: str | None
    ) -> None:
        if _switched(f"fail-mark-sent-{message_id}"):
            from botocore.exceptions import ClientError

            raise ClientError(
                {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "x"}},
                "UpdateItem",
            )
        real_mark_sent(phone_number_id, message_id, token, wamid, wa_id)

    messages.mark_sent = mark_sent  # type: ignore[assignment]

    real_send = graph.GraphClient.send_message

    def send_message(
        self: graph.GraphClient, phone_number_id: str, payload: dict[str, Any]
    ) -> graph.SentMessage:
        ours = str(payload.get("biz_opaque_callback_data", "")).split("|")[0]
        message_id = ours.removeprefix("wc1.")
        if _switched(f"refuse-{message_id}") and _first_time(f"refused-{message_id}"):
            with socket.socket() as sock:
                sock.bind(("127.0.0.1", 0))
                port = sock.getsockname()[1]
            closed = graph.GraphClient(f"http://127.0.0.1:{port}", "v23.0", self._token_for)
            return real_send(closed, phone_number_id, payload)
        return real_send(self, phone_number_id, payload)

    graph.GraphClient.send_message = send_message  # type: ignore[method-assign]


# ---------------------------------------------------------------- facts feed faults
#: Facts of this business number are refused by the bus (FactsFunction, below).
POISONED_PHONE_NUMBER_ID = "999000999000"


def refuse_poisoned_facts() -> None:
    """FactsFunction: `events_out.publish` raises for any fact of
    POISONED_PHONE_NUMBER_ID, as a bus that keeps refusing would: the stream record
    is retried, then given up on to FactsDeadLetterQueue."""
    from wacloud import events_out

    real_publish = events_out.publish

    def publish(facts: Any) -> None:
        if any(f.phone_number_id == POISONED_PHONE_NUMBER_ID for f in facts):
            raise RuntimeError("the bus refused the facts (injected by the test)")
        real_publish(facts)

    events_out.publish = publish  # type: ignore[assignment]
