"""The core's dependencies point down only (issue #11, "The shape to reach").

Tiers, lowest first; a module may import its own tier and the tiers below it:

    0  infra     aws clients, config, clock, credentials, the DynamoDB helpers
                 (and `wacloud.errors`, the error hierarchy every tier raises)
    1  clients   the Graph API client and its errors (`graph`), the OpenAI client (`llm`)
    2  store     every table access: may import infra and models, never a client
    3  features  inbound, outbound, templates, scheduling, campaigns, workflows, erasure,
                 conversations, assistant, knowledge, moderation, operations, analytics,
                 lake, events_out, facts
    4  api       the operator API's HTTP layer (routes, auth, error mapping): uses features
                 through their packages only, like a feature uses another feature

`models` is data beside the tiers: it may import infra (and models) only, and any
tier may import it.

Between features the rule is: a feature may use another feature only through that
feature's package (`from wacloud.templates import render, RenderError`, names its
`__init__` exports), never one of its modules (`wacloud.templates.sync`). A feature's
package is its public surface; what is inside may move without the others noticing.

Imports are read from the source (AST), wherever they are in a module: a lazy import
inside a function is a dependency all the same, and so is one under TYPE_CHECKING.

A second check: no `dynamodb()` call outside `store/` (and the helpers that wrap it,
`infra/dynamo.py`, and the client's home, `infra/aws.py`).

There is no allowlist: a violation is fixed where it is, never excused here.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2] / "layers" / "common" / "python"
PACKAGE = ROOT / "wacloud"

INFRA, GRAPH, STORE, FEATURE, MODELS, API = "infra", "graph", "store", "feature", "models", "api"
TIER = {INFRA: 0, GRAPH: 1, STORE: 2, FEATURE: 3, API: 4}
FEATURES = (
    "inbound",
    "outbound",
    "templates",
    "scheduling",
    "campaigns",
    "workflows",
    "erasure",
    "conversations",
    "assistant",
    "knowledge",
    "moderation",
    "operations",
    "analytics",
    "lake",
    "events_out",
    "facts",
)
# Clients of outside services share the Graph client's tier: they may import infra only.
CLIENTS = ("graph", "llm")
# What each kind of module may import, besides its own kind.
ALLOWED: dict[str, set[str]] = {
    INFRA: set(),
    GRAPH: {INFRA},
    STORE: {INFRA, MODELS},
    MODELS: {INFRA},
    FEATURE: {INFRA, GRAPH, STORE, MODELS},
    API: {INFRA, GRAPH, STORE, MODELS, FEATURE},
}

DYNAMODB_HOMES = {"wacloud.infra.aws", "wacloud.infra.dynamo"}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


MODULES = _modules()


def _kind(module: str) -> str | None:
    """The tier (or models) of a wacloud module; None for the package root itself."""
    parts = module.split(".")
    if len(parts) < 2:
        return None
    top = parts[1]
    if top in (INFRA, "errors"):
        return INFRA
    if top in CLIENTS:
        return GRAPH
    if top in (STORE, MODELS):
        return top
    if top in FEATURES:
        return FEATURE
    if top == API:
        return API
    raise AssertionError(f"{module} is in no tier: place it in tests/unit/test_layers.py")


def _feature(module: str) -> str:
    return module.split(".")[1]


def _is_package(module: str) -> bool:
    return module in MODULES and MODULES[module].name == "__init__.py"


def _imports(module: str, path: Path) -> Iterator[str]:
    """Every wacloud module `module` imports (submodules named in a from-import too)."""
    package = module if _is_package(module) else module.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("wacloud"):
                    yield alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if not target.startswith("wacloud"):
                continue
            yield target
            for alias in node.names:
                if f"{target}.{alias.name}" in MODULES:
                    yield f"{target}.{alias.name}"  # a submodule, not a name


def _violation(importer: str, imported: str) -> str | None:
    """Why `importer` may not import `imported`, or None when it may."""
    mine, theirs = _kind(importer), _kind(imported)
    if mine is None or theirs is None or (mine == theirs and mine != FEATURE):
        return None
    if mine == FEATURE and theirs == FEATURE:
        if _feature(importer) == _feature(imported):
            return None
        if imported == f"wacloud.{_feature(imported)}":
            return None  # the other feature's package: its public names
        return "a feature imports another feature's internals"
    if mine == API and theirs == FEATURE and imported != f"wacloud.{_feature(imported)}":
        return "the API imports a feature's internals"
    if theirs in ALLOWED[mine]:
        return None
    if mine in TIER and theirs in TIER and TIER[theirs] > TIER[mine]:
        return f"{mine} (lower tier) imports {theirs} (higher tier)"
    return f"{mine} may not import {theirs}"


def _all_violations() -> dict[tuple[str, str], str]:
    found: dict[tuple[str, str], str] = {}
    for module, path in MODULES.items():
        for imported in _imports(module, path):
            why = _violation(module, imported)
            if why is not None:
                found[(module, imported)] = why
    return found


def _dynamodb_callers() -> set[str]:
    callers = set()
    for module, path in MODULES.items():
        if module.startswith("wacloud.store.") or module in DYNAMODB_HOMES:
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Call):
                func = node.func
                name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
                if name == "dynamodb":
                    callers.add(module)
    return callers


def test_every_module_is_in_a_tier() -> None:
    for module in MODULES:
        _kind(module)  # raises for a module no tier claims


def test_dependencies_point_down_and_features_meet_only_at_their_packages() -> None:
    found = _all_violations()
    assert not found, "\n".join(f"{a} -> {b}: {why}" for (a, b), why in sorted(found.items()))


def test_no_dynamodb_call_outside_the_store() -> None:
    assert not _dynamodb_callers(), sorted(_dynamodb_callers())


def test_the_rules_catch_what_they_should() -> None:
    """The checker itself, on made-up edges (so a bug in it cannot pass everything)."""
    assert _violation("wacloud.store.tenants", "wacloud.outbound.ratelimit")
    assert _violation("wacloud.store.media", "wacloud.graph.client")
    assert _violation("wacloud.models.workflow", "wacloud.store.workflows")
    assert _violation("wacloud.infra.config", "wacloud.graph.client")
    assert _violation("wacloud.campaigns.service", "wacloud.templates.sync")
    assert _violation("wacloud.campaigns.service", "wacloud.templates") is None
    assert _violation("wacloud.workflows.engine", "wacloud.store.messages") is None
    assert _violation("wacloud.store.workflows", "wacloud.models.workflow") is None
    assert _violation("wacloud.outbound.media", "wacloud.graph.client") is None
    assert _violation("wacloud.api.routes.messages", "wacloud.outbound") is None
    assert _violation("wacloud.api.routes.messages", "wacloud.outbound.sender")
    assert _violation("wacloud.conversations.handoff", "wacloud.api.auth")
