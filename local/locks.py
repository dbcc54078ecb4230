"""Are the lock files current? `python -m local.locks` (run by `make setup` and `make lock`).

The layer ships what layers/common/requirements.lock pins (its build installs with
--require-hashes) and `make setup` installs requirements-dev.lock, so a requirement added
to a .txt file but not locked would silently be missing from Lambda or from the venv.
This compares each requirement of a .txt file with its lock: the name must be pinned, the
pinned version must satisfy the requirement's specifier, and every pin must carry a hash.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO_ROOT = Path(__file__).resolve().parent.parent
LOCKS = {
    REPO_ROOT / "layers" / "common" / "requirements.txt": (
        REPO_ROOT / "layers" / "common" / "requirements.lock"
    ),
    REPO_ROOT / "requirements-dev.txt": REPO_ROOT / "requirements-dev.lock",
}
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s\\;]+)")


@dataclass(frozen=True)
class Pin:
    name: str
    version: str
    hashes: int


def requirements(path: Path) -> list[Requirement]:
    """The requirements of a requirements file, following `-r` includes."""
    found: list[Requirement] = []
    for raw in path.read_text().splitlines():
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("-r "):
            found.extend(requirements((path.parent / line[3:].strip()).resolve()))
            continue
        if line.startswith("-"):
            raise ValueError(f"{path.name}: option not supported by the lock check: {line}")
        found.append(Requirement(line))
    return found


def pins(lock: Path) -> dict[str, Pin]:
    """Each `name==version` of a pip-compile lock with the number of its hashes."""
    found: dict[str, Pin] = {}
    current: str | None = None
    for line in lock.read_text().splitlines():
        match = _PIN.match(line)
        if match:
            current = canonicalize_name(match.group(1))
            found[current] = Pin(current, match.group(2), line.count("--hash=sha256:"))
        elif current is not None and line.strip().startswith("--hash=sha256:"):
            pin = found[current]
            found[current] = Pin(pin.name, pin.version, pin.hashes + 1)
        elif not line.startswith(" "):
            current = None
    return found


def problems(requirements_file: Path, lock: Path) -> list[str]:
    """What makes `lock` stale or unsafe for `requirements_file`; empty when current."""
    if not lock.exists():
        return [f"{lock.name} is missing"]
    locked = pins(lock)
    found = [f"{lock.name}: {pin.name} has no hash" for pin in locked.values() if not pin.hashes]
    for requirement in requirements(requirements_file):
        pin = locked.get(canonicalize_name(requirement.name))
        if pin is None:
            found.append(f"{requirements_file.name} asks for {requirement}, not in {lock.name}")
        elif not requirement.specifier.contains(pin.version, prereleases=True):
            found.append(
                f"{requirements_file.name} asks for {requirement}, {lock.name} pins {pin.version}"
            )
    return found


def main() -> int:
    found = [p for source, lock in LOCKS.items() for p in problems(source, lock)]
    for problem in found:
        print(problem, file=sys.stderr)
    if found:
        print("the lock files are stale: run `make lock` and commit them", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
