"""GET /_greenlight/transitions: every observable state change of CodeDeploy and
ECS deployments, stamped with the wall-clock moment it took effect, and the seed
command line for services with the ECS deployment controller."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import ecs_helpers as e
import emulator_helpers as h
from conftest import EMULATOR_DIR, start_emulator, stop_emulator


def test_codedeploy_transitions_are_logged_when_they_took_effect(emulator, aws, seeded):
    env = seeded(deployment_config="CodeDeployDefault.ECSCanary10Percent5Minutes")
    deployment_id = h.create_deployment(aws, env)
    # The moment a client first sees the canary split.
    target = h.wait_target(aws, deployment_id, env, lambda t: h.green_weight(t) == 10.0)
    seen_at = time.time()
    assert h.events(target)["AllowTraffic"] == "InProgress"
    h.wait_status(aws, deployment_id, "Succeeded")

    log = e.transitions(emulator, deployment_id)
    assert {t["kind"] for t in log} == {"codedeploy"}
    whats = [t["what"] for t in log]
    assert [w for w in whats if w.startswith("status=")] == ["status=Created", "status=InProgress", "status=Succeeded"]
    assert [w for w in whats if w.startswith("trafficWeight=")] == ["trafficWeight=10", "trafficWeight=100"]
    events = [w for w in whats if w.startswith("lifecycleEvent ")]
    assert events[:2] == ["lifecycleEvent BeforeInstall=InProgress", "lifecycleEvent BeforeInstall=Succeeded"]
    assert events[-1] == "lifecycleEvent AfterAllowTraffic=Succeeded"
    assert len(events) == 16
    stamps = [t["at"] for t in log]
    assert stamps == sorted(stamps) and all(isinstance(s, float) for s in stamps)
    canary_at = next(t["at"] for t in log if t["what"] == "trafficWeight=10")
    final_at = next(t["at"] for t in log if t["what"] == "trafficWeight=100")
    # Detection latency (seen - at) is never negative, and the canary lasted five AWS minutes.
    assert 0 <= seen_at - canary_at < 5
    assert abs((final_at - canary_at) - 300 / 600) < 0.02


def test_ecs_transitions_cover_deployments_service_deployments_and_events(emulator, aws, seeded):
    env = e.seed_ecs(seeded)
    _td, answer = e.deploy(aws, env)
    new_id = answer["deployments"][0]["id"]
    e.wait_service(aws, env, e.settled)
    arn = e.latest_arn(aws, env)

    assert e.whats(emulator, new_id, "rolloutState") == ["IN_PROGRESS", "COMPLETED"]
    assert e.whats(emulator, new_id, "runningCount") == ["0", "1", "2"]
    assert e.whats(emulator, arn, "status") == ["PENDING", "IN_PROGRESS", "SUCCESSFUL"]
    events = [t for t in e.transitions(emulator, env["serviceArn"]) if t["kind"] == "ecs-service-event"]
    assert events[-1]["what"] == f"(service {env['service']}) has reached a steady state."
    service = h.service(aws, env)
    assert [t["what"] for t in events] == e.messages(service)

    # The rollout took 34 AWS seconds from UpdateService: 2 s pending, two tasks 10 s apart,
    # the old tasks stopped 2 s later, gone 5 s after that, completed after 5 more.
    log = e.transitions(emulator)
    started = next(t["at"] for t in log if t["id"] == arn and t["what"] == "status=PENDING")
    completed = next(t["at"] for t in log if t["id"] == new_id and t["what"] == "rolloutState=COMPLETED")
    assert abs((completed - started) - 34 / 600) < 0.01


def test_transitions_endpoint_clears_and_reset_clears_it():
    proc, url = start_emulator()
    try:
        env = h.seed(url, cluster="log", service="web", controller="ECS")
        aws = h.Clients(url)
        e.deploy(aws, env)
        assert e.transitions(url)
        assert h.control(url, "DELETE", "transitions") == (200, [])
        e.wait_service(aws, env, e.settled)
        assert e.transitions(url)
        assert h.control(url, "POST", "transitions")[0] == 405
        assert h.control(url, "POST", "reset") == (200, {"status": "reset"})
        assert e.transitions(url) == []
    finally:
        assert stop_emulator(proc) == 0


def test_seed_command_line_for_ecs_services_sharing_a_cluster(emulator, aws):
    environ = {**os.environ, "PYTHONPATH": str(EMULATOR_DIR)}

    def run_seed(*extra: str) -> dict:
        command = [sys.executable, "-m", "greenlight_emulator.seed", "--endpoint", emulator, "--cluster", "shared-ecs"]
        result = subprocess.run(
            [*command, *extra], capture_output=True, text=True, env=environ, timeout=120, check=False
        )
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    rolling = run_seed("--service", "api", "--controller", "ECS")
    canary = run_seed(
        "--service",
        "web",
        "--controller",
        "ECS",
        "--strategy",
        "CANARY",
        "--canary-percent",
        "15",
        "--bake-time-minutes",
        "3",
        "--pause-hook",
        "POST_TEST_TRAFFIC_SHIFT",
        "--lambda-hook",
        "PRE_SCALE_UP",
        "--circuit-breaker",
        "false",
    )
    classic = run_seed("--service", "legacy")
    again = run_seed("--service", "web", "--controller", "ECS", "--strategy", "CANARY")

    assert (rolling["controller"], rolling["strategy"]) == ("ECS", "ROLLING")
    assert rolling["application"] is None and rolling["deploymentGroup"] is None
    assert (canary["controller"], canary["strategy"]) == ("ECS", "CANARY")
    assert canary["serviceArn"].endswith(":service/shared-ecs/web")
    assert (classic["controller"], classic["strategy"]) == ("CODE_DEPLOY", None)
    assert classic["application"] == "AppECS-shared-ecs-legacy"
    assert again["taskDefinitionArn"] == canary["taskDefinitionArn"]
    for key in ("endpoint", "region", "accountId", "taskDefinitionArn", "repositoryUri", "imageDigest", "targetGroups"):
        assert key in rolling and key in canary

    arns = aws.ecs.list_services(cluster="shared-ecs")["serviceArns"]
    assert sorted(a.rsplit("/", 1)[1] for a in arns) == ["api", "legacy", "web"]
    web = aws.ecs.describe_services(cluster="shared-ecs", services=["web"])["services"][0]
    config = web["deploymentConfiguration"]
    assert config["strategy"] == "CANARY" and config["bakeTimeInMinutes"] == 3
    assert config["canaryConfiguration"] == {"canaryPercent": 15.0, "canaryBakeTimeInMinutes": 5}
    assert config["deploymentCircuitBreaker"] == {"enable": False, "rollback": False}
    pause, function = config["lifecycleHooks"]
    assert pause == {"targetType": "PAUSE", "lifecycleStages": ["POST_TEST_TRAFFIC_SHIFT"]}
    assert function["targetType"] == "AWS_LAMBDA" and function["lifecycleStages"] == ["PRE_SCALE_UP"]
    assert function["hookTargetArn"].startswith("arn:aws:lambda:") and function["roleArn"]
    advanced = web["loadBalancers"][0]["advancedConfiguration"]
    assert advanced["productionListenerRule"] == canary["prodListenerRuleArn"]
    assert advanced["testListenerRule"] == canary["testListenerRuleArn"]
    assert ":targetgroup/" in advanced["alternateTargetGroupArn"] and "tg-green" in advanced["alternateTargetGroupArn"]
    assert advanced["roleArn"].endswith(":role/ecsInfrastructureRole")
    api = aws.ecs.describe_services(cluster="shared-ecs", services=["api"])["services"][0]
    assert "advancedConfiguration" not in api["loadBalancers"][0]
