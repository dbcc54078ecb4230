"""``python -m local.emulator``: serve, or script a running emulator via its control API.

python -m local.emulator                     # serve (env HOST, PORT, TOKEN, ...)
python -m local.emulator send-text --to 15551234567 --body hi
python -m local.emulator advance --seconds 86400
python -m local.emulator fault --code 131000 --times 2 --path /messages
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from typing import Any

import httpx

from .config import EmulatorConfig
from .emulator import Emulator


def config_from_env() -> EmulatorConfig:
    return EmulatorConfig(
        host=os.environ.get("HOST", "127.0.0.1"),
        port=int(os.environ.get("PORT", "4004")),
        token=os.environ.get("TOKEN", "local-token"),
        app_secret=os.environ.get("APP_SECRET", "local-app-secret"),
        webhook_url=os.environ.get("WEBHOOK_URL", "http://127.0.0.1:3000/webhook") or None,
        seed=int(os.environ.get("SEED", "0")),
    )


def _control(
    args: argparse.Namespace, method: str, path: str, body: dict[str, Any] | None = None
) -> int:
    url = f"{args.emulator.rstrip('/')}/_emulator/{path}"
    resp = httpx.request(method, url, json=body, timeout=10)
    print(json.dumps(resp.json(), indent=2))
    return 0 if resp.status_code == 200 else 1


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m local.emulator")
    p.add_argument(
        "--emulator",
        default=os.environ.get(
            "EMULATOR_URL", f"http://127.0.0.1:{os.environ.get('PORT', '4004')}"
        ),
        help="control API base URL for the scripting subcommands",
    )
    sub = p.add_subparsers(dest="cmd")
    sub.add_parser("serve", help="run the emulator (default)")
    s = sub.add_parser("send-text", help="a customer sends a text message")
    s.add_argument("--to", "--from", dest="wa_id", required=True, help="customer wa_id")
    s.add_argument("--body", required=True)
    s.add_argument("--name", default="Customer")
    s = sub.add_parser("send", help="a customer sends any message (JSON)")
    s.add_argument("--from", dest="wa_id", required=True)
    s.add_argument("--message", required=True, help='e.g. \'{"type":"text","text":{"body":"hi"}}\'')
    s = sub.add_parser("advance", help="advance the emulator clock")
    s.add_argument("--seconds", type=float, required=True)
    s = sub.add_parser("fault", help="force an error code on the next N API calls")
    s.add_argument("--code", type=int, required=True)
    s.add_argument("--times", type=int, default=1)
    s.add_argument("--path", default=None)
    sub.add_parser("clear-faults")
    s = sub.add_parser("not-on-whatsapp")
    s.add_argument("--wa-id", required=True)
    s = sub.add_parser("template", help="seed an approved template")
    s.add_argument("--name", required=True)
    s.add_argument("--language", default="en_US")
    s.add_argument("--category", default="UTILITY")
    s.add_argument("--body", default="Hello")
    for name in ("requests", "sent", "webhooks"):
        sub.add_parser(name, help=f"list {name}")
    args = p.parse_args(argv)

    if args.cmd in (None, "serve"):
        cfg = config_from_env()
        emu = Emulator(cfg)
        emu.start()
        print(
            f"WhatsApp Cloud API emulator on {emu.url} (token {cfg.token!r}, "
            f"webhooks -> {cfg.webhook_url})",
            file=sys.stderr,
            flush=True,
        )
        emu.serve_forever()
        return 0
    if args.cmd == "send-text":
        return _control(
            args,
            "POST",
            "customer/text",
            {"wa_id": args.wa_id, "body": args.body, "profile_name": args.name},
        )
    if args.cmd == "send":
        return _control(
            args,
            "POST",
            "customer/messages",
            {"wa_id": args.wa_id, "message": json.loads(args.message)},
        )
    if args.cmd == "advance":
        return _control(args, "POST", "clock/advance", {"seconds": args.seconds})
    if args.cmd == "fault":
        return _control(
            args,
            "POST",
            "faults/force_error",
            {"code": args.code, "times": args.times, "path_contains": args.path},
        )
    if args.cmd == "clear-faults":
        return _control(args, "DELETE", "faults")
    if args.cmd == "not-on-whatsapp":
        return _control(args, "POST", "users/not_on_whatsapp", {"wa_id": args.wa_id})
    if args.cmd == "template":
        return _control(
            args,
            "POST",
            "templates",
            {
                "name": args.name,
                "language": args.language,
                "category": args.category,
                "body": args.body,
            },
        )
    return _control(args, "GET", str(args.cmd))
