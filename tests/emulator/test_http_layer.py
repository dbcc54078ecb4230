"""The HTTP layer is built by the Emulator and must not depend on it (issue #11)."""

from __future__ import annotations

import ast
from pathlib import Path

from local.emulator import Emulator, EmulatorConfig
from local.emulator.app import Api

EMULATOR = Path(__file__).resolve().parents[2] / "local" / "emulator"


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = "." * node.level + (node.module or "")
            names.add(base)
            names.update(f"{base}.{a.name}".replace("..", ".") for a in node.names)
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
    return names


def test_the_http_layer_imports_nothing_of_its_builder() -> None:
    http_layer = [EMULATOR / "app.py", *sorted((EMULATOR / "handlers").glob("*.py"))]
    for path in http_layer:
        found = {n for n in _imports(path) if n.split(".")[-1] in ("emulator", "Emulator")}
        assert not found, (path.name, found)


def test_the_builder_hands_the_app_its_engine_and_faults() -> None:
    emu = Emulator(EmulatorConfig(port=0))
    assert isinstance(emu.app, Api)
    assert emu.app.core is emu.core and emu.app.faults is emu.faults
