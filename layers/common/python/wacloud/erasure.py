"""Erase a customer (a data-protection request): everything we hold about one number.

What is deleted, found by key (no table scan):

* their conversation, both directions: every message record in index gsi1 under
  `{pnid}#C#{wa_id}` (inbound `{pnid}#IN#...`, outbound `{pnid}#OUT#...`, scheduled
  ones included, which are then never sent);
* for each outbound message, its wamid lookup and its status events;
* inbound media they sent (`media/{sha256}`), unless another customer's message
  refers to the same content (store/media_refs.py), and their media references;
* webhook event records that name them (`user_preferences`, `calls`);
* their rate-limit and messaging-limit markers (`{pnid}#RATE#PAIR#{wa_id}`,
  `{pnid}#REACH#{wa_id}`);
* the conversation record (`{pnid}#CONV#{wa_id}`: handoff state and the assistant's
  running summary, which is text about them);
* last, the contact record: profile, window, consent.

Every step deletes items found by a key the previous steps have not yet deleted
(a message's dependants before the message, the contact last), so an erasure cut
short (timeout, throttling) is finished by running it again, and a second run
reports nothing deleted. See README, "Operating", for what it cannot reach.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger

from wacloud.infra.clock import now
from wacloud.infra.privacy import mask_phone
from wacloud.store import customer_data as held
from wacloud.store import media_refs
from wacloud.store.conversations import conversation_pk

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client

logger = Logger(child=True)

# Webhook fields whose records can name a customer (the others are about templates,
# the account or the number).
CUSTOMER_FIELDS = ("user_preferences", "calls")
MEDIA_PREFIX = "media/"


@dataclass
class ErasureReport:
    """What one run deleted (0 everywhere: nothing was left)."""

    messages: int = 0  # message records, both directions
    wamid_lookups: int = 0
    statuses: int = 0
    events: int = 0  # webhook event records naming the customer
    media_deleted: int = 0  # S3 objects
    media_kept: int = 0  # objects another customer's message still refers to
    media_refs: int = 0
    limits: int = 0  # rate-limit and messaging-limit markers
    conversation: int = 0  # handoff state, the assistant's summary, agents' notes
    contact: int = 0
    complete: bool = True  # False: stopped at the deadline; run it again

    def deleted(self) -> int:
        return sum(v for k, v in asdict(self).items() if k not in ("complete", "media_kept"))

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "deleted": self.deleted()}


class _DeadlineReachedError(Exception):
    pass


@dataclass
class _Run:
    phone_number_id: str
    wa_id: str
    store: S3Client | None
    bucket: str | None
    deadline: float | None
    report: ErasureReport

    def check_time(self) -> None:
        if self.deadline is not None and now() >= self.deadline:
            raise _DeadlineReachedError

    def delete(self, pk: str, sk: str) -> bool:
        """Delete one item; True if it existed (so a second run counts nothing)."""
        return held.delete(pk, sk)


def erase_customer(
    phone_number_id: str,
    wa_id: str,
    *,
    media_store: S3Client | None = None,
    media_bucket: str | None = None,
    deadline: float | None = None,
) -> ErasureReport:
    """Delete what we hold about `wa_id` (digits, no "+") on business number
    `phone_number_id`. Idempotent and resumable; `deadline` (unix s) stops it early
    with `complete=False`. Without a media store, cached media is left (counted kept)."""
    wa_id = wa_id.lstrip("+")
    run = _Run(phone_number_id, wa_id, media_store, media_bucket, deadline, ErasureReport())
    try:
        for item in held.conversation(phone_number_id, wa_id):
            run.check_time()
            _erase_message(run, item)
        for field in CUSTOMER_FIELDS:
            _erase_events(run, field)
        for pk in held.limit_markers(phone_number_id, wa_id):
            run.report.limits += run.delete(pk, "#")
        run.check_time()
        # Agents' notes live in the conversation's partition (store/inbox.py).
        for sk in held.conversation_partition_sks(phone_number_id, wa_id):
            if sk != "#":
                run.report.conversation += run.delete(conversation_pk(phone_number_id, wa_id), sk)
        run.report.conversation += run.delete(conversation_pk(phone_number_id, wa_id), "#")
        run.report.contact += run.delete(held.contact_pk(phone_number_id, wa_id), "#")
    except _DeadlineReachedError:
        run.report.complete = False
    logger.info(
        "customer erased" if run.report.complete else "customer erasure stopped at its deadline",
        extra={
            "phone_number_id": phone_number_id,
            "customer": mask_phone(wa_id),
            **run.report.as_dict(),
        },
    )
    return run.report


def _erase_message(run: _Run, item: dict[str, Any]) -> None:
    pnid = run.phone_number_id
    wamid = item.get("wamid")
    if "#OUT#" in str(item["pk"]) and wamid:
        for status in held.statuses(pnid, str(wamid)):
            run.report.statuses += run.delete(str(status["pk"]), str(status["sk"]))
        run.report.wamid_lookups += run.delete(held.wamid_pk(pnid, str(wamid)), "#")
    media = item.get("media")
    if isinstance(media, dict) and media.get("sha256"):
        _erase_media(run, str(media["sha256"]), str(media.get("bucket") or run.bucket or ""))
    run.report.messages += run.delete(str(item["pk"]), str(item["sk"]))


def _erase_media(run: _Run, sha256: str, bucket: str) -> None:
    """Drop the customer's reference, then the object if no one else refers to it."""
    pnid, wa_id = run.phone_number_id, run.wa_id
    run.report.media_refs += run.delete(media_refs.ref_pk(sha256), media_refs.ref_sk(pnid, wa_id))
    if media_refs.others(sha256, pnid, wa_id) or run.store is None or not bucket:
        run.report.media_kept += 1
        return
    key = MEDIA_PREFIX + sha256
    try:
        run.store.head_object(Bucket=bucket, Key=key)
    except Exception as exc:
        status = getattr(exc, "response", {}).get("ResponseMetadata", {}).get("HTTPStatusCode")
        if status == 404:
            return  # already gone (an earlier run, the lifecycle, another message of theirs)
        raise
    run.store.delete_object(Bucket=bucket, Key=key)
    run.report.media_deleted += 1


def _erase_events(run: _Run, field: str) -> None:
    """Webhook records of `field` that name the customer (one partition per field)."""
    for item in held.field_events(run.phone_number_id, field):
        run.check_time()
        if _names(item.get("value"), run.wa_id):
            run.report.events += run.delete(str(item["pk"]), str(item["sk"]))


def _names(value: Any, wa_id: str) -> bool:
    """Whether a recorded webhook value carries the number anywhere (as in `wa_id`,
    `from`, `to`), with or without "+"."""
    text = json.dumps(value)
    return f'"{wa_id}"' in text or f'"+{wa_id}"' in text
