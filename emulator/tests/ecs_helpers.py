"""Helpers for the tests of ECS-controller services (rolling updates and ECS-native
blue/green, linear and canary deployments)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import emulator_helpers as h

ECS = "AmazonEC2ContainerServiceV20141113."
ROLLOUT_ID = re.compile(r"^ecs-svc/\d{19}$")
TERMINAL = ("SUCCESSFUL", "STOPPED", "ROLLBACK_SUCCESSFUL", "ROLLBACK_FAILED")
STAGES = [
    "RECONCILE_SERVICE",
    "PRE_SCALE_UP",
    "SCALE_UP",
    "POST_SCALE_UP",
    "TEST_TRAFFIC_SHIFT",
    "POST_TEST_TRAFFIC_SHIFT",
    "PRODUCTION_TRAFFIC_SHIFT",
    "POST_PRODUCTION_TRAFFIC_SHIFT",
    "BAKE_TIME",
    "CLEAN_UP",
]


def seed_ecs(seeded: Callable[..., dict[str, Any]], **options: Any) -> dict[str, Any]:
    return seeded(controller="ECS", **options)


def update(aws: h.Clients, env: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    return aws.ecs.update_service(cluster=env["cluster"], service=env["service"], **kwargs)["service"]


def deploy(aws: h.Clients, env: dict[str, Any], tag: str = "20261124090000-def5678") -> tuple[str, dict[str, Any]]:
    """Registers a new revision of the task definition and deploys it; (its ARN, the service)."""
    task_definition = h.register_revision(aws.ecs, env, tag=tag)
    return task_definition, update(aws, env, taskDefinition=task_definition)


def wait_service(
    aws: h.Clients, env: dict[str, Any], until: Callable[[dict[str, Any]], bool], timeout: float = 20.0
) -> dict[str, Any]:
    return h.poll(lambda: h.service(aws, env), until, timeout)


def settled(service: dict[str, Any]) -> bool:
    """One deployment left, and it completed."""
    deployments = service["deployments"]
    return len(deployments) == 1 and deployments[0]["rolloutState"] == "COMPLETED"


def messages(service: dict[str, Any]) -> list[str]:
    """The service's event messages, oldest first."""
    return [event["message"] for event in reversed(service["events"])]


def service_deployments(aws: h.Clients, env: dict[str, Any], **kwargs: Any) -> list[dict[str, Any]]:
    return aws.ecs.list_service_deployments(cluster=env["cluster"], service=env["service"], **kwargs)[
        "serviceDeployments"
    ]


def describe(aws: h.Clients, arn: str) -> dict[str, Any]:
    return aws.ecs.describe_service_deployments(serviceDeploymentArns=[arn])["serviceDeployments"][0]


def latest_arn(aws: h.Clients, env: dict[str, Any]) -> str:
    return service_deployments(aws, env)[0]["serviceDeploymentArn"]


def wait_deployment(
    aws: h.Clients, arn: str, until: Callable[[dict[str, Any]], bool], timeout: float = 20.0
) -> dict[str, Any]:
    return h.poll(lambda: describe(aws, arn), until, timeout)


def finished(deployment: dict[str, Any]) -> bool:
    return deployment["status"] in TERMINAL


def add_fault(url: str, fault: dict[str, Any]) -> dict[str, Any]:
    status, body = h.control(url, "POST", "faults", fault)
    assert status == 200, body
    return body["fault"]


def transitions(url: str, ident: str | None = None) -> list[dict[str, Any]]:
    status, body = h.control(url, "GET", "transitions")
    assert status == 200
    return [t for t in body if ident is None or t["id"] == ident]


def whats(url: str, ident: str, prefix: str) -> list[str]:
    """The values a field of one deployment took, in order, from the transitions log."""
    return [t["what"].split("=", 1)[1] for t in transitions(url, ident) if t["what"].startswith(prefix + "=")]
