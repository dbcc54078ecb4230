"""/{pnid}/messages and media (docs/meta/messages.md#send, docs/meta/messages.md#read-receipts,
docs/meta/media.md#endpoints)."""

from __future__ import annotations

import hmac

from werkzeug.wrappers import Response

from ..errors import GraphError
from ..media import url_signature
from .base import Ctx, Result, read_json


def send_message(ctx: Ctx, pnid: str) -> Result:
    if ctx.req.mimetype != "application/json":
        # Meta accepts JSON bodies for sends; form posts are not modelled.
        raise GraphError(100, "Send requests need a JSON body (Content-Type application/json).")
    return 200, ctx.core.send(pnid, read_json(ctx.req), ctx.version)


def upload_media(ctx: Ctx, pnid: str) -> Result:
    form = ctx.req.form
    files = ctx.req.files
    if form.get("messaging_product") is None:
        raise GraphError(131008, "The parameter messaging_product is required.")
    if form.get("messaging_product") != "whatsapp":
        raise GraphError(131009, 'Param messaging_product must be "whatsapp".')
    if "file" not in files:
        raise GraphError(131008, "The parameter file is required.")
    # ``type`` is listed as required in M-2025 Media (docs/meta/media.md#endpoints).
    mime = form.get("type")
    if not mime:
        raise GraphError(131008, "The parameter type is required.")
    f = files["file"]
    data = f.read()
    media = ctx.core.upload_media(pnid, mime, data, f.filename)
    return 200, {"id": media.id}


def get_media(ctx: Ctx, media_id: str) -> Result | None:
    media = ctx.core.get_media(media_id, ctx.req.args.get("phone_number_id"))
    if media is None:
        return None
    return 200, {
        "messaging_product": "whatsapp",
        "url": ctx.core.media_url(media),
        "mime_type": media.mime_type,
        "sha256": media.sha256,
        # CONFLICT (docs/meta/media.md#endpoints): string in OAS, number in PYWA's example. The
        # emulator sends the OAS string so clients are forced to handle the less convenient form.
        "file_size": str(media.file_size),
        "id": media.id,
    }


def delete_media(ctx: Ctx, media_id: str) -> Result | None:
    pnid = ctx.req.args.get("phone_number_id")
    if ctx.core.get_media(media_id, pnid) is None:
        return None
    ctx.core.delete_media(media_id)
    return 200, {"success": True}


def download(ctx: Ctx) -> Result:
    """Binary download with a bearer token; an expired or bad URL answers 404
    (docs/meta/media.md#endpoints)."""
    args = ctx.req.args
    mid, ext, sig = args.get("mid", ""), args.get("ext", ""), args.get("hash", "")
    now = ctx.core.clock.now()
    media = ctx.core.state.media.get(mid)
    if (
        media is None
        or not ext.isdigit()
        or int(ext) < now
        or not hmac.compare_digest(sig, url_signature(ctx.core.cfg.app_secret, mid, int(ext or 0)))
    ):
        return Response(b"", status=404)
    return Response(
        media.data,
        status=200,
        mimetype=media.mime_type.split(";")[0],
        headers={"Content-Length": str(len(media.data))},
    )
