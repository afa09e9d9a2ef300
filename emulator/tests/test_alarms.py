"""The alarm fault: a CloudWatch alarm goes into ALARM some AWS seconds after the next
deployment starts; a CodeDeploy deployment whose group watches it is stopped
(ALARM_ACTIVE) and rolled back, an ECS deployment whose deploymentConfiguration.alarms names
it fails and rolls back; an alarm nothing watches only changes state."""

from __future__ import annotations

import secrets
from typing import Any

import boto3
import ecs_helpers as e
import emulator_helpers as h
import pytest

ECS = "AmazonEC2ContainerServiceV20141113."


def cloudwatch(url: str) -> Any:
    return boto3.client("cloudwatch", endpoint_url=url, region_name=h.REGION)


def new_alarm_name() -> str:
    return f"web-5xx-{secrets.token_hex(4)}"


def alarm(url: str, name: str) -> dict[str, Any]:
    return cloudwatch(url).describe_alarms(AlarmNames=[name])["MetricAlarms"][0]


def alarm_fault(url: str, name: str, after: float) -> dict[str, Any]:
    return e.add_fault(url, {"kind": "alarm", "alarmName": name, "after_seconds": after})


def test_an_alarm_stops_a_codedeploy_deployment_and_rolls_it_back(emulator, aws, seeded):
    name = new_alarm_name()
    env = seeded(alarm=[name])
    assert env["alarms"] == [name]
    assert alarm(emulator, name)["StateValue"] == "OK"
    group = aws.codedeploy.get_deployment_group(
        applicationName=env["application"], deploymentGroupName=env["deploymentGroup"]
    )["deploymentGroupInfo"]
    assert group["alarmConfiguration"]["enabled"] and group["alarmConfiguration"]["alarms"] == [{"name": name}]
    fault = alarm_fault(emulator, name, 30)
    assert fault["count"] == 1
    deployment_id = h.create_deployment(aws, env)
    status, body = h.control(emulator, "GET", "faults")
    assert all(f["id"] != fault["id"] for f in body["faults"])  # the next deployment took it

    info = h.wait_status(aws, deployment_id, "Succeeded", "Failed", "Stopped")
    assert info["status"] == "Stopped"
    assert info["errorInformation"]["code"] == "ALARM_ACTIVE"
    assert f"Activated alarms: <{name}>" in info["errorInformation"]["message"]
    stopped_after = info["completeTime"].timestamp() - info["createTime"].timestamp()
    assert stopped_after == pytest.approx(30 / 600, abs=0.01)
    rollback = h.wait_status(aws, info["rollbackInfo"]["rollbackDeploymentId"], "Succeeded")
    assert rollback["creator"] == "codeDeployRollback"
    assert h.service(aws, env)["taskDefinition"] == env["taskDefinitionArn"]
    state = alarm(emulator, name)
    assert state["StateValue"] == "ALARM" and state["StateReason"].startswith("Threshold Crossed")
    status, body = h.control(emulator, "GET", "alarms")
    [entry] = [a for a in body["alarms"] if a["alarmName"] == name]
    assert status == 200 and entry["applied"] and entry["reason"] == state["StateReason"]
    assert entry["at"] == pytest.approx(state["StateUpdatedTimestamp"].timestamp(), abs=0.01)


def test_a_set_alarm_state_call_stops_a_codedeploy_deployment_too(emulator, aws, seeded):
    name = new_alarm_name()
    env = seeded(alarm=[name], auto_rollback=False)
    deployment_id = h.create_deployment(aws, env)
    h.wait_status(aws, deployment_id, "InProgress")
    cloudwatch(emulator).set_alarm_state(AlarmName=name, StateValue="ALARM", StateReason="5XX spike")
    info = h.wait_status(aws, deployment_id, "Succeeded", "Failed", "Stopped")
    assert info["status"] == "Stopped" and info["errorInformation"]["code"] == "ALARM_ACTIVE"
    assert "rollbackDeploymentId" not in (info.get("rollbackInfo") or {})


@pytest.mark.parametrize("strategy", ["ROLLING", "BLUE_GREEN"])
def test_an_alarm_rolls_back_an_ecs_deployment(emulator, aws, seeded, strategy):
    name = new_alarm_name()
    env = e.seed_ecs(seeded, strategy=strategy, alarm=[name])
    config = h.service(aws, env)["deploymentConfiguration"]
    assert config["alarms"] == {"alarmNames": [name], "enable": True, "rollback": True}
    alarm_fault(emulator, name, 20)
    _revision, service = e.deploy(aws, env)
    failed_id = service["deployments"][0]["id"]
    arn = e.latest_arn(aws, env)

    done = e.wait_deployment(aws, arn, e.finished)
    assert done["status"] == "ROLLBACK_SUCCESSFUL"
    assert name in done["statusReason"] and "ALARM" in done["statusReason"]
    assert done["alarms"] == {"status": "TRIGGERED", "alarmNames": [name], "triggeredAlarmNames": [name]}
    status, body, _ = h.raw_json_call(
        emulator, "ecs", ECS + "DescribeServiceDeployments", {"serviceDeploymentArns": [arn]}
    )
    assert status == 200
    h.check_output("ecs", "DescribeServiceDeployments", body)

    after = e.wait_service(aws, env, e.settled)
    assert after["taskDefinition"] == env["taskDefinitionArn"]
    messages = e.messages(after)
    assert f"(service {env['service']}) (deployment {failed_id}) deployment failed: alarm(s) {name} in ALARM state." in messages
    reasons = e.whats(emulator, failed_id, "rolloutState")
    assert reasons[-1] == "FAILED"
    assert alarm(emulator, name)["StateValue"] == "ALARM"


def test_an_alarm_nothing_watches_only_changes_its_state(emulator, aws, seeded):
    name = new_alarm_name()
    env = e.seed_ecs(seeded)
    cloudwatch(emulator).put_metric_alarm(
        AlarmName=name,
        Namespace="AWS/ApplicationELB",
        MetricName="HTTPCode_Target_5XX_Count",
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1.0,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
    )
    alarm_fault(emulator, name, 5)
    revision, _service = e.deploy(aws, env)
    done = e.wait_deployment(aws, e.latest_arn(aws, env), e.finished)
    assert done["status"] == "SUCCESSFUL" and "alarms" not in done
    assert h.service(aws, env)["taskDefinition"] == revision
    assert alarm(emulator, name)["StateValue"] == "ALARM"


def test_the_alarm_fault_is_validated(emulator):
    for bad in (
        {"kind": "alarm"},
        {"kind": "alarm", "alarmName": ""},
        {"kind": "alarm", "alarmName": "a", "after_seconds": -1},
        {"kind": "alarm", "alarmName": "a", "after_seconds": "30"},
        {"kind": "alarm", "alarmName": "a", "count": 0},
    ):
        status, body = h.control(emulator, "POST", "faults", bad)
        assert status == 400 and body["error"], bad
    fault = e.add_fault(emulator, {"kind": "alarm", "alarmName": "web-5xx", "after_seconds": 30})
    assert fault == {"kind": "alarm", "alarmName": "web-5xx", "after_seconds": 30, "count": 1, "id": fault["id"]}
