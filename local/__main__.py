"""`python -m local run | demo | submit | erase | lake | invoke`: the embedded default
(see README)."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the whole stack in the foreground")
    run.add_argument("--port", type=int, default=3000, help="local API port (webhook)")
    run.add_argument("--emulator-port", type=int, default=4004)
    run.add_argument("--moto-port", type=int, default=5005)
    run.add_argument("--openai-port", type=int, default=6006, help="the OpenAI stand-in's port")
    run.add_argument(
        "--auth-port", type=int, default=3002, help="the operator pool's token endpoint (apps)"
    )
    run.add_argument(
        "--speedup",
        type=float,
        default=1.0,
        help="run EventBridge schedules this many times faster",
    )
    sub.add_parser("demo", help="play the round trip and check every step")
    submit = sub.add_parser("submit", help="queue a submission on the running stack")
    submit.add_argument(
        "document", help="submission JSON (phone_number_id defaults to the emulator's)"
    )
    erase = sub.add_parser("erase", help="erase a customer's data on the running stack")
    erase.add_argument("wa_id", help="the customer's number (digits)")
    erase.add_argument("--phone-number-id", help="the business number (default: the emulator's)")
    lake = sub.add_parser("lake", help="query the running stack's event lake with DuckDB")
    lake.add_argument("query", choices=("funnel", "templates", "billable"))
    lake.add_argument("--from", dest="first", required=True, help="first day, YYYY-MM-DD")
    lake.add_argument("--to", dest="last", required=True, help="last day, inclusive")
    invoke = sub.add_parser(
        "invoke", help="run one function's handler on an event against the running stack"
    )
    invoke.add_argument("function", help="the function's logical id, e.g. WebhookVerifyFunction")
    invoke.add_argument("-e", "--event", required=True, help="event JSON file, e.g. events/x.json")
    invoke.add_argument(
        "--env-vars",
        help="environment per function (default: .local-state/env.json, written by make run)",
    )
    args = parser.parse_args(argv)
    if args.command == "lake":
        from local.run import query_lake_on_running_stack

        return query_lake_on_running_stack(args.query, args.first, args.last)
    if args.command == "invoke":
        from local.invoke import main as invoke_main

        return invoke_main(args.function, args.event, args.env_vars)
    if args.command == "erase":
        from local.run import erase_on_running_stack

        return erase_on_running_stack(args.wa_id, args.phone_number_id)
    if args.command == "run":
        from local.run import run_forever

        return run_forever(
            port=args.port,
            emulator_port=args.emulator_port,
            moto_port=args.moto_port,
            openai_port=args.openai_port,
            auth_port=args.auth_port,
            speedup=args.speedup,
        )
    if args.command == "submit":
        from local.run import submit_to_running_stack

        return submit_to_running_stack(args.document)
    from local.demo import run_demo

    return run_demo()


if __name__ == "__main__":
    sys.exit(main())
