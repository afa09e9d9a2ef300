"""Unit tests of the pieces that need no server."""

from __future__ import annotations

import pytest
from greenlight_emulator.clock import ScaledClock, time_scale_from_env
from greenlight_emulator.codedeploy.configs import PREDEFINED, traffic_schedule, weight_at
from greenlight_emulator.codedeploy.engine import parse_appspec
from greenlight_emulator.control import FaultError, FaultStore


class FakeWall:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_scaled_clock_maps_aws_time_back_to_the_wall_clock():
    wall = FakeWall()
    clock = ScaledClock(60, wall=wall)
    assert clock.now() == 1000.0
    wall.now = 1001.0
    assert clock.now() == 1060.0
    clock.set_scale(1)
    wall.now = 1002.0
    assert clock.now() == 1061.0
    assert clock.to_wall(1030.0) == pytest.approx(1000.5)
    assert clock.to_wall(1061.0) == pytest.approx(1002.0)
    with pytest.raises(ValueError):
        clock.set_scale(0)


def test_time_scale_from_env(monkeypatch):
    monkeypatch.delenv("GREENLIGHT_EMULATOR_TIME_SCALE", raising=False)
    assert time_scale_from_env() == 1.0
    monkeypatch.setenv("GREENLIGHT_EMULATOR_TIME_SCALE", "60")
    assert time_scale_from_env() == 60.0
    monkeypatch.setenv("GREENLIGHT_EMULATOR_TIME_SCALE", "-1")
    with pytest.raises(ValueError):
        time_scale_from_env()


def test_traffic_schedules():
    canary = traffic_schedule(PREDEFINED["CodeDeployDefault.ECSCanary10Percent5Minutes"]["trafficRoutingConfig"])
    assert canary == [(0.0, 10.0), (300.0, 100.0)]
    assert weight_at(canary, 299.9) == 10.0 and weight_at(canary, 300) == 100.0
    linear = traffic_schedule(PREDEFINED["CodeDeployDefault.ECSLinear10PercentEvery3Minutes"]["trafficRoutingConfig"])
    assert linear[0] == (0.0, 10.0) and linear[-1] == (1620.0, 100.0) and len(linear) == 10
    assert weight_at(linear, 400) == 30.0
    odd = traffic_schedule(
        {"type": "TimeBasedLinear", "timeBasedLinear": {"linearPercentage": 30, "linearInterval": 2}}
    )
    assert [w for _, w in odd] == [30.0, 60.0, 90.0, 100.0]
    assert traffic_schedule({"type": "AllAtOnce"}) == [(0.0, 100.0)]


def test_fault_store_counts_and_filters():
    store = FaultStore()
    store.add({"kind": "throttle", "action": "GetDeployment", "count": 2})
    store.add({"kind": "http_error", "action": "GetDeployment", "status": 500, "service": "ecs"})
    assert store.take_request_fault("codedeploy", "GetDeployment")["kind"] == "throttle"
    assert store.take_request_fault("codedeploy", "GetDeployment")["kind"] == "throttle"
    assert store.take_request_fault("codedeploy", "GetDeployment") is None
    assert store.take_request_fault("ecs", "GetDeployment")["status"] == 500
    store.add({"kind": "fail_lifecycle_event", "event": "AfterInstall", "applicationName": "app"})
    assert store.take_deployment_faults("other", "dg")["fail_event"] is None
    assert store.take_deployment_faults("app", "dg")["fail_event"]["event"] == "AfterInstall"
    assert store.take_deployment_faults("app", "dg")["fail_event"]["event"] == "AfterInstall"
    with pytest.raises(FaultError):
        store.add({"kind": "never_ready", "count": -1})


def test_appspec_parsing_accepts_json_and_yaml():
    yaml_content = """
version: 0.0
Resources:
  - TargetService:
      Type: AWS::ECS::Service
      Properties:
        TaskDefinition: "arn:aws:ecs:us-east-1:123456789012:task-definition/web:3"
        LoadBalancerInfo:
          ContainerName: "web"
          ContainerPort: 80
Hooks:
  - AfterAllowTestTraffic: "smoke"
"""
    spec, error = parse_appspec({"revisionType": "AppSpecContent", "appSpecContent": {"content": yaml_content}})
    assert error is None and spec["Hooks"] == [{"AfterAllowTestTraffic": "smoke"}]
    spec, error = parse_appspec({"revisionType": "AppSpecContent", "appSpecContent": {"content": '{"Resources": []}'}})
    assert spec is None and "Resources" in error
    _, error = parse_appspec({"revisionType": "S3", "s3Location": {}})
    assert error is not None
