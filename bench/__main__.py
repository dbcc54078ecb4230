"""`python -m bench [--quick] [--list] [name ...]`: run benchmarks and print their tables.

Tables also go to bench/results/latest.md (gitignored) so a run can be pasted into
bench/README.md. The exit code is 0 even when a target is missed: benchmarks report,
they do not gate (timed tests would be flaky on shared CI runners); grep "MISSED".
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from collections.abc import Sequence

from bench._common import RESULTS_DIR, Context
from bench._registry import discover


def main(argv: Sequence[str] | None = None) -> int:
    benchmarks = discover()
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "names",
        nargs="*",
        metavar="name",
        help=f"benchmarks to run (default: all): {', '.join(benchmarks)}",
    )
    parser.add_argument(
        "--quick", action="store_true", help="small N for CI smoke (whole run < 60 s)"
    )
    parser.add_argument("--list", action="store_true", help="list benchmarks and exit")
    args = parser.parse_args(argv)
    if args.list:
        for b in benchmarks.values():
            print(f"{b.name:12} {b.title}")
        return 0
    unknown = [n for n in args.names if n not in benchmarks]
    if unknown:
        parser.error(
            f"unknown benchmark(s): {', '.join(unknown)} (available: {', '.join(benchmarks)})"
        )
    selected = [benchmarks[n] for n in (args.names or benchmarks)]
    ctx = Context(quick=args.quick)
    ctx.results_dir.mkdir(parents=True, exist_ok=True)
    header = (
        f"# wacloud benchmarks ({'quick' if args.quick else 'full'}) - "
        f"{time.strftime('%Y-%m-%d %H:%M')}, Python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs, {platform.machine()}"
    )
    print(header, flush=True)
    out = [header]
    started = time.perf_counter()
    for b in selected:
        t0 = time.perf_counter()
        for table in b.run(ctx):
            text = table.render()
            print("\n" + text, flush=True)
            out.append(text)
        print(f"\n({b.name}: {time.perf_counter() - t0:.1f} s)", file=sys.stderr, flush=True)
    footer = f"Total: {time.perf_counter() - started:.1f} s"
    print("\n" + footer)
    out.append(footer)
    (RESULTS_DIR / ("latest-quick.md" if args.quick else "latest.md")).write_text(
        "\n\n".join(out) + "\n"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
