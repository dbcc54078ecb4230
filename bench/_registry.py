"""Benchmark discovery: every public module of the `bench` package is a benchmark.

Why discovery rather than a hand-kept list: the campaigns fan-out benchmark (100,000
recipients: wall time and AWS API calls) is written by another engineer as
``bench/campaigns.py``; with discovery it joins ``python -m bench`` and becomes
``python -m bench campaigns`` without touching this package's other files.

Contract for a benchmark module:

    TITLE: str                       # shown in --list
    ORDER: int = 100                 # position in a full run (lower runs first)
    def run(ctx: Context) -> list[Table]: ...

``ctx.quick`` asks for the CI-smoke size (the whole quick run must stay < 60 s);
``ctx.results_dir`` (gitignored) is where raw artefacts go.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench._common import Context, Table

_PACKAGE_DIR = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Benchmark:
    name: str
    title: str
    order: int
    run: Callable[[Context], list[Table]]


def discover() -> dict[str, Benchmark]:
    """Name -> benchmark, in run order."""
    found: list[Benchmark] = []
    for info in pkgutil.iter_modules([str(_PACKAGE_DIR)]):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"bench.{info.name}")
        run = getattr(module, "run", None)
        if not callable(run):
            continue
        found.append(
            Benchmark(
                name=info.name,
                title=str(getattr(module, "TITLE", info.name)),
                order=int(getattr(module, "ORDER", 100)),
                run=run,
            )
        )
    found.sort(key=lambda b: (b.order, b.name))
    return {b.name: b for b in found}
