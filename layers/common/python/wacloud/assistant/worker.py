"""One assistant job: a customer message answered, handed to a person, or reported.

Steps (docs/assistant.md, "How it decides"):

1. Skip when the tenant turned the assistant off since, or when the conversation is
   in handoff (a person has it: the bot stays silent).
2. The monthly token budget: exhausted -> fallback.
3. A voice note is transcribed from its cached audio and the transcript stored on its
   message record; an image is described when the tenant asks for it.
4. Context (recent turns within a budget, the running summary, profile name, tags),
   knowledge passages, one structured `parse`.
5. Tokens recorded (conversation, day, month), then the decision: human request,
   complaint or confidence under the threshold -> handoff (the customer gets the
   conversations package's notice; under the threshold, the draft reply is kept on
   the conversation as the agent's `suggestion`); spam -> moderation; else the reply
   (+ form).

The model failing (`LLMError`: rate limit, outage, timeout, refusal) ends in a short
fallback answer in the customer's language and a handoff: the customer is never left
without an answer and a person knows. Any other error (DynamoDB, SQS, S3) escapes so
the job is retried by SQS and, past its tries, kept in the dead-letter queue: nothing
is lost. Nothing is answered twice: every answer of a job, the fallback included,
carries the keys `assist:{wamid}:{i}`, which the sender sends once; a handoff enters
once (`request_handoff` says whether it did) and a retry after it finds the
conversation in handoff and stays silent.

Logs carry the wamid, the masked number, intent, confidence, tokens and what was
done; never the message, the transcript or the reply.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from aws_lambda_powertools import Logger

from wacloud.assistant.answer import AssistantAnswer, ConversationSummary, submissions
from wacloud.assistant.context import ConversationContext, build_context
from wacloud.assistant.language import guess_language
from wacloud.assistant.ports import Ports, UsageLike
from wacloud.assistant.prompt import instructions, summary_instructions
from wacloud.errors import InputError
from wacloud.infra.clock import now
from wacloud.infra.privacy import mask_phone
from wacloud.store import inbound_log
from wacloud.store.assistant import AssistantSettings, add_usage, budget_left, load_settings

logger = Logger(child=True)

#: Knowledge passages put in the instructions.
KNOWLEDGE_K = 4
HANDOFF_INTENTS = frozenset({"human_request", "complaint"})
#: Characters of a draft kept as the agent's suggestion (an agent's reply's limit).
SUGGESTION_MAX = 4096
IMAGE_PROMPT = (
    "Describe this image in one short sentence for a customer-service agent; "
    "transcribe any order or reference number you see."
)
_AUDIO_EXTENSIONS = {"ogg": "ogg", "opus": "ogg", "mpeg": "mp3", "mp4": "m4a", "aac": "aac"}


class InvalidJobError(InputError, ValueError):
    """A queued job lacks a field; names the field, never a value."""


@dataclass(frozen=True, slots=True)
class Job:
    phone_number_id: str
    wa_id: str
    wamid: str
    type: str
    text: str | None
    at: float
    media: Mapping[str, Any] | None = None

    @classmethod
    def from_dict(cls, body: Mapping[str, Any]) -> Job:
        for name in ("phone_number_id", "wa_id", "wamid", "type"):
            if not body.get(name):
                raise InvalidJobError(f"assistant job without {name}")
        media = body.get("media")
        return cls(
            phone_number_id=str(body["phone_number_id"]),
            wa_id=str(body["wa_id"]),
            wamid=str(body["wamid"]),
            type=str(body["type"]),
            text=str(body["text"]) if body.get("text") else None,
            at=float(body.get("at") or now()),
            media=media if isinstance(media, Mapping) else None,
        )


@dataclass
class Outcome:
    """What a job did (for logs and metrics: no text)."""

    action: str  # answered, handoff, spam, fallback, disabled, in_handoff
    intent: str | None = None
    confidence: float | None = None
    reason: str | None = None
    replies: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    sources: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


@dataclass
class _Tally:
    input_tokens: int = 0
    output_tokens: int = 0

    def add(self, usage: UsageLike) -> None:
        self.input_tokens += int(usage.input_tokens)
        self.output_tokens += int(usage.output_tokens)


@dataclass
class AssistantWorker:
    ports_factory: Callable[[], Ports]
    settings: Callable[[str], AssistantSettings] = load_settings
    clock: Callable[[], float] = now
    media_bucket: str | None = None

    @cached_property
    def ports(self) -> Ports:
        return self.ports_factory()

    def handle(self, job: Job) -> Outcome:
        outcome = self._handle(job)
        logger.info(
            "assistant job",
            extra={"wamid": job.wamid, "from": mask_phone(job.wa_id), **outcome.as_dict()},
        )
        return outcome

    def _handle(self, job: Job) -> Outcome:
        at = self.clock()
        cfg = self.settings(job.phone_number_id)
        if not cfg.enabled:
            return Outcome("disabled")
        ports = self.ports
        if ports.in_handoff(job.phone_number_id, job.wa_id, at=at):
            return Outcome("in_handoff")
        tally = _Tally()
        left = budget_left(cfg, job.phone_number_id, at)
        if left is not None and left <= 0:
            return self._fallback(job, cfg, "budget_exhausted", guess_language(job.text), at)
        try:
            current = self._current_text(job, cfg, tally)
            context = build_context(
                job.phone_number_id,
                job.wa_id,
                job.wamid,
                current,
                conversation=ports.load_conversation(job.phone_number_id, job.wa_id),
            )
            if context.to_summarize:
                context = self._summarize(job, cfg, context, tally)
            query = context.turns[-1]["content"]
            passages = list(ports.search(job.phone_number_id, query, k=KNOWLEDGE_K))
            prompt = instructions(cfg, context, passages, at=at)
            answer, usage = ports.llm().parse(
                model=cfg.model or ports.default_model,
                instructions=prompt,
                turns=context.turns,
                schema=AssistantAnswer,
            )
            tally.add(usage)
        except ports.llm_errors as exc:
            self._record(job, tally, at)
            logger.warning(
                "assistant model unavailable; fallback and handoff",
                extra={"wamid": job.wamid, "kind": getattr(exc, "kind", type(exc).__name__)},
            )
            return self._fallback(job, cfg, "assistant_error", guess_language(job.text), at)
        self._record(job, tally, at)
        outcome = self._decide(job, cfg, answer, allowed_text=prompt, at=at)
        outcome.input_tokens, outcome.output_tokens = tally.input_tokens, tally.output_tokens
        outcome.sources = len(answer.sources)
        return outcome

    # ---------------------------------------------------------------- steps
    def _media(self, job: Job) -> tuple[bytes, str] | None:
        media = job.media or {}
        key = media.get("s3_key") or media.get("key")
        bucket = media.get("bucket") or self.media_bucket
        if not key or not bucket:
            return None
        data = self.ports.read_media(str(bucket), str(key))
        return data, str(media.get("mime_type") or "application/octet-stream")

    def _current_text(self, job: Job, cfg: AssistantSettings, tally: _Tally) -> str | None:
        """The message as text: the transcript of a voice note, an image's caption and
        description; None: as recorded (build_context reads it)."""
        if job.type == "audio":
            found = self._media(job)
            if found is None:
                return "[a voice note that could not be played]"
            data, mime = found
            subtype = mime.split("/")[-1].split(";")[0].strip()
            filename = f"voice.{_AUDIO_EXTENSIONS.get(subtype, subtype or 'ogg')}"
            transcript = self.ports.llm().transcribe(data, filename=filename)
            inbound_log.set_transcript(job.phone_number_id, job.wamid, transcript)
            return f"[voice note] {transcript}"
        if job.type == "image" and cfg.describe_images:
            found = self._media(job)
            if found is not None:
                data, mime = found
                description, usage = self.ports.llm().describe_image(
                    data,
                    mime_type=mime,
                    prompt=IMAGE_PROMPT,
                    model=cfg.model or self.ports.default_model,
                )
                tally.add(usage)
                inbound_log.set_transcript(
                    job.phone_number_id, job.wamid, description, kind="description"
                )
                caption = f" {job.text}" if job.text else ""
                return f"[image: {description}]{caption}"
        return job.text

    def _summarize(
        self, job: Job, cfg: AssistantSettings, context: ConversationContext, tally: _Tally
    ) -> ConversationContext:
        """Fold the turns that left the window into the running summary. A model error
        here is not the customer's problem: the answer goes on with the old summary."""
        turns = [{"role": t.role, "content": t.content} for t in context.to_summarize]
        try:
            result, usage = self.ports.llm().parse(
                model=cfg.model or self.ports.default_model,
                instructions=summary_instructions(context.summary),
                turns=turns,
                schema=ConversationSummary,
            )
        except self.ports.llm_errors:
            logger.warning("conversation summary skipped", extra={"wamid": job.wamid})
            return context
        tally.add(usage)
        upto = context.to_summarize[-1].sort_key
        self.ports.save_summary(job.phone_number_id, job.wa_id, result.summary, upto)
        return ConversationContext(
            turns=context.turns,
            summary=result.summary,
            profile_name=context.profile_name,
            tags=context.tags,
        )

    def _record(self, job: Job, tally: _Tally, at: float) -> None:
        total = tally.input_tokens + tally.output_tokens
        if total <= 0:
            return
        self.ports.add_conversation_tokens(job.phone_number_id, job.wa_id, total)
        add_usage(
            job.phone_number_id,
            input_tokens=tally.input_tokens,
            output_tokens=tally.output_tokens,
            at=at,
        )

    def _decide(
        self,
        job: Job,
        cfg: AssistantSettings,
        answer: AssistantAnswer,
        *,
        allowed_text: str,
        at: float,
    ) -> Outcome:
        pnid, wa_id = job.phone_number_id, job.wa_id
        confidence = answer.certainty
        if answer.intent == "spam":
            self.ports.report_spam(pnid, wa_id, at=at)
            return Outcome("spam", answer.intent, confidence)
        reason: str | None = None
        if answer.intent in HANDOFF_INTENTS:
            reason = answer.intent
        elif confidence < cfg.confidence_threshold or not answer.reply.strip():
            reason = "low_confidence"
        if reason is not None:
            # The customer is told a person will answer (request_handoff tells only the
            # business). Only by the request that entered the handoff: a message that
            # handed over meanwhile (a keyword) has sent its own notice.
            entered = self.ports.request_handoff(
                pnid, wa_id, reason=reason, at=at, language=answer.language
            )
            replies = 0
            if entered and reason == "low_confidence" and answer.reply.strip():
                # The draft the model was not sure of: the agent may use it (never logged).
                self.ports.save_suggestion(
                    pnid,
                    wa_id,
                    text=answer.reply.strip()[:SUGGESTION_MAX],
                    confidence=confidence,
                    handoff_at=at,
                    at=at,
                )
            if entered:
                notice = self.ports.handoff_notice(pnid, answer.language, at)
                documents = submissions(pnid, wa_id, job.wamid, notice)
                self.ports.submit(documents)
                replies = len(documents)
            return Outcome("handoff", answer.intent, confidence, reason, replies=replies)
        documents = submissions(
            pnid, wa_id, job.wamid, answer.reply, answer.form, allowed_text=allowed_text
        )
        self.ports.submit(documents)
        return Outcome("answered", answer.intent, confidence, replies=len(documents))

    def _fallback(
        self, job: Job, cfg: AssistantSettings, reason: str, language: str | None, at: float
    ) -> Outcome:
        documents = submissions(
            job.phone_number_id, job.wa_id, job.wamid, cfg.fallback_text(language)
        )
        self.ports.submit(documents)
        self.ports.request_handoff(
            job.phone_number_id, job.wa_id, reason=reason, at=at, language=language
        )
        return Outcome("fallback", reason=reason, replies=len(documents))
