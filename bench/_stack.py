"""What template.yaml gives a function: its environment, resolved for a local run.

Read from the template itself so the benchmarks follow it when variables change.
"""

from __future__ import annotations

from typing import Any

from bench._common import ensure_import_paths


def load_template() -> dict[str, Any]:
    ensure_import_paths()
    from local.template import load_sam_template

    return load_sam_template()


def function_environment(
    sam: dict[str, Any], logical_id: str, overrides: dict[str, str] | None = None
) -> dict[str, str]:
    """Globals + the function's own variables; a Ref to a parameter becomes its default,
    any other reference a placeholder, then ``overrides`` apply."""
    merged: dict[str, Any] = {}
    merged.update(
        sam.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
    )
    resource = sam["Resources"].get(logical_id, {})
    merged.update(resource.get("Properties", {}).get("Environment", {}).get("Variables", {}))
    params = {k: v.get("Default") for k, v in sam.get("Parameters", {}).items()}
    env: dict[str, str] = {}
    for key, raw in merged.items():
        value = raw
        if raw == {"Ref": "AWS::NoValue"}:
            continue  # CloudFormation removes the variable
        if isinstance(raw, dict) and set(raw) == {"Ref"} and raw["Ref"] in params:
            value = params[raw["Ref"]]
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            value = f"bench-{key.lower()}"  # a reference only the deployed stack resolves
        env[key] = str(value)  # a Number parameter's default is an int in the template
    env.update(overrides or {})
    return env
