"""WSGI application: routing, auth, fault injection, request log, error rendering.

It is given what it serves (the engine, ``Core``, and the fault plan) by whoever builds
it (``emulator.Emulator``) and imports nothing of that builder.

Auth failures answer code 190 with HTTP 401 (docs/meta/errors.md#codes) in the OAuthException
envelope; unknown paths answer 100/400 (Graph's real code for unknown paths is not on docs/meta: NOT
CONFIRMED).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import BaseConverter, Map, Rule
from werkzeug.wrappers import Request, Response

from .errors import GraphError
from .handlers import account, control, messaging, templates
from .handlers.base import Ctx, Result
from .models import RequestRecord

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

    from .core import Core
    from .faults import Faults


class VersionConverter(BaseConverter):
    regex = r"v\d+\.\d+"


class NumericConverter(BaseConverter):
    regex = r"\d+"


URL_MAP = Map(
    [
        Rule("/<ver:version>/<num:pnid>/messages", methods=["POST"], endpoint="messages"),
        Rule("/<ver:version>/<num:pnid>/media", methods=["POST"], endpoint="media_upload"),
        Rule(
            "/<ver:version>/<num:waba>/message_templates",
            methods=["GET", "POST", "DELETE"],
            endpoint="templates",
        ),
        Rule(
            "/<ver:version>/<num:pnid>/block_users",
            methods=["GET", "POST", "DELETE"],
            endpoint="block_users",
        ),
        Rule(
            "/<ver:version>/<num:pnid>/whatsapp_business_profile",
            methods=["GET", "POST"],
            endpoint="profile",
        ),
        Rule("/<ver:version>/<num:obj>", methods=["GET", "DELETE"], endpoint="object"),
        Rule("/whatsapp_business/attachments/", methods=["GET"], endpoint="download"),
        Rule("/_emulator/<path:action>", methods=["GET", "POST", "DELETE"], endpoint="control"),
    ],
    converters={"ver": VersionConverter, "num": NumericConverter},
    strict_slashes=False,
)


class Api:
    """Graph's routes over ``core``, with ``faults`` applied, plus the control API."""

    def __init__(self, core: Core, faults: Faults) -> None:
        self.core = core
        self.faults = faults

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        req = Request(environ)
        resp = self.dispatch(req)
        return resp(environ, start_response)

    # ---------------------------------------------------------------------------------
    def dispatch(self, req: Request) -> Response:
        adapter = URL_MAP.bind_to_environ(req.environ)
        try:
            endpoint, args = adapter.match()
        except (NotFound, MethodNotAllowed) as exc:
            if req.path.startswith("/_emulator/"):
                return _json(404, {"error": "unknown control endpoint"})
            err = GraphError(
                100,
                f"Unsupported {req.method.lower()} request: {req.path}",
                http_status=400 if isinstance(exc, NotFound) else 405,
            )
            return self._record(req, self._error(err))
        except HTTPException as exc:  # pragma: no cover - defensive
            return _json(exc.code or 500, {"error": str(exc)})
        if endpoint == "control":
            try:
                return _result(
                    control.handle(self.core, self.faults, req, str(args["action"]).strip("/"))
                )
            except control.ControlError as exc:
                return _json(exc.status, {"error": exc.message})
            except (GraphError, ValueError, KeyError, TypeError) as exc:
                return _json(400, {"error": str(exc)})
        delay, fault = self.faults.plan(req.method, req.path)
        if delay > 0:
            time.sleep(delay)
        if fault is not None:
            return self._record(req, self._error(fault))
        try:
            self._authenticate(req)
            resp = _result(self._route(endpoint, req, dict(args)))
        except GraphError as err:
            resp = self._error(err)
        hold = self.faults.hold_after(req.path)
        if hold > 0:
            time.sleep(hold)
        return self._record(req, resp)

    def _authenticate(self, req: Request) -> None:
        header = req.headers.get("Authorization", "")
        token = header[7:].strip() if header.lower().startswith("bearer ") else None
        token = token or req.args.get("access_token")
        if not token:
            raise GraphError(190, "An access token is required to request this resource.")
        if token != self.core.cfg.token:
            raise GraphError(190, "Invalid OAuth access token - Cannot parse access token")

    def _route(self, endpoint: str, req: Request, args: dict[str, Any]) -> Result:
        core = self.core
        version = str(args.get("version", ""))
        ctx = Ctx(core, req, version)
        routes: dict[str, Callable[[], Result]] = {
            "messages": lambda: messaging.send_message(ctx, args["pnid"]),
            "media_upload": lambda: messaging.upload_media(ctx, args["pnid"]),
            "download": lambda: messaging.download(ctx),
            "templates": lambda: self._templates(ctx, req.method, str(args["waba"])),
            "block_users": lambda: self._block(ctx, req.method, str(args["pnid"])),
            "profile": lambda: (
                account.get_profile(ctx, args["pnid"])
                if req.method == "GET"
                else account.update_profile(ctx, args["pnid"])
            ),
            "object": lambda: self._object(ctx, req.method, str(args["obj"])),
        }
        return routes[endpoint]()

    def _templates(self, ctx: Ctx, method: str, waba: str) -> Result:
        self._check_waba(waba)
        if method == "GET":
            return templates.list_templates(ctx, waba)
        if method == "POST":
            return templates.create_template(ctx, waba)
        return templates.delete_templates(ctx, waba)

    def _block(self, ctx: Ctx, method: str, pnid: str) -> Result:
        if method == "GET":
            return account.list_blocked(ctx, pnid)
        return account.block_users(ctx, pnid, block=method == "POST")

    def _check_waba(self, waba: str) -> None:
        core = self.core
        known = {p.waba_id for p in core.state.phone_numbers.values()} | {core.cfg.waba_id}
        if waba not in known and not core.cfg.accept_any_phone_number_id:
            raise GraphError(100, f"Unsupported request. Object with ID '{waba}' does not exist.")

    def _object(self, ctx: Ctx, method: str, obj: str) -> Result:
        """GET/DELETE /{id}: a media id, a template id or a phone number id."""
        core = ctx.core
        if method == "GET" and obj in core.state.phone_numbers:
            return account.get_phone_number(ctx, core.phone_number(obj))
        if method == "DELETE":
            res = messaging.delete_media(ctx, obj)
        else:
            res = messaging.get_media(ctx, obj)
            if res is None:
                tpl = core.state.templates.get(obj)
                if tpl is not None:
                    return templates.get_template(ctx, tpl)
                if (
                    obj not in core.state.media_ids_issued
                    and obj not in core.state.template_ids
                    and core.cfg.accept_any_phone_number_id
                ):
                    return account.get_phone_number(ctx, core.phone_number(obj))
        if res is None:
            raise GraphError(
                100,
                f"Unsupported {method.lower()} request. Object with ID "
                f"'{obj}' does not exist, cannot be loaded due to missing "
                "permissions, or does not support this operation.",
                subcode=33,
            )
        return res

    def _error(self, err: GraphError) -> Response:
        return _json(
            err.status,
            err.envelope(self.core.ids.fbtrace()),
            headers={"WWW-Authenticate": 'OAuth "Facebook Platform" "invalid_token"'}
            if err.code == 190
            else None,
        )

    def _record(self, req: Request, resp: Response) -> Response:
        body: Any = None
        if req.mimetype == "application/json":
            try:
                body = json.loads(req.get_data(cache=True) or b"null")
            except ValueError:
                body = req.get_data(cache=True).decode("utf-8", "replace")
        elif req.form:
            body = dict(req.form.items())
        out: Any = None
        if resp.mimetype == "application/json":
            out = json.loads(resp.get_data())
        self.core.record_request(
            RequestRecord(
                method=req.method,
                path=req.path,
                query=dict(req.args.items()),
                json=body,
                status=resp.status_code,
                response=out,
                time=self.core.clock.now(),
            )
        )
        return resp


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json", headers=headers)


def _result(res: Result) -> Response:
    if isinstance(res, Response):
        return res
    status, body = res
    return _json(status, body)
