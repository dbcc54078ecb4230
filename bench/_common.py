"""Shared plumbing: the run context, result tables and CPU/wall measurement.

Every benchmark prints the same table shape (case, wacloud, pywa, ratio, target, met?)
so a reader compares like with like, and CI can grep "MISSED" in the output.
"""

from __future__ import annotations

import os
import resource
import statistics
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
LAYER_PATH = REPO_ROOT / "layers" / "common" / "python"
FUNCTIONS_DIR = REPO_ROOT / "functions"
RESULTS_DIR = REPO_ROOT / "bench" / "results"


def ensure_import_paths() -> None:
    """Make `wacloud` (the layer) and `local` importable, as Lambda's /opt/python would."""
    for path in (str(LAYER_PATH), str(REPO_ROOT)):
        if path not in sys.path:
            sys.path.insert(0, path)


@dataclass(frozen=True)
class Context:
    """What every benchmark's ``run`` receives.

    ``quick`` trades precision for time (CI smoke, < 60 s in total); the full run is
    sized to stay under ~5 minutes on 2 cores.
    """

    quick: bool
    results_dir: Path = RESULTS_DIR

    def n(self, full: int, quick: int) -> int:
        return quick if self.quick else full


@dataclass(frozen=True)
class Row:
    case: str
    ours: float | None
    theirs: float | None
    # "le": ours should be <= target; "ge": ours should be >= target; None: no target.
    target: float | None = None
    direction: str = "le"
    # Target given relative to the other column ("<= pywa") instead of a number.
    target_is_theirs: bool = False
    unit: str = ""
    note: str = ""

    def ratio(self) -> float | None:
        if self.ours is None or self.theirs is None or self.theirs == 0:
            return None
        return self.ours / self.theirs

    def met(self) -> bool | None:
        if self.ours is None:
            return None
        goal = self.theirs if self.target_is_theirs else self.target
        if goal is None:
            return None
        return self.ours <= goal if self.direction == "le" else self.ours >= goal

    def target_text(self) -> str:
        sign = "<=" if self.direction == "le" else ">="
        if self.target_is_theirs:
            return f"{sign} other"
        if self.target is None:
            return "-"
        return f"{sign} {_fmt(self.target)}"


@dataclass
class Table:
    title: str
    rows: list[Row] = field(default_factory=list)
    ours_label: str = "wacloud"
    theirs_label: str = "pywa"
    notes: list[str] = field(default_factory=list)

    def add(self, row: Row) -> None:
        self.rows.append(row)

    def render(self) -> str:
        header = ["case", self.ours_label, self.theirs_label, "ratio", "target", "met?"]
        body = []
        for r in self.rows:
            met = r.met()
            ratio = r.ratio()
            body.append(
                [
                    r.case + (f" [{r.unit}]" if r.unit else ""),
                    _fmt(r.ours),
                    _fmt(r.theirs),
                    "-" if ratio is None else f"{ratio:.2f}x",
                    r.target_text(),
                    "-" if met is None else ("yes" if met else "MISSED"),
                ]
            )
        widths = [
            max(len(h), *(len(b[i]) for b in body)) if body else len(h)
            for i, h in enumerate(header)
        ]
        lines = [f"## {self.title}", ""]
        lines.append(
            "| " + " | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)) + " |"
        )
        lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
        for b in body:
            cells = [b[0].ljust(widths[0])] + [
                c.rjust(w) for c, w in zip(b[1:], widths[1:], strict=True)
            ]
            lines.append("| " + " | ".join(cells) + " |")
        for r in self.rows:
            if r.note:
                lines.append(f"- {r.case}: {r.note}")
        lines.extend(f"- {n}" for n in self.notes)
        return "\n".join(lines)


def _fmt(value: float | None) -> str:
    if value is None:
        return "n/a"
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


# ---------------------------------------------------------------------- measurement
def cpu_seconds() -> float:
    """CPU (user + system) of this whole process, every thread included.

    `getrusage(RUSAGE_SELF)` rather than `process_time()` only because it splits user
    and system time when debugging; both count all threads of this process and nothing
    of the emulator or moto, which run in child processes.
    """
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@dataclass(frozen=True)
class Sample:
    cpu_s: float
    wall_s: float
    count: int

    @property
    def cpu_us_per_item(self) -> float:
        return self.cpu_s / self.count * 1e6

    @property
    def per_second(self) -> float:
        return self.count / self.wall_s if self.wall_s > 0 else float("inf")


@contextmanager
def measured() -> Iterator[list[float]]:
    """Yields a list that receives [cpu seconds, wall seconds] of the block on exit."""
    out: list[float] = []
    cpu0, wall0 = cpu_seconds(), time.perf_counter()
    try:
        yield out
    finally:
        out.extend([cpu_seconds() - cpu0, time.perf_counter() - wall0])


def median_us_per_call(fn: Callable[[], object], calls: int, repeats: int) -> float:
    """Median over ``repeats`` of the process CPU per call, in microseconds.

    CPU time rather than wall time so a noisy neighbour on a shared 2-core runner
    inflates the figure less; the median discards a repeat hit by a GC or a preemption.
    """
    results = []
    for _ in range(repeats):
        start = time.process_time_ns()
        for _ in range(calls):
            fn()
        results.append((time.process_time_ns() - start) / calls / 1000)
    return statistics.median(results)


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """Environment for helper processes: this one's, with the repo importable."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(LAYER_PATH), str(REPO_ROOT)])
    env.update(extra or {})
    return env


@contextmanager
def stdout_to_devnull() -> Iterator[None]:
    """Powertools logs and EMF metrics go to stdout (CloudWatch in Lambda): writing them
    is part of a handler's cost, the text would bury the tables. Warnings such as "No
    application metrics to publish" on control invocations are silenced too."""
    sys.stdout.flush()
    saved = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)
