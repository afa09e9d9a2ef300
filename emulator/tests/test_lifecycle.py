"""Deployments run the ECS blue/green lifecycle the CodeDeploy API reference
describes: statuses, lifecycle events in order, traffic shifted per the
deployment configuration, and the ECS service on the new task definition."""

from __future__ import annotations

import emulator_helpers as h
import pytest

ORDER = [
    "BeforeInstall",
    "Install",
    "AfterInstall",
    "AllowTestTraffic",
    "AfterAllowTestTraffic",
    "BeforeAllowTraffic",
    "AllowTraffic",
    "AfterAllowTraffic",
]


@pytest.mark.parametrize("protocol", ["json", "cbor"])
def test_canary_deployment_shifts_10_percent_then_all_and_updates_the_service(emulator, seeded, protocol):
    aws = h.Clients(emulator, protocol)
    env = seeded(deployment_config="CodeDeployDefault.ECSCanary10Percent5Minutes")
    original = h.service(aws, env)
    assert original["taskDefinition"] == env["taskDefinitionArn"]
    assert original["deploymentController"] == {"type": "CODE_DEPLOY"}
    assert [ts["status"] for ts in original["taskSets"]] == ["PRIMARY"]

    new_td = h.register_revision(aws.ecs, env)
    deployment_id = h.create_deployment(
        aws, env, new_td, description="canary", hooks={"AfterAllowTestTraffic": "smoke"}
    )
    assert deployment_id.startswith("d-") and len(deployment_id) == 11
    assert deployment_id[2:].isalnum() and deployment_id[2:].upper() == deployment_id[2:]

    info, seen = h.watch(aws, deployment_id, env)

    assert info["status"] == "Succeeded"
    weights = [w for _, w, _ in seen]
    assert 10.0 in weights and weights[-1] == 100.0
    assert all(w in (0.0, 10.0, 100.0) for w in weights)
    assert weights == sorted(weights)
    canary_states = [s for s in seen if s[1] == 10.0]
    assert all(event == "AllowTraffic" for _, _, event in canary_states)
    in_progress_order = [e for _, _, e in seen if e]
    assert [e for e in ORDER if e in in_progress_order] == list(dict.fromkeys(in_progress_order))

    assert info["deploymentConfigName"] == "CodeDeployDefault.ECSCanary10Percent5Minutes"
    assert info["computePlatform"] == "ECS"
    assert info["creator"] == "user"
    assert info["description"] == "canary"
    assert info["deploymentStyle"] == {"deploymentType": "BLUE_GREEN", "deploymentOption": "WITH_TRAFFIC_CONTROL"}
    assert info["deploymentOverview"] == {
        "Pending": 0,
        "InProgress": 0,
        "Succeeded": 1,
        "Failed": 0,
        "Skipped": 0,
        "Ready": 0,
    }
    assert info["createTime"] <= info["startTime"] <= info["completeTime"]
    assert "errorInformation" not in info and "rollbackInfo" not in info
    assert info["revision"]["revisionType"] == "AppSpecContent"
    assert len(info["revision"]["appSpecContent"]["sha256"]) == 64

    target = h.ecs_target(aws, deployment_id, env)
    assert [e["lifecycleEventName"] for e in target["lifecycleEvents"]] == ORDER
    assert all(e["status"] == "Succeeded" for e in target["lifecycleEvents"])
    starts = [e["startTime"] for e in target["lifecycleEvents"]]
    assert starts == sorted(starts)
    assert target["status"] == "Succeeded"
    assert target["targetId"] == f"{env['cluster']}:{env['service']}"
    assert target["targetArn"] == env["serviceArn"]
    labels = {ts["taskSetLabel"]: ts for ts in target["taskSetsInfo"]}
    assert labels["Green"]["status"] == "PRIMARY" and labels["Green"]["trafficWeight"] == 100.0
    assert labels["Green"]["runningCount"] == 2 and labels["Green"]["desiredCount"] == 2
    assert labels["Blue"]["trafficWeight"] == 0.0
    assert labels["Blue"]["targetGroup"]["name"] == env["targetGroups"][0]
    assert labels["Green"]["targetGroup"]["name"] == env["targetGroups"][1]
    assert labels["Green"]["identifer"].startswith("ecs-svc/")

    after = h.service(aws, env)
    assert after["taskDefinition"] == new_td
    assert [(ts["status"], ts["taskDefinition"]) for ts in after["taskSets"]] == [("PRIMARY", new_td)]
    assert aws.codedeploy.list_deployment_targets(deploymentId=deployment_id)["targetIds"] == [target["targetId"]]


def test_next_deployment_uses_the_other_target_group(aws, seeded):
    env = seeded()
    first = h.create_deployment(aws, env)
    h.wait_status(aws, first, "Succeeded")
    second = h.create_deployment(aws, env, h.register_revision(aws.ecs, env, tag="third"))
    h.wait_status(aws, second, "Succeeded")
    labels = {ts["taskSetLabel"]: ts for ts in h.ecs_target(aws, second, env)["taskSetsInfo"]}
    assert labels["Blue"]["targetGroup"]["name"] == env["targetGroups"][1]
    assert labels["Green"]["targetGroup"]["name"] == env["targetGroups"][0]


def test_linear_deployment_shifts_traffic_in_steps(aws, seeded):
    env = seeded(deployment_config="CodeDeployDefault.ECSLinear10PercentEvery1Minutes")
    deployment_id = h.create_deployment(aws, env)
    info, seen = h.watch(aws, deployment_id, env)
    assert info["status"] == "Succeeded"
    weights = [w for _, w, _ in seen]
    assert weights == sorted(weights)
    intermediate = {w for w in weights if 0 < w < 100}
    assert intermediate <= {10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0}
    assert len(intermediate) >= 3, seen
    assert weights[-1] == 100.0


def test_all_at_once_deployment_shifts_everything_at_once(aws, seeded):
    env = seeded(deployment_config="CodeDeployDefault.ECSAllAtOnce")
    deployment_id = h.create_deployment(aws, env)
    info, seen = h.watch(aws, deployment_id, env)
    assert info["status"] == "Succeeded"
    assert {w for _, w, _ in seen} <= {0.0, 100.0}


def test_predefined_ecs_deployment_configs(aws):
    expected = {
        "CodeDeployDefault.ECSAllAtOnce": {"type": "AllAtOnce"},
        "CodeDeployDefault.ECSLinear10PercentEvery1Minutes": {
            "type": "TimeBasedLinear",
            "timeBasedLinear": {"linearPercentage": 10, "linearInterval": 1},
        },
        "CodeDeployDefault.ECSLinear10PercentEvery3Minutes": {
            "type": "TimeBasedLinear",
            "timeBasedLinear": {"linearPercentage": 10, "linearInterval": 3},
        },
        "CodeDeployDefault.ECSCanary10Percent5Minutes": {
            "type": "TimeBasedCanary",
            "timeBasedCanary": {"canaryPercentage": 10, "canaryInterval": 5},
        },
        "CodeDeployDefault.ECSCanary10Percent15Minutes": {
            "type": "TimeBasedCanary",
            "timeBasedCanary": {"canaryPercentage": 10, "canaryInterval": 15},
        },
    }
    for name, routing in expected.items():
        info = aws.codedeploy.get_deployment_config(deploymentConfigName=name)["deploymentConfigInfo"]
        assert info["deploymentConfigName"] == name
        assert info["computePlatform"] == "ECS"
        assert info["trafficRoutingConfig"] == routing
        assert info["deploymentConfigId"]
    listed = aws.codedeploy.list_deployment_configs()["deploymentConfigsList"]
    assert set(expected) <= set(listed)


def test_custom_canary_config(emulator, aws, seeded):
    name = "Custom.ECSCanary25Percent2Minutes"
    config_id = aws.codedeploy.create_deployment_config(
        deploymentConfigName=name,
        computePlatform="ECS",
        trafficRoutingConfig={
            "type": "TimeBasedCanary",
            "timeBasedCanary": {"canaryPercentage": 25, "canaryInterval": 2},
        },
    )["deploymentConfigId"]
    info = aws.codedeploy.get_deployment_config(deploymentConfigName=name)["deploymentConfigInfo"]
    assert info["deploymentConfigId"] == config_id
    assert info["trafficRoutingConfig"]["timeBasedCanary"] == {"canaryPercentage": 25, "canaryInterval": 2}
    with pytest.raises(aws.codedeploy.exceptions.DeploymentConfigAlreadyExistsException):
        aws.codedeploy.create_deployment_config(
            deploymentConfigName=name, computePlatform="ECS", trafficRoutingConfig={"type": "AllAtOnce"}
        )
    with pytest.raises(aws.codedeploy.exceptions.InvalidTrafficRoutingConfigurationException):
        aws.codedeploy.create_deployment_config(
            deploymentConfigName="Custom.Broken",
            computePlatform="ECS",
            trafficRoutingConfig={
                "type": "TimeBasedLinear",
                "timeBasedLinear": {"linearPercentage": 0, "linearInterval": 1},
            },
        )

    env = seeded()
    deployment_id = h.create_deployment(aws, env, deploymentConfigName=name)
    info, _ = h.watch(aws, deployment_id, env)
    assert info["status"] == "Succeeded"
    assert info["deploymentConfigName"] == name
    # Every step from the transitions log: polling alone can miss a 0.2 s step on a busy machine.
    status, log = h.control(emulator, "GET", "transitions")
    assert status == 200
    weights = [
        t["what"].split("=", 1)[1]
        for t in log
        if t["id"] == deployment_id and t["what"].startswith("trafficWeight=")
    ]
    # 0 shows only when a request happened to come before the first step.
    assert [w for w in weights if w != "0"] == ["25", "100"], weights


def test_custom_linear_config_from_the_deployment_group(aws, seeded):
    name = "Custom.ECSLinear50PercentEvery1Minutes"
    aws.codedeploy.create_deployment_config(
        deploymentConfigName=name,
        computePlatform="ECS",
        trafficRoutingConfig={
            "type": "TimeBasedLinear",
            "timeBasedLinear": {"linearPercentage": 50, "linearInterval": 1},
        },
    )
    env = seeded(deployment_config=name)
    group = aws.codedeploy.get_deployment_group(
        applicationName=env["application"], deploymentGroupName=env["deploymentGroup"]
    )["deploymentGroupInfo"]
    assert group["deploymentConfigName"] == name
    deployment_id = h.create_deployment(aws, env)
    info, seen = h.watch(aws, deployment_id, env)
    assert info["status"] == "Succeeded" and info["deploymentConfigName"] == name
    assert [w for w in dict.fromkeys(w for _, w, _ in seen)] == [0.0, 50.0, 100.0]


def test_ready_wait_until_continue_deployment(aws, seeded):
    env = seeded(deployment_ready_option="STOP_DEPLOYMENT", ready_wait_minutes=600)
    new_td = h.register_revision(aws.ecs, env)
    deployment_id = h.create_deployment(aws, env, new_td)
    with pytest.raises(aws.codedeploy.exceptions.DeploymentIsNotInReadyStateException):
        aws.codedeploy.continue_deployment(deploymentId=deployment_id, deploymentWaitType="READY_WAIT")

    info = h.wait_status(aws, deployment_id, "Ready")
    assert info["deploymentOverview"]["Ready"] == 1
    target = h.ecs_target(aws, deployment_id, env)
    assert target["status"] == "Ready"
    statuses = h.events(target)
    assert all(statuses[e] == "Succeeded" for e in ORDER[:5])
    assert all(statuses[e] == "Pending" for e in ORDER[5:])
    assert h.green_weight(target) == 0.0
    labels = {ts["taskSetLabel"]: ts for ts in target["taskSetsInfo"]}
    assert labels["Green"]["runningCount"] == 2
    ready = aws.codedeploy.list_deployments(
        applicationName=env["application"], deploymentGroupName=env["deploymentGroup"], includeOnlyStatuses=["Ready"]
    )["deployments"]
    assert ready == [deployment_id]
    assert h.service(aws, env)["taskDefinition"] == env["taskDefinitionArn"]

    # Still waiting a while later (of AWS time), then approved.
    assert h.deployment(aws, deployment_id)["status"] == "Ready"
    with pytest.raises(aws.codedeploy.exceptions.DeploymentIsNotInReadyStateException):
        aws.codedeploy.continue_deployment(deploymentId=deployment_id, deploymentWaitType="TERMINATION_WAIT")
    aws.codedeploy.continue_deployment(deploymentId=deployment_id, deploymentWaitType="READY_WAIT")
    info = h.wait_status(aws, deployment_id, *h.TERMINAL)
    assert info["status"] == "Succeeded"
    assert h.service(aws, env)["taskDefinition"] == new_td


def test_ready_wait_timeout_stops_the_deployment(aws, seeded):
    env = seeded(deployment_ready_option="STOP_DEPLOYMENT", ready_wait_minutes=1)
    deployment_id = h.create_deployment(aws, env)
    info = h.wait_status(aws, deployment_id, *h.TERMINAL)
    assert info["status"] == "Stopped"
    assert info["errorInformation"]["code"] == "TIMEOUT"
    assert "rollbackInfo" not in info or "rollbackDeploymentId" not in info["rollbackInfo"]
    target = h.ecs_target(aws, deployment_id, env)
    statuses = h.events(target)
    assert all(statuses[e] == "Succeeded" for e in ORDER[:5])
    assert all(statuses[e] == "Skipped" for e in ORDER[5:])
    after = h.service(aws, env)
    assert after["taskDefinition"] == env["taskDefinitionArn"]
    assert [ts["status"] for ts in after["taskSets"]] == ["PRIMARY"]
    with pytest.raises(aws.codedeploy.exceptions.DeploymentAlreadyCompletedException):
        aws.codedeploy.continue_deployment(deploymentId=deployment_id, deploymentWaitType="READY_WAIT")


def test_termination_wait_keeps_the_original_task_set_until_it_ends(aws, seeded):
    env = seeded(termination_wait_minutes=600)
    new_td = h.register_revision(aws.ecs, env)
    deployment_id = h.create_deployment(aws, env, new_td)

    def in_termination_wait(info):
        return info.get("instanceTerminationWaitTimeStarted") is True

    info = h.poll(lambda: h.deployment(aws, deployment_id), in_termination_wait)
    assert info["status"] == "InProgress"
    target = h.ecs_target(aws, deployment_id, env)
    assert all(e["status"] == "Succeeded" for e in target["lifecycleEvents"])
    assert target["status"] == "InProgress"
    assert h.green_weight(target) == 100.0
    during = h.service(aws, env)
    assert during["taskDefinition"] == new_td
    assert sorted(ts["status"] for ts in during["taskSets"]) == ["ACTIVE", "PRIMARY"]

    aws.codedeploy.continue_deployment(deploymentId=deployment_id, deploymentWaitType="TERMINATION_WAIT")
    info = h.wait_status(aws, deployment_id, *h.TERMINAL)
    assert info["status"] == "Succeeded"
    assert [ts["status"] for ts in h.service(aws, env)["taskSets"]] == ["PRIMARY"]


def test_list_deployments_reflects_live_status(aws, seeded):
    env = seeded(deployment_ready_option="STOP_DEPLOYMENT", ready_wait_minutes=600)
    active = ["Created", "Queued", "InProgress", "Ready"]
    first = h.create_deployment(aws, env)
    h.wait_status(aws, first, "Ready")

    def listed(statuses):
        return aws.codedeploy.list_deployments(
            applicationName=env["application"], deploymentGroupName=env["deploymentGroup"], includeOnlyStatuses=statuses
        )["deployments"]

    assert listed(active) == [first]
    with pytest.raises(aws.codedeploy.exceptions.DeploymentLimitExceededException) as error:
        h.create_deployment(aws, env)
    assert first in str(error.value)

    aws.codedeploy.continue_deployment(deploymentId=first, deploymentWaitType="READY_WAIT")
    h.wait_status(aws, first, "Succeeded")
    assert listed(active) == []
    assert listed(["Succeeded"]) == [first]
    second = h.create_deployment(aws, env, h.register_revision(aws.ecs, env, tag="again"))
    assert listed([]) == [second, first]
    group = aws.codedeploy.get_deployment_group(
        applicationName=env["application"], deploymentGroupName=env["deploymentGroup"]
    )["deploymentGroupInfo"]
    assert group["lastAttemptedDeployment"]["deploymentId"] == second
    assert group["lastSuccessfulDeployment"]["deploymentId"] == first


def test_time_scale_changes_at_runtime(emulator, aws, seeded):
    env = seeded(deployment_config="CodeDeployDefault.ECSCanary10Percent15Minutes")
    deployment_id = h.create_deployment(aws, env)
    h.wait_target(aws, deployment_id, env, lambda t: h.green_weight(t) == 10.0)
    # Slow the clock right down: the canary stays at 10%.
    assert h.control(emulator, "POST", "config", {"time_scale": 1}) == (200, {"time_scale": 1.0})
    assert h.green_weight(h.ecs_target(aws, deployment_id, env)) == 10.0
    assert h.deployment(aws, deployment_id)["status"] == "InProgress"
    assert h.control(emulator, "POST", "config", {"time_scale": 6000})[0] == 200
    assert h.wait_status(aws, deployment_id, *h.TERMINAL)["status"] == "Succeeded"
