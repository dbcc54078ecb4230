"""Read template.yaml the way CloudFormation would: SAM-translated, intrinsics resolved.

The local stack builds every table, queue, bucket, secret, function, event source
mapping, schedule and route from this, so it cannot drift from what deploys.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_PATH = REPO_ROOT / "template.yaml"


class _CfnLoader(yaml.SafeLoader):
    """YAML loader that turns CloudFormation short tags (!Ref, !GetAtt...) into long form."""


def _construct_tag(loader: _CfnLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = str(value).split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


_CfnLoader.add_multi_constructor("!", _construct_tag)


def load_sam_template(path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    with path.open() as handle:
        data = yaml.load(handle, _CfnLoader)
    if not isinstance(data, dict):
        raise ValueError(f"{path} is not a template")
    return data


class _NoManagedPolicies:
    def load(self) -> dict[str, str]:
        return {}


def translate(sam: dict[str, Any], region: str, *, keep_aliases: bool = False) -> dict[str, Any]:
    """Expand the SAM transform offline (aws-sam-translator), as CloudFormation does.

    Event sources, routes, rules and permissions then name each function's `live` alias
    (AutoPublishAlias); unless `keep_aliases`, they name the function itself, as the
    local stack runs it (see collapse_aliases).
    """
    template = copy.deepcopy(sam)
    # The translator needs S3 locations; the local stack reads code from the repo.
    for logical_id, resource in template["Resources"].items():
        props = resource.get("Properties", {})
        if resource["Type"] == "AWS::Serverless::Function":
            props["CodeUri"] = f"s3://local-code/{logical_id}.zip"
        elif resource["Type"] == "AWS::Serverless::LayerVersion":
            props["ContentUri"] = f"s3://local-code/{logical_id}.zip"
    translated = _translate_with_region(template, region)
    return translated if keep_aliases else collapse_aliases(translated)


def collapse_aliases(template: dict[str, Any]) -> dict[str, Any]:
    """Point whatever names a function's alias at the function itself, in place.

    On AWS a deploy publishes a version and CodeDeploy moves the alias to it; locally
    each function runs its code as it is on disk (one version, $LATEST), so the alias
    and the function are the same thing. A `FunctionName` that is the alias becomes
    the function's Ref; any other reference (a rule target's Arn, an integration URI's
    ${Alias} in a Sub) becomes the function's Arn. Callers then see the wiring as it
    was before aliases, whichever template they read.
    """
    aliases = {
        logical_id: resource["Properties"]["FunctionName"]["Ref"]
        for logical_id, resource in template.get("Resources", {}).items()
        if resource.get("Type") == "AWS::Lambda::Alias"
    }
    if not aliases:
        return template
    pattern = re.compile(r"\$\{(" + "|".join(map(re.escape, aliases)) + r")\}")

    def walk(value: Any, key: str | None = None) -> Any:
        if isinstance(value, dict):
            if set(value) == {"Ref"} and value["Ref"] in aliases:
                function = aliases[value["Ref"]]
                return (
                    {"Ref": function}
                    if key == "FunctionName"
                    else {"Fn::GetAtt": [function, "Arn"]}
                )
            return {k: walk(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v, key) for v in value]
        if isinstance(value, str) and key == "Fn::Sub":
            return pattern.sub(lambda m: "${" + aliases[m.group(1)] + ".Arn}", value)
        return value

    template["Resources"] = walk(template["Resources"])
    if "Outputs" in template:
        template["Outputs"] = walk(template["Outputs"])
    return template


def _translate_with_region(template: dict[str, Any], region: str) -> dict[str, Any]:
    import logging
    import os

    from samtranslator.translator.transform import transform

    # Offline there is no feature-toggle config: the translator warns once per
    # DeploymentPreference that a toggle is "not available" and uses its default.
    logging.getLogger("samtranslator.feature_toggle.feature_toggle").setLevel(logging.ERROR)

    previous = os.environ.get("AWS_DEFAULT_REGION")
    os.environ["AWS_DEFAULT_REGION"] = region
    try:
        result: dict[str, Any] = transform(template, {}, _NoManagedPolicies())
        return result
    finally:
        if previous is None:
            os.environ.pop("AWS_DEFAULT_REGION", None)
        else:
            os.environ["AWS_DEFAULT_REGION"] = previous


@dataclass
class Resolver:
    """Resolves Ref / GetAtt / Sub / Join / Select / Split against known physical values."""

    region: str
    account_id: str
    stack_name: str
    parameters: dict[str, Any] = field(default_factory=dict)
    refs: dict[str, Any] = field(default_factory=dict)
    attrs: dict[tuple[str, str], Any] = field(default_factory=dict)

    def pseudo(self) -> dict[str, Any]:
        return {
            "AWS::Region": self.region,
            "AWS::AccountId": self.account_id,
            "AWS::StackName": self.stack_name,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::NoValue": None,
            "AWS::StackId": f"arn:aws:cloudformation:{self.region}:{self.account_id}:"
            f"stack/{self.stack_name}/local",
        }

    def ref(self, name: str) -> Any:
        if name in self.parameters:
            return self.parameters[name]
        pseudo = self.pseudo()
        if name in pseudo:
            return pseudo[name]
        if name in self.refs:
            return self.refs[name]
        raise KeyError(f"unresolved Ref {name}")

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref":
                return self.ref(arg)
            if key == "Fn::GetAtt":
                logical, attr = arg if isinstance(arg, list) else str(arg).split(".", 1)
                if (logical, attr) not in self.attrs:
                    raise KeyError(f"unresolved GetAtt {logical}.{attr}")
                return self.attrs[(logical, attr)]
            if key == "Fn::Sub":
                return self._sub(arg)
            if key == "Fn::Join":
                sep, items = arg
                return sep.join(str(self.resolve(i)) for i in self.resolve(items))
            if key == "Fn::Select":
                index, items = arg
                return self.resolve(items)[int(index)]
            if key == "Fn::Split":
                sep, text = arg
                return str(self.resolve(text)).split(sep)
        return {k: self.resolve(v) for k, v in value.items()}

    def _sub(self, arg: Any) -> str:
        text, extra = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in extra:
                return str(self.resolve(extra[name]))
            if "." in name:
                logical, attr = name.split(".", 1)
                return str(self.attrs[(logical, attr)])
            return str(self.ref(name))

        return re.sub(r"\$\{([^}!]+)\}", replace, text)

    def can_resolve(self, value: Any) -> bool:
        try:
            self.resolve(value)
        except KeyError:
            return False
        return True
