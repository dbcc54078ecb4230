"""Load a function's `app.py` as a fresh module, for tests that drive a Lambda handler.

Each function's module is named `app`, so importing two of them the usual way would
return the first; loading by path under a unique name gives each test its own copy.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any
from unittest import mock

ROOT = Path(__file__).resolve().parents[2]


def load_app(name: str) -> ModuleType:
    """`functions/{name}/app.py`, executed anew (its import-time setup runs again)."""
    spec = importlib.util.spec_from_file_location(
        f"_test_app_{name}", ROOT / "functions" / name / "app.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def inbound_features() -> Callable[..., Any]:
    """The InboundProcessor function's `register_features`: the features it subscribes
    to inbound updates (campaign counters, template mirror, messaging limits), for tests
    that build their own `InboundProcessor`."""
    from wacloud.infra import config

    table = os.environ.get("IDEMPOTENCY_TABLE_NAME") or "idempotency"
    with mock.patch.dict(os.environ, {"IDEMPOTENCY_TABLE_NAME": table}):
        config.settings.cache_clear()
        module = load_app("inbound_processor")
    config.settings.cache_clear()
    register: Callable[..., Any] = module.register_features
    return register
