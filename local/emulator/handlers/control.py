"""``/_emulator/*``: the control API, mirroring the Python API for non-Python callers.

It drives the same engine (``Core``) and fault plan the ``Emulator`` wraps, so both
APIs share one implementation without the HTTP layer knowing the ``Emulator``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Request

from .base import Result, read_json

if TYPE_CHECKING:
    from ..core import Core
    from ..faults import Faults


class ControlError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _body(req: Request) -> dict[str, Any]:
    body = read_json(req)
    if not isinstance(body, dict):
        raise ControlError(400, "JSON object expected")
    return body


def _need(body: dict[str, Any], key: str) -> Any:
    if key not in body:
        raise ControlError(400, f"missing '{key}'")
    return body[key]


def handle(core: Core, faults: Faults, req: Request, action: str) -> Result:
    m = req.method
    args = req.args
    if action == "health" and m == "GET":
        return 200, {"ok": True, "url": core.base_url}
    if action == "customer/messages" and m == "POST":
        b = _body(req)
        wamid = core.customer_sends(
            str(_need(b, "wa_id")),
            _need(b, "message"),
            phone_number_id=b.get("phone_number_id"),
            profile_name=b.get("profile_name", "Customer"),
        )
        return 200, {"id": wamid}
    if action == "customer/text" and m == "POST":
        b = _body(req)
        text = {"type": "text", "text": {"body": str(_need(b, "body"))}}
        wamid = core.customer_sends(
            str(_need(b, "wa_id")),
            text,
            phone_number_id=b.get("phone_number_id"),
            profile_name=b.get("profile_name", "Customer"),
        )
        return 200, {"id": wamid}
    if action == "requests" and m == "GET":
        return 200, {"data": core.requests()}
    if action == "sent" and m == "GET":
        return 200, {
            "data": core.sent_messages(
                phone_number_id=args.get("phone_number_id"), to=args.get("to")
            )
        }
    if action == "webhooks" and m == "GET":
        return 200, {
            "data": [
                {
                    k: (v.decode("utf-8", "replace") if isinstance(v, bytes) else v)
                    for k, v in w.items()
                }
                for w in core.webhooks()
            ]
        }
    if action == "clock/advance" and m == "POST":
        return 200, {"now": core.clock.advance(float(_need(_body(req), "seconds")))}
    if action == "faults" and m == "GET":
        return 200, faults.describe()
    if action == "faults" and m == "DELETE":
        faults.clear()
        return 200, {"success": True}
    if action == "faults/force_error" and m == "POST":
        b = _body(req)
        faults.force_error(
            int(_need(b, "code")),
            times=int(b.get("times", 1)),
            path_contains=b.get("path_contains"),
            method=b.get("method"),
        )
        return 200, {"success": True}
    if action == "faults/error_rate" and m == "POST":
        b = _body(req)
        faults.set_error_rate(
            float(_need(b, "rate")),
            path_contains=b.get("path_contains"),
            code=int(b.get("code", 131000)),
        )
        return 200, {"success": True}
    if action == "faults/latency" and m == "POST":
        b = _body(req)
        faults.set_latency_ms(
            b.get("ms"), low=b.get("low"), high=b.get("high"), path_contains=b.get("path_contains")
        )
        return 200, {"success": True}
    if action == "faults/timeout" and m == "POST":
        b = _body(req)
        faults.add_timeout(
            times=int(b.get("times", 1)),
            hold_seconds=float(b.get("hold_seconds", 30.0)),
            path_contains=b.get("path_contains"),
        )
        return 200, {"success": True}
    if action == "faults/slow_response" and m == "POST":
        b = _body(req)
        faults.add_slow_response(
            times=int(b.get("times", 1)),
            hold_seconds=float(b.get("hold_seconds", 30.0)),
            path_contains=b.get("path_contains"),
        )
        return 200, {"success": True}
    if action == "users/not_on_whatsapp" and m == "POST":
        core.set_on_whatsapp(str(_need(_body(req), "wa_id")), False)
        return 200, {"success": True}
    if action == "templates" and m == "POST":
        b = _body(req)
        tpl = core.add_template(
            str(_need(b, "name")),
            language=b.get("language", "en_US"),
            category=b.get("category", "UTILITY"),
            components=b.get("components"),
            body=b.get("body"),
            status=b.get("status", "APPROVED"),
            parameter_format=b.get("parameter_format", "POSITIONAL"),
        )
        return 200, tpl.graph()
    if action == "templates/status" and m == "POST":
        b = _body(req)
        core.set_template_status(
            str(_need(b, "name")),
            str(_need(b, "status")),
            language=b.get("language"),
            reason=b.get("reason", "NONE"),
        )
        return 200, {"success": True}
    if action == "webhooks/emit" and m == "POST":
        b = _body(req)
        core.emit(str(_need(b, "field")), _need(b, "value"), waba_id=b.get("waba_id"))
        return 200, {"success": True}
    raise ControlError(404, f"unknown control endpoint {m} /_emulator/{action}")
