"""The runtime and deploy settings of issue #14: Python 3.13 on arm64 everywhere, the
layer built for it from hashes, every event source on the `live` alias with a
deployment preference, and the stack's outputs and samconfig environments."""

from __future__ import annotations

import re
import tomllib
from typing import Any

import pytest

from local.template import REPO_ROOT, load_sam_template, translate

RUNTIME = "python3.13"
ARCHITECTURE = "arm64"


@pytest.fixture(scope="module")
def sam() -> dict[str, Any]:
    return load_sam_template()


@pytest.fixture(scope="module")
def cfn(sam: dict[str, Any]) -> dict[str, Any]:
    """As CloudFormation sees it: event sources name the aliases."""
    return translate(sam, "us-east-1", keep_aliases=True)


def _of_type(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: r for k, r in template["Resources"].items() if r["Type"] == kind}


def _functions(sam: dict[str, Any]) -> list[str]:
    return sorted(_of_type(sam, "AWS::Serverless::Function"))


def test_every_function_runs_python_313_on_arm64(cfn: dict[str, Any]) -> None:
    functions = _of_type(cfn, "AWS::Lambda::Function")
    assert functions
    for name, function in functions.items():
        props = function["Properties"]
        assert props["Runtime"] == RUNTIME, name
        assert props["Architectures"] == [ARCHITECTURE], name


def test_the_layer_is_built_for_that_runtime_from_hashes(cfn: dict[str, Any]) -> None:
    (layer,) = _of_type(cfn, "AWS::Lambda::LayerVersion").values()
    assert layer["Properties"]["CompatibleRuntimes"] == [RUNTIME]
    assert layer["Properties"]["CompatibleArchitectures"] == [ARCHITECTURE]
    makefile = (REPO_ROOT / "layers" / "common" / "Makefile").read_text()
    install = makefile[makefile.index("-m pip install") :].split("\n\tcp ")[0]
    for flag in ("--require-hashes", "-r requirements.lock", "--only-binary=:all:"):
        assert flag in install
    assert "--python-version 3.13" in install
    assert "manylinux2014_aarch64" in makefile
    assert "x86_64" not in makefile


def test_the_development_tools_target_the_same_python() -> None:
    pyproject = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    assert pyproject["project"]["requires-python"] == ">=3.13,<3.14"
    assert pyproject["tool"]["ruff"]["target-version"] == "py313"
    assert pyproject["tool"]["mypy"]["python_version"] == "3.13"


def test_every_event_source_invokes_the_live_alias(
    sam: dict[str, Any], cfn: dict[str, Any]
) -> None:
    aliases = _of_type(cfn, "AWS::Lambda::Alias")
    assert {a["Properties"]["FunctionName"]["Ref"] for a in aliases.values()} == set(
        _functions(sam)
    )
    assert {a["Properties"]["Name"] for a in aliases.values()} == {"live"}
    for name, mapping in _of_type(cfn, "AWS::Lambda::EventSourceMapping").items():
        assert mapping["Properties"]["FunctionName"]["Ref"] in aliases, name
    for name, rule in _of_type(cfn, "AWS::Events::Rule").items():
        for target in rule["Properties"]["Targets"]:
            assert target["Arn"].get("Ref") in aliases, name
    for name, permission in _of_type(cfn, "AWS::Lambda::Permission").items():
        assert permission["Properties"]["FunctionName"]["Ref"] in aliases, name
    for name, config in _of_type(cfn, "AWS::Lambda::EventInvokeConfig").items():
        assert config["Properties"]["Qualifier"] == "live", name
    for name, api in _of_type(cfn, "AWS::ApiGatewayV2::Api").items():
        uris = re.findall(r"\$\{(\w+)\}/invocations", str(api["Properties"]["Body"]))
        assert uris, name
        assert set(uris) <= set(aliases), name


def test_a_new_layer_publishes_a_new_version_of_every_function(sam: dict[str, Any]) -> None:
    """The code is in the layer: without these, a deploy that changes only the layer
    would leave `live` on the old version."""
    assert sam["Globals"]["Function"]["AutoPublishAliasAllProperties"] is True
    assert sam["Resources"]["CommonLayer"]["Properties"]["PublishLambdaVersion"] is True
    changed = load_sam_template()
    changed["Resources"]["CommonLayer"]["Properties"]["Description"] = "another layer"

    def versions(template: dict[str, Any]) -> set[str]:
        return set(_of_type(translate(template, "us-east-1"), "AWS::Lambda::Version"))

    before, after = versions(sam), versions(changed)
    assert len(before) == len(_functions(sam))
    assert not before & after


def test_deploys_shift_traffic_as_the_deployment_type_says(
    sam: dict[str, Any], cfn: dict[str, Any]
) -> None:
    groups = _of_type(cfn, "AWS::CodeDeploy::DeploymentGroup")
    assert len(groups) == len(_functions(sam))
    for name, group in groups.items():
        props = group["Properties"]
        assert props["AutoRollbackConfiguration"]["Enabled"] is True, name
        assert "CodeDeployDefault.Lambda${ConfigName}" in str(props["DeploymentConfigName"]), name
        # A canary rolls back when its function's errors alarm fires.
        (function,) = [
            f for f in _functions(sam) if props["ApplicationName"] and name.startswith(f)
        ]
        assert props["AlarmConfiguration"]["Enabled"] is True, name
        assert props["AlarmConfiguration"]["Alarms"] == [
            {"Name": {"Ref": f"{function}ErrorsAlarm"}}
        ], name
        assert "DEPLOYMENT_STOP_ON_ALARM" in props["AutoRollbackConfiguration"]["Events"], name
    assert sam["Globals"]["Function"]["DeploymentPreference"]["Type"] == {"Ref": "DeploymentType"}


def test_samconfig_has_dev_and_prod(sam: dict[str, Any]) -> None:
    config = tomllib.loads((REPO_ROOT / "samconfig.toml").read_text())
    allowed = sam["Parameters"]["DeploymentType"]["AllowedValues"]
    expected = {"dev": "AllAtOnce", "prod": "Canary10Percent5Minutes"}
    stacks = set()
    for env, deployment in expected.items():
        deploy = config[env]["deploy"]["parameters"]
        overrides = dict(o.split("=", 1) for o in deploy["parameter_overrides"].split())
        assert overrides["DeploymentType"] == deployment in allowed, env
        assert deploy["capabilities"] == "CAPABILITY_IAM", env
        stacks.add(config[env]["global"]["parameters"]["stack_name"])
    assert len(stacks) == 2, "dev and prod are different stacks"
    assert config["prod"]["deploy"]["parameters"]["confirm_changeset"] is True


def test_every_function_name_is_an_output(sam: dict[str, Any]) -> None:
    for function in _functions(sam):
        assert sam["Outputs"][f"{function}Name"]["Value"] == {"Ref": function}, function


def test_sam_local_invoke_can_point_boto3_at_the_local_stack(cfn: dict[str, Any]) -> None:
    """SAM CLI's --env-vars only overrides variables the template declares: both endpoint
    variables are declared on every function, and removed on AWS (AWS::NoValue)."""
    for name, function in _of_type(cfn, "AWS::Lambda::Function").items():
        variables = function["Properties"]["Environment"]["Variables"]
        for key in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB"):
            assert variables[key] == {"Ref": "AWS::NoValue"}, (name, key)


def test_the_local_stack_sees_functions_where_aws_sees_aliases(sam: dict[str, Any]) -> None:
    local = translate(sam, "us-east-1")
    functions = set(_functions(sam))
    for name, mapping in _of_type(local, "AWS::Lambda::EventSourceMapping").items():
        assert mapping["Properties"]["FunctionName"]["Ref"] in functions, name
    for name, rule in _of_type(local, "AWS::Events::Rule").items():
        for target in rule["Properties"]["Targets"]:
            assert target["Arn"]["Fn::GetAtt"][0] in functions, name
    assert "Aliaslive}" not in str(_of_type(local, "AWS::ApiGatewayV2::Api"))
