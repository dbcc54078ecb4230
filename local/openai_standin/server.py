"""The stand-in's HTTP side: the OpenAI endpoints ``wacloud.llm`` calls, and a control API.

OpenAI paths (under ``/v1``, the base URL the SDK is given ends in ``/v1``):

- ``POST /v1/responses``: structured output (``text.format`` json_schema) filled by
  `answers`; plain text otherwise (an image description for ``input_image``).
- ``POST /v1/chat/completions``: the same with ``response_format`` json_schema.
- ``POST /v1/embeddings``: `embedding.embed`, ``dimensions`` honoured, float or base64
  (the SDK asks for base64 unless told otherwise).
- ``POST /v1/audio/transcriptions``: the text after ``TRANSCRIPT:`` in the audio bytes.

Control (for tests and ``make run``): ``POST /_standin/rules`` (a rule or a list),
``POST /_standin/faults``, ``GET /_standin/requests?path=/v1/responses``,
``POST /_standin/reset``, ``GET /_standin/health``.

The server never logs a request: bodies hold customer text (the log is in memory,
for tests, and ends with the process).
"""

from __future__ import annotations

import base64
import json
import struct
import threading
import time
import uuid
from typing import Any

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from . import answers
from .answers import Conversation
from .control import Control, Fault
from .embedding import embed, token_count

_ROUTES = Map(
    [
        Rule("/v1/responses", endpoint="responses", methods=["POST"]),
        Rule("/v1/chat/completions", endpoint="chat", methods=["POST"]),
        Rule("/v1/embeddings", endpoint="embeddings", methods=["POST"]),
        Rule("/v1/audio/transcriptions", endpoint="transcriptions", methods=["POST"]),
        Rule("/v1/models", endpoint="models", methods=["GET"]),
        Rule("/_standin/rules", endpoint="rules", methods=["GET", "POST"]),
        Rule("/_standin/faults", endpoint="faults", methods=["GET", "POST"]),
        Rule("/_standin/requests", endpoint="requests", methods=["GET"]),
        Rule("/_standin/reset", endpoint="reset", methods=["POST"]),
        Rule("/_standin/health", endpoint="health", methods=["GET"]),
    ]
)

FIXED_TRANSCRIPT = "Hello, this is a voice note."
TRANSCRIPT_PREFIX = b"TRANSCRIPT:"


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        json.dumps(data, ensure_ascii=False),
        status=status,
        headers=headers or {},
        mimetype="application/json",
    )


def _error(status: int, message: str, kind: str, code: str | None = None) -> Response:
    return _json({"error": {"message": message, "type": kind, "param": None, "code": code}}, status)


def _new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:24]}"


def _text_of(content: Any) -> str:
    """The text of a message's content: a string, or the text parts of a list."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            str(part.get("text", ""))
            for part in content
            if isinstance(part, dict) and part.get("type") in ("input_text", "text", "output_text")
        )
    return ""


def _images_of(content: Any) -> list[str]:
    if not isinstance(content, list):
        return []
    urls = []
    for part in content:
        if isinstance(part, dict) and part.get("type") in ("input_image", "image_url"):
            url = part.get("image_url")
            urls.append(str(url.get("url") if isinstance(url, dict) else url or ""))
    return urls


class StandinApp:
    """The WSGI application (``Standin`` serves it; a bench may mount it elsewhere)."""

    def __init__(self, control: Control, stopping: threading.Event) -> None:
        self.control = control
        self._stopping = stopping

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        try:
            endpoint, _ = _ROUTES.bind_to_environ(environ).match()
            if str(endpoint).startswith(("responses", "chat", "embeddings", "transcriptions")):
                response = self._openai(str(endpoint), request)
            else:
                response = getattr(self, f"_control_{endpoint}")(request)
        except HTTPException as exc:
            response = _error(exc.code or 500, exc.description or "error", "invalid_request_error")
        except (ValueError, KeyError, TypeError) as exc:
            response = _error(400, f"bad request: {type(exc).__name__}", "invalid_request_error")
        return response(environ, start_response)

    # -- OpenAI endpoints ---------------------------------------------------------

    def _openai(self, endpoint: str, request: Request) -> Response:
        auth = request.headers.get("Authorization", "")
        if not auth.startswith("Bearer ") or not auth[7:].strip():
            return _error(401, "missing API key", "invalid_request_error", "invalid_api_key")
        if endpoint == "transcriptions":
            upload = request.files.get("file")
            audio = upload.read() if upload else b""
            body: Any = {
                "model": request.form.get("model"),
                "filename": upload.filename if upload else None,
                "bytes": len(audio),
                "response_format": request.form.get("response_format"),
            }
            body_text = json.dumps(body)
        else:
            body_text = request.get_data(as_text=True)
            body = json.loads(body_text or "{}")
            audio = b""
        fault = self.control.take_fault(request.path, body_text)
        self.control.record(request.method, request.path, body, fault)
        if fault is not None:
            faulted = self._fault(fault)
            if faulted is not None:
                return faulted
        if endpoint == "responses":
            return self._responses(body)
        if endpoint == "chat":
            return self._chat(body)
        if endpoint == "embeddings":
            return self._embeddings(body)
        return self._transcriptions(body, audio)

    def _fault(self, fault: Fault) -> Response | None:
        if fault.delay_ms:
            self._stopping.wait(fault.delay_ms / 1000)
        if fault.timeout:
            self._stopping.wait(fault.hold_seconds)
            return _error(504, "stand-in timeout fault", "server_error")
        if fault.status is None:
            return None
        headers = {}
        if fault.retry_after is not None:
            headers["Retry-After"] = f"{fault.retry_after:g}"
        if fault.status == 429:
            response = _error(
                429, "Rate limit reached (stand-in fault)", "requests", "rate_limit_exceeded"
            )
        elif fault.status >= 500:
            response = _error(
                fault.status, "The server had an error (stand-in fault)", "server_error"
            )
        else:
            response = _error(fault.status, "Refused (stand-in fault)", "invalid_request_error")
        response.headers.update(headers)
        return response

    def _conversation_from_responses(self, body: dict[str, Any]) -> tuple[Conversation, list[str]]:
        instructions = [str(body.get("instructions") or "")]
        turns: list[tuple[str, str]] = []
        images: list[str] = []
        items = body.get("input")
        if isinstance(items, str):
            items = [{"role": "user", "content": items}]
        for item in items or []:
            if not isinstance(item, dict):
                continue
            role = str(item.get("role") or "user")
            content = item.get("content")
            if role in ("system", "developer"):
                instructions.append(_text_of(content))
            else:
                turns.append(("assistant" if role == "assistant" else "user", _text_of(content)))
                images.extend(_images_of(content))
        return Conversation("\n".join(i for i in instructions if i), turns), images

    def _answer_text(
        self, conversation: Conversation, schema: dict[str, Any] | None, images: list[str]
    ) -> str:
        answer = answers.default_answer(conversation, self.control.rules_snapshot())
        if schema is not None:
            value = answers.fill_schema(schema, answer, conversation)
            return json.dumps(value, ensure_ascii=False)
        if images and not any(r.matches(conversation.last_user) for r in self.control.rules):
            return "; ".join(_describe(url) for url in images)
        return answer.reply

    def _responses(self, body: dict[str, Any]) -> Response:
        conversation, images = self._conversation_from_responses(body)
        fmt = ((body.get("text") or {}).get("format")) or {}
        schema = fmt.get("schema") if fmt.get("type") == "json_schema" else None
        text = self._answer_text(conversation, schema, images)
        input_tokens = token_count(conversation.instructions) + sum(
            token_count(t) for _, t in conversation.turns
        )
        output_tokens = token_count(text)
        return _json(
            {
                "id": _new_id("resp"),
                "object": "response",
                "created_at": int(time.time()),
                "status": "completed",
                "model": body.get("model"),
                "instructions": body.get("instructions"),
                "output": [
                    {
                        "id": _new_id("msg"),
                        "type": "message",
                        "role": "assistant",
                        "status": "completed",
                        "content": [{"type": "output_text", "text": text, "annotations": []}],
                    }
                ],
                "parallel_tool_calls": True,
                "tool_choice": "auto",
                "tools": [],
                "text": body.get("text") or {"format": {"type": "text"}},
                "error": None,
                "incomplete_details": None,
                "metadata": {},
                "usage": {
                    "input_tokens": input_tokens,
                    "input_tokens_details": {"cached_tokens": 0},
                    "output_tokens": output_tokens,
                    "output_tokens_details": {"reasoning_tokens": 0},
                    "total_tokens": input_tokens + output_tokens,
                },
            }
        )

    def _chat(self, body: dict[str, Any]) -> Response:
        instructions: list[str] = []
        turns: list[tuple[str, str]] = []
        images: list[str] = []
        for message in body.get("messages") or []:
            role = str(message.get("role") or "user")
            if role in ("system", "developer"):
                instructions.append(_text_of(message.get("content")))
            elif role in ("user", "assistant"):
                turns.append((role, _text_of(message.get("content"))))
                images.extend(_images_of(message.get("content")))
        conversation = Conversation("\n".join(instructions), turns)
        fmt = body.get("response_format") or {}
        schema = (
            (fmt.get("json_schema") or {}).get("schema")
            if fmt.get("type") == "json_schema"
            else None
        )
        text = self._answer_text(conversation, schema, images)
        prompt = token_count(conversation.instructions) + sum(token_count(t) for _, t in turns)
        completion = token_count(text)
        return _json(
            {
                "id": _new_id("chatcmpl"),
                "object": "chat.completion",
                "created": int(time.time()),
                "model": body.get("model"),
                "choices": [
                    {
                        "index": 0,
                        "finish_reason": "stop",
                        "logprobs": None,
                        "message": {"role": "assistant", "content": text, "refusal": None},
                    }
                ],
                "usage": {
                    "prompt_tokens": prompt,
                    "completion_tokens": completion,
                    "total_tokens": prompt + completion,
                },
            }
        )

    def _embeddings(self, body: dict[str, Any]) -> Response:
        texts = body.get("input")
        if isinstance(texts, str):
            texts = [texts]
        if not isinstance(texts, list) or not texts or not all(isinstance(t, str) for t in texts):
            return _error(
                400, "input must be a string or a list of strings", "invalid_request_error"
            )
        dimensions = int(body.get("dimensions") or 1536)
        if not 1 <= dimensions <= 3072:
            return _error(400, "dimensions out of range", "invalid_request_error")
        as_base64 = body.get("encoding_format") == "base64"
        data = []
        for index, text in enumerate(texts):
            vector = embed(text, dimensions)
            encoded: Any = (
                base64.b64encode(struct.pack(f"<{dimensions}f", *vector)).decode()
                if as_base64
                else vector
            )
            data.append({"object": "embedding", "index": index, "embedding": encoded})
        tokens = sum(token_count(t) for t in texts)
        return _json(
            {
                "object": "list",
                "data": data,
                "model": body.get("model"),
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            }
        )

    def _transcriptions(self, body: dict[str, Any], audio: bytes) -> Response:
        at = audio.find(TRANSCRIPT_PREFIX)
        if at >= 0:
            text = audio[at + len(TRANSCRIPT_PREFIX) :].decode("utf-8", "replace").strip()
        else:
            text = FIXED_TRANSCRIPT
        if body.get("response_format") == "text":
            return Response(text, mimetype="text/plain")
        tokens = token_count(text)
        return _json(
            {
                "text": text,
                "usage": {
                    "type": "tokens",
                    "input_tokens": max(1, len(audio) // 1000),
                    "output_tokens": tokens,
                    "total_tokens": max(1, len(audio) // 1000) + tokens,
                },
            }
        )

    # -- control ------------------------------------------------------------------

    def _control_rules(self, request: Request) -> Response:
        if request.method == "GET":
            return _json([r.match for r in self.control.rules_snapshot()])
        data = request.get_json(force=True)
        items = data if isinstance(data, list) else [data]
        self.control.add_rules([answers.Rule.from_json(item) for item in items])
        return _json({"rules": len(self.control.rules_snapshot())})

    def _control_faults(self, request: Request) -> Response:
        if request.method == "GET":
            return _json([f.to_json() for f in self.control.faults])
        data = request.get_json(force=True)
        items = data if isinstance(data, list) else [data]
        self.control.add_faults([Fault.from_json(item) for item in items])
        return _json({"faults": len(self.control.faults)})

    def _control_requests(self, request: Request) -> Response:
        return _json(self.control.requests_snapshot(request.args.get("path")))

    def _control_reset(self, request: Request) -> Response:
        self.control.reset()
        return _json({"reset": True})

    def _control_health(self, request: Request) -> Response:
        return _json({"ok": True})

    def _control_models(self, request: Request) -> Response:
        return _json({"object": "list", "data": []})


def _describe(url: str) -> str:
    """A deterministic description of an inline image (its type and size)."""
    if url.startswith("data:") and ";base64," in url:
        header, data = url[5:].split(";base64,", 1)
        size = len(base64.b64decode(data))
        return f"An image ({header}, {size} bytes)."
    return "An image."


class _QuietHandler(WSGIRequestHandler):
    """No request lines on stderr (bodies are customer text; the log is `requests`)."""

    disable_nagle_algorithm = True

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return


class Standin:
    """A local OpenAI-compatible server: ``start()`` it, give the SDK ``url + "/v1"``.

    Scripting from Python (the same as the HTTP control API)::

        standin.add_rules({"match": "refund", "intent": "complaint", "confidence": 0.95})
        standin.add_fault({"status": 429, "retry_after": 1, "count": 2})
        standin.requests("/v1/responses")      # bodies received, oldest first
        standin.reset()
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self.control = Control()
        self._stopping = threading.Event()
        self.app = StandinApp(self.control, self._stopping)
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self.url = ""

    @property
    def base_url(self) -> str:
        """What the SDK's ``base_url`` (and the OpenAI secret's) must be."""
        return f"{self.url}/v1"

    def start(self) -> Standin:
        if self._server is not None:
            return self
        self._stopping.clear()
        self._server = make_server(
            self.host, self.port, self.app, threaded=True, request_handler=_QuietHandler
        )
        self.url = f"http://{self.host}:{self._server.server_port}"
        server = self._server
        self._thread = threading.Thread(
            target=lambda: server.serve_forever(poll_interval=0.05),
            name="openai-standin-http",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # releases requests held by delay / timeout faults
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Standin:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- scripting ------------------------------------------------------------------

    def add_rules(self, *rules: dict[str, Any]) -> None:
        """Scripted answers, tried in the order added; the first whose ``match`` finds
        the last user turn wins (see `answers.Rule`)."""
        self.control.add_rules([answers.Rule.from_json(r) for r in rules])

    def add_fault(self, *faults: dict[str, Any]) -> None:
        """Faults for the next requests (see `control.Fault`)."""
        self.control.add_faults([Fault.from_json(f) for f in faults])

    def requests(self, path: str | None = None) -> list[dict[str, Any]]:
        """Every request received (``path`` prefix to filter), oldest first."""
        return self.control.requests_snapshot(path)

    def reset(self) -> None:
        """Forget rules, faults and requests."""
        self.control.reset()
