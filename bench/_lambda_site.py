"""A site directory holding only what a deployed function can import.

Why: the dev venv also holds aws-sam-cli, moto, pywa and their dependencies. Some
libraries import optional extras when present (httpx imports its CLI, and with it
rich, click and pygments, ~200 ms); Lambda has none of those. So the cold-init child
runs with ``python -S`` (no site-packages) and this directory on its path: symlinks to
the installed distributions of layers/common/requirements.txt (with their dependency
closure) plus what the Lambda Python runtime ships (boto3 and its dependencies; not
awscrt, which the venv has and the runtime does not).
"""

from __future__ import annotations

import re
import shutil
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement

from bench._common import LAYER_PATH

LAYER_REQUIREMENTS = LAYER_PATH.parent / "requirements.txt"
# Lambda's python3.13 runtime bundles the AWS SDK.
RUNTIME_PROVIDED = ("boto3",)


def _closure(roots: list[Requirement]) -> set[str]:
    seen: set[str] = set()
    stack = [(r.name, frozenset(r.extras)) for r in roots]
    while stack:
        name, extras = stack.pop()
        key = re.sub(r"[-_.]+", "-", name).lower()
        if key in seen:
            continue
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        seen.add(key)
        for text in dist.requires or []:
            req = Requirement(text)
            if req.marker is None or any(
                req.marker.evaluate({"extra": e}) for e in (extras or {""})
            ):
                stack.append((req.name, frozenset(req.extras)))
    return seen


def _top_level(dist_name: str) -> set[str]:
    dist = metadata.distribution(dist_name)
    names: set[str] = set()
    for file in dist.files or []:
        first = file.parts[0]
        if first.endswith((".dist-info", ".egg-info", ".pth")) or first in (
            "..",
            "bin",
            "__pycache__",
        ):
            continue
        names.add(first)
    return names


def layer_requirements() -> list[str]:
    """The layer's requirements plus what the Lambda runtime provides."""
    lines = [line.split("#")[0].strip() for line in LAYER_REQUIREMENTS.read_text().splitlines()]
    return [line for line in lines if line] + list(RUNTIME_PROVIDED)


def build(target: Path, requirements: list[str]) -> Path:
    """(Re)create ``target`` with symlinks to ``requirements`` and their dependencies."""
    roots = [Requirement(r) for r in requirements]
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    for dist_name in sorted(_closure(roots)):
        dist = metadata.distribution(dist_name)
        base = Path(str(dist.locate_file("")))
        info = getattr(dist, "_path", None)  # the .dist-info dir: metadata.version() needs it
        if isinstance(info, Path) and info.exists():
            (target / info.name).symlink_to(info)
        for top in _top_level(dist_name):
            source = base / top
            if source.exists() and not (target / top).exists():
                (target / top).symlink_to(source)
    return target
