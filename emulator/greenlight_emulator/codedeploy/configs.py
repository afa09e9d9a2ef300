"""CodeDeploy deployment configurations: the predefined ones and how a
configuration shifts production traffic over time."""

from __future__ import annotations

import math
import uuid
from datetime import datetime, timezone
from typing import Any

# Predefined configurations exist in every account; AWS reports a fixed
# creation time for them.
_PREDEFINED_CREATE_TIME = datetime(2018, 11, 27, 0, 0, 0, tzinfo=timezone.utc)


def _canary(percentage: int, interval: int) -> dict[str, Any]:
    return {
        "type": "TimeBasedCanary",
        "timeBasedCanary": {"canaryPercentage": percentage, "canaryInterval": interval},
    }


def _linear(percentage: int, interval: int) -> dict[str, Any]:
    return {
        "type": "TimeBasedLinear",
        "timeBasedLinear": {"linearPercentage": percentage, "linearInterval": interval},
    }


_ALL_AT_ONCE = {"type": "AllAtOnce"}

_PREDEFINED_TRAFFIC: dict[str, tuple[str, dict[str, Any]]] = {
    "CodeDeployDefault.ECSAllAtOnce": ("ECS", _ALL_AT_ONCE),
    "CodeDeployDefault.ECSLinear10PercentEvery1Minutes": ("ECS", _linear(10, 1)),
    "CodeDeployDefault.ECSLinear10PercentEvery3Minutes": ("ECS", _linear(10, 3)),
    "CodeDeployDefault.ECSCanary10Percent5Minutes": ("ECS", _canary(10, 5)),
    "CodeDeployDefault.ECSCanary10Percent15Minutes": ("ECS", _canary(10, 15)),
    "CodeDeployDefault.LambdaAllAtOnce": ("Lambda", _ALL_AT_ONCE),
    "CodeDeployDefault.LambdaCanary10Percent5Minutes": ("Lambda", _canary(10, 5)),
    "CodeDeployDefault.LambdaCanary10Percent10Minutes": ("Lambda", _canary(10, 10)),
    "CodeDeployDefault.LambdaCanary10Percent15Minutes": ("Lambda", _canary(10, 15)),
    "CodeDeployDefault.LambdaCanary10Percent30Minutes": ("Lambda", _canary(10, 30)),
    "CodeDeployDefault.LambdaLinear10PercentEvery1Minute": ("Lambda", _linear(10, 1)),
    "CodeDeployDefault.LambdaLinear10PercentEvery2Minutes": ("Lambda", _linear(10, 2)),
    "CodeDeployDefault.LambdaLinear10PercentEvery3Minutes": ("Lambda", _linear(10, 3)),
    "CodeDeployDefault.LambdaLinear10PercentEvery10Minutes": ("Lambda", _linear(10, 10)),
}

_PREDEFINED_SERVER: dict[str, dict[str, Any]] = {
    "CodeDeployDefault.AllAtOnce": {"type": "HOST_COUNT", "value": 0},
    "CodeDeployDefault.HalfAtATime": {"type": "FLEET_PERCENT", "value": 50},
    "CodeDeployDefault.OneAtATime": {"type": "HOST_COUNT", "value": 1},
}

DEFAULT_ECS_CONFIG = "CodeDeployDefault.ECSAllAtOnce"


def _predefined_id(name: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"codedeploy-config:{name}"))


def predefined_configs() -> dict[str, dict[str, Any]]:
    configs: dict[str, dict[str, Any]] = {}
    for name, (platform, traffic) in _PREDEFINED_TRAFFIC.items():
        configs[name] = {
            "deploymentConfigId": _predefined_id(name),
            "deploymentConfigName": name,
            "createTime": _PREDEFINED_CREATE_TIME,
            "computePlatform": platform,
            "trafficRoutingConfig": traffic,
        }
    for name, hosts in _PREDEFINED_SERVER.items():
        configs[name] = {
            "deploymentConfigId": _predefined_id(name),
            "deploymentConfigName": name,
            "createTime": _PREDEFINED_CREATE_TIME,
            "computePlatform": "Server",
            "minimumHealthyHosts": hosts,
        }
    return configs


PREDEFINED = predefined_configs()


def traffic_schedule(traffic_routing: dict[str, Any] | None) -> list[tuple[float, float]]:
    """The production traffic shifts of the AllowTraffic event as
    (seconds after AllowTraffic started, percent of traffic on the replacement)."""
    routing = traffic_routing or _ALL_AT_ONCE
    kind = routing.get("type", "AllAtOnce")
    if kind == "TimeBasedCanary":
        canary = routing.get("timeBasedCanary") or {}
        percentage = float(canary.get("canaryPercentage", 10))
        interval = float(canary.get("canaryInterval", 5))
        return [(0.0, percentage), (interval * 60.0, 100.0)]
    if kind == "TimeBasedLinear":
        linear = routing.get("timeBasedLinear") or {}
        percentage = float(linear.get("linearPercentage", 10))
        interval = float(linear.get("linearInterval", 1))
        steps = max(1, math.ceil(100.0 / percentage))
        return [(k * interval * 60.0, min(100.0, (k + 1) * percentage)) for k in range(steps)]
    return [(0.0, 100.0)]


def weight_at(schedule: list[tuple[float, float]], elapsed: float) -> float:
    weight = 0.0
    for offset, percent in schedule:
        if elapsed >= offset:
            weight = percent
    return weight
