"""Helpers shared by the emulator tests."""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import botocore.session
from botocore.config import Config
from greenlight_emulator import seed as seed_module

REGION = "us-east-1"
TERMINAL = ("Succeeded", "Failed", "Stopped")


def control(url: str, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"{url}/_greenlight/{path}", data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def raw_json_call(
    url: str, service: str, target: str, payload: dict[str, Any]
) -> tuple[int, dict[str, Any], dict[str, str]]:
    """An awsJson 1.1 request as the Rust SDK sends it (the emulator does not check signatures)."""
    body = json.dumps(payload).encode()
    request = urllib.request.Request(url + "/", data=body, method="POST")
    request.add_header("Content-Type", "application/x-amz-json-1.1")
    request.add_header("X-Amz-Target", target)
    request.add_header(
        "Authorization",
        f"AWS4-HMAC-SHA256 Credential=testing/20261123/{REGION}/{service}/aws4_request, "
        "SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=0000",
    )
    request.add_header("X-Amz-Date", "20261123T120000Z")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"{}"), dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}"), dict(error.headers)


_JSON_MODEL_DIR: Path | None = None


def _json_codedeploy_data_path() -> Path:
    """botocore data whose CodeDeploy model speaks awsJson 1.1 (what aws-sdk-rust uses)
    instead of the Smithy RPC v2 CBOR that current botocore prefers."""
    global _JSON_MODEL_DIR
    if _JSON_MODEL_DIR is None:
        loader = botocore.session.get_session().get_component("data_loader")
        model = loader.load_service_model("codedeploy", "service-2")
        model["metadata"]["protocol"] = "json"
        model["metadata"]["protocols"] = ["json"]
        root = Path(tempfile.mkdtemp(prefix="codedeploy-json-model-"))
        target = root / "codedeploy" / model["metadata"]["apiVersion"]
        target.mkdir(parents=True)
        (target / "service-2.json").write_text(json.dumps(model))
        _JSON_MODEL_DIR = root
    return _JSON_MODEL_DIR


def codedeploy_client(url: str, protocol: str = "json", retries: int | None = None, config: Config | None = None) -> Any:
    if retries:
        retry = Config(retries={"total_max_attempts": retries, "mode": "standard"})
        config = retry.merge(config) if config else retry
    if protocol == "cbor":
        return boto3.client("codedeploy", endpoint_url=url, region_name=REGION, config=config)
    session = botocore.session.get_session()
    session.get_component("data_loader").search_paths.insert(0, str(_json_codedeploy_data_path()))
    client = boto3.Session(botocore_session=session).client(
        "codedeploy", endpoint_url=url, region_name=REGION, config=config
    )
    assert client.meta.service_model.protocol == "json"
    return client


class Clients:
    def __init__(self, url: str, protocol: str = "json") -> None:
        self.url = url
        self.codedeploy = codedeploy_client(url, protocol)
        self.ecs = boto3.client("ecs", endpoint_url=url, region_name=REGION)
        self.ecr = boto3.client("ecr", endpoint_url=url, region_name=REGION)
        self.sts = boto3.client("sts", endpoint_url=url, region_name=REGION)
        self.elbv2 = boto3.client("elbv2", endpoint_url=url, region_name=REGION)


def unique_name(test_name: str, index: int) -> str:
    digest = hashlib.sha256(test_name.encode()).hexdigest()[:6]
    words = re.sub(r"[^a-z0-9]+", "-", test_name.lower()).strip("-")
    return f"{words[-10:].strip('-')}-{digest}-{index}"


def seed(url: str, **options: Any) -> dict[str, Any]:
    args = seed_module._parser().parse_args(["--endpoint", url])
    for key, value in options.items():
        setattr(args, key, value)
    return seed_module.seed(argparse.Namespace(**vars(args)))


def register_revision(ecs: Any, seeded: dict[str, Any], tag: str = "20261124090000-def5678") -> str:
    current = ecs.describe_task_definition(taskDefinition=seeded["taskDefinitionArn"])["taskDefinition"]
    keep = {
        k: current[k]
        for k in (
            "family",
            "containerDefinitions",
            "networkMode",
            "requiresCompatibilities",
            "cpu",
            "memory",
            "executionRoleArn",
        )
        if k in current
    }
    keep["containerDefinitions"][0]["image"] = f"{seeded['repositoryUri']}:{tag}"
    return ecs.register_task_definition(**keep)["taskDefinition"]["taskDefinitionArn"]


def appspec(task_definition: str, seeded: dict[str, Any], hooks: dict[str, str] | None = None, **overrides: Any) -> str:
    lb = {"ContainerName": seeded["containerName"], "ContainerPort": seeded["containerPort"]}
    lb.update(overrides)
    spec: dict[str, Any] = {
        "version": 0.0,
        "Resources": [
            {
                "TargetService": {
                    "Type": "AWS::ECS::Service",
                    "Properties": {"TaskDefinition": task_definition, "LoadBalancerInfo": lb},
                }
            }
        ],
    }
    if hooks:
        spec["Hooks"] = [{event: function} for event, function in hooks.items()]
    return json.dumps(spec)


def create_deployment(aws: Clients, seeded: dict[str, Any], task_definition: str | None = None, **kwargs: Any) -> str:
    task_definition = task_definition or register_revision(aws.ecs, seeded)
    content = kwargs.pop("content", None) or appspec(task_definition, seeded, kwargs.pop("hooks", None))
    return aws.codedeploy.create_deployment(
        applicationName=seeded["application"],
        deploymentGroupName=seeded["deploymentGroup"],
        revision={"revisionType": "AppSpecContent", "appSpecContent": {"content": content}},
        **kwargs,
    )["deploymentId"]


def poll(fetch: Callable[[], Any], until: Callable[[Any], bool], timeout: float = 20.0, interval: float = 0.005) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = fetch()
        if until(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not reached within {timeout}s; last value: {value!r}")
        time.sleep(interval)


def deployment(aws: Clients, deployment_id: str) -> dict[str, Any]:
    return aws.codedeploy.get_deployment(deploymentId=deployment_id)["deploymentInfo"]


def wait_status(aws: Clients, deployment_id: str, *statuses: str, timeout: float = 20.0) -> dict[str, Any]:
    return poll(lambda: deployment(aws, deployment_id), lambda d: d["status"] in statuses, timeout)


def ecs_target(aws: Clients, deployment_id: str, seeded: dict[str, Any]) -> dict[str, Any]:
    target_id = f"{seeded['cluster']}:{seeded['service']}"
    targets = aws.codedeploy.batch_get_deployment_targets(deploymentId=deployment_id, targetIds=[target_id])
    return targets["deploymentTargets"][0]["ecsTarget"]


def wait_target(
    aws: Clients,
    deployment_id: str,
    seeded: dict[str, Any],
    until: Callable[[dict[str, Any]], bool],
    timeout: float = 20.0,
) -> dict[str, Any]:
    """Polls BatchGetDeploymentTargets (which answers DeploymentNotStartedException
    while the deployment is still Created) until the ECS target satisfies until."""

    def fetch() -> dict[str, Any] | None:
        try:
            return ecs_target(aws, deployment_id, seeded)
        except aws.codedeploy.exceptions.DeploymentNotStartedException:
            return None

    return poll(fetch, lambda t: t is not None and until(t), timeout)


def green_weight(target: dict[str, Any]) -> float:
    for task_set in target["taskSetsInfo"]:
        if task_set["taskSetLabel"] == "Green":
            return task_set["trafficWeight"]
    return 0.0


def events(target: dict[str, Any]) -> dict[str, str]:
    return {e["lifecycleEventName"]: e["status"] for e in target["lifecycleEvents"]}


def service(aws: Clients, seeded: dict[str, Any]) -> dict[str, Any]:
    return aws.ecs.describe_services(cluster=seeded["cluster"], services=[seeded["service"]])["services"][0]


def watch(
    aws: Clients, deployment_id: str, seeded: dict[str, Any], timeout: float = 20.0
) -> tuple[dict[str, Any], list[tuple[str, float, str | None]]]:
    """Polls a deployment to its end; returns the final info and the distinct
    (status, green weight, event in progress) states seen on the way."""
    seen: list[tuple[str, float, str | None]] = []
    deadline = time.monotonic() + timeout
    while True:
        info = deployment(aws, deployment_id)
        try:
            target = ecs_target(aws, deployment_id, seeded)
            in_progress = next(
                (e["lifecycleEventName"] for e in target["lifecycleEvents"] if e["status"] == "InProgress"), None
            )
            state = (info["status"], green_weight(target), in_progress)
        except aws.codedeploy.exceptions.DeploymentNotStartedException:
            state = (info["status"], 0.0, None)
        if not seen or seen[-1] != state:
            seen.append(state)
        if info["status"] in TERMINAL:
            return deployment(aws, deployment_id), seen
        if time.monotonic() > deadline:
            raise AssertionError(f"deployment {deployment_id} did not finish; states: {seen}")
        time.sleep(0.003)


def check_shape(model: Any, shape: Any, value: Any, path: str = "$") -> None:
    """value is what botocore's shape allows: known members only, of the right types
    (timestamps as the wire's epoch seconds)."""
    kind = shape.type_name
    if kind == "structure":
        assert isinstance(value, dict), f"{path}: expected an object, got {value!r}"
        for key, item in value.items():
            assert key in shape.members, f"{path}: {key} is not a member of {shape.name}"
            check_shape(model, shape.members[key], item, f"{path}.{key}")
    elif kind == "list":
        assert isinstance(value, list), f"{path}: expected a list"
        for index, item in enumerate(value):
            check_shape(model, shape.member, item, f"{path}[{index}]")
    elif kind == "map":
        assert isinstance(value, dict), f"{path}: expected a map"
        for key, item in value.items():
            check_shape(model, shape.value, item, f"{path}[{key}]")
    elif kind == "string":
        assert isinstance(value, str), f"{path}: expected a string, got {value!r}"
        if shape.enum:
            assert value in shape.enum, f"{path}: {value!r} is not one of {shape.enum}"
    elif kind in ("integer", "long"):
        assert isinstance(value, int) and not isinstance(value, bool), f"{path}: expected an integer, got {value!r}"
    elif kind in ("double", "float"):
        assert isinstance(value, (int, float)), f"{path}: expected a number"
    elif kind == "boolean":
        assert isinstance(value, bool), f"{path}: expected a boolean"
    elif kind == "timestamp":
        assert isinstance(value, (int, float)) and not isinstance(value, bool), f"{path}: expected epoch seconds"
    else:
        raise AssertionError(f"{path}: unexpected shape type {kind}")


def check_output(service: str, operation: str, body: dict[str, Any]) -> None:
    """A raw JSON answer fits the operation's output shape in botocore's model."""
    model = botocore.session.get_session().get_service_model(service)
    check_shape(model, model.operation_model(operation).output_shape, body)
