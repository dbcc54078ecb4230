"""The lock files cover their requirements (local/locks.py): what the layer ships and
what `make setup` installs is exactly what the .txt files ask for, pinned with hashes."""

from __future__ import annotations

from pathlib import Path

import pytest

from local import locks

HASH = "    --hash=sha256:" + "0" * 64


def test_both_locks_cover_their_requirements() -> None:
    assert len(locks.LOCKS) == 2
    for source, lock in locks.LOCKS.items():
        assert locks.problems(source, lock) == [], f"run `make lock` ({lock.name})"


def test_the_layer_lock_pins_every_layer_requirement_with_hashes() -> None:
    source = locks.REPO_ROOT / "layers" / "common" / "requirements.txt"
    pins = locks.pins(locks.LOCKS[source])
    for requirement in locks.requirements(source):
        pin = pins[requirement.name.lower().replace("_", "-")]
        assert requirement.specifier.contains(pin.version), requirement
        assert pin.hashes >= 1, requirement


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    (tmp_path / "base.txt").write_text("orjson==3.13.0\n")
    source = tmp_path / "requirements.txt"
    source.write_text("-r base.txt\n# a comment\nHTTPX[http2]>=0.28  # inline\n")
    lock = tmp_path / "requirements.lock"
    lock.write_text(f"httpx==0.28.1 \\\n{HASH}\n    # via -r x\norjson==3.13.0 \\\n{HASH}\n")
    return source, lock


def test_a_current_lock_has_no_problem(files: tuple[Path, Path]) -> None:
    assert locks.problems(*files) == []


def test_a_requirement_missing_from_the_lock_is_found(files: tuple[Path, Path]) -> None:
    source, lock = files
    source.write_text(source.read_text() + "duckdb==1.4.0\n")
    assert locks.problems(source, lock) == [
        "requirements.txt asks for duckdb==1.4.0, not in requirements.lock"
    ]


def test_a_pin_that_no_longer_satisfies_is_found(files: tuple[Path, Path]) -> None:
    source, lock = files
    source.write_text("httpx>=0.29\n")
    (problem,) = locks.problems(source, lock)
    assert "pins 0.28.1" in problem


def test_a_pin_without_hash_is_found(files: tuple[Path, Path]) -> None:
    source, lock = files
    lock.write_text(lock.read_text() + "pypdf==7.1.1\n")
    assert locks.problems(source, lock) == ["requirements.lock: pypdf has no hash"]
