"""The event lake's test setup: a scripted day of facts, the funnel a reader computes
from them by hand, and the template's lake (bucket + Firehose stream) in moto with the
local stack's Firehose delivery (local/firehose.py)."""

from __future__ import annotations

import gzip
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from local import firehose as local_firehose
from local.resources import create_resources
from local.template import Resolver, load_sam_template, translate
from wacloud.infra import aws, config
from wacloud.lake.rows import day_of
from wacloud.models.facts import (
    FUNNEL_STEPS,
    CampaignCompleted,
    ContactOptedOut,
    ConversationHandoffRequested,
    ConversationResolved,
    Fact,
    MessageReceived,
    MessageStatusChanged,
    SurveyAnswered,
    TemplateStatusChanged,
)

#: A customer's number: it must appear in no lake file.
MARKER_WA_ID = "15550009876"
PN = "100200300"
PN2 = "100200399"
DAY = "2025-03-14"


def _at(clock: str, day: str = DAY) -> float:
    return datetime.fromisoformat(f"{day}T{clock}+00:00").timestamp()


def _status(
    fid: str,
    message: str,
    previous: str | None,
    status: str,
    crossed: tuple[str, ...],
    at: float,
    phone: str = PN,
    **extra: Any,
) -> MessageStatusChanged:
    return MessageStatusChanged(
        id=fid,
        phone_number_id=phone,
        at=at,
        message_id=message,
        wamid=f"wamid.{message}",
        wa_id=MARKER_WA_ID,
        previous=previous,
        status=status,
        crossed=crossed,
        **extra,
    )


def scripted_day() -> list[Fact]:
    """One business day as the feed derives it (docs/facts.md): every state change once,
    in the order the stream carries them. Meta's duplicated and out-of-order statuses
    are already absorbed by the rank-guarded states: a late `delivered` after `read`
    changes nothing, so it yields no fact; `read` straight after `sent` crosses both."""
    welcome = {
        "template_name": "welcome",
        "template_language": "en_US",
        "message_type": "template",
    }
    return [
        # m1: a marketing template, sent -> delivered -> read; pricing on `sent`.
        _status(
            "f1", "m1", None, "sent", ("sent",), _at("09:00:00"),
            pricing_category="marketing", pricing_type="regular", pricing_model="PMP",
            billable=True, campaign_id="c1", **welcome,
        ),
        _status("f2", "m1", "sent", "delivered", ("delivered",), _at("09:00:02"), **welcome),
        _status("f3", "m1", "delivered", "read", ("read",), _at("09:05:00"), **welcome),
        # m2: `read` came before `delivered` (out of order): read crosses both.
        _status(
            "f4", "m2", None, "sent", ("sent",), _at("10:00:00"),
            pricing_category="utility", pricing_type="regular", pricing_model="PMP",
            billable=True, **welcome,
        ),
        _status("f5", "m2", "sent", "read", ("delivered", "read"), _at("10:00:09"), **welcome),
        # m3: failed after sent.
        _status("f6", "m3", None, "sent", ("sent",), _at("11:00:00"), message_type="text"),
        _status(
            "f7", "m3", "sent", "failed", (), _at("11:00:01"),
            message_type="text", error_codes=(131026,),
        ),
        # m4: a voice message, played.
        _status("f8", "m4", None, "sent", ("sent",), _at("12:00:00"), message_type="audio"),
        _status(
            "f9", "m4", "sent", "played", ("delivered", "read", "played"), _at("12:01:00"),
            message_type="audio",
        ),
        # m5: sent just before midnight the day before, delivered on the day.
        _status("f10", "m5", None, "sent", ("sent",), _at("23:59:50", "2025-03-13")),
        _status("f11", "m5", "sent", "delivered", ("delivered",), _at("00:00:05")),
        # m6: its pricing arrived on its own change (the state did not move).
        _status("f12", "m6", None, "sent", ("sent",), _at("13:00:00")),
        _status(
            "f13", "m6", "sent", "sent", (), _at("13:00:01"),
            pricing_category="service", pricing_type="free_customer_service",
            pricing_model="PMP", billable=False,
        ),
        # Another business number on the same day.
        _status("f14", "n1", None, "sent", ("sent",), _at("14:00:00"), phone=PN2),
        # The customer's messages: two replies to m1, one to m4, one from an ad.
        MessageReceived(
            id="f15", phone_number_id=PN, at=_at("09:06:00"), wamid="wamid.in1",
            wa_id=MARKER_WA_ID, message_type="text", context_wamid="wamid.m1",
            context_message_id="m1", campaign_id="c1",
        ),
        MessageReceived(
            id="f16", phone_number_id=PN, at=_at("09:07:00"), wamid="wamid.in2",
            wa_id=MARKER_WA_ID, message_type="text", context_wamid="wamid.m1",
            context_message_id="m1",
        ),
        MessageReceived(
            id="f17", phone_number_id=PN, at=_at("12:02:00"), wamid="wamid.in3",
            wa_id=MARKER_WA_ID, message_type="audio", context_wamid="wamid.m4",
            context_message_id="m4",
        ),
        MessageReceived(
            id="f18", phone_number_id=PN, at=_at("15:00:00"), wamid="wamid.in4",
            wa_id=MARKER_WA_ID, message_type="text", referral=True,
        ),
        # The other kinds of fact, so every column is written somewhere.
        ConversationHandoffRequested(
            id="f19", phone_number_id=PN, at=_at("15:01:00"), wa_id=MARKER_WA_ID,
            reason="asked_for_person",
        ),
        ConversationResolved(
            id="f20", phone_number_id=PN, at=_at("15:30:00"), wa_id=MARKER_WA_ID,
            resolved_by="agent", agent="ana", handed_off=True,
            first_response_seconds=42.5, resolution_seconds=1740.0,
        ),
        SurveyAnswered(
            id="f21", phone_number_id=PN, at=_at("15:31:00"), wa_id=MARKER_WA_ID,
            score="good", agent="ana",
        ),
        CampaignCompleted(
            id="f22", phone_number_id=PN, at=_at("16:00:00"), campaign_id="c1",
            counts={"sent": 1, "read": 1},
        ),
        TemplateStatusChanged(
            id="f23", phone_number_id="waba1", at=_at("17:00:00"), waba_id="waba1",
            template_name="welcome", language="en_US", previous="APPROVED",
            status="PAUSED", quality="RED", reason="low quality",
        ),
        ContactOptedOut(id="f24", phone_number_id=PN, at=_at("18:00:00"), wa_id=MARKER_WA_ID),
    ]  # fmt: skip


def reference_funnel(facts: list[Fact], first: str, last: str) -> list[dict[str, Any]]:
    """The funnel as a reader computes it by hand from the facts: per number and day,
    each fact once (by id), each step from `crossed`, a reply per quoting message."""
    unique = {f.id: f for f in facts}.values()
    table: dict[tuple[str, str], dict[str, Any]] = {}
    for fact in unique:
        day = day_of(fact.at)
        if not first <= day <= last:
            continue
        if not isinstance(fact, MessageReceived | MessageStatusChanged):
            continue
        key = (fact.phone_number_id, day)
        row = table.setdefault(
            key,
            {"phone_number_id": key[0], "day": day, "received": 0}
            | dict.fromkeys(FUNNEL_STEPS, 0)
            | {"failed": 0, "replied": 0},
        )
        if isinstance(fact, MessageReceived):
            row["received"] += 1
            if fact.context_message_id:
                row["replied"] += 1
            continue
        for step in fact.crossed:
            row[step] += 1
        if fact.status == "failed" and fact.previous != "failed":
            row["failed"] += 1
    return [table[k] for k in sorted(table)]


@contextmanager
def template_lake(
    monkeypatch: pytest.MonkeyPatch, stack_name: str = "wacloud-test"
) -> Iterator[dict[str, str]]:
    """The template's LakeBucket and LakeDeliveryStream in moto (in this process), with
    Firehose delivering as local/firehose.py does, and LAKE_STREAM_NAME pointing at it."""
    monkeypatch.setenv("TABLE_NAME", "state")
    monkeypatch.setenv("META_SECRET_ID", "meta")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    # Endpoints an integration test of the same worker left (a local stack's) would send
    # the calls there instead of to moto in this process.
    for name in [n for n in os.environ if n.startswith("AWS_ENDPOINT_URL")]:
        monkeypatch.delenv(name)
    translated = translate(load_sam_template(), "us-east-1")
    resources = translated["Resources"]
    resolver = Resolver(region="us-east-1", account_id="123456789012", stack_name=stack_name)
    resolver.parameters = {k: v.get("Default") for k, v in translated.get("Parameters", {}).items()}
    undo = local_firehose.apply()
    try:
        with mock_aws():
            session = boto3.session.Session(region_name="us-east-1")
            create_resources({"LakeBucket": resources["LakeBucket"]}, resolver, session)
            local_firehose.create_delivery_streams(
                {"LakeDeliveryStream": resources["LakeDeliveryStream"]}, resolver, session
            )
            monkeypatch.setenv("LAKE_STREAM_NAME", resolver.refs["LakeDeliveryStream"])
            config.settings.cache_clear()
            aws.firehose.cache_clear()
            aws.s3.cache_clear()
            yield {
                "bucket": resolver.refs["LakeBucket"],
                "stream": resolver.refs["LakeDeliveryStream"],
            }
    finally:
        undo()
        config.settings.cache_clear()
        aws.firehose.cache_clear()
        aws.s3.cache_clear()


def lake_objects(bucket: str) -> dict[str, bytes]:
    """Every object in the lake bucket, by key (bodies as stored)."""
    s3 = boto3.client("s3")
    out = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents", []):
            out[item["Key"]] = s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
    return out


def lake_rows(bucket: str) -> list[tuple[str, dict[str, Any]]]:
    """Every row in the lake's events, with the key of the object it is in."""
    return [
        (key, json.loads(line))
        for key, body in lake_objects(bucket).items()
        if key.startswith("events/")
        for line in gzip.decompress(body).splitlines()
    ]


def download_all(bucket: str, root: Path, first: str, last: str) -> int:
    from wacloud.lake.duck import download

    return download(boto3.client("s3"), bucket, first, last, root)
