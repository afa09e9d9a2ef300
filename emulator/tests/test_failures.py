"""StopDeployment, rollbacks, injected deployment faults and CodeDeploy's
error codes."""

from __future__ import annotations

import emulator_helpers as h
import pytest


def test_stop_deployment_with_rollback_keeps_the_original_task_definition(aws, seeded):
    env = seeded(deployment_config="CodeDeployDefault.ECSCanary10Percent15Minutes")
    deployment_id = h.create_deployment(aws, env)
    h.wait_target(aws, deployment_id, env, lambda t: h.green_weight(t) == 10.0)

    answer = aws.codedeploy.stop_deployment(deploymentId=deployment_id, autoRollbackEnabled=True)
    assert answer["status"] in ("Pending", "Succeeded")
    assert answer["statusMessage"]

    info = h.wait_status(aws, deployment_id, *h.TERMINAL)
    assert info["status"] == "Stopped"
    assert info["errorInformation"]["code"] == "MANUAL_STOP"
    rollback_id = info["rollbackInfo"]["rollbackDeploymentId"]
    assert rollback_id != deployment_id and rollback_id.startswith("d-")

    rollback = h.wait_status(aws, rollback_id, *h.TERMINAL)
    assert rollback["status"] == "Succeeded"
    assert rollback["creator"] == "codeDeployRollback"
    assert rollback["rollbackInfo"]["rollbackTriggeringDeploymentId"] == deployment_id
    assert "succeeded" in h.deployment(aws, deployment_id)["rollbackInfo"]["rollbackMessage"]

    statuses = h.events(h.ecs_target(aws, deployment_id, env))
    assert statuses["Install"] == "Succeeded"
    assert statuses["AllowTraffic"] == "Failed"
    assert statuses["AfterAllowTraffic"] == "Skipped"
    after = h.service(aws, env)
    assert after["taskDefinition"] == env["taskDefinitionArn"]
    assert [(ts["status"], ts["taskDefinition"]) for ts in after["taskSets"]] == [("PRIMARY", env["taskDefinitionArn"])]
    assert h.green_weight(h.ecs_target(aws, deployment_id, env)) == 0.0

    with pytest.raises(aws.codedeploy.exceptions.DeploymentAlreadyCompletedException):
        aws.codedeploy.stop_deployment(deploymentId=deployment_id)


def test_slow_rollback_keeps_the_rollback_deployment_in_progress(emulator, aws, seeded):
    env = seeded(deployment_ready_option="STOP_DEPLOYMENT", ready_wait_minutes=600)
    h.control(emulator, "POST", "faults", {"kind": "slow_rollback", "seconds": 36000, "count": 1})
    deployment_id = h.create_deployment(aws, env)
    h.wait_status(aws, deployment_id, "Ready")
    aws.codedeploy.stop_deployment(deploymentId=deployment_id, autoRollbackEnabled=True)
    info = h.wait_status(aws, deployment_id, *h.TERMINAL)
    assert info["status"] == "Stopped"
    rollback_id = info["rollbackInfo"]["rollbackDeploymentId"]
    assert "is in progress" in info["rollbackInfo"]["rollbackMessage"]
    # 36000 AWS seconds are a minute of wall time at this scale: still rerouting.
    rollback = h.wait_status(aws, rollback_id, "InProgress")
    assert rollback["creator"] == "codeDeployRollback"
    # A rollback deployment can be stopped like any other; it then leaves traffic where it is.
    aws.codedeploy.stop_deployment(deploymentId=rollback_id, autoRollbackEnabled=False)
    assert h.wait_status(aws, rollback_id, *h.TERMINAL)["status"] == "Stopped"


def test_slow_rollback_needs_positive_seconds(emulator):
    status, _ = h.control(emulator, "POST", "faults", {"kind": "slow_rollback"})
    assert status == 400


def test_stop_during_termination_wait_rolls_traffic_back(aws, seeded):
    env = seeded(termination_wait_minutes=600)
    new_td = h.register_revision(aws.ecs, env)
    deployment_id = h.create_deployment(aws, env, new_td)
    h.poll(lambda: h.deployment(aws, deployment_id), lambda d: d.get("instanceTerminationWaitTimeStarted"))
    assert h.service(aws, env)["taskDefinition"] == new_td
    aws.codedeploy.stop_deployment(deploymentId=deployment_id, autoRollbackEnabled=True)
    info = h.wait_status(aws, deployment_id, *h.TERMINAL)
    assert info["status"] == "Stopped"
    h.wait_status(aws, info["rollbackInfo"]["rollbackDeploymentId"], "Succeeded")
    assert h.service(aws, env)["taskDefinition"] == env["taskDefinitionArn"]


def test_stop_without_rollback_before_traffic_moves(aws, seeded):
    env = seeded(auto_rollback=False, deployment_ready_option="STOP_DEPLOYMENT", ready_wait_minutes=600)
    deployment_id = h.create_deployment(aws, env)
    h.wait_status(aws, deployment_id, "Ready")
    aws.codedeploy.stop_deployment(deploymentId=deployment_id)
    info = h.wait_status(aws, deployment_id, *h.TERMINAL)
    assert info["status"] == "Stopped"
    assert "rollbackInfo" not in info
    assert h.service(aws, env)["taskDefinition"] == env["taskDefinitionArn"]


def test_fault_fails_the_after_allow_test_traffic_hook(emulator, aws, seeded):
    env = seeded()
    status, body = h.control(
        emulator,
        "POST",
        "faults",
        {
            "kind": "fail_lifecycle_event",
            "event": "AfterAllowTestTraffic",
            "message": "The AfterAllowTestTraffic hook smoke-test Lambda returned Failed",
            "count": 1,
        },
    )
    assert status == 200 and body["fault"]["id"]
    deployment_id = h.create_deployment(aws, env, hooks={"AfterAllowTestTraffic": "smoke-test"})
    assert h.control(emulator, "GET", "faults")[1]["faults"] == []  # its one use is bound

    info = h.wait_status(aws, deployment_id, *h.TERMINAL)
    assert info["status"] == "Failed"
    assert info["errorInformation"]["code"] == "HOOK_EXECUTION_FAILURE"
    assert "AfterAllowTestTraffic" in info["errorInformation"]["message"]
    assert info["deploymentOverview"]["Failed"] == 1
    assert info["rollbackInfo"]["rollbackDeploymentId"]

    target = h.ecs_target(aws, deployment_id, env)
    assert target["status"] == "Failed"
    failed = next(e for e in target["lifecycleEvents"] if e["lifecycleEventName"] == "AfterAllowTestTraffic")
    assert failed["status"] == "Failed"
    assert failed["diagnostics"]["errorCode"] == "ScriptFailed"
    assert failed["diagnostics"]["scriptName"] == "smoke-test"
    assert failed["diagnostics"]["message"] == "The AfterAllowTestTraffic hook smoke-test Lambda returned Failed"
    assert failed["endTime"] >= failed["startTime"]
    statuses = h.events(target)
    assert [statuses[e] for e in ("BeforeAllowTraffic", "AllowTraffic", "AfterAllowTraffic")] == ["Skipped"] * 3
    assert h.green_weight(target) == 0.0

    h.wait_status(aws, info["rollbackInfo"]["rollbackDeploymentId"], "Succeeded")
    assert h.service(aws, env)["taskDefinition"] == env["taskDefinitionArn"]

    # The fault was for one deployment only.
    second = h.create_deployment(aws, env, h.register_revision(aws.ecs, env, tag="fixed"))
    assert h.wait_status(aws, second, *h.TERMINAL)["status"] == "Succeeded"


def test_fault_without_auto_rollback(emulator, aws, seeded):
    env = seeded(auto_rollback=False)
    h.control(emulator, "POST", "faults", {"kind": "fail_lifecycle_event", "event": "AfterAllowTraffic"})
    new_td = h.register_revision(aws.ecs, env)
    deployment_id = h.create_deployment(aws, env, new_td)
    info = h.wait_status(aws, deployment_id, *h.TERMINAL)
    assert info["status"] == "Failed" and "rollbackInfo" not in info
    # Traffic had moved before the failing hook and nothing rolls it back.
    assert h.service(aws, env)["taskDefinition"] == new_td
    # A fault without a count applies until cleared.
    assert len(h.control(emulator, "GET", "faults")[1]["faults"]) == 1


def test_deployment_rollback_configuration_overrides_the_group(emulator, aws, seeded):
    env = seeded(auto_rollback=True)
    h.control(emulator, "POST", "faults", {"kind": "fail_lifecycle_event", "event": "BeforeAllowTraffic", "count": 1})
    deployment_id = h.create_deployment(aws, env, autoRollbackConfiguration={"enabled": False})
    info = h.wait_status(aws, deployment_id, *h.TERMINAL)
    assert info["status"] == "Failed" and "rollbackInfo" not in info
    assert info["autoRollbackConfiguration"]["enabled"] is False
    assert h.service(aws, env)["taskDefinition"] == env["taskDefinitionArn"]


def test_never_ready_stays_in_install_until_stopped(emulator, aws, seeded):
    env = seeded()
    h.control(emulator, "POST", "faults", {"kind": "never_ready", "count": 1})
    deployment_id = h.create_deployment(aws, env)
    target = h.wait_target(aws, deployment_id, env, lambda t: h.events(t)["Install"] == "InProgress")
    # 60 real seconds would be 10 AWS hours at this scale; two AWS hours suffice.
    h.control(emulator, "POST", "config", {"time_scale": 36000})
    import time

    time.sleep(0.2)
    info = h.deployment(aws, deployment_id)
    target = h.ecs_target(aws, deployment_id, env)
    assert info["status"] == "InProgress"
    assert h.events(target)["Install"] == "InProgress"
    green = next(ts for ts in target["taskSetsInfo"] if ts["taskSetLabel"] == "Green")
    assert green["runningCount"] == 0 and green["pendingCount"] == 2
    h.control(emulator, "POST", "config", {"time_scale": 600})

    aws.codedeploy.stop_deployment(deploymentId=deployment_id, autoRollbackEnabled=True)
    info = h.wait_status(aws, deployment_id, *h.TERMINAL)
    assert info["status"] == "Stopped"
    assert h.events(h.ecs_target(aws, deployment_id, env))["Install"] == "Failed"
    h.wait_status(aws, info["rollbackInfo"]["rollbackDeploymentId"], "Succeeded")
    assert h.service(aws, env)["taskDefinition"] == env["taskDefinitionArn"]


def test_invalid_container_in_appspec_fails_install(aws, seeded):
    env = seeded()
    new_td = h.register_revision(aws.ecs, env)
    content = h.appspec(new_td, env, ContainerName="does-not-exist")
    deployment_id = h.create_deployment(aws, env, new_td, content=content)
    info = h.wait_status(aws, deployment_id, *h.TERMINAL)
    assert info["status"] == "Failed"
    assert info["errorInformation"]["code"] == "ECS_UPDATE_ERROR"
    assert "does-not-exist" in info["errorInformation"]["message"]
    assert h.events(h.ecs_target(aws, deployment_id, env))["Install"] == "Failed"
    assert h.service(aws, env)["taskDefinition"] == env["taskDefinitionArn"]


def test_unparseable_appspec_fails_with_invalid_revision(aws, seeded):
    env = seeded()
    deployment_id = h.create_deployment(aws, env, content="{not: [valid")
    info = h.wait_status(aws, deployment_id, *h.TERMINAL)
    assert info["status"] == "Failed"
    assert info["errorInformation"]["code"] == "INVALID_REVISION"


def test_error_codes(aws, seeded):
    cd = aws.codedeploy
    missing = "d-AAAAAAAAA"
    with pytest.raises(cd.exceptions.DeploymentDoesNotExistException):
        cd.get_deployment(deploymentId=missing)
    with pytest.raises(cd.exceptions.DeploymentDoesNotExistException):
        cd.stop_deployment(deploymentId=missing)
    with pytest.raises(cd.exceptions.DeploymentDoesNotExistException):
        cd.continue_deployment(deploymentId=missing, deploymentWaitType="READY_WAIT")
    with pytest.raises(cd.exceptions.DeploymentDoesNotExistException):
        cd.list_deployment_targets(deploymentId=missing)
    with pytest.raises(cd.exceptions.DeploymentConfigDoesNotExistException):
        cd.get_deployment_config(deploymentConfigName="CodeDeployDefault.ECSNope")

    env = seeded()
    with pytest.raises(cd.exceptions.DeploymentConfigDoesNotExistException):
        h.create_deployment(aws, env, deploymentConfigName="CodeDeployDefault.ECSNope")
    with pytest.raises(cd.exceptions.InvalidDeploymentConfigNameException):
        h.create_deployment(aws, env, deploymentConfigName="CodeDeployDefault.OneAtATime")
    with pytest.raises(cd.exceptions.DeploymentGroupDoesNotExistException):
        cd.create_deployment(
            applicationName=env["application"],
            deploymentGroupName="nope",
            revision={"revisionType": "AppSpecContent", "appSpecContent": {"content": "{}"}},
        )
    with pytest.raises(cd.exceptions.ApplicationDoesNotExistException):
        cd.list_deployments(applicationName="nope", deploymentGroupName="nope")

    deployment_id = h.create_deployment(aws, env)
    with pytest.raises(cd.exceptions.DeploymentIsNotInReadyStateException):
        cd.continue_deployment(deploymentId=deployment_id, deploymentWaitType="READY_WAIT")
    target_id = f"{env['cluster']}:{env['service']}"
    h.poll(lambda: h.deployment(aws, deployment_id), lambda d: d["status"] != "Created")
    with pytest.raises(cd.exceptions.DeploymentTargetDoesNotExistException):
        cd.batch_get_deployment_targets(deploymentId=deployment_id, targetIds=["other:service"])
    h.wait_status(aws, deployment_id, "Succeeded")
    with pytest.raises(cd.exceptions.DeploymentAlreadyCompletedException):
        cd.stop_deployment(deploymentId=deployment_id)
    with pytest.raises(cd.exceptions.DeploymentAlreadyCompletedException):
        cd.continue_deployment(deploymentId=deployment_id, deploymentWaitType="READY_WAIT")
    assert cd.list_deployment_targets(deploymentId=deployment_id)["targetIds"] == [target_id]


def test_ecs_refuses_task_definition_updates_for_code_deploy_services(aws, seeded):
    env = seeded()
    new_td = h.register_revision(aws.ecs, env)
    with pytest.raises(aws.ecs.exceptions.InvalidParameterException) as error:
        aws.ecs.update_service(cluster=env["cluster"], service=env["service"], taskDefinition=new_td)
    assert "CODE_DEPLOY" in str(error.value)
