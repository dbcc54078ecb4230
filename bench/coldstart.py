"""Cold init: milliseconds to import each function's `app.py` in a fresh interpreter.

Method, and why:
- One fresh subprocess per sample, pinned to CPU 0 (`os.sched_setaffinity`), as a
  Lambda cold start is one process on (at most) a fraction of a core; pinning also
  stops the two cores of a CI runner from flattering the figure.
- The child gets the environment template.yaml gives the function (Globals + its
  own variables; references replaced by placeholders) and fake AWS credentials, with
  the layer and the function directory on `sys.path` as in Lambda (/opt/python,
  /var/task). boto3 clients are created lazily, so no network is touched.
- Bytecode is compiled first (`compileall`) so we time imports, not compilation.
- The child times only ``import app`` (process_time around it); interpreter start-up
  is the same for every function and is reported once ("python -c pass").
- CPU time of the import (user+system), median of N samples; wall time would count
  neighbours time-sharing CPU 0 on a loaded runner. A function's samples alternate with
  pywa's (and its floor's), so each ratio compares samples taken side by side.
- `python -X importtime` of one more sample is written to
  bench/results/importtime-<function>.txt with the top offenders (self and
  cumulative), to show the owners what to make lazy.
"""

from __future__ import annotations

import compileall
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import _lambda_site
from bench._common import (
    FUNCTIONS_DIR,
    LAYER_PATH,
    Context,
    Row,
    Table,
)
from bench._stack import function_environment, load_template

TITLE = "Cold init"
ORDER = 30

# Every function of template.yaml is measured (a new one gets a row by itself); these
# have a target in ms of their own besides the 0.5x-pywa one.
OWN_TARGETS_MS: dict[str, float] = {
    "WebhookVerifyFunction": 60.0,
    "WebhookReceiveFunction": 200.0,
    "SenderFunction": 300.0,
}


def template_functions(sam: dict[str, Any]) -> dict[str, tuple[str, float | None]]:
    """Logical id -> (directory under functions/, own target in ms or None)."""
    found: dict[str, tuple[str, float | None]] = {}
    for logical_id, resource in sam["Resources"].items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        code = str(resource["Properties"].get("CodeUri", ""))
        if code.startswith("functions/"):
            found[logical_id] = (Path(code).name, OWN_TARGETS_MS.get(logical_id))
    return found


CPU = 0
# The target for every function: cold init <= 0.5x pywa's import, same run.
PYWA_RATIO_TARGET = 0.5

# CPU time (user+system) of the import, not wall time: on a shared runner a pinned
# process still time-shares CPU 0 with neighbours, which wall time would count.
_TIMED_IMPORT = (
    "import time; t0 = time.process_time(); import {module}; {first_call}"
    "t1 = time.process_time(); {after}print((t1 - t0) * 1000)"
)
# What a function loads on its first call rather than at import, timed with the import:
# a cold start's latency includes it. The operator API loads the router of the
# resource asked for (wacloud/api/app.py); the inbox's is the largest.
FIRST_CALL: dict[str, str] = {
    "OperatorApiFunction": "import wacloud.api.app as api; api.include('conversations'); ",
}
# What a function cannot go below while it uses the parts the project requires of it
# (Powertools' logger and metrics, its batch utility or its HTTP resolver with OpenAPI
# validation, pydantic for validation), measured the same way in the same run. These
# rows show how much of a function's figure is its own code and what 0.5x pywa leaves.
FLOORS: dict[str, tuple[str, str]] = {
    "SenderFunction": (
        "Powertools Logger + Metrics + batch + pydantic BaseModel",
        "from aws_lambda_powertools import Logger, Metrics; "
        "from aws_lambda_powertools.utilities.batch import process_partial_response; "
        "from pydantic import BaseModel; Logger(); Metrics(); ",
    ),
    "OperatorApiFunction": (
        "Powertools Logger + Metrics + APIGatewayHttpResolver(enable_validation=True)",
        "from aws_lambda_powertools import Logger, Metrics; "
        "from aws_lambda_powertools.event_handler import APIGatewayHttpResolver; "
        "Logger(); Metrics(); APIGatewayHttpResolver(enable_validation=True); ",
    ),
}
_PYWA = (
    "import time; t0 = time.process_time(); from pywa import WhatsApp; "
    "WhatsApp(phone_id='100000000000001', token='bench-token'); "
    "print((time.process_time() - t0) * 1000)"
)


def _pin() -> None:
    os.sched_setaffinity(0, {CPU})


def lambda_environment(sam: dict[str, Any], logical_id: str) -> dict[str, str]:
    """What Lambda would set for ``logical_id``, plus fake credentials and region."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_LAMBDA_FUNCTION_NAME": logical_id or "bench",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024",
    }
    env.update(function_environment(sam, logical_id) if logical_id else {})
    # A queue URL has to look like one if anything parses it at import.
    for key in ("INBOUND_QUEUE_URL", "OUTBOUND_QUEUE_URL"):
        if key in env:
            env[key] = f"https://sqs.us-east-1.amazonaws.com/123456789012/bench-{key.lower()}"
    return env


def _sample(
    code: str, env: dict[str, str], cwd: Path, site: Path, extra: list[str] | None = None
) -> subprocess.CompletedProcess[str]:
    """One fresh ``python -S`` (no site-packages): function dir, layer, deployable deps."""
    path = os.pathsep.join([str(cwd), str(LAYER_PATH), str(site)])
    return subprocess.run(
        [sys.executable, "-S", *(extra or []), "-c", code],
        env={**env, "PYTHONPATH": path},
        cwd=cwd,
        capture_output=True,
        text=True,
        preexec_fn=_pin,
        check=False,
        timeout=120,
    )


def _median_ms(code: str, env: dict[str, str], cwd: Path, site: Path, runs: int) -> float:
    return _interleaved_medians([(code, env, cwd, site)], runs)[0]


Probe = tuple[str, dict[str, str], Path, Path]
"""Code, environment, working directory, site directory of one timed import."""


def _interleaved_medians(probes: list[Probe], runs: int) -> list[float]:
    """Median ms of each probe, sampled in turn (A, B, C, A, B, C...).

    Interleaved so that a neighbour slowing CPU 0 for a few seconds (shared runners move
    a figure by up to 1.7x) hits every probe alike: the ratios between them are the
    figures that hold, and they are only as good as the samples are side by side.
    """
    values: list[list[float]] = [[] for _ in probes]
    for _ in range(runs):
        for i, (code, env, cwd, site) in enumerate(probes):
            proc = _sample(code, env, cwd, site)
            if proc.returncode != 0:
                raise RuntimeError(f"import failed in {cwd}:\n{proc.stderr[-2000:]}")
            values[i].append(float(proc.stdout.strip().splitlines()[-1]))
    return [statistics.median(v) for v in values]


_IMPORTTIME = re.compile(r"import time:\s+(\d+)\s+\|\s+(\d+)\s+\|(\s*)(\S+)")


def importtime_report(stderr: str, top: int = 25) -> tuple[str, list[tuple[str, float]]]:
    """Text report of -X importtime, and the top-level packages by self time (ms)."""
    rows = []
    for line in stderr.splitlines():
        m = _IMPORTTIME.match(line)
        if m:
            rows.append((int(m.group(1)), int(m.group(2)), len(m.group(3)) // 2, m.group(4)))
    by_package: dict[str, int] = {}
    for self_us, _cum, _depth, name in rows:
        package = name.split(".")[0]
        by_package[package] = by_package.get(package, 0) + self_us
    packages = sorted(by_package.items(), key=lambda kv: -kv[1])
    total = sum(r[0] for r in rows)
    lines = [
        f"total self time of all imports: {total / 1000:.1f} ms",
        "",
        "by top-level package (sum of self time):",
    ]
    lines += [f"  {us / 1000:8.1f} ms  {name}" for name, us in packages[:top]]
    lines += ["", "by cumulative time (module incl. what it imports):"]
    lines += [
        f"  {cum / 1000:8.1f} ms  {'  ' * depth}{name}"
        for _s, cum, depth, name in sorted(rows, key=lambda r: -r[1])[:top]
    ]
    lines += ["", "by self time:"]
    lines += [
        f"  {s / 1000:8.1f} ms  {name}"
        for s, _c, _d, name in sorted(rows, key=lambda r: -r[0])[:top]
    ]
    return "\n".join(lines) + "\n", [(n, us / 1000) for n, us in packages[:5]]


def run(ctx: Context) -> list[Table]:
    runs = ctx.n(full=7, quick=3)
    compileall.compile_dir(str(LAYER_PATH), quiet=1)
    compileall.compile_dir(str(FUNCTIONS_DIR), quiet=1)
    with tempfile.TemporaryDirectory(prefix="wacloud-bench-") as tmp:
        site = _lambda_site.build(Path(tmp) / "lambda", _lambda_site.layer_requirements())
        pywa_site = _lambda_site.build(Path(tmp) / "pywa", ["pywa"])
        return [_measure(ctx, runs, site, pywa_site)]


def _measure(ctx: Context, runs: int, site: Path, pywa_site: Path) -> Table:
    sam = load_template()
    table = Table(f"Cold init: import app.py, fresh process pinned to CPU {CPU} [ms]")
    baseline_env = lambda_environment(sam, "")
    _sample("pass", baseline_env, FUNCTIONS_DIR, site)  # warm the page cache
    interp = []
    for _ in range(runs):
        t0 = time.perf_counter()
        _sample("pass", baseline_env, FUNCTIONS_DIR, site)
        interp.append((time.perf_counter() - t0) * 1000)
    pywa: Probe = (_PYWA, baseline_env, FUNCTIONS_DIR, pywa_site)
    pywa_figures: list[float] = []
    offenders: list[str] = []
    for logical_id, (directory, target) in template_functions(sam).items():
        cwd = FUNCTIONS_DIR / directory
        if not (cwd / "app.py").exists() or (ctx.quick and target is None):
            continue
        env = lambda_environment(sam, logical_id)
        code = _TIMED_IMPORT.format(
            module="app", first_call=FIRST_CALL.get(logical_id, ""), after=""
        )
        probes: list[Probe] = [(code, env, cwd, site), pywa]
        floor = FLOORS.get(logical_id) if not ctx.quick else None
        if floor is not None:
            floor_code = _TIMED_IMPORT.format(module="time", first_call=floor[1], after="")
            probes.append((floor_code, env, cwd, site))
        ms, pywa_ms, *floor_ms = _interleaved_medians(probes, runs)
        pywa_figures.append(pywa_ms)
        goal = (
            PYWA_RATIO_TARGET * pywa_ms
            if target is None
            else min(target, PYWA_RATIO_TARGET * pywa_ms)
        )
        table.add(Row(f"{logical_id} (functions/{directory})", ms, pywa_ms, target=goal, unit="ms"))
        if floor is not None:
            table.add(Row(f"  floor: {floor[0]} alone", floor_ms[0], pywa_ms, unit="ms"))
        if not ctx.quick:
            traced = _sample(code, env, cwd, site, ["-X", "importtime"])
            report, top = importtime_report(traced.stderr)
            (ctx.results_dir / f"importtime-{directory}.txt").write_text(
                report + "\n" + traced.stderr
            )
            offenders.append(f"{logical_id}: " + ", ".join(f"{n} {v:.0f}" for n, v in top))
    if not ctx.quick:
        traced = _sample(_PYWA, baseline_env, FUNCTIONS_DIR, pywa_site, ["-X", "importtime"])
        report, top = importtime_report(traced.stderr)
        (ctx.results_dir / "importtime-pywa.txt").write_text(report + "\n" + traced.stderr)
        offenders.append("pywa: " + ", ".join(f"{n} {v:.0f}" for n, v in top))
    table.notes += [
        f"CPU ms of the import, median of {runs} fresh `python -S` processes; .pyc "
        "compiled; only deployable packages importable (layer requirements + boto3, "
        "bench/_lambda_site.py). pywa "
        "column: `from pywa import WhatsApp` + `WhatsApp(phone_id, token)` with only pywa "
        "and its dependencies importable, sampled in turn with each row's own samples "
        f"(pywa over the run: {min(pywa_figures, default=0):.0f}-"
        f"{max(pywa_figures, default=0):.0f} ms).",
        f"Target: the function's own figure or {PYWA_RATIO_TARGET}x pywa's, whichever is lower.",
        f"Interpreter start-up (`python -S -c pass`, not included above): "
        f"{statistics.median(interp):.0f} ms.",
    ]
    if not ctx.quick:
        table.notes.append(
            "floor rows: the parts the function must use (Powertools, pydantic) imported "
            "alone, in the same environment; the function's own code is the difference "
            "above them."
        )
    if offenders:
        table.notes += [
            "Top packages by import self time, ms (-X importtime, wall; full "
            "reports in bench/results/importtime-*.txt):",
            *(f"  {line}" for line in offenders),
        ]
    return table
