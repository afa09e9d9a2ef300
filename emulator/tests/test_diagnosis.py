"""What a client needs to diagnose a failed deployment: the stopped tasks of service
deployments (ListTasks/DescribeTasks) with their exit codes, reasons and stop codes, their
awslogs lines, and the target health of the load balancer's target groups (ECS rolling,
ECS-native and CodeDeploy deployments under a container_exits fault)."""

from __future__ import annotations

from typing import Any

import boto3
import ecs_helpers as e
import emulator_helpers as h

ECS = "AmazonEC2ContainerServiceV20141113."
OOM = "OutOfMemoryError: Container killed due to memory usage"
LOG = ["Starting web on :80", "Allocating cache...", "Killed"]


def exits_fault(url: str, env: dict[str, Any], **extra: Any) -> dict[str, Any]:
    fault = {"kind": "container_exits", "container": env["containerName"], "exitCode": 137, "reason": OOM, "log": LOG}
    return e.add_fault(url, {**fault, **extra})


def raw_ecs(url: str, action: str, payload: dict[str, Any]) -> dict[str, Any]:
    status, body, _ = h.raw_json_call(url, "ecs", ECS + action, payload)
    assert status == 200, body
    h.check_output("ecs", action, body)
    return body


def stopped_tasks(url: str, env: dict[str, Any]) -> list[dict[str, Any]]:
    """The service's stopped tasks, as a diagnosing client reads them (raw JSON, checked)."""
    listed = raw_ecs(
        url, "ListTasks", {"cluster": env["cluster"], "serviceName": env["service"], "desiredStatus": "STOPPED"}
    )
    if not listed["taskArns"]:
        return []
    described = raw_ecs(url, "DescribeTasks", {"cluster": env["cluster"], "tasks": listed["taskArns"]})
    assert described["failures"] == []
    return described["tasks"]


def log_lines(url: str, env: dict[str, Any], task_arn: str) -> list[str]:
    logs = boto3.client("logs", endpoint_url=url, region_name=h.REGION)
    stream = f"ecs/{env['containerName']}/{task_arn.rsplit('/', 1)[-1]}"
    events = logs.get_log_events(logGroupName=f"/ecs/{env['family']}", logStreamName=stream, startFromHead=True)
    return [event["message"] for event in events["events"]]


def target_group_arn(aws: h.Clients, name: str) -> str:
    return aws.elbv2.describe_target_groups(Names=[name])["TargetGroups"][0]["TargetGroupArn"]


def target_health(aws: h.Clients, arn: str) -> list[dict[str, Any]]:
    answer = aws.elbv2.describe_target_health(TargetGroupArn=arn)
    answer.pop("ResponseMetadata", None)
    model = aws.elbv2.meta.service_model
    h.check_shape(model, model.operation_model("DescribeTargetHealth").output_shape, answer)
    return answer["TargetHealthDescriptions"]


def states(descriptions: list[dict[str, Any]]) -> set[tuple[str, str | None]]:
    return {(d["TargetHealth"]["State"], d["TargetHealth"].get("Reason")) for d in descriptions}


def check_exited(url: str, env: dict[str, Any], task: dict[str, Any], revision: str, started_by: str) -> None:
    assert task["lastStatus"] == "STOPPED" and task["desiredStatus"] == "STOPPED"
    assert task["group"] == f"service:{env['service']}"
    assert task["startedBy"] == started_by
    assert task["taskDefinitionArn"] == revision
    assert task["stopCode"] == "EssentialContainerExited"
    assert task["stoppedReason"] == "Essential container in task exited"
    [container] = task["containers"]
    assert container["exitCode"] == 137 and container["reason"] == OOM and container["lastStatus"] == "STOPPED"
    for field in ("createdAt", "startedAt", "stoppingAt", "stoppedAt", "executionStoppedAt"):
        assert field in task, field
    assert container["networkInterfaces"][0]["privateIpv4Address"]
    assert log_lines(url, env, task["taskArn"]) == LOG


# ----------------------------------------------------------------------
# ECS rolling update
# ----------------------------------------------------------------------
def test_a_rolling_update_whose_tasks_exit_shows_them_stopped_with_exit_code_and_logs(emulator, aws, seeded):
    env = e.seed_ecs(seeded)
    tg = target_group_arn(aws, env["targetGroups"][0])
    before = aws.ecs.list_tasks(cluster=env["cluster"], serviceName=env["service"])["taskArns"]
    assert len(before) == 2
    assert states(target_health(aws, tg)) == {("healthy", None)}
    exits_fault(emulator, env, count=1)
    revision, service = e.deploy(aws, env)
    failed_id = service["deployments"][0]["id"]

    # While the new tasks run (before their container exits) they fail their health checks.
    e.wait_service(aws, env, lambda s: s["deployments"][0]["runningCount"] > 0 and s["deployments"][0]["id"] == failed_id)
    assert ("unhealthy", "Target.FailedHealthChecks") in states(target_health(aws, tg))

    after = e.wait_service(aws, env, lambda s: e.settled(s) and s["deployments"][0]["id"] != failed_id)
    assert after["taskDefinition"] == env["taskDefinitionArn"]  # rolled back
    stopped = stopped_tasks(emulator, env)
    exited = [t for t in stopped if t.get("stopCode") == "EssentialContainerExited"]
    assert len(exited) >= 3  # the circuit breaker's threshold
    for task in exited:
        check_exited(emulator, env, task, revision, failed_id)
    # The original tasks were replaced by the rollback's new deployment: stopped by the scheduler.
    replaced = [t for t in stopped if t["taskArn"] in before]
    assert len(replaced) == 2
    for task in replaced:
        assert task["stopCode"] == "ServiceSchedulerInitiated"
        assert task["stoppedReason"].startswith("Scaling activity initiated by (deployment ecs-svc/")
        assert task["containers"][0]["exitCode"] == 143
    running = aws.ecs.list_tasks(cluster=env["cluster"], serviceName=env["service"])["taskArns"]
    assert len(running) == 2 and not set(running) & set(before)
    described = raw_ecs(emulator, "DescribeTasks", {"cluster": env["cluster"], "tasks": running})["tasks"]
    assert {t["lastStatus"] for t in described} == {"RUNNING"}
    assert {t["startedBy"] for t in described} == {after["deployments"][0]["id"]}

    # After: the rollback's tasks are healthy, the stopped ones draining.
    health = target_health(aws, tg)
    ips = {t["containers"][0]["networkInterfaces"][0]["privateIpv4Address"] for t in described}
    assert {d["Target"]["Id"] for d in health if d["TargetHealth"]["State"] == "healthy"} == ips
    assert ("draining", "Target.DeregistrationInProgress") in states(health)
    assert all(d["Target"]["Port"] == env["containerPort"] for d in health)


def test_service_tasks_are_listed_by_desired_status_and_unknown_ones_are_missing(emulator, aws, seeded):
    env = e.seed_ecs(seeded)
    cluster = env["cluster"]
    running = aws.ecs.list_tasks(cluster=cluster, serviceName=env["service"])["taskArns"]
    assert running == aws.ecs.list_tasks(cluster=cluster, serviceName=env["service"], desiredStatus="RUNNING")["taskArns"]
    task = raw_ecs(emulator, "DescribeTasks", {"cluster": cluster, "tasks": running})["tasks"][0]
    assert task["lastStatus"] == "RUNNING" and task["group"] == f"service:{env['service']}"
    assert task["startedBy"] == h.service(aws, env)["deployments"][0]["id"]
    status, body, _ = h.raw_json_call(
        emulator, "ecs", ECS + "ListTasks", {"cluster": cluster, "serviceName": "no-such-service"}
    )
    assert status == 400 and body["__type"].endswith("ServiceNotFoundException")
    e.update(aws, env, desiredCount=1)
    stopped = stopped_tasks(emulator, env)
    assert len(stopped) == 1 and stopped[0]["stopCode"] == "ServiceSchedulerInitiated"


# ----------------------------------------------------------------------
# ECS-native blue/green
# ----------------------------------------------------------------------
def test_a_native_deployment_whose_tasks_exit_shows_them_stopped(emulator, aws, seeded):
    env = e.seed_ecs(seeded, strategy="BLUE_GREEN")
    blue, green = (target_group_arn(aws, name) for name in env["targetGroups"])
    exits_fault(emulator, env, count=1)
    revision, service = e.deploy(aws, env)
    failed_id = service["deployments"][0]["id"]
    arn = e.latest_arn(aws, env)
    # The target revision comes up behind the alternate target group, and never gets healthy.
    h.poll(lambda: states(target_health(aws, green)), lambda s: ("unhealthy", "Target.FailedHealthChecks") in s)
    assert states(target_health(aws, blue)) == {("healthy", None)}
    done = e.wait_deployment(aws, arn, e.finished)
    assert done["status"] == "ROLLBACK_SUCCESSFUL"
    exited = [t for t in stopped_tasks(emulator, env) if t.get("stopCode") == "EssentialContainerExited"]
    assert len(exited) >= 3
    for task in exited:
        check_exited(emulator, env, task, revision, failed_id)
    assert states(target_health(aws, blue)) == {("healthy", None)}
    assert {s for s, _ in states(target_health(aws, green))} <= {"draining", "unhealthy"}


# ----------------------------------------------------------------------
# CodeDeploy
# ----------------------------------------------------------------------
def test_a_codedeploy_deployment_whose_replacement_tasks_exit_fails_and_rolls_back(emulator, aws, seeded):
    env = seeded()
    blue, green = (target_group_arn(aws, name) for name in env["targetGroups"])
    original = aws.ecs.list_tasks(cluster=env["cluster"], serviceName=env["service"])["taskArns"]
    assert len(original) == 2
    assert states(target_health(aws, blue)) == {("healthy", None)}
    exits_fault(emulator, env, count=1)
    revision = h.register_revision(aws.ecs, env)
    deployment_id = h.create_deployment(aws, env, task_definition=revision)

    # During Install the replacement's tasks run and fail their health checks.
    h.poll(lambda: states(target_health(aws, green)), lambda s: ("unhealthy", "Target.FailedHealthChecks") in s)
    assert states(target_health(aws, blue)) == {("healthy", None)}

    info = h.wait_status(aws, deployment_id, "Failed", "Stopped")
    assert info["status"] == "Failed"
    assert info["errorInformation"]["code"] == "ECS_UPDATE_ERROR"
    assert "did not become healthy" in info["errorInformation"]["message"]
    assert "137" in info["errorInformation"]["message"]
    assert info["rollbackInfo"]["rollbackDeploymentId"]
    rollback = h.wait_status(aws, info["rollbackInfo"]["rollbackDeploymentId"], "Succeeded")
    assert rollback["creator"] == "codeDeployRollback"
    after = h.service(aws, env)
    assert after["taskDefinition"] == env["taskDefinitionArn"]

    stopped = stopped_tasks(emulator, env)
    exited = [t for t in stopped if t.get("stopCode") == "EssentialContainerExited"]
    assert len(exited) >= 2
    green_set = {t["startedBy"] for t in exited}
    assert len(green_set) == 1 and next(iter(green_set)).startswith("ecs-svc/")
    for task in exited:
        check_exited(emulator, env, task, revision, next(iter(green_set)))
    # The replacement's last tasks were stopped when the rollback removed its task set.
    assert any(t["stopCode"] == "ServiceSchedulerInitiated" for t in stopped if t["startedBy"] in green_set)
    assert sorted(aws.ecs.list_tasks(cluster=env["cluster"], serviceName=env["service"])["taskArns"]) == sorted(original)
    assert states(target_health(aws, blue)) == {("healthy", None)}
    assert {s for s, _ in states(target_health(aws, green))} <= {"draining"}
