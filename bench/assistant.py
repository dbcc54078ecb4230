"""The assistant: AssistantFunction's cold init, and CPU per answered message.

**Cold init** is measured as bench/coldstart.py measures every function (its helpers:
fresh `python -S` per sample pinned to CPU 0, only the deployable packages importable,
template.yaml's environment), plus what the first job adds: the worker with its
pydantic models, and the openai SDK (imported by wacloud.llm on its first call).

**CPU per answered message** runs `AssistantWorker.handle` on jobs of customers with a
few turns of history, the model's latency excluded: the LLM port is a fake that
returns a fixed `AssistantAnswer` (and the knowledge search one that returns four
fixed passages), everything else is real: settings and budget reads, the gsi1
history Query, the contact, the conversation item, the usage ADDs, the submission
validated and queued. DynamoDB, S3 and SQS are moto server in a child process
(`bench._services.MotoProcess`), so moto's CPU is not counted and boto3's is.
"""

from __future__ import annotations

import compileall
import contextlib
import os
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import _lambda_site
from bench._aws_calls import ApiCalls, reset_wacloud
from bench._common import (
    FUNCTIONS_DIR,
    LAYER_PATH,
    Context,
    Row,
    Table,
    ensure_import_paths,
    stdout_to_devnull,
)
from bench._services import MotoProcess, create_template_resources
from bench._stack import load_template
from bench.coldstart import _TIMED_IMPORT, _median_ms, lambda_environment

TITLE = "Assistant"
ORDER = 35
PNID = "100000000000001"
COLD_TARGET_MS = 300.0  # the Sender's target: the assistant must not start slower
HISTORY_TURNS = 6


def _cold_rows(runs: int) -> list[Row]:
    compileall.compile_dir(str(LAYER_PATH), quiet=1)
    compileall.compile_dir(str(FUNCTIONS_DIR / "assistant"), quiet=1)
    env = lambda_environment(load_template(), "AssistantFunction")
    cwd = FUNCTIONS_DIR / "assistant"
    with tempfile.TemporaryDirectory(prefix="wacloud-bench-") as tmp:
        site = _lambda_site.build(Path(tmp) / "lambda", _lambda_site.layer_requirements())
        init = _median_ms(
            _TIMED_IMPORT.format(module="app", first_call="", after=""), env, cwd, site, runs
        )
        first = _median_ms(
            _TIMED_IMPORT.format(module="app, wacloud.assistant.worker", first_call="", after=""),
            env,
            cwd,
            site,
            runs,
        )
        sdk = _median_ms(
            _TIMED_IMPORT.format(module="openai", first_call="", after=""), env, cwd, site, runs
        )
    return [
        Row(
            "AssistantFunction cold init (import app)", init, None, target=COLD_TARGET_MS, unit="ms"
        ),
        Row("  + the worker and its models, on the first job", first - init, None, unit="ms"),
        Row("  + the openai SDK, on the first model call", sdk, None, unit="ms"),
    ]


@dataclass(frozen=True)
class _Usage:
    input_tokens: int
    output_tokens: int


@dataclass(frozen=True)
class _Passage:
    document: str
    chunk: int
    score: float
    text: str


class _FixedLLM:
    def __init__(self) -> None:
        from wacloud.assistant import AssistantAnswer

        self.answer = AssistantAnswer(
            intent="question",
            confidence=0.92,
            language="es",
            reply="Abrimos de lunes a viernes de 9:00 a 18:00. ¿Te ayudo con algo más?",
            sources=["faq.md"],
            form=None,
        )

    def parse(self, *, model: str, instructions: str, turns: Sequence[Any], schema: Any) -> Any:
        return self.answer, _Usage(850, 40)

    def transcribe(self, audio: bytes, *, filename: str) -> str:
        return ""

    def describe_image(self, image: bytes, *, mime_type: str, prompt: str, model: str) -> Any:
        return "", _Usage(0, 0)


def _ports() -> Any:
    from wacloud.assistant import Ports
    from wacloud.infra.dynamo import Expr, get, update
    from wacloud.infra.queues import submit_many

    llm = _FixedLLM()
    passages = [
        _Passage("faq.md", n, 0.8 - n / 10, "Horario: lunes a viernes 9-18. " * 8) for n in range(4)
    ]

    def conversation_pk(wa_id: str) -> str:
        return f"{PNID}#CONV#{wa_id}"

    def add_tokens(pnid: str, wa_id: str, tokens: int) -> None:
        update(conversation_pk(wa_id), "#", Expr().add("tokens", tokens))

    return Ports(
        llm=lambda: llm,
        llm_errors=(),
        default_model="bench-model",
        search=lambda pnid, query, *, k: passages,
        in_handoff=lambda pnid, wa_id, *, at: False,
        request_handoff=lambda pnid, wa_id, *, reason, at, language: True,
        report_spam=lambda pnid, wa_id, *, at: False,
        # What store/conversations does for these: one UpdateItem, one GetItem.
        add_conversation_tokens=add_tokens,
        load_conversation=lambda pnid, wa_id: get(conversation_pk(wa_id), "#"),
        save_summary=lambda pnid, wa_id, summary, upto: None,
        submit=submit_many,
        read_media=lambda bucket, key: b"",
    )


@contextlib.contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _seed(customers: int) -> None:
    from wacloud.store import contacts, inbound_log
    from wacloud.store.assistant import AssistantSettings, save_settings

    save_settings(PNID, AssistantSettings(enabled=True, business_name="Panadería Sol"))
    base = time.time() - 3600
    for c in range(customers):
        wa_id = f"5215550{c:06d}"
        contacts.record_customer_message(
            PNID,
            wa_id,
            at=base,
            profile_name="Ana",
            user_id=None,
            window_seconds=86400,
            free_entry_point=False,
        )
        for t in range(HISTORY_TURNS):
            inbound_log.record_inbound_message(
                PNID,
                f"wamid.h{c}.{t}",
                wa_id,
                base + t,
                {"type": "text", "content": {"type": "text", "text": {"body": f"pregunta {t}"}}},
            )
        inbound_log.record_inbound_message(
            PNID,
            f"wamid.q{c}",
            wa_id,
            base + 100,
            {"type": "text", "content": {"type": "text", "text": {"body": "¿A qué hora abren?"}}},
        )


def _answer_rows(messages: int) -> tuple[list[Row], list[str]]:
    ensure_import_paths()
    import logging

    logging.getLogger("aws_lambda_powertools").setLevel(logging.ERROR)
    warmup = 3
    with MotoProcess(keep_alive=True) as moto:
        _session, refs = create_template_resources(
            moto, ("StateTable", "OutboundQueue", "OutboundDeadLetterQueue")
        )
        env = {
            **moto.aws_environment(),
            "TABLE_NAME": refs["StateTable"],
            "OUTBOUND_QUEUE_URL": refs["OutboundQueue"],
            "META_SECRET_ID": "bench-meta",
            "POWERTOOLS_LOG_LEVEL": "ERROR",
        }
        with _environment(env):
            reset_wacloud()
            from wacloud.assistant import AssistantWorker, Job
            from wacloud.store import assistant as settings_store

            settings_store.clear_cache()
            counter = ApiCalls()  # before the clients are made (bench/_aws_calls.py)
            _seed(messages + warmup)
            worker = AssistantWorker(_ports)
            try:
                jobs = [
                    Job(
                        PNID,
                        f"5215550{c:06d}",
                        f"wamid.q{c}",
                        "text",
                        "¿A qué hora abren?",
                        time.time(),
                    )
                    for c in range(messages + warmup)
                ]
                with stdout_to_devnull():
                    for job in jobs[:warmup]:
                        worker.handle(job)
                    cpu0, wall0 = time.process_time(), time.perf_counter()
                    with counter.counting("answer"):
                        outcomes = [worker.handle(job) for job in jobs[warmup:]]
                    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
            finally:
                counter.close()
                settings_store.clear_cache()
                reset_wacloud()
    assert all(o.action == "answered" for o in outcomes), outcomes
    calls = counter.by_operation("answer")
    rows = [
        Row("CPU per answered message, model excluded", cpu / messages * 1000, None, unit="ms"),
        Row(
            "wall per answered message on moto, model excluded",
            wall / messages * 1000,
            None,
            unit="ms",
        ),
        Row(
            "AWS API calls per answered message", sum(calls.values()) / messages, None, unit="calls"
        ),
    ]
    rows += [Row(f"  {op}", count / messages, None, unit="calls") for op, count in calls.items()]
    notes = [
        f"{messages} jobs of different customers (after {warmup} warm-up), each with "
        f"{HISTORY_TURNS} turns of history; fake model (fixed answer, 850+40 tokens) and "
        "fake search (4 passages); DynamoDB and SQS on moto server in a child process "
        "(its CPU excluded, boto3's included). The model's own latency (seconds) is not here.",
    ]
    return rows, notes


def run(ctx: Context) -> list[Table]:
    table = Table("Assistant: cold init and CPU per answered message")
    for row in _cold_rows(ctx.n(full=7, quick=3)):
        table.add(row)
    rows, notes = _answer_rows(ctx.n(full=50, quick=5))
    for row in rows:
        table.add(row)
    table.notes += [
        "Cold init: bench/coldstart.py's method (fresh `python -S`, pinned to CPU 0, "
        "deployable packages only, median). The openai row is `import openai` alone, paid "
        "by the first job that calls the model.",
        *notes,
    ]
    return [table]
